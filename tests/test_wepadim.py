"""WE-PaDiM / PaDiM: streaming Gaussian statistics, Mahalanobis, smoothing, pipeline shapes, bad input."""
import numpy as np
import pytest
import torch
from scipy import ndimage

from conftest import tiny_backbone
from fastfreq.models.wepadim import GaussianModel, GaussianStats, PaDiM, WEPaDiM, gaussian_smooth


def _emb(seed, b=12, d=5, h=3, w=4):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, d, h, w, generator=g, dtype=torch.float64) * 3 + 1.5


# ------------------------------------------------------------------ statistics
def test_stats_equal_two_pass_float64():
    x = _emb(0)
    st = GaussianStats.from_embeddings(x)
    flat = x.flatten(2).numpy()  # (B, D, P)
    for p in range(flat.shape[2]):
        v = flat[:, :, p]
        np.testing.assert_allclose(st.mean()[p].numpy(), v.mean(0), rtol=0, atol=1e-12)
        np.testing.assert_allclose(st.covariance()[p].numpy(), np.cov(v, rowvar=False, bias=True), rtol=0, atol=1e-11)


def test_streaming_and_merge_equal_whole():
    x = _emb(1, b=20)
    whole = GaussianStats.from_embeddings(x)
    stream = GaussianStats(12, 5)
    for chunk in x.split(7):
        stream.update(chunk)
    merged = GaussianStats.from_embeddings(x[:9]) + GaussianStats.from_embeddings(x[9:])
    for other in (stream, merged):
        assert other.count == 20
        torch.testing.assert_close(other.sum, whole.sum, rtol=0, atol=1e-10)
        torch.testing.assert_close(other.outer, whole.outer, rtol=1e-14, atol=1e-10)
    restored = GaussianStats.from_state_dict(merged.state_dict())
    torch.testing.assert_close(restored.covariance(), whole.covariance())


def test_stats_float32_input_accumulates_in_float64():
    x = _emb(2).float()
    st = GaussianStats.from_embeddings(x)
    assert st.outer.dtype == torch.float64
    np.testing.assert_allclose(st.mean().numpy(), x.double().flatten(2).mean(0).t().numpy(), atol=1e-12)


def test_mahalanobis_matches_direct_formula():
    x, q = _emb(3, b=30), _emb(4, b=6)
    eps = 0.05
    model = GaussianModel.fit(GaussianStats.from_embeddings(x), eps, dtype=torch.float64)
    d = model.mahalanobis(q)
    flat, qf = x.flatten(2).numpy(), q.flatten(2).numpy()
    for p in range(flat.shape[2]):
        mu = flat[:, :, p].mean(0)
        cov = np.cov(flat[:, :, p], rowvar=False, bias=True) + eps * np.eye(5)
        diff = qf[:, :, p] - mu
        ref = np.einsum("bi,ij,bj->b", diff, np.linalg.inv(cov), diff)
        np.testing.assert_allclose(d[:, p].numpy(), np.sqrt(ref), rtol=1e-9)
    d2 = model.mahalanobis(q, squared=True)
    torch.testing.assert_close(d2, d.square(), rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(model.covariance()[0], torch.tensor(
        np.cov(flat[:, :, 0], rowvar=False, bias=True) + eps * np.eye(5)), rtol=1e-8, atol=1e-10)
    # float32 model (the default) agrees to float32 precision
    d32 = GaussianModel.fit(GaussianStats.from_embeddings(x), eps).mahalanobis(q)
    assert d32.dtype == torch.float32
    np.testing.assert_allclose(d32.numpy(), d.numpy(), rtol=1e-4)


def test_rank_deficient_covariance_falls_back_with_warning():
    x = _emb(5, b=3, d=8)  # 3 samples in 8 dims: singular covariance
    with pytest.warns(RuntimeWarning, match="not positive definite"):
        model = GaussianModel.fit(GaussianStats.from_embeddings(x), 1e-300)
    assert torch.isfinite(model.mahalanobis(_emb(6, b=2, d=8))).all()


@pytest.mark.parametrize("eps", [0, -0.1, float("nan"), "0.1", True])
def test_bad_eps(eps):
    with pytest.raises(ValueError, match="cov_reg"):
        GaussianModel.fit(GaussianStats.from_embeddings(_emb(0)), eps)


def test_stats_bad_input():
    st = GaussianStats(12, 5)
    with pytest.raises(ValueError, match=r"\(D, P\)"):
        st.update(_emb(0, d=4))
    with pytest.raises(ValueError, match="NaN"):
        st.update(torch.full((1, 5, 3, 4), float("nan")))
    with pytest.raises(ValueError, match="merge"):
        st.merge(GaussianStats(12, 4))
    with pytest.raises(ValueError, match="no embeddings"):
        GaussianModel.fit(st, 0.1)


# ------------------------------------------------------------------ smoothing
@pytest.mark.parametrize("sigma,shape", [(2.0, (3, 40, 37)), (4.0, (2, 64, 64)), (6.0, (1, 9, 11)), (0.7, (1, 5, 5))])
def test_gaussian_smooth_matches_scipy(sigma, shape):
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ref = np.stack([ndimage.gaussian_filter(m, sigma, mode="reflect", truncate=4.0) for m in x.numpy()])
    np.testing.assert_allclose(gaussian_smooth(x, sigma).numpy(), ref, atol=1e-12)
    assert torch.equal(gaussian_smooth(x, 0), x)
    with pytest.raises(ValueError, match="sigma"):
        gaussian_smooth(x, -1)


# ------------------------------------------------------------------ pipeline (tiny random backbone)
def _tiny_backbone():
    return tiny_backbone()


def _images(n, seed, size=64):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g)


