"""Whole-image radial filter: real FFTs with the mask multiply fused, parallel over planes."""
import numpy as np
from numba import njit, prange

from . import threads  # noqa: F401
from .finite import any_nonfinite


@njit(parallel=True, cache=True)
def filter_planes(x, x_bits, exponent, lsb, out, mask_half, nonfinite):
    """out[n] = irfft2(rfft2(x[n]) * mask_half) for x of shape (N, H, W);
    x_bits: the same memory as (N, H*W) bit patterns (``finite.bit_rows``) for the NaN/Inf check."""
    N, H, W = x.shape
    for n in prange(N):
        nonfinite[n] = any_nonfinite(x_bits[n], exponent, lsb)
        spec = np.fft.rfft2(x[n])
        spec *= mask_half
        out[n] = np.fft.irfft2(spec, s=(H, W))
