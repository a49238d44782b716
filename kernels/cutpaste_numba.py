"""Batched Scaled CutPaste in one parallel Numba pass (CPU).

Per sample (in parallel): copy the image while checking it is finite, write
the mask, and if the sample is applied: cut the patch (all channels), max-abs
normalise it, filter it on its own h x w grid with a real FFT and the spectral
weight evaluated in place, scale it by the amplitude and add it at the
destination. Optionally filter the whole augmented image (strategy 2) before
the sample leaves the cache. Deterministic in (images, params).

Inner loops run over contiguous rows so LLVM vectorises them.
"""
import numpy as np
from numba import njit, prange

from . import _threading  # noqa: F401  (threading layer before compiling)
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
    """max |flat| (max is associative, so the fast-math reduction is exact; inputs are finite)."""
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
def _add_scaled(image, patch, dy, dx, a):
    """image[:, dy:dy+h, dx:dx+w] += patch * a."""
    C, h, w = patch.shape
    for c in range(C):
        for i in range(h):
            dst = image[c, dy + i, dx:dx + w]
            src = patch[c, i]
            for j in range(w):
                dst[j] += src[j] * a


@njit(parallel=True, cache=True)
def cutpaste_batch(x, out, x_bits, out_bits, exponent, lsb, mask, applied, src_y, src_x, dst_y, dst_x,
                   cut_h, cut_w, amplitude, mix, normalize, filter_patch, spec_a, spec_b, knots, weights,
                   filter_image, image_mask_half, nonfinite):
    """x, out: (B, C, H, W); x_bits, out_bits: the same memory as (B, C*H*W) bit patterns
    (``finite.bit_rows``) for the copy; mask: (B, 1, H, W); nonfinite[b] set if x[b] has NaN/Inf."""
    B, C, H, W = x.shape
    for b in prange(B):
        nonfinite[b] = copy_finite(x_bits[b], out_bits[b], exponent, lsb)
        m = mask[b, 0]
        m[:, :] = 0.0
        if applied[b]:
            h, w = cut_h[b], cut_w[b]
            dy, dx = dst_y[b], dst_x[b]
            patch = _cut(x[b], src_y[b], src_x[b], h, w)
            if normalize:
                peak = _abs_max(patch.reshape(patch.size))
                if peak > 0.0:
                    patch /= peak
            if filter_patch:
                patch = _filter_patch(patch, spec_a, spec_b, mix[b], knots, weights)
            _add_scaled(out[b], patch, dy, dx, amplitude[b])
            m[dy:dy + h, dx:dx + w] = 1.0
        if filter_image:
            spec = np.fft.rfft2(out[b])
            spec *= image_mask_half
            out[b] = np.fft.irfft2(spec, s=(H, W))