def test_wepadim_shapes_and_scores():
    bb = _tiny_backbone()
    m = WEPaDiM(bb, wavelet="haar", level=1, subbands=("LL", "LH", "HL"), resize=None, crop=None, sigma=2.0,
                batch_size=4)
    emb = m.embed(_images(2, 0))
    # taps 32x32, 16x16, 8x8 -> level-1 haar 16, 8, 4 -> aligned to 4x4; channels (6+8+10) * 3
    assert emb.shape == (2, 72, 4, 4)
    m.fit(_images(10, 1))
    assert (m.gaussian.positions, m.gaussian.dim, m.gaussian.count) == (16, 72, 10)
    scores, maps = m.predict(_images(3, 2))
    assert scores.shape == (3,) and maps.shape == (3, 64, 64)
    torch.testing.assert_close(scores, maps.flatten(1).amax(1))
    # the map is the smoothed, upsampled distance
    dist = m.distances(m.embed(_images(3, 2)))
    ref = gaussian_smooth(torch.nn.functional.interpolate(dist[:, None], size=(64, 64), mode="bilinear")[:, 0], 2.0)
    torch.testing.assert_close(maps, ref)


def test_fit_from_dataset_equals_tensor_and_merge():
    bb = _tiny_backbone()
    x = _images(9, 3)
    a = WEPaDiM(bb, resize=None, crop=None, batch_size=4)
    whole = a.partial_stats(x)
    a.fit_stats(whole)
    ds = [{"image": img, "label": 0} for img in x]  # a list of dict samples, batched by hand
    batches = [{"image": torch.stack([d["image"] for d in ds[i:i + 2]])} for i in range(0, 9, 2)]
    b = WEPaDiM(bb, resize=None, crop=None, batch_size=4)
    merged = b.partial_stats(batches[:2]) + b.partial_stats(batches[2:])
    b.fit_stats(merged)
    torch.testing.assert_close(whole.outer, merged.outer, rtol=1e-12, atol=1e-9)
    torch.testing.assert_close(a.gaussian.mean, b.gaussian.mean)


def test_padim_random_channels_reproducible():
    bb = _tiny_backbone()
    p1 = PaDiM(bb, d=12, seed=3, resize=None, crop=None)
    p2 = PaDiM(bb, d=12, seed=3, resize=None, crop=None)
    assert torch.equal(p1.index, p2.index) and p1.index.numel() == 12 and p1.index.unique().numel() == 12
    assert not torch.equal(p1.index, PaDiM(bb, d=12, seed=4, resize=None, crop=None).index)
    x = _images(2, 0)
    emb = p1.embed(x)
    assert emb.shape == (2, 12, 32, 32)  # first tap's size
    taps = p1.taps(x)  # normalised input -> backbone
    full = torch.cat([taps[0]] + [torch.nn.functional.interpolate(t, size=(32, 32)) for t in taps[1:]], 1)
    torch.testing.assert_close(emb, full[:, p1.index])
    with pytest.raises(ValueError, match=r"d \(random channels.*\) must be in \[1, 24\]"):
        PaDiM(bb, d=25)


