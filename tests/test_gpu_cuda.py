"""The "cupy" backend on a real GPU: parity with numba and the torch reference, zero-copy, streams.

Skipped unless torch sees CUDA and CuPy (with Numba's CUDA target) is usable.
"""
import warnings

import numpy as np
import pytest
import pywt
import torch
from torch.utils.data import DataLoader, Dataset

from conftest import ALL_FILTERS
from fastfreq import FreqCutPasteCollate, FrequencyFilter, ScaledCutPaste, WaveletFeatures, dwt2, idwt2
from fastfreq.backends import cuda_env, gpu
from fastfreq.backends.options import CutPasteOptions
from fastfreq.backends.dispatch import resolve_backend
from test_gpu_orchestration import CASE_IDS, CASES, strategies

pytestmark = pytest.mark.skipif(not (torch.cuda.is_available() and cuda_env.cupy_available()),
                                reason="needs a CUDA device, CuPy and Numba's CUDA target")
BHPF = FrequencyFilter("butterworth", "highpass", 0.2, 2)
GEOMETRIES = {
    "strips_31x95": ((32, 1, 31, 95), dict(cut_h=(1, 2), cut_w=(10, 80))),
    "rgb_64x48": ((8, 3, 64, 48), dict(area_ratio=(0.02, 0.15))),
}


def run(aug, x, params, backend):
    aug.backend = backend
    return aug.apply(x, params)


@pytest.mark.parametrize("geometry", list(GEOMETRIES))
@pytest.mark.parametrize("filt,strategy", CASES, ids=CASE_IDS)
def test_cupy_equals_numba_and_reference(filt, strategy, geometry):
    shape, sizes = GEOMETRIES[geometry]
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(0))
    aug = ScaledCutPaste(**sizes, probability=0.8, seed=3, **strategies(filt)[strategy])
    params = aug.sample_params(shape)
    xc = x.cuda()
    got = run(aug, xc, params, "cupy")
    assert got.image.device == xc.device and got.mask.device == xc.device
    ref = run(aug, xc, params, "torch")
    cpu = run(aug, x, params, "numba")
    assert (got.image - ref.image).abs().max().item() <= 1e-5
    assert (got.image.cpu() - cpu.image).abs().max().item() <= 1e-5
    assert torch.equal(got.mask, ref.mask)
    assert torch.equal(xc.cpu(), x)  # input untouched


def test_both_routes_and_float64():
    x = torch.rand(16, 2, 40, 40, dtype=torch.float64, device="cuda")
    aug = ScaledCutPaste(cut_h=(30, 31), cut_w=(30, 31), probability=1.0, patch_filter=BHPF, seed=0)
    params = aug.sample_params(x.shape)
    ref, ref_mask = run(aug, x, params, "torch").image, run(aug, x, params, "torch").mask
    for work in (np.inf, 0):
        with cuda_env.torch_stream(x.device) as stream:
            out, mask = gpu.cutpaste_xp(cuda_env.to_cupy(x), params, CutPasteOptions(patch_filter=BHPF),
                                        xp=cuda_env.require_cupy(), kernels="cuda", stream=stream, fft_min_work=work)
            out, mask = cuda_env.to_torch(out), cuda_env.to_torch(mask)
        assert (out - ref).abs().max().item() <= 1e-6 and torch.equal(mask, ref_mask)


def test_auto_is_cupy_on_cuda_and_last_partial_batch():
    assert resolve_backend("auto", torch.zeros(1, device="cuda")) == "cupy"
    aug = ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), probability=0.5, patch_filter=BHPF, seed=1)
    for B in (64, 64, 7):
        x = torch.rand(B, 1, 31, 95, device="cuda")
        out = aug(x)
        ref = run(ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), patch_filter=BHPF), x, out.params, "torch")
        assert (out.image - ref.image).abs().max().item() <= 1e-5


@pytest.mark.parametrize("filt", ALL_FILTERS, ids=repr)
def test_whole_image_filter(filt):
    x = torch.rand(4, 2, 61, 64, device="cuda")
    got = filt(x, backend="cupy")
    assert got.device == x.device and got.dtype == x.dtype and got.shape == x.shape
    assert (got - filt(x, backend="torch")).abs().max().item() <= 1e-5


