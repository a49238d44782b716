"""Device-independent spectral formulas, compiled with Numba.

The same expressions as ``fastfreq.filters`` (float64, same operation order),
so a mask evaluated here equals ``FrequencyFilter.mask`` bit for bit for the
ideal filter and to rounding for the others. A filter is encoded as
``spec = [shape, mode, low, high, order]`` (see ``FrequencyFilter.spec``);
``shape == -1`` is the identity.
"""
import math

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def fftfreq_value(k, n):
    """``numpy.fft.fftfreq(n)[k]``, computed as numpy does (integer * (1/n))."""
    kk = k if k < (n + 1) // 2 else k - n
    return kk * (1.0 / n)


@njit(cache=True, inline="always")
def lowpass_value(shape, d, c, order):
    if shape == 0:
        return 1.0 if d <= c else 0.0
    if shape == 1:
        return math.exp(-(d * d) / (2.0 * c * c))
    r = d / c
    n = int(order)
    if n == order:  # integer order: repeated squaring, ~10x cheaper than pow
        return 1.0 / (1.0 + (r * r) ** n)
    return 1.0 / (1.0 + r ** (2.0 * order))


@njit(cache=True)
def filter_value(spec, d):
    shape = int(spec[0])
    if shape < 0:
        return 1.0
    mode = int(spec[1])
    lo, hi, order = spec[2], spec[3], spec[4]
    if mode == 0:
        return lowpass_value(shape, d, lo, order)
    if mode == 1:
        return 1.0 - lowpass_value(shape, d, lo, order)
    band = lowpass_value(shape, d, hi, order) * (1.0 - lowpass_value(shape, d, lo, order))
    return band if mode == 2 else 1.0 - band


@njit(cache=True)
def interp_value(knots, weights, d):
    """``numpy.interp(d, knots, weights)`` for one value (end values held)."""
    n = knots.shape[0]
    if d <= knots[0]:
        return weights[0]
    if d >= knots[n - 1]:
        return weights[n - 1]
    j = np.searchsorted(knots, d, side="right") - 1
    slope = (weights[j + 1] - weights[j]) / (knots[j + 1] - knots[j])
    return slope * (d - knots[j]) + weights[j]


@njit(cache=True)
def patch_weight(spec_a, spec_b, mix, knots, weights, d):
    """Spectral weight of a patch at radius d.

    ``mix * A(d) + (1 - mix) * B(d)`` (dual path; mix = 1 reduces to filter A),
    times the radial band weighting (identity when ``knots`` is empty).
    """
    r = filter_value(spec_a, d)
    if mix != 1.0:
        r = mix * r + (1.0 - mix) * filter_value(spec_b, d)
    if knots.shape[0] > 0:
        r *= interp_value(knots, weights, d)
    return r


@njit(cache=True)
def filter_grid(spec, h, w):
    """(h, w) float64 grid of ``filter_value`` on the unshifted fftfreq layout."""
    out = np.empty((h, w), dtype=np.float64)
    for u in range(h):
        fu = fftfreq_value(u, h)
        for v in range(w):
            fv = fftfreq_value(v, w)
            out[u, v] = filter_value(spec, math.sqrt(fu * fu + fv * fv))
    return out
