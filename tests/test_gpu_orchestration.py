"""The GPU backend's orchestration without a GPU: NumPy stands in for CuPy and the CUDA kernels
run as their NumPy twins (kernels/cuda_twin.py). The kernels themselves: test_gpu_cudasim.py."""
import pickle
import types
import warnings

import numpy as np
import pytest
import pywt
import torch
from torch.utils.data import DataLoader, Dataset

from conftest import ALL_FILTERS, STRATEGY_CASES, strategies
from fastfreq import FreqCutPasteCollate, FrequencyFilter, ScaledCutPaste, dwt2
from fastfreq.backends import cuda_env, device_cache, gpu
from fastfreq.wavelets.dwt import MODES, get_wavelet
from fastfreq.backends.dispatch import resolve_backend
from fastfreq.backends.options import CutPasteOptions
from fastfreq.backends.reference import cutpaste_reference, filter_reference

BHPF = FrequencyFilter("butterworth", "highpass", 0.2, 2)
ROUTES = {"direct": np.inf, "cufft": 0}  # fft_min_work: every bucket direct, or every bucket through FFTs

CASES = STRATEGY_CASES
CASE_IDS = [f"{f.shape}-{f.mode}-{s}" for f, s in CASES]


def run_xp(x, params, kernels="numpy", route="direct", **options):
    out, mask = gpu.cutpaste_xp(x.numpy(), params, CutPasteOptions(**options), xp=np, kernels=kernels,
                                fft_min_work=ROUTES[route])
    return torch.from_numpy(out), torch.from_numpy(mask)


def check_against_reference(x, params, kernels="numpy", route="direct", atol=1e-5, **options):
    before = x.clone()
    ref, ref_mask = cutpaste_reference(x, params, CutPasteOptions(**options))
    out, mask = run_xp(x, params, kernels, route, **options)
    assert out.dtype == x.dtype and out.shape == x.shape
    assert (out - ref).abs().max().item() <= atol
    assert torch.equal(mask, ref_mask)
    assert torch.equal(x, before)
    return out


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("filt,strategy", CASES, ids=CASE_IDS)
def test_cutpaste_xp_equals_reference(filt, strategy, route):
    x = torch.rand(6, 2, 17, 23, generator=torch.Generator().manual_seed(3))
    options = strategies(filt)[strategy]
    aug = ScaledCutPaste(cut_h=(1, 16), cut_w=(1, 22), probability=0.8, seed=7, **options)
    params = aug.sample_params(x.shape)
    assert params.applied.any() and not params.applied.all()
    check_against_reference(x, params, route=route, **options)


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("kwargs", [dict(normalize=False, patch_filter=BHPF), dict(), dict(normalize=False),
                                    dict(probability=0.0, patch_filter=BHPF)])
def test_unfiltered_unnormalised_and_unapplied(kwargs, route):
    x = torch.rand(5, 3, 20, 24, dtype=torch.float64)
    kwargs = dict(probability=1.0) | kwargs
    aug = ScaledCutPaste(cut_h=(2, 19), cut_w=(2, 23), seed=1, **kwargs)
    params = aug.sample_params(x.shape)
    options = dict(normalize=aug.normalize, patch_filter=aug.patch_filter)
    atol = 1e-12 if aug.patch_filter is None else 1e-6  # the reference rounds patch weights to float32
    out = check_against_reference(x, params, route=route, atol=atol, **options)
    if not params.applied.any():
        assert torch.equal(out, x)


def test_strip_geometry_float64_and_area_ratio():
    """The benchmark geometries, shrunk: strips on 31 x 95, area-ratio patches on RGB."""
    x = torch.rand(16, 1, 31, 95, dtype=torch.float64)
    aug = ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), probability=0.7, patch_filter=BHPF, seed=2)
    check_against_reference(x, aug.sample_params(x.shape), atol=1e-6, patch_filter=BHPF)
    x = torch.rand(4, 3, 64, 64)
    aug = ScaledCutPaste(area_ratio=(0.02, 0.15), probability=1.0, patch_filter=BHPF, seed=2)
    check_against_reference(x, aug.sample_params(x.shape), patch_filter=BHPF, image_filter=BHPF)


