import math

import numpy as np
import pytest
import torch

from conftest import ALL_FILTERS, numpy_filter
from fastfreq import FrequencyFilter, RadialWeight, radial_frequency
from fastfreq.kernels.spectral import filter_grid

SIZES = [(31, 95), (1, 10), (2, 7), (17, 23), (8, 12), (256, 256), (5, 1)]


def test_radial_frequency_is_fftfreq_radius():
    d = radial_frequency(4, 5)
    assert d.shape == (4, 5)
    assert d[0, 0] == 0.0
    assert d[2, 0] == pytest.approx(0.5)          # row Nyquist of an even size
    assert d[0, 1] == pytest.approx(0.2)
    assert d[1, 2] == pytest.approx(math.hypot(0.25, 0.4))
    assert d[3, 4] == pytest.approx(math.hypot(-0.25, -0.2))


def test_formulas_by_hand():
    d = np.array([0.0, 0.1, 0.2, 0.3])
    bl = FrequencyFilter("butterworth", "lowpass", 0.2, order=2).response(d)
    assert bl == pytest.approx([1.0, 1 / (1 + 0.5 ** 4), 0.5, 1 / (1 + 1.5 ** 4)])
    gl = FrequencyFilter("gaussian", "lowpass", 0.2).response(d)
    assert gl == pytest.approx(np.exp(-d ** 2 / (2 * 0.04)))
    assert gl[2] == pytest.approx(math.exp(-0.5))
    il = FrequencyFilter("ideal", "lowpass", 0.2).response(d)
    assert il.tolist() == [1.0, 1.0, 1.0, 0.0]
    bh = FrequencyFilter("butterworth", "highpass", 0.2, order=3).response(d)
    assert bh == pytest.approx(1 - 1 / (1 + (d / 0.2) ** 6))
    bp = FrequencyFilter("ideal", "bandpass", (0.1, 0.25)).response(d)
    assert bp.tolist() == [0.0, 0.0, 1.0, 0.0]
    bs = FrequencyFilter("ideal", "bandstop", (0.1, 0.25)).response(d)
    assert bs.tolist() == [1.0, 1.0, 0.0, 1.0]


@pytest.mark.parametrize("filt", ALL_FILTERS, ids=repr)
def test_mask_layout_and_dc(filt):
    m = filt.mask(31, 95)
    assert m.dtype == np.float32 and m.shape == (31, 95)
    expected_dc = {"lowpass": 1.0, "highpass": 0.0, "bandpass": 0.0, "bandstop": 1.0}[filt.mode]
    assert m[0, 0] == pytest.approx(expected_dc)
    # radial, so symmetric under (u, v) -> (-u, -v)
    assert np.array_equal(m[1:, 1:], m[1:, 1:][::-1, ::-1])
    m[0, 0] = 42.0  # a fresh array: the cache is not corrupted
    assert filt.mask(31, 95)[0, 0] == pytest.approx(expected_dc)


@pytest.mark.parametrize("filt", ALL_FILTERS + [FrequencyFilter("butterworth", "highpass", 0.17, 2.5)], ids=repr)
@pytest.mark.parametrize("h,w", SIZES)
def test_kernel_formula_equals_mask(filt, h, w):
    grid = filter_grid(filt.spec(), h, w)
    exact = filt.response(radial_frequency(h, w))
    if filt.shape == "ideal":
        assert np.array_equal(grid, exact)
    else:
        np.testing.assert_allclose(grid, exact, rtol=0, atol=1e-12)


@pytest.mark.parametrize("backend", ["numba", "torch", "torch_batched"])
@pytest.mark.parametrize("filt", ALL_FILTERS, ids=repr)
def test_filter_call_matches_numpy(filt, backend):
    rng = np.random.default_rng(1)
    x = rng.random((3, 2, 31, 95)).astype(np.float32)
    before = x.copy()
    y = filt(x, backend=backend)
    assert isinstance(y, np.ndarray) and y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_allclose(y, numpy_filter(x.astype(np.float64), filt.mask(31, 95)), atol=2e-6)
    assert np.array_equal(x, before)


@pytest.mark.parametrize("shape", [(31, 95), (17, 23), (4, 1, 8, 12), (2, 3, 1, 5, 9)])
def test_filter_types_and_shapes(shape):
    filt = FrequencyFilter("gaussian", "highpass", 0.1)
    t = torch.rand(*shape, dtype=torch.float64)
    y = filt(t)
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float64 and y.shape == t.shape
    np.testing.assert_allclose(y.numpy(), numpy_filter(t.numpy(), filt.mask(*shape[-2:])), atol=1e-12)


def test_highpass_removes_mean_and_lowpass_keeps_constant():
    x = torch.full((2, 1, 31, 95), 0.7)
    assert FrequencyFilter("butterworth", "highpass", 0.2)(x).abs().max() < 1e-6
    assert (FrequencyFilter("ideal", "lowpass", 0.1)(x) - 0.7).abs().max() < 1e-6


def test_radial_weight_interpolates():
    rw = RadialWeight([0.0, 0.2, 0.4], [1.0, 3.0, 0.0])
    assert rw.response(np.array([0.0, 0.1, 0.3, 0.6])).tolist() == pytest.approx([1.0, 2.0, 1.5, 0.0])
    mid = RadialWeight.mid_band(gain=2.0, base=0.5).mask(31, 95)
    assert mid[0, 0] == pytest.approx(0.5) and mid.max() == pytest.approx(2.0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(shape="box"), "shape"),
    (dict(mode="notch"), "mode"),
    (dict(cutoff=0.0), "cutoff"),
    (dict(cutoff=-0.1), "cutoff"),
    (dict(cutoff=float("nan")), "cutoff"),
    (dict(order=0.5), "order"),
    (dict(mode="bandpass", cutoff=0.2), "cutoff"),
    (dict(mode="bandpass", cutoff=(0.3, 0.1)), "low < high"),
])
def test_filter_rejects_bad_arguments(kwargs, match):
    args = dict(shape="butterworth", mode="highpass", cutoff=0.2, order=2) | kwargs
    with pytest.raises(ValueError, match=match):
        FrequencyFilter(**args)


def test_filter_rejects_bad_input():
    f = FrequencyFilter()
    with pytest.raises(TypeError, match="dtype"):
        f(torch.zeros(2, 8, 8, dtype=torch.int32))
    with pytest.raises(TypeError, match="x must be"):
        f([[1.0, 2.0]])
    with pytest.raises(ValueError, match="shape"):
        f(torch.zeros(8))
    with pytest.raises(ValueError, match="NaN"):
        f(torch.tensor([[1.0, float("nan")], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="NaN"):
        f(torch.tensor([[1.0, float("inf")], [0.0, 1.0]]), backend="torch")
    with pytest.raises(ValueError, match="backend"):
        f(torch.zeros(4, 4), backend="fftw")
    with pytest.raises(ValueError, match="w must"):
        f.mask(4, 0)
    with pytest.raises(ValueError, match="knots"):
        RadialWeight([0.2, 0.1], [1.0, 1.0])
