"""Batched Scaled CutPaste in one parallel Numba pass (CPU).

Per sample (in parallel): copy the image and check it is finite, write the
mask, and if the sample is applied: cut the patch (all channels), max-abs
normalise it, filter it on its own h x w grid with a real FFT and the spectral
weight evaluated in place, scale it by the amplitude and add it at the
destination. Optionally filter the whole augmented image (strategy 2) before
the sample leaves the cache. Deterministic in (images, params).
"""
import math

import numpy as np
from numba import njit, prange

from . import _threading  # noqa: F401  (threading layer before compiling)
from .spectral import fill_weight


@njit(cache=True)
def _filter_patch(patch, spec_a, spec_b, mix, knots, weights):
    """real(ifft2(fft2(patch) * weight)) per channel, as real FFTs on the patch's own grid."""
    h, w = patch.shape[1], patch.shape[2]
    weight = np.empty((h, w // 2 + 1), dtype=np.float64)
    fill_weight(weight, h, w, spec_a, spec_b, mix, knots, weights)
    spec = np.fft.rfft2(patch)
    for c in range(patch.shape[0]):
        for u in range(h):
            for v in range(w // 2 + 1):
                spec[c, u, v] *= weight[u, v]
    return np.fft.irfft2(spec, s=(h, w))


@njit(parallel=True, cache=True)
def cutpaste_batch(x, out, mask, applied, src_y, src_x, dst_y, dst_x, cut_h, cut_w, amplitude, mix,
                   normalize, filter_patch, spec_a, spec_b, knots, weights,
                   filter_image, image_mask_half, nonfinite):
    B, C, H, W = x.shape
    for b in prange(B):
        bad = False
        for c in range(C):
            for i in range(H):
                for j in range(W):
                    v = x[b, c, i, j]
                    out[b, c, i, j] = v
                    if not math.isfinite(v):
                        bad = True
        nonfinite[b] = bad
        mask[b, 0] = 0.0
        if applied[b]:
            h, w = cut_h[b], cut_w[b]
            sy, sx, dy, dx = src_y[b], src_x[b], dst_y[b], dst_x[b]
            patch = np.empty((C, h, w), dtype=x.dtype)  # FFTs in the input's precision
            peak = 0.0
            for c in range(C):
                for i in range(h):
                    for j in range(w):
                        v = x[b, c, sy + i, sx + j]
                        patch[c, i, j] = v
                        peak = max(peak, abs(v))
            if normalize and peak > 0.0:
                patch /= peak
            if filter_patch:
                patch = _filter_patch(patch, spec_a, spec_b, mix[b], knots, weights)
            a = amplitude[b]
            for c in range(C):
                for i in range(h):
                    for j in range(w):
                        out[b, c, dy + i, dx + j] += patch[c, i, j] * a
            mask[b, 0, dy:dy + h, dx:dx + w] = 1.0
        if filter_image:
            spec = np.fft.rfft2(out[b])
            spec *= image_mask_half
            out[b] = np.fft.irfft2(spec, s=(H, W))
