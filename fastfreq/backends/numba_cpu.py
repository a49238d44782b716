"""Host drivers of the Numba CPU kernels (``fastfreq.kernels``): CutPaste, whole-image filter, DWT.

Each driver views torch tensors as NumPy arrays (no copies), allocates the
outputs with torch and runs one compiled parallel pass. Outputs are allocated
by torch, like the inputs: with NumPy-allocated outputs the load and store
streams of the copy 4K-alias and the copy ran 10x slower.
"""
from __future__ import annotations

import numba
import numpy as np
import torch

from .dwt_tables import analysis_axis, filter_bank, synthesis_axis


def limit_threads(n: int) -> None:
    """Cap the threads Numba's parallel loops use in this process (e.g. 1 in a DataLoader worker)."""
    from ..kernels.threads import limit_threads as limit

    limit(n)


def _empty(shape, dtype) -> tuple:
    """(tensor, NumPy view) of a new torch-allocated CPU array."""
    t = torch.empty(shape, dtype=dtype)
    return t, t.numpy()


def cutpaste(images: torch.Tensor, params, options):
    """(out, mask) of the fused CutPaste kernel: copy + NaN/Inf check, cut, normalise, filter the
    patch on its own grid, scale, add, mask, optional whole-image filter."""
    from ..kernels.cutpaste_numba import cutpaste_batch
    from ..kernels.finite import bit_rows

    x = images.contiguous().numpy()
    B, C, H, W = x.shape
    out_t, out = _empty(x.shape, images.dtype)
    mask_t, mask = _empty((B, 1, H, W), images.dtype)
    nonfinite = np.zeros(B, dtype=np.bool_)
    spec_a, spec_b, knots, weights = options.kernel_specs()
    image_filter = options.image_filter
    image_mask_half = image_filter.mask_half(H, W) if image_filter is not None else np.ones((1, 1), np.float32)
    mix = params.mix if options.dual_path is not None else np.ones(B)
    i64 = lambda a: np.ascontiguousarray(a, dtype=np.int64)  # noqa: E731
    f64 = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
    x_bits, exponent, lsb = bit_rows(x)
    args = (x, out, x_bits, bit_rows(out)[0], exponent, lsb, mask, np.ascontiguousarray(params.applied, dtype=np.bool_),
            i64(params.src_y), i64(params.src_x), i64(params.dst_y), i64(params.dst_x),
            i64(params.cut_h), i64(params.cut_w), f64(params.amplitude), f64(mix),
            options.normalize, options.filters_patch, spec_a, spec_b, knots, weights,
            image_filter is not None, image_mask_half, nonfinite)
    # samples differ widely in cost (patch sizes): schedule them dynamically
    previous = numba.set_parallel_chunksize(1)
    try:
        cutpaste_batch(*args)
    finally:
        numba.set_parallel_chunksize(previous)
    if nonfinite.any():
        raise ValueError(f"images contains NaN or Inf values (sample {int(np.flatnonzero(nonfinite)[0])})")
    return out_t, mask_t


def filter_images(x: torch.Tensor, filt) -> torch.Tensor:
    """``irfft2(rfft2(plane) * mask)`` per (H, W) plane in parallel, NaN/Inf checked on the way."""
    from ..kernels.filter_numba import filter_planes
    from ..kernels.finite import bit_rows

    H, W = x.shape[-2:]
    planes = x.reshape(-1, H, W).contiguous().numpy()
    out_t, out = _empty(planes.shape, x.dtype)
    nonfinite = np.zeros(planes.shape[0], dtype=np.bool_)
    filter_planes(planes, *bit_rows(planes), out, filt.mask_half(H, W), nonfinite)
    if nonfinite.any():
        raise ValueError("x contains NaN or Inf values")
    return out_t.reshape(x.shape)


def _dtype_name(t: torch.Tensor) -> str:
    return "float32" if t.dtype == torch.float32 else "float64"


def _n_chunks(n_planes: int) -> int:
    return max(1, min(n_planes, 4 * numba.get_num_threads()))


def dwt2(x: torch.Tensor, wav, level: int, mode: str):
    """``level`` analysis levels of the (H, W) planes of x: (cA, [(cH, cV, cD) per level 1..J]), each (N, h, w)."""
    from ..kernels.dwt_numba import dwt2_level

    key = filter_bank(wav)
    dt = _dtype_name(x)
    cur = x.reshape(-1, *x.shape[-2:]).contiguous().numpy()
    details = []
    for _ in range(level):
        N, H, W = cur.shape
        w_idx, w_lo, w_hi, w_cnt, w_k0, w_k1, w_s, lo, hi = analysis_axis(W, key, mode, dt)
        h_idx, h_lo, h_hi, h_cnt, h_k0, h_k1, h_s, _, _ = analysis_axis(H, key, mode, dt)
        Ho, Wo = h_idx.shape[0], w_idx.shape[0]
        w_gap, h_gap = 0, 0
        if mode == "zero":  # zero gaps in the kernel's scratch layout replace the edge tables
            w_gap, h_gap = -(w_s // 2), -(h_s // 2)
            w_k0, w_k1, h_k0, h_k1 = 0, Wo, 0, Ho
            # a row's even samples plus the gap fill exactly one scratch row (L even)
            assert w_gap + (W + 1) // 2 <= Wo and h_gap + (H + 1) // 2 <= Ho
        out_t, out = _empty((4, N, Ho, Wo), x.dtype)
        dwt2_level(cur.reshape(-1), out.reshape(-1), lo, hi, w_idx, w_lo, w_hi, w_cnt, w_k0, w_k1,
                   w_s, w_gap, h_idx, h_lo, h_hi, h_cnt, h_k0, h_k1, h_s, h_gap, H, W, _n_chunks(N))
        details.append((out_t[1], out_t[2], out_t[3]))
        ca = out_t[0]
        cur = ca.numpy()
    return ca, details


def idwt2_level(bands, wav, mode: str):
    """One synthesis level: four (N, h, w) subbands (LL, LH, HL, HH) -> (N, H, W)."""
    from ..kernels.dwt_numba import idwt2_level as synthesis_level

    key = filter_bank(wav)
    dt = _dtype_name(bands[0])
    N, Hc, Wc = bands[0].shape
    h_idx, h_lo, h_hi, h_cnt = synthesis_axis(Hc, key, mode, dt)
    w_idx, w_lo, w_hi, w_cnt = synthesis_axis(Wc, key, mode, dt)
    out_t, out = _empty((N, h_idx.shape[0], w_idx.shape[0]), bands[0].dtype)
    flat = [b.contiguous().numpy().reshape(-1) for b in bands]
    synthesis_level(*flat, out.reshape(-1), h_idx, h_lo, h_hi, h_cnt, w_idx, w_lo, w_hi, w_cnt,
                Hc, Wc, _n_chunks(N))
    return out_t
