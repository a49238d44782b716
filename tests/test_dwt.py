"""2-D DWT: parity with pywt.wavedec2 / waverec2 for the numba kernel and the torch conv reference."""
import warnings

import numpy as np
import pytest
import pywt
import torch

from fastfreq.wavelets.dwt import MODES, WAVELETS, coeff_shapes, dwt2, dwt2_max_level, idwt2

PARITY_WAVELETS = ["haar", "db2", "db4", "sym4", "coif1", "bior2.2"]
BACKENDS = ["numba", "torch"]
SHAPES = [(2, 3, 13, 16), (1, 2, 10, 7)]  # odd H / even W, then even H / odd W
LEVELS = [1, 2, 3]  # pywt only warns above dwtn_max_level: compared too


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """The maps here are tiny: with 2 OpenMP threads on a busy 2-core machine every conv
    waits ~16 ms at a barrier. One thread keeps the file fast; results are unchanged."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _pywt(x, wavelet, mode, level):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # level above dwtn_max_level
        return pywt.wavedec2(x, wavelet, mode=mode, level=level, axes=(-2, -1))


def _flat(coeffs):
    out = [coeffs[0]]
    for bands in coeffs[1:]:
        out.extend(bands)
    return out


def _max_err(got, ref):
    got, ref = _flat(got), _flat(ref)
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        assert g.shape == r.shape
    err = max(float(np.max(np.abs(np.asarray(g, dtype=np.float64) - r))) for g, r in zip(got, ref))
    scale = max(float(np.max(np.abs(r))) for r in ref)
    return err, scale


def _np(coeffs):
    """Tensors -> arrays, keeping pywt's list-of-tuples layout."""
    return [coeffs[0].numpy()] + [tuple(b.numpy() for b in bands) for bands in coeffs[1:]]


