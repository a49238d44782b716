import math

import pytest
import torch
import torch.nn.functional as F

from fastfreq.models.draem import (
    DRAEM,
    DiscriminativeSubNetwork,
    DraemLoss,
    FocalLoss,
    ReconstructiveSubNetwork,
    anomaly_map_from_logits,
    image_score,
    mean_filter,
    ssim,
)


@pytest.fixture(autouse=True)
def seed():
    torch.manual_seed(0)


# ---- networks -------------------------------------------------------------

@pytest.mark.parametrize("size", [(31, 95), (128, 128), (17, 33), (1, 7)])
@pytest.mark.parametrize("channels", [1, 3])
def test_draem_output_size_equals_input(size, channels):
    model = DRAEM(in_channels=channels, recon_width=4, disc_width=4).eval()
    x = torch.rand(2, channels, *size)
    with torch.no_grad():
        recon, logits = model(x)
        amap = model.anomaly_map(x)
        score = model.score(x)
    assert recon.shape == x.shape
    assert logits.shape == (2, 2, *size)
    assert amap.shape == (2, 1, *size)
    assert score.shape == (2,)
    assert torch.all((amap >= 0) & (amap <= 1))


def test_thin_default_shapes_31x95():
    model = DRAEM()
    recon, logits = model(torch.rand(2, 1, 31, 95))
    assert recon.shape == (2, 1, 31, 95) and logits.shape == (2, 2, 31, 95)


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
def test_subnetworks_any_depth(depth):
    x = torch.rand(2, 2, 17, 33)
    assert ReconstructiveSubNetwork(2, 2, 4, depth)(x).shape == (2, 2, 17, 33)
    assert DiscriminativeSubNetwork(2, 2, 4, depth)(x).shape == (2, 2, 17, 33)


def test_draem_forward_feeds_concat_to_discriminator():
    model = DRAEM(recon_width=4, disc_width=4, depth=2).eval()
    x = torch.rand(1, 1, 12, 20)
    with torch.no_grad():
        recon, logits = model(x)
        expected = model.discriminative(torch.cat([x, model.reconstructive(x)], dim=1))
    torch.testing.assert_close(logits, expected)


def test_config_round_trip():
    model = DRAEM(in_channels=3, recon_width=8, disc_width=4, depth=3, disc_depth=2).eval()
    clone = DRAEM(**model.config).eval()
    clone.load_state_dict(model.state_dict())
    x = torch.rand(2, 3, 31, 95)
    with torch.no_grad():
        for a, b in zip(model(x), clone(x)):
            torch.testing.assert_close(a, b)
    assert model.config == dict(in_channels=3, recon_width=8, disc_width=4, depth=3, disc_depth=2)


def test_paper_preset_widths():
    model = DRAEM.paper()
    first_recon = model.reconstructive.encoder[0][0][0]
    first_disc = model.discriminative.encoder[0][0][0]
    assert (first_recon.in_channels, first_recon.out_channels) == (3, 128)
    assert (first_disc.in_channels, first_disc.out_channels) == (6, 64)
    # DRAEM widths: bottleneck 8x base; 4 poolings (recon) and 5 (disc).
    assert model.reconstructive.encoder[-1][0][0].out_channels == 1024
    assert model.discriminative.encoder[-1][0][0].out_channels == 512
    assert (model.reconstructive.depth, model.discriminative.depth) == (4, 5)
    assert model.config["recon_width"] == 128 and model.config["disc_width"] == 64


def test_thin_defaults():
    model = DRAEM()
    assert model.reconstructive.encoder[0][0][0].out_channels == 16
    assert model.discriminative.encoder[0][0][0].out_channels == 16
    assert model.reconstructive.encoder[0][0][0].in_channels == 1


def test_training_steps_reduce_loss():
    model = DRAEM(recon_width=4, disc_width=4, depth=2)
    criterion = DraemLoss()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    clean = torch.rand(4, 1, 16, 24)
    mask = torch.zeros(4, 1, 16, 24)
    mask[:, :, 4:8, 6:18] = 1
    augmented = clean + 0.8 * mask
    losses = []
    for _ in range(15):
        recon, logits = model(augmented)
        loss, _ = criterion(clean, recon, mask, logits)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


# ---- SSIM -----------------------------------------------------------------

def test_ssim_identity_is_one():
    x = torch.rand(2, 3, 31, 95)
    assert ssim(x, x).item() == pytest.approx(1.0, abs=1e-6)


def test_ssim_constant_images_match_formula():
    a, b = 0.2, 0.6
    x = torch.full((1, 1, 20, 20), a, dtype=torch.float64)
    y = torch.full((1, 1, 20, 20), b, dtype=torch.float64)
    c1, c2 = 0.01**2, 0.03**2
    # Zero variances: the contrast/structure term is c2 / c2 = 1.
    expected = (2 * a * b + c1) / (a**2 + b**2 + c1)
    assert ssim(x, y).item() == pytest.approx(expected, rel=1e-9)
    # data_range L scales the constants: C1 = (0.01 L)^2.
    c1 = (0.01 * 2) ** 2
    assert ssim(x, y, data_range=2.0).item() == pytest.approx((2 * a * b + c1) / (a**2 + b**2 + c1), rel=1e-9)