def test_squared_score_switch():
    bb = _tiny_backbone()
    x, q = _images(8, 4), _images(2, 5)
    a = WEPaDiM(bb, resize=None, crop=None, sigma=0).fit(x)
    b = WEPaDiM(bb, resize=None, crop=None, sigma=0, squared=True).fit(x)
    emb = a.embed(q)
    torch.testing.assert_close(b.distances(emb), a.distances(emb).square(), rtol=1e-4, atol=1e-4)


def test_level_too_deep_is_a_clear_error():
    bb = _tiny_backbone()  # smallest tap 8x8 -> level 3 is the deepest
    WEPaDiM(bb, level=3, resize=None, crop=None).embed(_images(1, 0))
    with pytest.raises(ValueError, match=r"level 4 is too deep for feature map '5' of size 8x8"):
        WEPaDiM(bb, level=4, resize=None, crop=None).embed(_images(1, 0))


def test_bad_arguments():
    bb = _tiny_backbone()
    for kwargs, match in [(dict(cov_reg=0), "cov_reg"), (dict(sigma=-1), "sigma"), (dict(subbands=("XX",)), "subband"),
                          (dict(wavelet="nope"), "wavelet"), (dict(batch_size=0), "batch_size"),
                          (dict(crop=3), "crop")]:
        with pytest.raises(ValueError, match=match):
            WEPaDiM(bb, **kwargs)
    m = WEPaDiM(bb, resize=None, crop=None)
    with pytest.raises(RuntimeError, match="not fitted"):
        m.predict(_images(1, 0))
    with pytest.raises(ValueError, match="mask size"):
        m.prepare_masks(torch.zeros(1, 1, 32, 32), (64, 64))
    with pytest.raises(ValueError, match=r"images must have shape"):
        m.embed(torch.rand(3, 64, 64))
    with pytest.raises(TypeError, match="backbone"):
        WEPaDiM(object())


def test_prepare_masks_follows_image_geometry():
    bb = _tiny_backbone()
    m = WEPaDiM(bb, resize=80, crop=64)
    mask = torch.zeros(1, 1, 100, 120)
    mask[..., 40:60, 50:70] = 1  # centred square -> stays centred after resize + crop
    out = m.prepare_masks(mask, (100, 120))
    assert out.shape == (1, 64, 64)
    # resize 100x120 -> 80x96 (scale 0.8): box rows 32..48, cols 40..56; crop offsets (8, 16)
    rows, cols = out[0].nonzero(as_tuple=True)
    assert (int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())) == (24, 39, 24, 39)


def test_align_sets_the_gaussian_grid():
    bb = _tiny_backbone()
    m = WEPaDiM(bb, resize=None, crop=None, align=(8, 8))
    assert m.embed(_images(2, 0)).shape == (2, 72, 8, 8)
    assert m.config()["align"] == [8, 8]
    assert WEPaDiM(bb, resize=None, crop=None, align="largest").embed(_images(1, 0)).shape[-2:] == (16, 16)
    with pytest.raises(ValueError, match="align"):
        WEPaDiM(bb, align=(0, 3))


@pytest.mark.parametrize("subbands,level,bands", [(("LL",), 1, 1), (("HH",), 1, 1), (("LH", "HL", "HH"), 1, 3),
                                                  (("LL", "LH", "HL", "HH"), 2, 7), (("LL", "HL"), 2, 3)])
def test_subband_sets_set_the_embedding_size(subbands, level, bands):
    bb = _tiny_backbone()  # 6 + 8 + 10 channels
    m = WEPaDiM(bb, subbands=subbands, level=level, resize=None, crop=None)
    emb = m.embed(_images(2, 0))
    assert emb.shape[1] == 24 * bands
    # the LL band of the embedding is the first layer's level-J approximation, aligned
    if subbands[0] == "LL":
        from fastfreq import dwt2
        ll = dwt2(m.taps(_images(2, 0))[0], "haar", level, "zero")[0]
        ref = torch.nn.functional.interpolate(ll, size=emb.shape[-2:], mode="bilinear", align_corners=False)
        torch.testing.assert_close(emb[:, :6], ref)
