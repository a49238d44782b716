"""Device-independent spectral formulas, compiled with Numba.

The same formulas as ``fastfreq.filters``, written on the squared radius
``d2 = fu**2 + fv**2`` so that the inner loop needs no pow or sqrt (except
the ideal filter, which compares ``sqrt(d2) <= c`` exactly as NumPy does, so
its CPU masks are bit-identical; the others agree to ~1e-16). On a GPU, NVVM
fuses ``fu*fu + fv*fv`` into an FMA, so a frequency lying exactly on an ideal
cutoff can fall on the other side there. A filter is encoded
as ``spec = [shape, mode, low, high, order]`` (``FrequencyFilter.spec``);
``shape == -1`` is the identity.

The scalar functions are plain loops and ``math`` calls only: the GPU path
compiles the very same Python source for CUDA (``kernels/cuda_spectral.py``).
"""
import math

import numpy as np
from numba import njit

IDENTITY = np.array([-1.0, 0.0, 0.0, 0.0, 1.0])


@njit(cache=True, inline="always")
def fftfreq_value(k, n):
    """``numpy.fft.fftfreq(n)[k]``, computed as numpy does (integer * (1/n))."""
    kk = k if k < (n + 1) // 2 else k - n
    return kk * (1.0 / n)


@njit(cache=True, inline="always")
def lowpass_d2(shape, d2, c, order, n_int):
    if shape == 0:
        return 1.0 if math.sqrt(d2) <= c else 0.0
    if shape == 1:
        return math.exp(-d2 / (2.0 * c * c))
    q = d2 / (c * c)  # (D / c)**2
    if n_int > 0:  # integer order: repeated multiplication
        p = q
        for _ in range(n_int - 1):
            p *= q
        return 1.0 / (1.0 + p)
    return 1.0 / (1.0 + q ** order)


@njit(cache=True, inline="always")
def filter_value_d2(shape, mode, lo, hi, order, n_int, d2):
    if shape < 0:
        return 1.0
    if mode == 0:
        return lowpass_d2(shape, d2, lo, order, n_int)
    if mode == 1:
        return 1.0 - lowpass_d2(shape, d2, lo, order, n_int)
    band = lowpass_d2(shape, d2, hi, order, n_int) * (1.0 - lowpass_d2(shape, d2, lo, order, n_int))
    return band if mode == 2 else 1.0 - band


@njit(cache=True, inline="always")
def order_int(order):
    n = int(order)
    return n if n == order else 0


@njit(cache=True, inline="always")
def interp_value(knots, weights, d):
    """``numpy.interp(d, knots, weights)`` for one value (end values held).

    A linear scan for the interval (knots are few): plain loops, so the GPU
    kernels compile the same source (``kernels/cuda_spectral.py``).
    """
    n = knots.shape[0]
    if d <= knots[0]:
        return weights[0]
    if d >= knots[n - 1]:
        return weights[n - 1]
    j = 0
    while knots[j + 1] <= d:  # largest j with knots[j] <= d (searchsorted side="right" - 1)
        j += 1
    slope = (weights[j + 1] - weights[j]) / (knots[j + 1] - knots[j])
    return slope * (d - knots[j]) + weights[j]


@njit(cache=True, inline="always")
def weight_d2(d2, sa, ma, loa, hia, oa, na, sb, mb, lob, hib, ob, nb, mix, knots, weights, banded):
    """The spectral weight at squared radius d2: ``mix * A + (1 - mix) * B`` times the band weighting.

    mix == 1 is filter A alone; ``banded`` applies ``interp(sqrt(d2), knots, weights)``.
    Called per element by the CPU kernels and (same source) by the GPU kernels.
    """
    r = filter_value_d2(sa, ma, loa, hia, oa, na, d2)
    if mix != 1.0:
        r = mix * r + (1.0 - mix) * filter_value_d2(sb, mb, lob, hib, ob, nb, d2)
    if banded:
        r *= interp_value(knots, weights, math.sqrt(d2))
    return r


@njit(cache=True)
def fill_weight(out, h, w, spec_a, spec_b, mix, knots, weights):
    """Spectral weight on the first ``out.shape[1]`` columns of the h x w fftfreq grid.

    ``mix * A + (1 - mix) * B`` (dual path; mix == 1 is filter A alone), times
    the radial band weighting when ``knots`` is non-empty. Pass an
    (h, w // 2 + 1) ``out`` for a real-FFT half spectrum, (h, w) for all of it.
    """
    sa, ma, loa, hia, oa = int(spec_a[0]), int(spec_a[1]), spec_a[2], spec_a[3], spec_a[4]
    sb, mb, lob, hib, ob = int(spec_b[0]), int(spec_b[1]), spec_b[2], spec_b[3], spec_b[4]
    na, nb = order_int(oa), order_int(ob)
    banded = knots.shape[0] > 0
    fv2 = np.empty(out.shape[1])
    for v in range(out.shape[1]):
        fv = fftfreq_value(v, w)
        fv2[v] = fv * fv
    for u in range(h // 2 + 1):
        fu = fftfreq_value(u, h)
        fu2 = fu * fu
        for v in range(out.shape[1]):
            out[u, v] = weight_d2(fu2 + fv2[v], sa, ma, loa, hia, oa, na, sb, mb, lob, hib, ob, nb, mix,
                                  knots, weights, banded)
    for u in range(h // 2 + 1, h):  # fftfreq(h)[h - u] == -fftfreq(h)[u]: the same row, bit for bit
        out[u, :] = out[h - u, :]


@njit(cache=True)
def filter_grid(spec, h, w):
    """(h, w) float64 transfer function of one filter (for tests and host use)."""
    out = np.empty((h, w), dtype=np.float64)
    fill_weight(out, h, w, spec, spec, 1.0, np.empty(0), np.empty(0))
    return out
