"""Boundary modes of the 2-D DWT as index tables, shared by the CPU and GPU backends.

A boundary mode says what the signal is outside [0, n). Here every mode is
one description (``extend``): the extended signal at any integer position is
a combination of at most three input samples. The torch backend pads with it;
the Numba and CUDA kernels never pad, they read through per-axis tables built
from it once per (size, filter bank, mode, dtype) and cached. Sizes follow
PyWavelets: ``floor((n + L - 1) / 2)`` per level, ``ceil(n / 2)`` for
"periodization".
"""
from __future__ import annotations

import functools

import numpy as np


def coeff_len(n: int, filter_len: int, mode: str) -> int:
    """Length of the approximation/detail coefficients of a length-n signal (pywt.dwt_coeff_len)."""
    return (n + 1) // 2 if mode == "periodization" else (n + filter_len - 1) // 2


def extend(pos: np.ndarray, n: int, mode: str):
    """The extended signal at integer positions ``pos``: a list of (index, coefficient) arrays.

    ``x_ext[pos] = sum_terms coef * x[index]`` (all arrays shaped like pos).
    """
    pos = np.asarray(pos, dtype=np.int64)
    inside = (pos >= 0) & (pos < n)
    one = np.ones(pos.shape)
    if mode == "zero":
        return [(np.clip(pos, 0, n - 1), inside.astype(np.float64))]
    if mode in ("reflect", "antireflect") and n == 1:
        raise ValueError("Input data length must be greater than 1 for [anti]reflect mode.")
    if mode == "constant" or (mode == "smooth" and n == 1):
        return [(np.clip(pos, 0, n - 1), one)]
    if mode == "periodic":
        return [(pos % n, one)]
    if mode == "periodization":  # an odd signal first gets its last sample repeated
        m = pos % (n + n % 2)
        return [(np.minimum(m, n - 1), one)]
    if mode in ("symmetric", "antisymmetric"):  # half-sample (anti)symmetric, period 2n
        m = pos % (2 * n)
        back = m >= n
        coef = np.where(back, -1.0, 1.0) if mode == "antisymmetric" else one
        return [(np.where(back, 2 * n - 1 - m, m), coef)]
    if mode == "reflect":  # whole-sample symmetric, period 2n - 2
        m = pos % (2 * n - 2)
        return [(np.where(m >= n, 2 * n - 2 - m, m), one)]
    if mode == "smooth":  # first-order extrapolation from the two edge samples
        left = pos < 0
        right = pos >= n
        base = np.where(left, 0, np.where(right, n - 1, pos))
        nb = np.where(left, 1, np.where(right, n - 2, pos))
        steps = np.where(left, -pos, np.where(right, pos - (n - 1), 0)).astype(np.float64)
        return [(base, 1.0 + steps), (nb, -steps)]
    if mode == "antireflect":  # whole-sample point symmetry: shifts by 2(x[n-1] - x[0]) per period
        P = 2 * n - 2
        q = np.floor_divide(pos, P)
        m = pos - q * P
        back = m >= n
        terms = [(np.where(back, P - m, m), np.where(back, -1.0, 1.0)),
                 (np.full(pos.shape, n - 1), 2.0 * q + np.where(back, 2.0, 0.0)),
                 (np.zeros(pos.shape, dtype=np.int64), -2.0 * q)]
        return terms
    raise ValueError(f"unknown boundary mode {mode!r}")


def coo_table(rows: np.ndarray, cols: np.ndarray, w_lo: np.ndarray, w_hi: np.ndarray, n_rows: int, n_cols: int):
    """COO entries (duplicates summed) -> padded per-row tables (idx, lo, hi) of shape (n_rows, T)."""
    keep = (w_lo != 0) | (w_hi != 0)
    rows, cols, w_lo, w_hi = rows[keep], cols[keep], w_lo[keep], w_hi[keep]
    key, inverse = np.unique(rows * n_cols + cols, return_inverse=True)
    lo = np.bincount(inverse, weights=w_lo, minlength=len(key))
    hi = np.bincount(inverse, weights=w_hi, minlength=len(key))
    r, c = key // n_cols, key % n_cols
    counts = np.bincount(r, minlength=n_rows)
    T = max(int(counts.max(initial=0)), 1)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    slot = np.arange(len(key)) - starts[r]
    idx = np.zeros((n_rows, T), dtype=np.int64)
    t_lo = np.zeros((n_rows, T))
    t_hi = np.zeros((n_rows, T))
    idx[r, slot], t_lo[r, slot], t_hi[r, slot] = c, lo, hi
    return idx, t_lo, t_hi, np.maximum(counts, 1).astype(np.int64)


