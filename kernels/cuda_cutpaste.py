"""Numba CUDA kernels of the GPU Scaled CutPaste (orchestrated by ``fastfreq.backends.gpu``).

Per applied sample one patch, described by a row of ``ip`` (int64):
``[b, src_y, src_x, dst_y, dst_x, h, w, scratch offset]`` and of ``fp``
(float64): ``[amplitude, mix]``. ``fs`` holds the two filter specs
(``FrequencyFilter.spec``, 5 + 5 numbers); ``knots``/``weights`` the band
weighting (``banded``). The spectral weight is the CPU kernels' own
``weight_d2`` (``kernels/cuda_spectral.py``).

``patch_dft``: everything in one launch, one block per (patch, channel):
max-abs over the patch (all channels), a direct separable real DFT (rows,
then columns, weight, inverse columns, inverse rows) through a global
scratch, then ``out[dst] += filtered * amplitude / peak`` and the mask.
Source and destination may overlap: it reads the original, writes the copy.
``gather_peak`` / ``weight_mul`` / ``scatter_add``: the same steps around a
batched cuFFT, for size buckets large enough to pay for it.
"""
import warnings

import numpy as np
from numba import cuda, float64

from .cuda_spectral import fftfreq_value, order_int, weight_d2

MAX_THREADS = 256  # block size limit (the shared peak reduction buffer)


def launch(kernel, grid, threads, stream, *args):
    """``kernel[grid, threads, stream](*args)``; CuPy arrays are wrapped without a host sync.

    Small grids (one block per patch) are intended: Numba's low-occupancy warning is silenced."""
    from numba.core.errors import NumbaPerformanceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
        kernel[grid, threads, stream](*[_device(a) for a in args])


def _device(a):
    if isinstance(a, np.ndarray) or not hasattr(a, "__cuda_array_interface__"):
        return a
    return cuda.as_cuda_array(a, sync=False)  # ordered by running on the same stream instead


def twiddles(n_max: int, dtype):
    """(cos, -sin) of 2*pi*k/n for every n <= n_max, k < n, at offset n*(n-1)/2 (float64 math, then dtype)."""
    n = np.repeat(np.arange(1, n_max + 1), np.arange(1, n_max + 1))
    k = np.arange(n.size) - n * (n - 1) // 2
    angle = 2.0 * np.pi * k / n
    return np.cos(angle).astype(dtype), (-np.sin(angle)).astype(dtype)


@cuda.jit(device=True)
def _weight(u, v, h, w, fs, mix, knots, weights, banded):
    fu = fftfreq_value(u, h)
    fv = fftfreq_value(v, w)
    return weight_d2(fu * fu + fv * fv, int(fs[0]), int(fs[1]), fs[2], fs[3], fs[4], order_int(fs[4]),
                     int(fs[5]), int(fs[6]), fs[7], fs[8], fs[9], order_int(fs[9]), mix, knots, weights, banded)


@cuda.jit(device=True)
def _peak(x, b, sy, sx, h, w, red):
    """max |x[b, :, box]| over all channels, reduced across the block (power-of-two blockDim)."""
    t = cuda.threadIdx.x
    nt = cuda.blockDim.x
    hw = h * w
    m = 0.0
    for k in range(t, x.shape[1] * hw, nt):
        c = k // hw
        r = k - c * hw
        i = r // w
        v = abs(x[b, c, sy + i, sx + r - i * w])
        if v > m:  # (builtin max does not compile for CUDA in numba 0.68)
            m = v
    red[t] = m
    cuda.syncthreads()
    s = nt // 2
    while s > 0:
        if t < s and red[t + s] > red[t]:
            red[t] = red[t + s]
        cuda.syncthreads()
        s //= 2
    peak = red[0]
    cuda.syncthreads()
    return peak


@cuda.jit(device=True)
def _column_dft(src_re, src_im, s0, h, wh, v, f, tw_re, tw_im, tw_h, inverse, zero):
    """Complex DFT along column v of an (h, wh) scratch block at s0, output frequency (or row) f;
    ``inverse`` uses the conjugate twiddles (no 1/h: the caller scales once)."""
    re = zero
    im = zero
    q = 0
    for r in range(h):
        ar = src_re[s0 + r * wh + v]
        ai = src_im[s0 + r * wh + v]
        cr = tw_re[tw_h + q]
        ci = -tw_im[tw_h + q] if inverse else tw_im[tw_h + q]
        re += ar * cr - ai * ci
        im += ar * ci + ai * cr
        q += f
        if q >= h:
            q -= h
    return re, im


