"""The Numba CUDA kernels of the GPU backend, run by Numba's CUDA simulator on NumPy arrays.

Run separately (the simulator must be on before numba is imported):

    NUMBA_ENABLE_CUDASIM=1 python -m pytest -q tests/test_gpu_cudasim.py

The simulator runs every GPU thread as a Python thread: tiny inputs only.
"""
import os
import warnings

import numpy as np
import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("needs NUMBA_ENABLE_CUDASIM=1 (a separate pytest run, see .ci/run)", allow_module_level=True)

import pywt  # noqa: E402
import torch  # noqa: E402

from fastfreq import FrequencyFilter, ScaledCutPaste  # noqa: E402
from fastfreq.backends import gpu  # noqa: E402
from fastfreq.backends.options import CutPasteOptions  # noqa: E402
from fastfreq.wavelets.dwt import MODES, get_wavelet  # noqa: E402
from fastfreq.backends.reference import cutpaste_reference  # noqa: E402
from test_gpu_orchestration import CASE_IDS, CASES, ROUTES, strategies  # noqa: E402

BHPF = FrequencyFilter("butterworth", "highpass", 0.2, 2)
# the cuFFT route's kernels (gather, weight, scatter): every strategy with one filter per shape and mode
FFT_CASES = [(f, s) for f, s in CASES if (f.shape, f.mode) in
             {("ideal", "bandstop"), ("gaussian", "highpass"), ("butterworth", "bandpass"), ("butterworth", "lowpass")}]


def compare(x, aug, route, atol=1e-5):
    params = aug.sample_params(x.shape)
    options = dict(normalize=aug.normalize, patch_filter=aug.patch_filter, dual_path=aug.dual_path,
                   band_weight=aug.band_weight, image_filter=aug.image_filter)
    options = CutPasteOptions(**options)
    ref, ref_mask = cutpaste_reference(x, params, options)
    aug.backend = "numba"
    cpu = aug.apply(x, params).image
    out, mask = gpu.cutpaste_xp(x.numpy(), params, options, xp=np, kernels="cuda", fft_min_work=ROUTES[route])
    twin, _ = gpu.cutpaste_xp(x.numpy(), params, options, xp=np, kernels="numpy", fft_min_work=ROUTES[route])
    out = torch.from_numpy(out)
    assert (out - ref).abs().max().item() <= atol
    assert (out - cpu).abs().max().item() <= atol
    assert np.abs(out.numpy() - twin).max() <= atol
    assert torch.equal(torch.from_numpy(mask), ref_mask)
    return params


@pytest.mark.parametrize("filt,strategy", CASES, ids=CASE_IDS)
def test_direct_dft_kernel(filt, strategy):
    x = torch.rand(3, 2, 8, 12, generator=torch.Generator().manual_seed(1))
    aug = ScaledCutPaste(cut_h=(1, 7), cut_w=(1, 11), probability=0.7, seed=5, **strategies(filt)[strategy])
    params = compare(x, aug, "direct")
    assert params.applied.any() and not params.applied.all()


@pytest.mark.parametrize("filt,strategy", FFT_CASES, ids=[f"{f.shape}-{f.mode}-{s}" for f, s in FFT_CASES])
def test_fft_bucket_kernels(filt, strategy):
    x = torch.rand(3, 2, 8, 12, generator=torch.Generator().manual_seed(2))
    aug = ScaledCutPaste(cut_h=(1, 7), cut_w=(1, 11), probability=1.0, seed=6, **strategies(filt)[strategy])
    compare(x, aug, "cufft")


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("kwargs", [dict(normalize=False), dict(), dict(probability=0.0)],
                         ids=["unnormalised", "unfiltered", "unapplied"])
def test_options(kwargs, route):
    x = torch.rand(3, 1, 8, 10, dtype=torch.float64)
    aug = ScaledCutPaste(cut_h=(1, 7), cut_w=(1, 9), **(dict(probability=1.0, patch_filter=BHPF) | kwargs), seed=3)
    if "normalize" not in kwargs:
        aug.patch_filter = None
    compare(x, aug, route, atol=1e-12 if aug.patch_filter is None else 1e-6)


def test_strip_patches_on_31x40_and_a_partial_batch():
    aug = ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 30), probability=1.0, patch_filter=BHPF, seed=0)
    for B in (4, 1):
        compare(torch.rand(B, 1, 31, 40), aug, "direct")


@pytest.mark.parametrize("wavelet", ["haar", "db2", "db4"])
def test_dwt_kernel_equals_pywt(wavelet):
    rng = np.random.default_rng(0)
    for shape in [(2, 9, 11), (1, 8, 7)]:
        x = rng.random(shape).astype(np.float32)
        for mode in MODES:
            for level in (1, 2):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    ref = pywt.wavedec2(x.astype(np.float64), wavelet, mode=mode, level=level, axes=(-2, -1))
                ca, details = gpu.dwt2_xp(x, get_wavelet(wavelet), level, mode, xp=np, kernels="cuda")
                got = [ca] + [b for bands in reversed(details) for b in bands]
                want = [ref[0]] + [b for bands in ref[1:] for b in bands]
                scale = max(1.0, max(float(np.abs(r).max()) for r in want))
                for g, r in zip(got, want):
                    assert g.shape == r.shape and g.dtype == np.float32
                    assert np.abs(g - r).max() <= 1e-5 * scale, (shape, mode, level)


def test_dwt_kernel_float64():
    x = np.random.default_rng(1).random((1, 10, 9))
    ca, details = gpu.dwt2_xp(x, get_wavelet("db2"), 1, "symmetric", xp=np, kernels="cuda")
    ref = pywt.wavedec2(x, "db2", mode="symmetric", level=1, axes=(-2, -1))
    assert ca.dtype == np.float64 and np.abs(ca - ref[0]).max() <= 1e-12
    assert all(np.abs(g - r).max() <= 1e-12 for g, r in zip(details[0], ref[1]))
