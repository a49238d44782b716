"""Frequency CutPaste and whole-image filter: numba vs batched torch vs the torch.fft reference."""
import pytest
import torch

from fastfreq import FrequencyFilter, ScaledCutPaste

BHPF = FrequencyFilter("butterworth", "highpass", 0.2, 2)
BACKENDS = ["numba", "torch_batched", "torch"]  # "torch" is the per-sample reference (baseline)

CASES = {
    # strategy 1 on HDMAP-sized maps (31 x 95), the HDMAP strip settings of fastfreq.augment.presets
    "cutpaste_s1_256x1x31x95": ((256, 1, 31, 95), dict(cut_h=(1, 2), cut_w=(10, 80), amplitude=(0.0, 2.0))),
    # classic area-ratio patches on RGB 256 x 256
    "cutpaste_area_32x3x256x256": ((32, 3, 256, 256), dict(area_ratio=(0.02, 0.15), amplitude=(0.0, 0.3))),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", list(CASES))
def test_cutpaste(benchmark, case, backend):
    shape, kwargs = CASES[case]
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(0))
    aug = ScaledCutPaste(**kwargs, probability=1.0, patch_filter=BHPF, seed=0, backend=backend)
    params = aug.sample_params(x.shape)
    benchmark.group = case
    benchmark.extra_info["baseline"] = backend == "torch"
    out = benchmark(aug.apply, x, params)
    assert out.mask.sum() > 0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", [(64, 1, 256, 256), (256, 1, 31, 95)], ids=lambda s: "x".join(map(str, s)))
def test_whole_image_filter(benchmark, shape, backend):
    """numba: fused rfft2 x mask; torch_batched: batched torch.fft.rfft2; torch: fft2 reference."""
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(0))
    benchmark.group = "filter_bhpf_" + "x".join(map(str, shape))
    benchmark.extra_info["baseline"] = backend == "torch"
    out = benchmark(BHPF, x, backend=backend)
    assert out.shape == x.shape
