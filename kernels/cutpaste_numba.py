"""Batched Scaled CutPaste in one parallel Numba pass (CPU).

Per sample (in parallel): if the sample is applied, cut the patch (all
channels), max-abs normalise it and filter it on its own h x w grid with real
FFTs and the spectral weight evaluated in place; then copy the image row by
row while checking it is finite, adding the patch times the amplitude to the
destination rows as they pass, and write the mask. Optionally filter the
whole augmented image (strategy 2) before the sample leaves the cache.
Deterministic in (images, params). (NaN/Inf inputs are only detected during
the copy; the caller discards that batch and raises.)

Inner loops run over contiguous rows so LLVM vectorises them.
"""
import numpy as np
from numba import njit, prange

from . import threads  # noqa: F401  (threading layer before compiling)
from .finite import copy_finite
from .spectral import fill_weight


@njit(cache=True)
def _filter_thin(patch, weight):
    """_filter_patch for h <= 2: the length-h DFT along the height is the row itself (h = 1) or
    the sum and difference of the rows (h = 2), so 1-D real FFTs along the width do the rest
    (rfft2 on a (C, 1..2, w) patch spends most of its time on the trivial axis)."""
    C, h, w = patch.shape
    out = np.empty_like(patch)
    for c in range(C):
        if h == 1:
            spec = np.fft.rfft(patch[c, 0])
            for v in range(spec.shape[0]):
                spec[v] *= weight[0, v]
            out[c, 0] = np.fft.irfft(spec, n=w)
        else:
            top, bottom = patch[c, 0], patch[c, 1]
            s_spec = np.fft.rfft(top + bottom)
            d_spec = np.fft.rfft(top - bottom)
            for v in range(s_spec.shape[0]):
                s_spec[v] *= weight[0, v]
                d_spec[v] *= weight[1, v]
            s_row = np.fft.irfft(s_spec, n=w)
            d_row = np.fft.irfft(d_spec, n=w)
            for j in range(w):
                out[c, 0, j] = (s_row[j] + d_row[j]) * 0.5
                out[c, 1, j] = (s_row[j] - d_row[j]) * 0.5
    return out


@njit(cache=True)
def _filter_patch(patch, spec_a, spec_b, mix, knots, weights):
    """real(ifft2(fft2(patch) * weight)) per channel, as real FFTs on the patch's own grid."""
    h, w = patch.shape[1], patch.shape[2]
    weight = np.empty((h, w // 2 + 1), dtype=np.float64)
    fill_weight(weight, h, w, spec_a, spec_b, mix, knots, weights)
    if h <= 2:
        return _filter_thin(patch, weight)
    spec = np.fft.rfft2(patch)
    for c in range(patch.shape[0]):
        for u in range(h):
            for v in range(w // 2 + 1):
                spec[c, u, v] *= weight[u, v]
    return np.fft.irfft2(spec, s=(h, w))


@njit(cache=True, fastmath={"nnan", "ninf", "nsz"})
def _abs_max(flat):
    """max |flat|. Max is associative, so the vectorised fast-math reduction is exact for finite
    inputs; a batch with NaN/Inf raises after the kernel, so its (undefined) peak never matters."""
    peak = abs(flat[0])
    for k in range(1, flat.shape[0]):
        peak = max(peak, abs(flat[k]))
    return peak


@njit(cache=True)
def _cut(image, sy, sx, h, w):
    """image[:, sy:sy+h, sx:sx+w] as a new C-contiguous (C, h, w) array."""
    C = image.shape[0]
    patch = np.empty((C, h, w), dtype=image.dtype)
    for c in range(C):
        for i in range(h):
            src = image[c, sy + i, sx:sx + w]
            dst = patch[c, i]
            for j in range(w):
                dst[j] = src[j]
    return patch


@njit(cache=True)
def _copy_paste(x_rows, out_rows, out_b, exponent, lsb, patch, dy, dx, a):
    """Copy one sample row by row (bit patterns, checking for NaN/Inf) and add ``patch * a`` to
    the rows of the destination box while they are in L1. x_rows, out_rows: (C*H, W) bit views;
    out_b: the (C, H, W) float view of the output sample. Returns True if the input had NaN/Inf."""
    C, H = out_b.shape[0], out_b.shape[1]
    h, w = patch.shape[1], patch.shape[2]
    bad = False
    for c in range(C):
        for i in range(H):
            bad |= copy_finite(x_rows[c * H + i], out_rows[c * H + i], exponent, lsb)
            if dy <= i < dy + h:
                dst = out_b[c, i, dx:dx + w]
                src = patch[c, i - dy]
                for j in range(w):
                    dst[j] += src[j] * a
    return bad


@njit(cache=True)
def _write_mask(m, dy, dx, h, w):
    """m (H, W) = 1 on the box [dy, dy + h) x [dx, dx + w), 0 elsewhere, in one pass."""
    for i in range(m.shape[0]):
        row = m[i]
        if dy <= i < dy + h:
            row[:dx] = 0.0
            row[dx:dx + w] = 1.0
            row[dx + w:] = 0.0
        else:
            row[:] = 0.0


@njit(parallel=True, cache=True)
def cutpaste_batch(x, out, x_bits, out_bits, exponent, lsb, mask, applied, src_y, src_x, dst_y, dst_x,
                   cut_h, cut_w, amplitude, mix, normalize, filter_patch, spec_a, spec_b, knots, weights,
                   filter_image, image_mask_half, nonfinite):
    """x, out: (B, C, H, W); x_bits, out_bits: the same memory as (B, C*H*W) bit patterns
    (``finite.bit_rows``) for the copy; mask: (B, 1, H, W); nonfinite[b] set if x[b] has NaN/Inf."""
    B, C, H, W = x.shape
    x_rows = x_bits.reshape(B, C * H, W)
    out_rows = out_bits.reshape(B, C * H, W)
    for b in prange(B):
        patch = np.empty((C, 0, 0), dtype=x.dtype)  # nothing to paste
        dy, dx = dst_y[b], dst_x[b]
        if applied[b]:
            patch = _cut(x[b], src_y[b], src_x[b], cut_h[b], cut_w[b])
            if normalize:
                peak = _abs_max(patch.reshape(patch.size))
                if peak > 0.0:
                    patch /= peak
            if filter_patch:
                patch = _filter_patch(patch, spec_a, spec_b, mix[b], knots, weights)
        nonfinite[b] = _copy_paste(x_rows[b], out_rows[b], out[b], exponent, lsb, patch, dy, dx, amplitude[b])
        _write_mask(mask[b, 0], dy, dx, patch.shape[1], patch.shape[2])
        if filter_image:
            spec = np.fft.rfft2(out[b])
            spec *= image_mask_half
            out[b] = np.fft.irfft2(spec, s=(H, W))