def _dwt2_quiet(x, wavelet, level, mode, backend):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return dwt2(x, wavelet, level, mode, backend=backend)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("wavelet", PARITY_WAVELETS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_parity_with_pywt(backend, wavelet, mode):
    """float64 within 1e-10 (relative to the coefficient scale, >= 1), float32 within 1e-5 of it."""
    rng = np.random.default_rng(0)
    for shape in SHAPES:
        x64 = rng.random(shape)
        for level in LEVELS:
            ref = _pywt(x64, wavelet, mode, level)
            got = _dwt2_quiet(torch.from_numpy(x64), wavelet, level, mode, backend)
            assert all(isinstance(c, torch.Tensor) and c.dtype == torch.float64 for c in _flat(got))
            err, scale = _max_err(_np(got), ref)
            assert err <= 1e-10 * max(1.0, scale), (shape, level, err, scale)

            x32 = x64.astype(np.float32)
            got32 = _dwt2_quiet(x32, wavelet, level, mode, backend)  # NumPy in, NumPy out
            assert all(isinstance(c, np.ndarray) and c.dtype == np.float32 for c in _flat(got32))
            ref32 = _pywt(x32.astype(np.float64), wavelet, mode, level)
            err, scale = _max_err(got32, ref32)
            assert err <= 1e-5 * max(1.0, scale), (shape, level, err, scale)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("wavelet", PARITY_WAVELETS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_idwt2_matches_waverec2_and_round_trips(backend, wavelet, mode):
    rng = np.random.default_rng(1)
    for shape in SHAPES:
        x = rng.random(shape)
        H, W = shape[-2:]
        for level in (1, 2):
            coeffs = _dwt2_quiet(torch.from_numpy(x), wavelet, level, mode, backend)
            rec = idwt2(coeffs, wavelet, mode, backend=backend)
            ref = pywt.waverec2(_pywt(x, wavelet, mode, level), wavelet, mode=mode, axes=(-2, -1))
            assert rec.shape == ref.shape  # odd sizes come back one longer, as in pywt
            assert float((rec - torch.from_numpy(ref)).abs().max()) <= 1e-10
            assert float((rec[..., :H, :W] - torch.from_numpy(x)).abs().max()) <= 1e-10
            rec32 = idwt2(_dwt2_quiet(x.astype(np.float32), wavelet, level, mode, backend), wavelet, mode,
                          backend=backend)
            assert rec32.dtype == np.float32
            assert np.max(np.abs(rec32[..., :H, :W] - x)) <= 1e-5


@pytest.mark.parametrize("backend", BACKENDS)
def test_more_wavelets_and_long_filters(backend):
    """Every family, including filters much longer than the signal (dmey: 62 taps on 9 samples)."""
    rng = np.random.default_rng(2)
    x = rng.random((1, 2, 9, 12))
    for wavelet in ["db1", "db10", "sym7", "coif3", "bior6.8", "rbio3.1", "dmey", "bior1.1"]:
        for mode in ("zero", "symmetric", "periodization", "antireflect"):
            got = _dwt2_quiet(torch.from_numpy(x), wavelet, 2, mode, backend)
            err, scale = _max_err(_np(got), _pywt(x, wavelet, mode, 2))
            assert err <= 1e-10 * max(1.0, scale), (wavelet, mode, err)


def test_backends_agree_on_a_feature_map_batch():
    x = torch.randn(4, 8, 56, 56, generator=torch.Generator().manual_seed(0))
    for wavelet in ("haar", "db4"):
        for mode in ("zero", "periodization", "symmetric"):
            a = dwt2(x, wavelet, 2, mode, backend="numba")
            b = dwt2(x, wavelet, 2, mode, backend="torch")
            for u, v in zip(_flat(a), _flat(b)):
                assert u.shape == v.shape and u.dtype == torch.float32
                assert torch.allclose(u, v, atol=1e-5, rtol=1e-5)


@pytest.mark.filterwarnings("ignore:Level value")
def test_output_layout_and_shapes():
    x = torch.rand(2, 3, 13, 16, dtype=torch.float64)
    coeffs = dwt2(x, "db2", level=2, mode="zero")
    assert len(coeffs) == 3
    assert coeffs[0].shape == (2, 3, 5, 6)
    assert [b.shape for b in coeffs[1]] == [(2, 3, 5, 6)] * 3  # level 2 first
    assert [b.shape for b in coeffs[2]] == [(2, 3, 8, 9)] * 3
    assert coeff_shapes(13, 16, "db2", 2, "zero") == [(8, 9), (5, 6)]
    assert coeff_shapes(13, 16, "db2", 1, "periodization") == [(7, 8)]
    assert dwt2(x, "db2", 1, "periodization")[0].shape == (2, 3, 7, 8)
    for c in _flat(coeffs):
        assert c.is_contiguous()
    # the input is not modified, any leading dims work, and a 2-D map too
    before = x.clone()
    dwt2(x, "haar", 1)
    assert torch.equal(x, before)
    img = np.random.default_rng(0).random((9, 11))
    got = dwt2(img, "sym4", 1, "symmetric")
    ref = pywt.wavedec2(img, "sym4", mode="symmetric", level=1)
    assert np.allclose(got[0], ref[0], atol=1e-12)
    assert np.allclose(idwt2(got, "sym4", "symmetric"), pywt.waverec2(ref, "sym4", mode="symmetric"), atol=1e-12)
    five = torch.rand(2, 2, 2, 8, 8, dtype=torch.float64)
    assert dwt2(five, "haar")[0].shape == (2, 2, 2, 4, 4)


@pytest.mark.filterwarnings("ignore:Level value")
def test_non_contiguous_input_and_pywt_wavelet_object():
    x = torch.rand(2, 16, 12, 3, dtype=torch.float64).permute(0, 3, 1, 2)  # (2, 3, 16, 12), strided
    assert not x.is_contiguous()
    w = pywt.Wavelet("db3")
    for backend in BACKENDS:
        got = dwt2(x, w, 2, "reflect", backend=backend)
        ref = pywt.wavedec2(x.numpy(), w, mode="reflect", level=2, axes=(-2, -1))
        assert np.allclose(got[0].numpy(), ref[0], atol=1e-12)
        assert np.allclose(got[1][2].numpy(), ref[1][2], atol=1e-12)


def test_level_none_is_max_level_and_too_high_warns():
    x = torch.rand(1, 1, 32, 20, dtype=torch.float64)
    assert dwt2_max_level(32, 20, "db2") == pywt.dwtn_max_level((32, 20), "db2") == 2
    assert len(dwt2(x, "db2", level=None)) == 3
    with pytest.warns(UserWarning, match="too high"):
        dwt2(x, "db2", level=4)


@pytest.mark.filterwarnings("ignore:Level value")
def test_idwt2_with_missing_details_and_waverec2_cropping():
    x = np.random.default_rng(3).random((2, 13, 11))
    coeffs = pywt.wavedec2(x, "db2", mode="zero", level=2)
    coeffs[2] = (None, coeffs[2][1], None)
    ref = pywt.waverec2(coeffs, "db2", mode="zero")
    got = idwt2(coeffs, "db2", "zero")
    assert got.shape == ref.shape and np.allclose(got, ref, atol=1e-12)


@pytest.mark.filterwarnings("ignore:Level value")
def test_bad_arguments():
    x = torch.rand(1, 1, 8, 8)
    with pytest.raises(ValueError, match="unknown wavelet 'db99'.*haar"):
        dwt2(x, "db99")
    with pytest.raises(ValueError, match="unknown wavelet"):
        dwt2(x, "cmor1.5-1.0")  # continuous: not allowed
    with pytest.raises(ValueError, match="mode must be one of .*periodization"):
        dwt2(x, "haar", 1, "wrap")
    with pytest.raises(ValueError, match="backend must be one of"):
        dwt2(x, "haar", 1, "zero", backend="cuda")
    with pytest.raises(ValueError, match="level"):
        dwt2(x, "haar", 0)
    with pytest.raises(TypeError, match="level must be an integer"):
        dwt2(x, "haar", 1.5)
    with pytest.raises(TypeError, match="float32 or float64"):
        dwt2(torch.ones(1, 1, 8, 8, dtype=torch.int64))
    with pytest.raises(TypeError, match="torch.Tensor or numpy.ndarray"):
        dwt2([[1.0, 2.0]])
    with pytest.raises(ValueError, match="at least one element|shape"):
        dwt2(torch.ones(8))
    with pytest.raises(ValueError, match="greater than 1 for \\[anti\\]reflect"):
        dwt2(torch.ones(1, 1, 1, 8), "haar", 1, "reflect")
    with pytest.raises(ValueError, match="coeffs"):
        idwt2([torch.ones(2, 2)], "haar")
    with pytest.raises(ValueError, match="cH, cV, cD"):
        idwt2([torch.ones(4, 4), (torch.ones(4, 4), torch.ones(3, 4), torch.ones(4, 4))], "haar")
    assert "haar" in WAVELETS and "dmey" in WAVELETS and "morl" not in WAVELETS


def test_negative_strides_and_forked_dataloader_workers():
    img = np.random.default_rng(4).random((2, 12, 10))[:, ::-1, ::-1]  # negative strides
    got = dwt2(img, "db2", 1, "symmetric")
    ref = pywt.wavedec2(img, "db2", mode="symmetric", level=1)
    assert np.allclose(got[0], ref[0], atol=1e-12)

    # the kernel runs in the parent first, then in forked workers (the threading layer must survive fork)
    x = torch.rand(8, 3, 16, 16)
    dwt2(x, "haar", 1, backend="numba")

    class _Maps(torch.utils.data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return dwt2(x[i:i + 1], "haar", 1, backend="numba")[0][0]

    loader = torch.utils.data.DataLoader(_Maps(), batch_size=2, num_workers=2,
                                         multiprocessing_context="fork")
    batches = list(loader)
    assert torch.allclose(torch.cat(batches), dwt2(x[:4], "haar", 1, backend="torch")[0], atol=1e-6)