def filter_bank(wav):
    """Hashable float64 filter bank (dec_lo, dec_hi, rec_lo, rec_hi) of a ``pywt.Wavelet``: the cache key
    of the tables."""
    return tuple(tuple(float(v) for v in f) for f in (wav.dec_lo, wav.dec_hi, wav.rec_lo, wav.rec_hi))


def analysis_start(L: int, mode: str) -> int:
    """Output k of the analysis correlates taps t = 0..L-1 with x_ext[2k + s + t]."""
    return L // 2 - (L - 1) if mode == "periodization" else 2 - L


@functools.lru_cache(maxsize=1024)
def analysis_axis(n: int, filters: tuple, mode: str, dtype: str):
    """Index table of one analysis axis: (idx, w_lo, w_hi, counts, k0, k1, s, taps_lo, taps_hi)."""
    dec_lo, dec_hi = np.array(filters[0]), np.array(filters[1])
    L = len(dec_lo)
    tap_lo, tap_hi = dec_lo[::-1].copy(), dec_hi[::-1].copy()  # correlation taps
    n_out = coeff_len(n, L, mode)
    s = analysis_start(L, mode)
    pos = 2 * np.arange(n_out)[:, None] + s + np.arange(L)[None, :]
    rows, cols, wl, wh = [], [], [], []
    for index, coef in extend(pos, n, mode):
        rows.append(np.broadcast_to(np.arange(n_out)[:, None], pos.shape).ravel())
        cols.append(index.ravel())
        wl.append((coef * tap_lo).ravel())
        wh.append((coef * tap_hi).ravel())
    idx, t_lo, t_hi, cnt = coo_table(np.concatenate(rows), np.concatenate(cols), np.concatenate(wl),
                             np.concatenate(wh), n_out, n)
    # outputs whose taps all fall inside [0, n): no table needed
    k0 = (1 - s) // 2 if s < 0 else 0
    k1 = min(n_out, (n - L - s) // 2 + 1)
    if k1 <= k0:
        k0 = k1 = 0
    dt = np.dtype(dtype)
    return (idx, t_lo.astype(dt), t_hi.astype(dt), cnt, int(k0), int(k1), int(s),
            tap_lo.astype(dt), tap_hi.astype(dt))


@functools.lru_cache(maxsize=1024)
def synthesis_axis(nc: int, filters: tuple, mode: str, dtype: str):
    """Index table of one synthesis axis: output n = sum_m lo*a[idx] + hi*d[idx]; (idx, lo, hi, counts)."""
    rec_lo, rec_hi = np.array(filters[2]), np.array(filters[3])
    L = len(rec_lo)
    if mode == "periodization":
        n_out, shift = 2 * nc, L // 2 - 1
    else:
        n_out, shift = 2 * nc - L + 2, L - 2
    if n_out <= 0:
        raise ValueError(f"coefficients of length {nc} are too short for a filter of length {L} in mode "
                         f"{mode!r}: wavelet and mode must be the ones used for the decomposition")
    r = np.arange(n_out)[:, None] + shift - np.arange(L)[None, :]  # = 2k for a contributing tap
    k = r // 2
    if mode == "periodization":
        k = k % nc
    valid = (r % 2 == 0) & (k >= 0) & (k < nc)
    rows = np.broadcast_to(np.arange(n_out)[:, None], r.shape)
    idx, t_lo, t_hi, cnt = coo_table(rows[valid], k[valid], np.broadcast_to(rec_lo, r.shape)[valid],
                             np.broadcast_to(rec_hi, r.shape)[valid], n_out, nc)
    dt = np.dtype(dtype)
    return idx, t_lo.astype(dt), t_hi.astype(dt), cnt