def test_last_partial_batch_and_bounded_mask_cache(monkeypatch):
    monkeypatch.setattr(device_cache, "MASKS", device_cache.LRU(3))
    aug = ScaledCutPaste(cut_h=(1, 4), cut_w=(1, 6), probability=0.9, patch_filter=BHPF, image_filter=BHPF, seed=4)
    for B, H, W in [(8, 9, 13), (3, 9, 13), (1, 9, 13), (2, 10, 12), (2, 11, 12), (2, 12, 12), (3, 9, 13)]:
        x = torch.rand(B, 2, H, W)
        check_against_reference(x, aug.sample_params(x.shape), patch_filter=BHPF, image_filter=BHPF)
        assert len(device_cache.MASKS) <= 3


def test_lru_evicts_least_recently_used():
    cache, made = device_cache.LRU(2), []
    for key in ["a", "b", "a", "c", "b"]:
        cache.get(key, lambda k=key: made.append(k) or k)
    assert made == ["a", "b", "c", "b"] and list(cache.data) == ["c", "b"]


def test_routing_by_work():
    strip_h, strip_w = np.random.default_rng(0).integers(1, 3, 256), np.random.default_rng(1).integers(10, 81, 256)
    assert not gpu._route(strip_h, strip_w, 1, gpu.FFT_MIN_WORK).any()  # ~140 tiny sizes: one DFT launch
    area = np.random.default_rng(2).integers(36, 100, (2, 32))
    assert not gpu._route(area[0], area[1], 3, gpu.FFT_MIN_WORK).any()  # 32 distinct sizes: direct
    same = np.full(256, 128)
    assert gpu._route(same, same, 1, gpu.FFT_MIN_WORK).all()  # one big repeated size: cuFFT
    assert gpu._route(np.array([4, 600]), np.array([4, 8]), 1, gpu.FFT_MIN_WORK).tolist() == [False, True]


