"""WaveletFeatures: WE-PaDiM's per-layer DWT subbands, resized and concatenated."""
import itertools

import numpy as np
import pytest
import pywt
import torch
import torch.nn.functional as F

from fastfreq.wavelets.features import SUBBAND_NAMES, WaveletFeatures

RESNET18 = [(2, 64, 56, 56), (2, 128, 28, 28), (2, 256, 14, 14)]
EFFICIENTNET_B0 = [(2, 40, 28, 28), (2, 80, 14, 14), (2, 112, 14, 14), (2, 192, 7, 7)]
ALL_SUBSETS = [s for r in range(1, 5) for s in itertools.combinations(SUBBAND_NAMES, r)]


def _maps(shapes, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(*s, generator=g, dtype=dtype) for s in shapes]


def _ll_size(n, level, wavelet="haar", mode="zero"):
    L = pywt.Wavelet(wavelet).dec_len
    for _ in range(level):
        n = (n + 1) // 2 if mode == "periodization" else (n + L - 1) // 2
    return n


@pytest.fixture(scope="module")
def resnet_maps():
    return _maps(RESNET18)


@pytest.fixture(scope="module")
def effnet_maps():
    return _maps(EFFICIENTNET_B0, seed=1)


def test_all_15_subsets():
    assert len(ALL_SUBSETS) == 15


@pytest.mark.parametrize("level", [1, 2])
@pytest.mark.parametrize("subbands", ALL_SUBSETS, ids="+".join)
def test_channels_and_sizes_resnet18(resnet_maps, subbands, level):
    wf = WaveletFeatures("haar", level, subbands)
    out = wf(resnet_maps)
    n_bands = ("LL" in subbands) + level * sum(s != "LL" for s in subbands)
    channels = (64 + 128 + 256) * n_bands
    side = _ll_size(14, level)  # the smallest layer's level-J LL: 7 (J=1), 4 (J=2)
    assert out.shape == (2, channels, side, side)
    assert out.dtype == torch.float32
    assert wf.output_shape(RESNET18) == (channels, side, side)
    assert wf.output_shape([s[1:] for s in RESNET18]) == (channels, side, side)  # (C, H, W) works too
    assert wf.out_channels([64, 128, 256]) == channels
    assert wf.bands_per_channel == n_bands


@pytest.mark.parametrize("level", [1, 2])
@pytest.mark.parametrize("subbands", ALL_SUBSETS, ids="+".join)
def test_channels_and_sizes_efficientnet(effnet_maps, subbands, level):
    wf = WaveletFeatures("haar", level, subbands)
    out = wf(effnet_maps)
    n_bands = ("LL" in subbands) + level * sum(s != "LL" for s in subbands)
    channels = (40 + 80 + 112 + 192) * n_bands
    side = _ll_size(7, level)  # 4 (J=1), 2 (J=2)
    assert out.shape == (2, channels, side, side)
    assert wf.output_shape(EFFICIENTNET_B0) == (channels, side, side)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("align,expected", [
    ("smallest", (7, 7)), ("largest", (28, 28)), ("first", (28, 28)), ((10, 12), (10, 12))])
def test_alignment(resnet_maps, align, expected):
    wf = WaveletFeatures("haar", 1, ("LL", "HH"), align=align)
    out = wf(resnet_maps)
    assert out.shape == (2, (64 + 128 + 256) * 2, *expected)
    assert wf.output_shape(RESNET18) == (out.shape[1], *expected)
    # "first" picks layer order, not size
    first_small = WaveletFeatures("haar", 1, ("LL",), align="first")(resnet_maps[::-1])
    assert first_small.shape[-2:] == (7, 7)


def test_layer_order_and_channel_order(resnet_maps):
    wf = WaveletFeatures("db2", 2, ("HH", "LL", "LH"), mode="zero", align="first")  # order given is irrelevant
    out = wf(resnet_maps[:1]).double()
    x = resnet_maps[0].double().numpy()
    cA2, (cH2, cV2, cD2), (cH1, cV1, cD1) = pywt.wavedec2(x, "db2", mode="zero", level=2, axes=(-2, -1))
    C = 64
    size = cA2.shape[-2:]
    assert out.shape == (2, 5 * C, *size)  # LL, level 2: LH, HH, level 1: LH, HH
    resize = lambda a: F.interpolate(torch.from_numpy(a), size=size, mode="bilinear", align_corners=False)  # noqa: E731
    expected = [torch.from_numpy(cA2), torch.from_numpy(cH2), torch.from_numpy(cD2), resize(cH1), resize(cD1)]
    for i, e in enumerate(expected):
        assert torch.allclose(out[:, i * C:(i + 1) * C], e, atol=1e-5), i


