"""The "cupy" backend: CuPy/cuFFT plus Numba CUDA kernels, zero-copy with torch.

Public entry points are the usual ones (``ScaledCutPaste(backend="cupy")``,
``FrequencyFilter(...)(x, backend="cupy")``, ``dwt2(x, backend="cupy")``;
``"auto"`` picks this backend for CUDA tensors when CuPy is installed). This
module holds the device caches and the orchestration (the torch <-> CuPy
boundary is ``cuda_env``):

* ``cutpaste_xp`` / ``filter_xp`` / ``dwt2_xp`` take an array module ``xp``
  (``cupy``, or ``numpy`` standing in for it) and ``kernels``: ``"cuda"``
  launches the Numba CUDA kernels (``kernels/cuda_*.py``; on NumPy arrays
  under ``NUMBA_ENABLE_CUDASIM=1``), ``"numpy"`` runs their NumPy twins
  (``kernels/cuda_twin.py``). That is how CI tests this file without a GPU.
* ``cutpaste_cupy`` / ``filter_cupy`` / ``dwt2_cupy`` wrap CUDA tensors with
  DLPack (no copies) and run everything on torch's current stream: CuPy via
  ``cupy.cuda.ExternalStream``, Numba via ``cuda.external_stream``. Inside the
  pipeline nothing comes back to the host; params go up once per call.

Patch filtering (see docs/gpu.md for the reasoning, not yet measured on a GPU):
patches whose size bucket is small go through ``patch_dft``, a direct
separable DFT with one block per (patch, channel), all patches in one launch;
a size bucket whose direct-DFT work exceeds ``FFT_MIN_WORK`` (many patches of
one large size) uses a batched cuFFT instead.
"""
from __future__ import annotations

import numpy as np
import torch

from .cuda_env import require_cupy, to_cupy, torch_stream
from .cuda_launch import Kernels, irfft2, rfft2, threads_per_block
from .device_cache import DIRECT_MAX_N, TABLES, device_key, mask_half, twiddles, upload
from .dwt_tables import analysis_axis, filter_bank

FFT_MIN_WORK = 2 ** 27  # complex multiply-adds of a size bucket above which it goes to cuFFT


# ----------------------------------------------------------------------------- orchestration

def filter_xp(x, mask, xp=np):
    """``irfft2(rfft2(x) * mask)`` over the last two dims: batched FFTs and one in-place multiply."""
    spec = rfft2(xp, x)
    spec *= mask
    return irfft2(xp, spec, x.shape[-2:]).astype(x.dtype, copy=False)


def _packed_specs(options):
    """(float64 [spec_a, spec_b, knots, weights], n_knots): one upload for the kernels
    (a one-element curve stands in for a missing band weight: no empty device arrays)."""
    spec_a, spec_b, knots, weights = options.kernel_specs()
    if not len(knots):
        knots = weights = np.zeros(1)
    return np.concatenate([spec_a, spec_b, knots, weights]).astype(np.float64), len(knots)