def test_twiddle_table():
    from fastfreq.kernels.cuda_cutpaste import twiddles

    re, im = twiddles(12, np.float64)
    for n in (1, 2, 7, 12):
        k = np.arange(n)
        np.testing.assert_allclose(re[n * (n - 1) // 2 + k] + 1j * im[n * (n - 1) // 2 + k],
                                   np.exp(-2j * np.pi * k / n), atol=1e-15)


@pytest.mark.parametrize("filt", ALL_FILTERS, ids=repr)
def test_filter_xp_equals_reference(filt):
    for shape in [(3, 2, 31, 95), (2, 1, 16, 17)]:
        x = torch.rand(*shape)
        H, W = shape[-2:]
        got = gpu.filter_xp(x.numpy().reshape(-1, H, W), device_cache.mask_half(np, filt, H, W), np)
        assert got.dtype == np.float32
        ref = filter_reference(x, filt).numpy().reshape(-1, H, W)
        assert np.abs(got - ref).max() <= 1e-5


@pytest.mark.parametrize("wavelet", ["haar", "db2", "db4"])
def test_dwt2_xp_equals_pywt(wavelet):
    rng = np.random.default_rng(0)
    for shape in [(2, 9, 11), (1, 12, 7)]:
        x = rng.random(shape)
        for mode in MODES:
            for level in (1, 2):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    ref = pywt.wavedec2(x, wavelet, mode=mode, level=level, axes=(-2, -1))
                for dtype, tol in ((np.float64, 1e-10), (np.float32, 1e-5)):
                    ca, details = gpu.dwt2_xp(x.astype(dtype), get_wavelet(wavelet), level, mode, xp=np,
                                              kernels="numpy")
                    got = [ca] + [b for bands in reversed(details) for b in bands]
                    want = [ref[0]] + [b for bands in ref[1:] for b in bands]
                    scale = max(1.0, max(float(np.abs(r).max()) for r in want))
                    for g, r in zip(got, want):
                        assert g.shape == r.shape and g.dtype == dtype
                        assert np.abs(g - r).max() <= tol * scale, (shape, mode, level, dtype)


# ----------------------------------------------------------------------------- backend selection

def fake_tensor(device):
    return types.SimpleNamespace(device=torch.device(device))


def test_auto_picks_cupy_for_cuda_only_when_available(monkeypatch):
    assert resolve_backend("auto", torch.zeros(1)) == "numba"
    monkeypatch.setattr(cuda_env, "cupy_available", lambda: True)
    assert resolve_backend("auto", fake_tensor("cuda")) == "cupy"
    assert resolve_backend("auto", torch.zeros(1)) == "numba"
    monkeypatch.setattr(cuda_env, "cupy_available", lambda: False)
    assert resolve_backend("auto", fake_tensor("cuda")) == "torch_batched"


def test_cupy_backend_needs_a_cuda_tensor(monkeypatch):
    monkeypatch.setattr(cuda_env, "_import_cupy", lambda: object())  # pretend CuPy is installed
    with pytest.raises(ValueError, match="needs a CUDA tensor"):
        resolve_backend("cupy", torch.zeros(1))
    monkeypatch.setattr(cuda_env, "cupy_available", lambda: False)  # CuPy but no device / Numba CUDA target
    with pytest.raises(RuntimeError, match="no usable Numba CUDA"):
        resolve_backend("cupy", fake_tensor("cuda"))
    monkeypatch.setattr(cuda_env, "cupy_available", lambda: True)
    assert resolve_backend("cupy", fake_tensor("cuda")) == "cupy"


@pytest.mark.skipif(cuda_env._import_cupy() is not None, reason="CuPy is installed")
def test_cupy_backend_without_cupy_says_how_to_install():
    x = torch.rand(2, 1, 31, 95)
    aug = ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), backend="cupy")  # the name alone is valid
    hint = r"pip install fastfreq\[gpu\]"
    with pytest.raises(ImportError, match=hint):
        aug(x)
    with pytest.raises(ImportError, match=hint):
        BHPF(x, backend="cupy")
    with pytest.raises(ImportError, match=hint):
        dwt2(x, "haar", 1, backend="cupy")
    assert not cuda_env.cupy_available()
    assert ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80))(x).image.shape == x.shape  # CPU unchanged


# ----------------------------------------------------------------------------- DataLoader patterns

class Strips(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return torch.full((1, 31, 95), float(i))


@pytest.mark.parametrize("backend,device", [("cupy", None), ("auto", "cuda")])
def test_collate_refuses_gpu_work_in_forked_workers(backend, device):
    collate = FreqCutPasteCollate(ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), backend=backend), device=device)
    loader = DataLoader(Strips(), batch_size=3, num_workers=1, collate_fn=collate, multiprocessing_context="fork")
    with pytest.raises(RuntimeError, match="forked DataLoader worker.*spawn"):
        next(iter(loader))


def test_collate_device_argument():
    aug = ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), probability=1.0, seed=0)
    collate = FreqCutPasteCollate(aug, device="cpu")
    assert repr(collate).endswith("device='cpu')")
    assert collate([Strips()[i] for i in range(2)]).image.device.type == "cpu"


def test_spawn_pickling_and_the_on_device_form():
    """docs/gpu.md's two patterns on CPU. Spawn workers receive the collate pickled (a real spawn
    DataLoader costs ~15 s of imports here; tests/test_gpu_cuda.py runs one with CUDA)."""
    aug = ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), probability=1.0, patch_filter=BHPF, seed=0)
    collate = pickle.loads(pickle.dumps(FreqCutPasteCollate(aug)))
    batch = collate([Strips()[i] for i in range(3)])
    ref, _ = cutpaste_reference(batch.original, batch.params, CutPasteOptions(patch_filter=BHPF))
    assert (batch.image - ref).abs().max() <= 1e-5
    sizes = []
    for images in DataLoader(Strips(), batch_size=4):  # plain stacking, then augment "on the device"
        out = aug(images.to("cpu"))
        sizes.append(len(out))
        assert out.image.shape == images.shape and out.mask.sum() > 0
    assert sizes == [4, 2]  # the last partial batch
