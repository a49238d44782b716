"""NumPy twins of the CUDA kernels (``cuda_cutpaste``, ``cuda_dwt``): same arguments, same math.

They let the GPU orchestration (``fastfreq.backends.gpu`` with NumPy standing in for
CuPy) run in the ordinary CI test run, where Numba's CUDA simulator is off.
Each twin computes what its kernel computes, vectorised per patch instead of
per thread: the direct DFT with the same twiddle table and half-spectrum
inverse, the spectral weight from the CPU kernels' ``fill_weight``, the DWT
from the same index tables. The kernels themselves run under
``NUMBA_ENABLE_CUDASIM=1`` (tests/test_gpu_cudasim.py).
"""
import numpy as np

from .spectral import fill_weight


def _weight(h, w, fs, mix, knots, weights, banded):
    g = np.empty((h, w // 2 + 1))
    k = knots if banded else knots[:0]
    fill_weight(g, h, w, np.ascontiguousarray(fs[:5]), np.ascontiguousarray(fs[5:]), mix, k, weights)
    return g


def _peak(x, b, sy, sx, h, w):
    return float(np.abs(x[b, :, sy:sy + h, sx:sx + w]).max())


def _filter(patch, tw_re, tw_im, g):
    """The kernel's four DFT stages on a (C, h, w) patch, as matrix products."""
    _, h, w = patch.shape
    wh = w // 2 + 1
    tw = tw_re + 1j * tw_im
    fw = tw[w * (w - 1) // 2 + (np.arange(w)[:, None] * np.arange(wh)[None, :]) % w]  # (j, v)
    fh = tw[h * (h - 1) // 2 + (np.arange(h)[:, None] * np.arange(h)[None, :]) % h]  # (i, u), symmetric
    a = patch @ fw  # rows
    spec = np.einsum("ui,civ->cuv", fh, a) * g  # columns, weight
    z = np.einsum("iu,cuv->civ", fh.conj(), spec)  # inverse columns
    twice = np.where((np.arange(wh) == 0) | (2 * np.arange(wh) == w), 1.0, 2.0)
    return (z.real @ (twice[:, None] * fw.real.T) + z.imag @ (twice[:, None] * fw.imag.T)) / (h * w)


def patch_dft(x, out, mask, ip, fp, fs, knots, weights, banded, normalize, do_filter, tw_re, tw_im,
              scr_re, scr_im, zero):
    for p in range(ip.shape[0]):
        b, sy, sx, dy, dx, h, w, _ = (int(v) for v in ip[p])
        peak = _peak(x, b, sy, sx, h, w)
        scale = fp[p, 0] / peak if normalize and peak > 0.0 else fp[p, 0]
        patch = x[b, :, sy:sy + h, sx:sx + w]
        if do_filter:
            patch = _filter(patch, tw_re, tw_im, _weight(h, w, fs, fp[p, 1], knots, weights, banded))
        out[b, :, dy:dy + h, dx:dx + w] += (patch * scale).astype(out.dtype)
        mask[b, 0, dy:dy + h, dx:dx + w] = 1.0


def gather_peak(x, patches, peaks, ip):
    h, w = patches.shape[2:]
    for q in range(ip.shape[0]):
        b, sy, sx = (int(v) for v in ip[q, :3])
        peaks[q] = _peak(x, b, sy, sx, h, w)
        patches[q] = x[b, :, sy:sy + h, sx:sx + w]


def weight_mul(spec, fp, fs, knots, weights, banded, w):
    spec = spec.view(np.complex64 if spec.dtype == np.float32 else np.complex128)
    for q in range(spec.shape[0]):
        spec[q] *= _weight(spec.shape[2], w, fs, fp[q, 1], knots, weights, banded)


def scatter_add(y, out, mask, peaks, ip, fp, normalize):
    h, w = y.shape[2:]
    for q in range(ip.shape[0]):
        b, dy, dx = int(ip[q, 0]), int(ip[q, 3]), int(ip[q, 4])
        scale = fp[q, 0] / peaks[q] if normalize and peaks[q] > 0.0 else fp[q, 0]
        out[b, :, dy:dy + h, dx:dx + w] += (y[q] * scale).astype(out.dtype)
        mask[b, 0, dy:dy + h, dx:dx + w] = 1.0


def dwt2_level(x, out, h_idx, h_lo, h_hi, h_cnt, w_idx, w_lo, w_hi, w_cnt, zero):
    """Padded table entries have weight 0, so summing every column equals the kernel's cnt loops."""
    rows = x[:, :, w_idx]  # (N, H, Wo, T)
    rl = np.einsum("nhkt,kt->nhk", rows, w_lo)
    rh = np.einsum("nhkt,kt->nhk", rows, w_hi)
    for band, (taps, src) in enumerate(((h_lo, rl), (h_hi, rl), (h_lo, rh), (h_hi, rh))):
        out[band] = np.einsum("nktw,kt->nkw", src[:, h_idx, :], taps)