@pytest.mark.parametrize("wavelet,mode", [("haar", "zero"), ("db4", "zero"), ("sym4", "symmetric"),
                                          ("haar", "periodization")])
def test_ll_slice_equals_pywt_ca(wavelet, mode):
    """One layer at its own size: the first C channels are exactly pywt's cA (no resize)."""
    maps = _maps([(2, 16, 28, 28), (2, 32, 14, 14)], seed=3, dtype=torch.float64)
    wf = WaveletFeatures(wavelet, 1, ("LL", "HL"), mode=mode, align="first")
    out = wf(maps)
    cA, (cH, cV, cD) = pywt.wavedec2(maps[0].numpy(), wavelet, mode=mode, level=1, axes=(-2, -1))
    assert out.shape[-2:] == cA.shape[-2:]
    assert np.abs(out[:, :16].numpy() - cA).max() <= 1e-10
    assert np.abs(out[:, 16:32].numpy() - cV).max() <= 1e-10  # HL = pywt cV
    # the second layer, resized up to the first's size, follows
    assert out.shape[1] == 2 * (16 + 32)


def test_backends_agree(effnet_maps):
    a = WaveletFeatures("sym4", 1, ("LL", "LH", "HL", "HH"), strict_level=False, backend="numba")
    b = WaveletFeatures("sym4", 1, ("LL", "LH", "HL", "HH"), strict_level=False, backend="torch")
    with pytest.warns(UserWarning, match="too high"):  # 7x7 is below one sym4 level: pywt warns too
        ya = a(effnet_maps)
    with pytest.warns(UserWarning, match="too high"):
        yb = b(effnet_maps)
    assert torch.allclose(ya, yb, atol=1e-5)


def test_float64_stays_float64(effnet_maps):
    out = WaveletFeatures("haar", 2, ("LL",))([m.double() for m in effnet_maps])
    assert out.dtype == torch.float64


def test_bad_arguments(resnet_maps):
    with pytest.raises(ValueError, match="unknown wavelet 'db0'.*'db4'.*'haar'.*'sym4'"):
        WaveletFeatures("db0")
    with pytest.raises(ValueError, match="mode must be one of .*symmetric"):
        WaveletFeatures(mode="mirror")
    for level in (0, -1):
        with pytest.raises(ValueError, match="level"):
            WaveletFeatures(level=level)
    for level in (1.0, True, "2"):
        with pytest.raises(TypeError, match="level must be an integer"):
            WaveletFeatures(level=level)
    with pytest.raises(ValueError, match="subbands must not be empty"):
        WaveletFeatures(subbands=())
    with pytest.raises(ValueError, match="unknown subband.*'XY'"):
        WaveletFeatures(subbands=("LL", "XY"))
    with pytest.raises(ValueError, match="duplicate subband.*'LH'"):
        WaveletFeatures(subbands=("LH", "LL", "LH"))
    with pytest.raises(ValueError, match="align"):
        WaveletFeatures(align="median")
    with pytest.raises(ValueError, match="align"):
        WaveletFeatures(align=(0, 4))
    with pytest.raises(ValueError, match="backend"):
        WaveletFeatures(backend="gpu")

    # level above the maximum of the smallest layer: the message names the layer, its size and the maximum
    wf = WaveletFeatures("haar", 4)
    with pytest.raises(ValueError, match=r"level 4 is too high for layer 2 of spatial size 14x14.*maximum level.*is 3"):
        wf(resnet_maps)
    with pytest.raises(ValueError, match=r"layer 2 of spatial size 14x14"):
        wf.output_shape(RESNET18)
    with pytest.raises(ValueError, match=r"too high for layer 3 of spatial size 7x7.*'db4'.*is 0"):
        WaveletFeatures("db4", 1).output_shape(EFFICIENTNET_B0)

    wf = WaveletFeatures()
    with pytest.raises(ValueError, match="4 dimensions"):
        wf([torch.rand(64, 56, 56)])
    with pytest.raises(TypeError, match="float32 or float64"):
        wf([torch.ones(2, 3, 8, 8, dtype=torch.int32)])
    with pytest.raises(TypeError, match="float32 or float64"):
        wf([torch.ones(2, 3, 8, 8, dtype=torch.float16)])
    with pytest.raises(ValueError, match="non-empty list"):
        wf([])
    with pytest.raises(ValueError, match="batch/dtype/device"):
        wf([torch.rand(2, 3, 8, 8), torch.rand(3, 3, 8, 8)])
    with pytest.raises(TypeError, match="torch.Tensor"):
        wf([np.ones((2, 3, 8, 8), dtype=np.float32)])
    with pytest.raises(ValueError, match="in_channels_list must not be empty"):
        wf.out_channels([])
    with pytest.raises(ValueError, match=r"layer_shapes\[0\]"):
        wf.output_shape([(8, 8)])
