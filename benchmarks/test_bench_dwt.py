"""Single-level 2-D DWT on backbone-sized feature maps (float32): numba vs the peers.

Baseline: fastfreq's torch grouped-conv2d reference (``dwt2(..., backend="torch")``).
Peers are skipped when not installed (``pip install -e ".[bench]"``) or when
they do not support a mode (ptwt has no "periodization").
"""
import warnings

import numpy as np
import pytest
import pywt
import torch

from fastfreq import dwt2

BACKENDS = ["numba", "torch", "pywt", "ptwt", "pytorch_wavelets"]  # "torch" is the baseline
SHAPES = [(32, 64, 56, 56), (32, 128, 28, 28)]
CASES = {f"{'x'.join(map(str, s))}_{w}_{m}": (s, w, m)
         for s in SHAPES for w in ("haar", "db4") for m in ("zero", "periodization")}


def _runner(backend, x, wavelet, mode):
    """A zero-argument callable computing the single-level DWT of x with one library."""
    if backend in ("numba", "torch"):
        return lambda: dwt2(x, wavelet, 1, mode, backend=backend)
    if backend == "pywt":
        arr = x.numpy()
        return lambda: pywt.wavedec2(arr, wavelet, mode=mode, level=1, axes=(-2, -1))
    if backend == "ptwt":
        ptwt = pytest.importorskip("ptwt")
        if mode == "periodization":
            pytest.skip("ptwt has no periodization mode")
        w = pywt.Wavelet(wavelet)
        return lambda: ptwt.wavedec2(x, w, mode=mode, level=1)  # ptwt defaults to "reflect"
    if backend == "pytorch_wavelets":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pkg_resources deprecation
            pw = pytest.importorskip("pytorch_wavelets")
        xfm = pw.DWTForward(J=1, wave=wavelet, mode=mode)
        return lambda: xfm(x)
    raise ValueError(backend)


def _lowpass(backend, out):
    """The approximation band of any library's output, as a tensor (for a parity check)."""
    if backend == "pywt":
        return torch.from_numpy(out[0])
    return out[0]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", list(CASES))
def test_dwt2_single_level(benchmark, case, backend):
    shape, wavelet, mode = CASES[case]
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(0))
    run = _runner(backend, x, wavelet, mode)
    benchmark.group = "dwt2_" + case
    benchmark.extra_info["baseline"] = backend == "torch"
    out = benchmark(run)
    ref = pywt.wavedec2(x[:1, :2].numpy().astype(np.float64), wavelet, mode=mode, level=1, axes=(-2, -1))
    assert np.abs(_lowpass(backend, out)[:1, :2].numpy() - ref[0]).max() < 1e-4