@cuda.jit
def patch_dft(x, out, mask, ip, fp, fs, knots, weights, banded, normalize, do_filter, tw_re, tw_im,
              scr_re, scr_im, zero):
    p = cuda.blockIdx.x
    c = cuda.blockIdx.y
    t = cuda.threadIdx.x
    nt = cuda.blockDim.x
    b, sy, sx, dy, dx, h, w, off = ip[p, 0], ip[p, 1], ip[p, 2], ip[p, 3], ip[p, 4], ip[p, 5], ip[p, 6], ip[p, 7]
    red = cuda.shared.array(MAX_THREADS, float64)
    peak = _peak(x, b, sy, sx, h, w, red)
    scale = fp[p, 0]
    if normalize and peak > 0.0:
        scale = scale / peak
    if not do_filter:
        for k in range(t, h * w, nt):
            i = k // w
            j = k - i * w
            out[b, c, dy + i, dx + j] += x[b, c, sy + i, sx + j] * scale
            if c == 0:
                mask[b, 0, dy + i, dx + j] = 1.0
        return
    wh = w // 2 + 1
    n = h * wh
    a0 = off + 2 * c * n  # scratch A: row spectra, then column-inverse
    b0 = a0 + n  # scratch B: the weighted 2-D spectrum
    tw_w = w * (w - 1) // 2
    tw_h = h * (h - 1) // 2
    mix = fp[p, 1]
    # 1. real DFT along each row: A[i, v] = sum_j x[i, j] e^{-2 pi i j v / w}, v <= w / 2
    for k in range(t, n, nt):
        i = k // wh
        v = k - i * wh
        re = zero
        im = zero
        q = 0
        for j in range(w):
            xv = x[b, c, sy + i, sx + j]
            re += xv * tw_re[tw_w + q]
            im += xv * tw_im[tw_w + q]
            q += v
            if q >= w:
                q -= w
        scr_re[a0 + k] = re
        scr_im[a0 + k] = im
    cuda.syncthreads()
    # 2. DFT along each column, times the spectral weight: B[u, v]
    for k in range(t, n, nt):
        u = k // wh
        v = k - u * wh
        re, im = _column_dft(scr_re, scr_im, a0, h, wh, v, u, tw_re, tw_im, tw_h, False, zero)
        g = _weight(u, v, h, w, fs, mix, knots, weights, banded)
        scr_re[b0 + k] = re * g
        scr_im[b0 + k] = im * g
    cuda.syncthreads()
    # 3. inverse DFT along each column (conjugate twiddles) back into A
    for k in range(t, n, nt):
        i = k // wh
        v = k - i * wh
        re, im = _column_dft(scr_re, scr_im, b0, h, wh, v, i, tw_re, tw_im, tw_h, True, zero)
        scr_re[a0 + k] = re
        scr_im[a0 + k] = im
    cuda.syncthreads()
    # 4. inverse real DFT along each row (irfft: DC and Nyquist once, the rest twice), scale, add
    inv = scale / (h * w)
    for k in range(t, h * w, nt):
        i = k // w
        j = k - i * w
        acc = zero
        q = 0
        for v in range(wh):
            term = scr_re[a0 + i * wh + v] * tw_re[tw_w + q] + scr_im[a0 + i * wh + v] * tw_im[tw_w + q]
            if v == 0 or 2 * v == w:
                acc += term
            else:
                acc += term + term
            q += j
            if q >= w:
                q -= w
        out[b, c, dy + i, dx + j] += acc * inv
        if c == 0:
            mask[b, 0, dy + i, dx + j] = 1.0


@cuda.jit
def gather_peak(x, patches, peaks, ip):
    """patches[q] = x[b, :, src box] (dense (n, C, h, w)), peaks[q] = its max-abs; one block per patch."""
    q = cuda.blockIdx.x
    t = cuda.threadIdx.x
    b, sy, sx = ip[q, 0], ip[q, 1], ip[q, 2]
    h = patches.shape[2]
    w = patches.shape[3]
    red = cuda.shared.array(MAX_THREADS, float64)
    peak = _peak(x, b, sy, sx, h, w, red)
    if t == 0:
        peaks[q] = peak
    hw = h * w
    for k in range(t, patches.shape[1] * hw, cuda.blockDim.x):
        c = k // hw
        r = k - c * hw
        i = r // w
        patches[q, c, i, r - i * w] = x[b, c, sy + i, sx + r - i * w]


@cuda.jit
def weight_mul(spec, fp, fs, knots, weights, banded, w):
    """Half spectra times the weight of each patch (its own mix); one block per patch.

    spec: the complex (n, C, h, w // 2 + 1) spectra viewed as reals (n, C, h, 2 * (w // 2 + 1)).
    """
    q = cuda.blockIdx.x
    h = spec.shape[2]
    wh = spec.shape[3] // 2
    mix = fp[q, 1]
    for k in range(cuda.threadIdx.x, h * wh, cuda.blockDim.x):
        u = k // wh
        v = k - u * wh
        g = _weight(u, v, h, w, fs, mix, knots, weights, banded)
        for c in range(spec.shape[1]):
            spec[q, c, u, 2 * v] *= g
            spec[q, c, u, 2 * v + 1] *= g


@cuda.jit
def scatter_add(y, out, mask, peaks, ip, fp, normalize):
    """out[b, c, dst box] += y[q, c] * amplitude / peak; mask on the box. One block per (patch, channel)."""
    q = cuda.blockIdx.x
    c = cuda.blockIdx.y
    b, dy, dx = ip[q, 0], ip[q, 3], ip[q, 4]
    h = y.shape[2]
    w = y.shape[3]
    scale = fp[q, 0]
    if normalize and peaks[q] > 0.0:
        scale = scale / peaks[q]
    for k in range(cuda.threadIdx.x, h * w, cuda.blockDim.x):
        i = k // w
        j = k - i * w
        out[b, c, dy + i, dx + j] += y[q, c, i, j] * scale
        if c == 0:
            mask[b, 0, dy + i, dx + j] = 1.0


__all__ = ["MAX_THREADS", "gather_peak", "launch", "patch_dft", "scatter_add", "twiddles", "weight_mul"]