def _route(h: np.ndarray, w: np.ndarray, channels: int, fft_min_work: float):
    """Per applied patch: True for the cuFFT path. A size bucket goes there when it is larger than
    the direct DFT's table or its direct-DFT work (count * C * h * (w//2+1) * 2 (h + w)) is large."""
    fft = np.zeros(h.shape, dtype=bool)
    sizes, inverse, counts = np.unique(np.stack([h, w], 1), axis=0, return_inverse=True, return_counts=True)
    for s, ((hh, ww), n) in enumerate(zip(sizes.tolist(), counts.tolist())):
        work = n * channels * hh * (ww // 2 + 1) * 2 * (hh + ww)
        if max(hh, ww) > DIRECT_MAX_N or work >= fft_min_work:
            fft[inverse.reshape(-1) == s] = True
    return fft


def cutpaste_xp(images, params, options, *, xp=np, kernels="cuda", stream=None, out=None, mask=None,
                fft_min_work=FFT_MIN_WORK):
    """Scaled CutPaste of ``images`` (B, C, H, W), an ``xp`` array, with ``params`` (host
    ``CutPasteParams``) and ``options`` (``CutPasteOptions``).

    Returns (out, mask) as ``xp`` arrays; ``out``/``mask`` may be given
    preallocated (out holding a copy of images, mask zeros). Same contract as
    the other backends: images are not modified.
    """
    B, C, H, W = images.shape
    run = Kernels(kernels, stream, xp).run
    if out is None:
        out = images.copy()
    if mask is None:
        mask = xp.zeros((B, 1, H, W), dtype=images.dtype)
    on = np.flatnonzero(params.applied)
    if on.size:
        packed, nk = _packed_specs(options)
        do_filter = options.filters_patch
        h, w = params.cut_h[on].astype(np.int64), params.cut_w[on].astype(np.int64)
        fft = _route(h, w, C, fft_min_work) if do_filter else np.zeros(on.size, dtype=bool)
        # direct patches first, then the cuFFT ones grouped by size: every group is a slice
        order = np.lexsort((w, h, fft))
        on, h, w, fft = on[order], h[order], w[order], fft[order]
        n_direct = int((~fft).sum())
        spec_len = 2 * C * h * (w // 2 + 1) * do_filter
        offsets = np.concatenate(([0], np.cumsum(spec_len)[:-1]))
        ip = np.stack([on, params.src_y[on], params.src_x[on], params.dst_y[on], params.dst_x[on], h, w,
                       offsets], 1).astype(np.int64)
        mix = params.mix[on] if options.dual_path is not None else np.ones(on.size)
        fp = np.stack([params.amplitude[on], mix], 1).astype(np.float64)
        ip_d, fp_d, packed_d = xp.asarray(ip), xp.asarray(fp), xp.asarray(packed)  # the only uploads
        fs, knots, weights = packed_d[:10], packed_d[10:10 + nk], packed_d[10 + nk:]
        banded = options.band_weight is not None
        if n_direct:
            tw_re, tw_im = twiddles(xp, images.dtype)
            total = max(int(spec_len[:n_direct].sum()), 1)
            scr_re, scr_im = xp.empty(total, images.dtype), xp.empty(total, images.dtype)
            big = int((h[:n_direct] * (w[:n_direct] // 2 + 1)).max()) > 512
            run("patch_dft", (n_direct, C), 256 if big else 128, images, out, mask, ip_d[:n_direct],
                fp_d[:n_direct], fs, knots, weights, banded, options.normalize, do_filter, tw_re, tw_im, scr_re, scr_im,
                images.dtype.type(0))
        start = n_direct
        while start < on.size:
            stop = start + int(((h[start:] == h[start]) & (w[start:] == w[start])).sum())
            hh, ww, n = int(h[start]), int(w[start]), stop - start
            patches = xp.empty((n, C, hh, ww), images.dtype)
            peaks = xp.empty(n, np.float64)
            run("gather_peak", (n,), 256, images, patches, peaks, ip_d[start:stop])
            spec = rfft2(xp, patches)
            real = spec.view(images.dtype)  # (n, C, hh, 2 * (ww // 2 + 1)): the kernel scales re and im
            run("weight_mul", (n,), 256, real, fp_d[start:stop], fs, knots, weights, banded, ww)
            y = irfft2(xp, spec, (hh, ww)).astype(images.dtype, copy=False)
            run("scatter_add", (n, C), 256, y, out, mask, peaks, ip_d[start:stop], fp_d[start:stop], options.normalize)
            start = stop
    if options.image_filter is not None:
        out = filter_xp(out.reshape(B * C, H, W), mask_half(xp, options.image_filter, H, W), xp).reshape(B, C, H, W)
    return out, mask


def dwt2_xp(planes, wav, level: int, mode: str, xp=np, kernels="cuda", stream=None, empty=None):
    """``level`` analysis levels of (N, H, W) ``planes``: (cA, [(cH, cV, cD) per level 1..J]) as xp arrays.

    ``empty(shape, dtype)`` allocates each level's (4, N, h, w) output (default ``xp.empty``)."""
    run = Kernels(kernels, stream, xp).run
    empty = empty or xp.empty
    key, dt = filter_bank(wav), np.dtype(planes.dtype).name

    def table(n):
        def make():
            idx, lo, hi, cnt = analysis_axis(n, key, mode, dt)[:4]
            return tuple(upload(xp, a) for a in (idx, lo, hi, cnt))
        return TABLES.get(("dwt", n, key, mode, dt, device_key(xp)), make)

    cur, details = planes, []
    for _ in range(level):
        N, H, W = cur.shape
        th, tw = table(H), table(W)
        out = empty((4, N, th[0].shape[0], tw[0].shape[0]), planes.dtype)
        threads = 256
        run("dwt2_level", (-(-out[0].size // threads_per_block(threads)),), threads, cur, out, *th, *tw,
            planes.dtype.type(0))
        details.append((out[1], out[2], out[3]))
        cur = out[0]
    return cur, details


# ----------------------------------------------------------------------------- torch entry points

def cutpaste_cupy(images: torch.Tensor, params, options):
    """(out, mask) torch tensors on images' device; outputs allocated by torch, filled in place."""
    B, C, H, W = images.shape
    x = images.contiguous()
    with torch_stream(x.device) as stream:
        out_t = x.clone()
        mask_t = torch.zeros((B, 1, H, W), dtype=x.dtype, device=x.device)
        out_view = to_cupy(out_t)
        out, _ = cutpaste_xp(to_cupy(x), params, options, xp=require_cupy(), kernels="cuda", stream=stream,
                             out=out_view, mask=to_cupy(mask_t))
        if out is not out_view:  # the whole-image filter made a new (CuPy-pool) array: copy into torch's
            out_view[...] = out
    return out_t, mask_t


def filter_cupy(x: torch.Tensor, filt) -> torch.Tensor:
    H, W = x.shape[-2:]
    planes = x.contiguous().reshape(-1, H, W)
    with torch_stream(x.device):
        cp = require_cupy()
        y = filter_xp(to_cupy(planes), mask_half(cp, filt, H, W), cp)
        y_t = torch.empty_like(planes)  # results live in torch's allocator (IPC, record_stream, stats)
        to_cupy(y_t)[...] = y
        return y_t.reshape(x.shape)


def dwt2_cupy(x: torch.Tensor, wav, level: int, mode: str):
    """(cA, [(cH, cV, cD) per level 1..J]) of the (H, W) planes of x, each (N, h, w): views of
    torch-allocated per-level outputs."""
    planes = x.reshape(-1, *x.shape[-2:])
    levels = []

    def empty(shape, dtype):
        levels.append(torch.empty(shape, dtype=planes.dtype, device=planes.device))
        return to_cupy(levels[-1])

    with torch_stream(planes.device) as stream:
        dwt2_xp(to_cupy(planes.contiguous()), wav, level, mode, xp=require_cupy(), kernels="cuda",
                stream=stream, empty=empty)
    return levels[-1][0], [(t[1], t[2], t[3]) for t in levels]
