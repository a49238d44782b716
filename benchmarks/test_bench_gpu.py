"""GPU benchmarks: the "cupy" backend vs torch on the same GPU (skipped without CUDA + CuPy).

Groups (``python benchmarks/report.py -k gpu``), every timed call ends with
``torch.cuda.synchronize()`` so the time is the GPU's, not the launch's:
  * CutPaste strategy 1 on (256, 1, 31, 95) and area-ratio patches on
    (32, 3, 256, 256): cupy vs torch_batched vs the per-sample torch.fft
    reference (baseline);
  * whole-image Butterworth HPF on (64, 1, 256, 256): cupy vs batched torch
    rfft2 (torch_batched) vs batched torch fft2 (baseline);
  * single-level DWT on feature maps: cupy vs fastfreq's torch conv2d
    (baseline) vs pytorch_wavelets and ptwt on the GPU.
At the end the achieved bandwidth (minimal bytes moved / median time) is
printed against the device's peak memory bandwidth.
"""
import warnings

import pytest
import pywt
import torch

from fastfreq import FrequencyFilter, ScaledCutPaste, dwt2, gpu

pytestmark = pytest.mark.skipif(not (torch.cuda.is_available() and gpu.cupy_available()),
                                reason="needs a CUDA device, CuPy and Numba's CUDA target")
BHPF = FrequencyFilter("butterworth", "highpass", 0.2, 2)
CUTPASTE = {
    "gpu_cutpaste_s1_256x1x31x95": ((256, 1, 31, 95), dict(cut_h=(1, 2), cut_w=(10, 80), amplitude=(0.0, 2.0))),
    "gpu_cutpaste_area_32x3x256x256": ((32, 3, 256, 256), dict(area_ratio=(0.02, 0.15), amplitude=(0.0, 0.3))),
}
DWT = {f"gpu_dwt2_{'x'.join(map(str, s))}_{w}_{m}": (s, w, m)
       for s in [(32, 64, 56, 56), (32, 128, 28, 28)] for w in ("haar", "db4") for m in ("zero", "periodization")}
PEAK_BYTES_PER_S = {"H200": 4.8e12, "H100 PCIe": 2.0e12, "H100": 3.35e12, "A100": 2.0e12, "L40S": 0.864e12,
                    "A10": 0.6e12, "RTX 4090": 1.008e12}
_ROWS = []


def _synced(fn, *args, **kwargs):
    def run():
        out = fn(*args, **kwargs)
        torch.cuda.synchronize()
        return out
    run()  # compile kernels, build plans and caches outside the timing
    return run


def _record(benchmark, group, backend, nbytes):
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        _ROWS.append((group, backend, nbytes, stats.stats.median))


def peak_bandwidth() -> float:
    """Bytes/s: from the device's memory clock and bus width (CuPy), else a table by name."""
    try:
        props = gpu.require_cupy().cuda.runtime.getDeviceProperties(torch.cuda.current_device())
        return 2.0 * props["memoryClockRate"] * 1e3 * props["memoryBusWidth"] / 8
    except Exception:  # noqa: BLE001
        name = torch.cuda.get_device_name()
        return next((bw for key, bw in PEAK_BYTES_PER_S.items() if key in name), float("nan"))


@pytest.fixture(scope="module", autouse=True)
def _bandwidth_table(request):
    yield
    if not _ROWS:
        return
    peak = peak_bandwidth()
    out = request.config.pluginmanager.get_plugin("terminalreporter")
    write = out.write_line if out else print
    write(f"\nAchieved bandwidth (minimal bytes / median) on {torch.cuda.get_device_name()}, "
          f"peak {peak / 1e9:.0f} GB/s:")
    for group, backend, nbytes, median in _ROWS:
        gbs = nbytes / median / 1e9
        write(f"  {group:42s} {backend:18s} {median * 1e3:9.3f} ms {gbs:8.1f} GB/s {100 * gbs * 1e9 / peak:5.1f} %")


@pytest.mark.parametrize("backend", ["cupy", "torch_batched", "torch"])
@pytest.mark.parametrize("case", list(CUTPASTE))
def test_gpu_cutpaste(benchmark, case, backend):
    shape, kwargs = CUTPASTE[case]
    x = torch.rand(*shape, device="cuda")
    aug = ScaledCutPaste(**kwargs, probability=1.0, patch_filter=BHPF, seed=0, backend=backend)
    params = aug.sample_params(x.shape)
    benchmark.group = case
    benchmark.extra_info["baseline"] = backend == "torch"
    out = benchmark(_synced(aug.apply, x, params))
    B, C, H, W = shape
    _record(benchmark, case, backend, (2 * C + 1) * B * H * W * x.element_size())  # read x, write out + mask
    assert out.mask.sum() > 0


@pytest.mark.parametrize("backend", ["cupy", "torch_batched", "torch"])
def test_gpu_whole_image_filter(benchmark, backend):
    """cupy: rfft2, fused mask multiply, irfft2; torch_batched: torch rfft2; torch: torch fft2 (baseline)."""
    x = torch.rand(64, 1, 256, 256, device="cuda")
    benchmark.group = "gpu_filter_bhpf_64x1x256x256"
    benchmark.extra_info["baseline"] = backend == "torch"
    out = benchmark(_synced(BHPF, x, backend=backend))
    _record(benchmark, "gpu_filter_bhpf_64x1x256x256", backend, 2 * x.numel() * x.element_size())
    assert out.shape == x.shape


def _dwt_runner(backend, x, wavelet, mode):
    if backend in ("cupy", "torch"):
        return lambda: dwt2(x, wavelet, 1, mode, backend=backend)
    if backend == "ptwt":
        ptwt = pytest.importorskip("ptwt")
        if mode == "periodization":
            pytest.skip("ptwt has no periodization mode")
        w = pywt.Wavelet(wavelet)
        return lambda: ptwt.wavedec2(x, w, mode=mode, level=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pkg_resources deprecation
        pw = pytest.importorskip("pytorch_wavelets")
    xfm = pw.DWTForward(J=1, wave=wavelet, mode=mode).cuda()
    return lambda: xfm(x)


@pytest.mark.parametrize("backend", ["cupy", "torch", "pytorch_wavelets", "ptwt"])
@pytest.mark.parametrize("case", list(DWT))
def test_gpu_dwt2(benchmark, case, backend):
    shape, wavelet, mode = DWT[case]
    x = torch.rand(*shape, device="cuda")
    benchmark.group = case
    benchmark.extra_info["baseline"] = backend == "torch"
    with torch.no_grad():
        out = benchmark(_synced(_dwt_runner(backend, x, wavelet, mode)))
    _record(benchmark, case, backend, 2 * x.numel() * x.element_size())  # read x, write 4 quarter bands
    ref = pywt.wavedec2(x[:1, :2].double().cpu().numpy(), wavelet, mode=mode, level=1, axes=(-2, -1))
    assert (out[0][:1, :2].double().cpu() - torch.from_numpy(ref[0])).abs().max() < 1e-4