def test_ssim_window_clipped_to_small_images():
    x, y = torch.rand(2, 1, 4, 8, dtype=torch.float64), torch.rand(2, 1, 4, 8, dtype=torch.float64)
    # min side 4 -> window 3 (kept odd)
    assert ssim(x, y, window_size=11).item() == pytest.approx(ssim(x, y, window_size=3).item(), rel=1e-12)
    assert ssim(x, x, window_size=11).item() == pytest.approx(1.0, abs=1e-9)


def test_ssim_decreases_with_noise():
    x = torch.rand(1, 1, 31, 95)
    values = [ssim(x, x + s * torch.randn_like(x)).item() for s in (0.0, 0.05, 0.2, 0.5)]
    assert values[0] == pytest.approx(1.0, abs=1e-6)
    assert all(a > b for a, b in zip(values, values[1:]))


# ---- focal loss -----------------------------------------------------------

def test_focal_gamma0_equals_cross_entropy():
    logits = torch.randn(2, 2, 5, 7)
    mask = (torch.rand(2, 1, 5, 7) > 0.5).float()
    expected = F.cross_entropy(logits, mask[:, 0].long())
    torch.testing.assert_close(FocalLoss(gamma=0)(logits, mask), expected)


def test_focal_hand_computed():
    # pixel 1: logits (0, 0), target 1 -> p_t = 1/2
    # pixel 2: logits (0, ln 3), target 0 -> p_t = 1/4
    logits = torch.tensor([[[[0.0, 0.0]], [[0.0, math.log(3.0)]]]], dtype=torch.float64)
    mask = torch.tensor([[[[1.0, 0.0]]]], dtype=torch.float64)
    l1 = -(0.5**2) * math.log(0.5)
    l2 = -(0.75**2) * math.log(0.25)
    assert FocalLoss()(logits, mask).item() == pytest.approx((l1 + l2) / 2, rel=1e-12)
    # alpha = 0.25 weights class 1 by 0.25 and class 0 by 0.75
    assert FocalLoss(alpha=0.25)(logits, mask).item() == pytest.approx((0.25 * l1 + 0.75 * l2) / 2, rel=1e-12)
    assert FocalLoss(reduction="sum")(logits, mask).item() == pytest.approx(l1 + l2, rel=1e-12)


# ---- DRAEM loss -----------------------------------------------------------

def test_draem_loss_parts_sum_to_total():
    clean = torch.rand(2, 1, 31, 95)
    recon = clean + 0.1 * torch.randn_like(clean)
    logits = torch.randn(2, 2, 31, 95)
    mask = (torch.rand(2, 1, 31, 95) > 0.9).float()
    total, parts = DraemLoss(l2_weight=2.0, ssim_weight=0.5, focal_weight=3.0)(clean, recon, mask, logits)
    assert set(parts) == {"l2", "ssim", "focal"}
    torch.testing.assert_close(total, parts["l2"] + parts["ssim"] + parts["focal"])
    torch.testing.assert_close(parts["l2"], 2.0 * F.mse_loss(recon, clean))
    torch.testing.assert_close(parts["ssim"], 0.5 * (1 - ssim(recon, clean)))
    torch.testing.assert_close(parts["focal"], 3.0 * FocalLoss()(logits, mask))


# ---- anomaly map and score ------------------------------------------------

def test_anomaly_map_is_softmax_channel_one():
    logits = torch.tensor([[[[0.0]], [[math.log(3.0)]]]])
    assert anomaly_map_from_logits(logits).item() == pytest.approx(0.75)


def test_score_is_max_of_box_filtered_map():
    amap = torch.zeros(2, 1, 5, 5)
    amap[0, 0, :2, :2] = 1.0  # 2x2 block in a corner
    amap[1, 0, 2, 2] = 0.9  # single pixel in the centre
    # no filter: plain max
    torch.testing.assert_close(image_score(amap, None), torch.tensor([1.0, 0.9]))
    # 3x3 box, zero padding: best window holds 4 ones / 9, or 0.9 / 9
    torch.testing.assert_close(image_score(amap, 3), torch.tensor([4 / 9, 0.9 / 9]))
    # 21 is clipped to 5 (the map size): corner block 4/25 at (0..2, 0..2)
    torch.testing.assert_close(image_score(amap, 21), torch.tensor([4 / 25, 0.9 / 25]))
    # even clip: 4 x 6 map -> min side 4 -> kernel 3
    small = torch.zeros(1, 1, 4, 6)
    small[0, 0, 1, 1] = 1.0
    torch.testing.assert_close(mean_filter(small, 21), mean_filter(small, 3))
    assert mean_filter(small, 3).shape == small.shape


def test_model_score_uses_anomaly_map():
    model = DRAEM(recon_width=4, disc_width=4, depth=2).eval()
    x = torch.rand(3, 1, 31, 95)
    with torch.no_grad():
        amap = model.anomaly_map(x)
        torch.testing.assert_close(model.score(x, mean_filter=21), image_score(amap, 21))
        torch.testing.assert_close(model.score(x, mean_filter=None), amap.flatten(1).amax(1))
