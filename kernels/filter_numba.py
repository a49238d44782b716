"""Whole-image radial filter: real FFTs with the mask multiply fused, parallel over planes."""
import math

import numpy as np
from numba import njit, prange

from . import _threading  # noqa: F401


@njit(parallel=True, cache=True)
def filter_planes(x, out, mask_half, nonfinite):
    """out[n] = irfft2(rfft2(x[n]) * mask_half) for x of shape (N, H, W)."""
    N, H, W = x.shape
    for n in prange(N):
        bad = False
        for i in range(H):
            for j in range(W):
                if not math.isfinite(x[n, i, j]):
                    bad = True
        nonfinite[n] = bad
        spec = np.fft.rfft2(x[n])
        spec *= mask_half
        out[n] = np.fft.irfft2(spec, s=(H, W))