@pytest.mark.parametrize("wavelet", ["haar", "db2", "db4"])
@pytest.mark.parametrize("mode", ["zero", "symmetric", "periodization", "reflect", "smooth"])
def test_dwt2_equals_pywt(wavelet, mode):
    x = torch.rand(2, 3, 29, 34, dtype=torch.float64, device="cuda")
    for level in (1, 2):
        got = dwt2(x, wavelet, level, mode, backend="cupy")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            ref = pywt.wavedec2(x.cpu().numpy(), wavelet, mode=mode, level=level, axes=(-2, -1))
        assert got[0].device == x.device and len(got) == len(ref)
        assert np.abs(got[0].cpu().numpy() - ref[0]).max() <= 1e-10
        for bands, rbands in zip(got[1:], ref[1:]):
            assert all(np.abs(b.cpu().numpy() - r).max() <= 1e-10 for b, r in zip(bands, rbands))
        rec = idwt2(got, wavelet, mode, backend="cupy")  # the torch synthesis on the same device
        assert rec.device == x.device and (rec[..., :29, :34] - x).abs().max().item() <= 1e-10
    feats = WaveletFeatures(wavelet, 1, mode=mode, backend="cupy")([x.float()])
    assert (feats - WaveletFeatures(wavelet, 1, mode=mode, backend="torch")([x.float()])).abs().max() <= 1e-5


def test_zero_copy_views():
    t = torch.rand(4, 5, device="cuda")
    a = cuda_env.to_cupy(t)
    assert a.data.ptr == t.data_ptr()
    assert cuda_env.to_torch(a).data_ptr() == t.data_ptr()
    a[0, 0] = 7.0
    assert t[0, 0].item() == 7.0


def test_runs_on_torchs_current_stream():
    cp = cuda_env.require_cupy()
    side = torch.cuda.Stream()
    x = torch.rand(32, 1, 31, 95, device="cuda")
    aug = ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), probability=1.0, patch_filter=BHPF, seed=2,
                         image_filter=BHPF, backend="cupy")
    params = aug.sample_params(x.shape)
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        with cuda_env.torch_stream(x.device) as stream:
            assert cp.cuda.get_current_stream().ptr == side.cuda_stream
            assert int(stream) == side.cuda_stream
        out = aug.apply(x, params)
    torch.cuda.current_stream().wait_stream(side)
    ref = run(aug, x, params, "torch")
    assert (out.image - ref.image).abs().max().item() <= 1e-5


class Strips(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return torch.full((1, 31, 95), float(i))


def test_spawn_dataloader_and_on_device_form():
    aug = ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), probability=1.0, patch_filter=BHPF, seed=0)
    for images in DataLoader(Strips(), batch_size=4):  # collate plain batches, augment on the GPU
        out = aug(images.to("cuda"))
        assert out.image.is_cuda and aug.backend == "auto"
    gpu_aug = ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), probability=1.0, patch_filter=BHPF, seed=0,
                             backend="cupy")
    for batch in DataLoader(Strips(), batch_size=4, collate_fn=FreqCutPasteCollate(gpu_aug, device="cuda")):
        assert batch.image.is_cuda  # main process
    # spawn workers send CUDA tensors back over IPC: outputs must live in torch's allocator,
    # including the whole-image filter's result
    both = ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), probability=1.0, patch_filter=BHPF, image_filter=BHPF,
                          seed=0, backend="cupy")
    loader = DataLoader(Strips(), batch_size=4, num_workers=1, multiprocessing_context="spawn",
                        collate_fn=FreqCutPasteCollate(both, device="cuda"))
    batches = [(b, b.image.clone(), b.mask.clone()) for b in loader]
    assert [len(b) for b, _, _ in batches] == [4, 2] and all(b.image.is_cuda for b, _, _ in batches)
    for b, image, mask in batches:  # the data that crossed processes equals a replay here
        x = torch.stack([Strips()[i] for i in range(len(b))]).cuda() if len(b) == 4 else \
            torch.stack([Strips()[i] for i in (4, 5)]).cuda()
        ref = both.apply(x, b.params)
        assert (image - ref.image).abs().max().item() <= 1e-5 and torch.equal(mask, ref.mask)
