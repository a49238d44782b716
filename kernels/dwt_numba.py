"""Separable 2-D DWT analysis and synthesis, one level, parallel over planes (CPU).

Boundary modes are index maps built once on the host (``fastfreq.backends.dwt_tables``): per
axis a table where output ``k`` is ``sum_m w[k, m] * x[idx[k, m]]`` over
in-range samples only; no padded copy of the input is ever made.

Layout, per plane (analysis): every input row is split into its even and odd
samples, into per-chunk scratch rows of stride Wo grouped by the parity of
the row index. In that layout an output of either pass is a *constant shift*
of a scratch array, for every row at once, so each pass is a handful of long
unit-stride loops over the whole plane (a 28-sample row alone is too short
for LLVM to vectorise), and the stride-2 downsampling is fused: only kept
outputs are computed. Outputs whose taps leave the signal (the edges) are
then overwritten from the tables, except in ``zero`` mode, where zero gaps
between the scratch rows (written once per chunk, never overwritten) make the
shifted sums read zeros past every edge, so no table is needed at all.

Conventions that keep LLVM vectorising: arrays are flat, every index is an
unsigned offset + an unsigned loop counter (signed indices get Numba's
negative-index wraparound, which blocks vectorisation) and no views are
created in the loops (each view is a refcount update; on an array shared by
the threads it bounces a cache line between cores). Each loop writes one
output stream: the four subband planes sit a multiple of 4 KiB apart, and
stores to several in one loop would 4K-alias. Accumulation is in the input's
precision (float32 stays float32).
"""
import numpy as np
from numba import njit, prange

from . import threads  # noqa: F401  (threading layer before compiling)


@njit(inline="always")
def _u(v):
    return np.uint64(v)


@njit(cache=True)
def _quad(d, do, a, ao, b, bo, c, co, e, eo, ca, cb, cc, ce, n, first):
    """d[do + j] (=|+=) ca*a[ao + j] + cb*b[bo + j] + cc*c[co + j] + ce*e[eo + j], j < n (all uint64)."""
    if first:
        for j in range(n):
            d[do + j] = (ca * a[ao + j] + cb * b[bo + j]) + (cc * c[co + j] + ce * e[eo + j])
    else:
        for j in range(n):
            d[do + j] += (ca * a[ao + j] + cb * b[bo + j]) + (cc * c[co + j] + ce * e[eo + j])


@njit(cache=True)
def _quad2(dl, dh, do, a, ao, b, bo, c, co, e, eo, la, lb, lc, le, ha, hb, hc, he, n, first):
    """_quad for the low and high outputs of the same four inputs."""
    if first:
        for j in range(n):
            va = a[ao + j]
            vb = b[bo + j]
            vc = c[co + j]
            ve = e[eo + j]
            dl[do + j] = (la * va + lb * vb) + (lc * vc + le * ve)
            dh[do + j] = (ha * va + hb * vb) + (hc * vc + he * ve)
    else:
        for j in range(n):
            va = a[ao + j]
            vb = b[bo + j]
            vc = c[co + j]
            ve = e[eo + j]
            dl[do + j] += (la * va + lb * vb) + (lc * vc + le * ve)
            dh[do + j] += (ha * va + hb * vb) + (hc * vc + he * ve)


@njit(cache=True)
def _pair(d, do, a, ao, b, bo, ca, cb, n, first):
    """Two taps: d[do + j] (=|+=) ca*a[ao + j] + cb*b[bo + j]."""
    if first:
        for j in range(n):
            d[do + j] = ca * a[ao + j] + cb * b[bo + j]
    else:
        for j in range(n):
            d[do + j] += ca * a[ao + j] + cb * b[bo + j]


@njit(cache=True)
def _pair2(dl, dh, do, a, ao, b, bo, la, lb, ha, hb, n, first):
    """Two taps, low and high outputs."""
    if first:
        for j in range(n):
            va = a[ao + j]
            vb = b[bo + j]
            dl[do + j] = la * va + lb * vb
            dh[do + j] = ha * va + hb * vb
    else:
        for j in range(n):
            va = a[ao + j]
            vb = b[bo + j]
            dl[do + j] += la * va + lb * vb
            dh[do + j] += ha * va + hb * vb


@njit(parallel=True, cache=True)
def dwt2_level(x, out, lo, hi, w_idx, w_lo, w_hi, w_cnt, w_k0, w_k1, w_s, w_gap,
               h_idx, h_lo, h_hi, h_cnt, h_k0, h_k1, h_s, h_gap, H, W, n_chunks):
    """One analysis level: x flat (N * H * W) -> out flat (4 * N * Ho * Wo) = LL, LH, HL, HH planes.

    lo/hi: correlation taps (the reversed decomposition filters), length L:
    output k along an axis reads the extended signal at 2k + s + t, t < L.
    w_* / h_*: the W-axis and H-axis tables (idx, w_lo, w_hi, cnt), the range
    [k0, k1) of outputs the shifted sums compute, s, and the zero gap (0, or
    -floor(s / 2) in zero mode with [k0, k1) = all outputs).
    LH (pywt cH) is high-pass along H and low-pass along W; HL (cV) the reverse.
    """
    N = x.shape[0] // (H * W)
    Wo = w_idx.shape[0]
    Ho = h_idx.shape[0]
    L = lo.shape[0]
    S = Wo  # scratch row stride: scratch arrays are indexed like output planes
    R = (H + 1) // 2  # input rows per parity
    half = W // 2
    ws = w_s + 2 * w_gap  # shifted starts: every offset below is >= 0
    hs = h_s + 2 * h_gap
    n_split = (R + 2) * S + w_gap + 8
    n_rows = (h_gap + max(R, Ho) + 2) * S
    plane = Ho * Wo
    u2 = _u(2)
    u1 = _u(1)
    for chunk in prange(n_chunks):
        ev0 = np.zeros(n_split, dtype=x.dtype)  # even samples of the even rows
        od0 = np.zeros(n_split, dtype=x.dtype)  # odd samples of the even rows
        ev1 = np.zeros(n_split, dtype=x.dtype)  # ... of the odd rows
        od1 = np.zeros(n_split, dtype=x.dtype)
        pl0 = np.zeros(n_rows, dtype=x.dtype)  # row pass: low-pass along W, even rows
        ph0 = np.zeros(n_rows, dtype=x.dtype)  # high-pass along W, even rows
        pl1 = np.zeros(n_rows, dtype=x.dtype)
        ph1 = np.zeros(n_rows, dtype=x.dtype)
        p0 = chunk * N // n_chunks
        p1 = (chunk + 1) * N // n_chunks
        for n in range(p0, p1):
            # ---- split every row into even / odd samples, rows grouped by parity
            for par in range(2):
                ev = ev0 if par == 0 else ev1
                od = od0 if par == 0 else od1
                for r in range(R if par == 0 else H // 2):
                    xo = _u((n * H + 2 * r + par) * W)
                    o = _u(r * S + w_gap)
                    for j in range(_u(half)):
                        ev[o + j] = x[xo + u2 * j]
                        od[o + j] = x[xo + u2 * j + u1]
                    if W % 2 == 1:
                        ev[o + _u(half)] = x[xo + _u(W - 1)]
            # ---- row pass (along W): outputs [w_k0, w_k1) of every row, four taps per loop
            base = h_gap * S  # first data row of the row-pass scratch
            for par in range(2):
                rows = R if par == 0 else H // 2
                if rows == 0 or w_k1 == w_k0:
                    continue
                ev = ev0 if par == 0 else ev1
                od = od0 if par == 0 else od1
                dl = pl0 if par == 0 else pl1
                dh = ph0 if par == 0 else ph1
                f0 = w_k0
                nf = _u((rows - 1) * S + w_k1 - w_k0)
                t = 0
                while t < L:  # taps in groups of 4, then a pair (never a tap past the filter)
                    # sample 2k + ws + t: the even samples at k + (ws + t) // 2 if ws + t is even
                    a = ev if (ws + t) % 2 == 0 else od
                    b = od if (ws + t) % 2 == 0 else ev
                    ao = _u(f0 + (ws + t) // 2)
                    bo = _u(f0 + (ws + t + 1) // 2)
                    do = _u(base + f0)
                    if t + 4 <= L:
                        _quad2(dl, dh, do, a, ao, b, bo, a, _u(f0 + (ws + t + 2) // 2), b,
                               _u(f0 + (ws + t + 3) // 2), lo[t], lo[t + 1], lo[t + 2], lo[t + 3],
                               hi[t], hi[t + 1], hi[t + 2], hi[t + 3], nf, t == 0)
                        t += 4
                    else:  # L is even (checked on the host): a last pair
                        _pair2(dl, dh, do, a, ao, b, bo, lo[t], lo[t + 1], hi[t], hi[t + 1], nf, t == 0)
                        t += 2
            # ---- row pass edge outputs, column by column, from the table
            for k in range(Wo):
                if w_k0 <= k < w_k1:
                    continue
                for m in range(w_cnt[k]):
                    col = w_idx[k, m]
                    cl = w_lo[k, m]
                    ch = w_hi[k, m]
                    for par in range(2):
                        if col % 2 == 0:
                            src = ev0 if par == 0 else ev1
                        else:
                            src = od0 if par == 0 else od1
                        dl = pl0 if par == 0 else pl1
                        dh = ph0 if par == 0 else ph1
                        q = _u(col // 2 + w_gap)
                        o = _u(base + k)
                        for r in range(_u(R if par == 0 else H // 2)):
                            v = src[r * _u(S) + q]
                            if m == 0:
                                dl[r * _u(S) + o] = cl * v
                                dh[r * _u(S) + o] = ch * v
                            else:
                                dl[r * _u(S) + o] += cl * v
                                dh[r * _u(S) + o] += ch * v
            # ---- column pass (along H): output rows [h_k0, h_k1), four taps and one subband per loop
            if h_k1 > h_k0:
                f0 = h_k0 * Wo
                nf = _u((h_k1 - h_k0) * Wo)
                for band in range(4):
                    ev = pl0 if band < 2 else ph0
                    od = pl1 if band < 2 else ph1
                    taps = lo if band % 2 == 0 else hi
                    do = _u((band * N + n) * plane + f0)
                    t = 0
                    while t < L:
                        # scratch row 2k + hs + t: the even rows at k + (hs + t) // 2 if hs + t is even
                        a = ev if (hs + t) % 2 == 0 else od
                        b = od if (hs + t) % 2 == 0 else ev
                        ao = _u(f0 + ((hs + t) // 2) * S)
                        bo = _u(f0 + ((hs + t + 1) // 2) * S)
                        if t + 4 <= L:
                            _quad(out, do, a, ao, b, bo, a, _u(f0 + ((hs + t + 2) // 2) * S), b,
                                  _u(f0 + ((hs + t + 3) // 2) * S), taps[t], taps[t + 1], taps[t + 2],
                                  taps[t + 3], nf, t == 0)
                            t += 4
                        else:
                            _pair(out, do, a, ao, b, bo, taps[t], taps[t + 1], nf, t == 0)
                            t += 2
            # ---- column pass edge rows, from the table
            for k in range(Ho):
                if h_k0 <= k < h_k1:
                    continue
                for band in range(4):
                    ev = pl0 if band < 2 else ph0
                    od = pl1 if band < 2 else ph1
                    w = h_lo if band % 2 == 0 else h_hi
                    do = _u((band * N + n) * plane + k * Wo)
                    for m in range(h_cnt[k]):
                        r = h_idx[k, m]
                        src = ev if r % 2 == 0 else od
                        so = _u((r // 2 + h_gap) * S)
                        c0 = w[k, m]
                        if m == 0:
                            for j in range(_u(Wo)):
                                out[do + j] = c0 * src[so + j]
                        else:
                            for j in range(_u(Wo)):
                                out[do + j] += c0 * src[so + j]


@njit(parallel=True, cache=True)
def idwt2_level(ll, lh, hl, hh, out, h_idx, h_lo, h_hi, h_cnt, w_idx, w_lo, w_hi, w_cnt, Hc, Wc, n_chunks):
    """One synthesis level: the four subbands, each flat (N * Hc * Wc) -> out flat (N * Ho * Wo).

    Synthesis tables: output n along an axis is
    ``sum_m lo[n, m] * a[idx[n, m]] + hi[n, m] * d[idx[n, m]]``. The column
    pass (along H) combines whole coefficient rows (unit stride); the row
    pass gathers through the W table.
    """
    N = ll.shape[0] // (Hc * Wc)
    Ho = h_idx.shape[0]
    Wo = w_idx.shape[0]
    plane = Hc * Wc
    for chunk in prange(n_chunks):
        ta = np.empty(Ho * Wc, dtype=out.dtype)  # low-pass along W, synthesised along H
        td = np.empty(Ho * Wc, dtype=out.dtype)  # high-pass along W, synthesised along H
        p0 = chunk * N // n_chunks
        p1 = (chunk + 1) * N // n_chunks
        for n in range(p0, p1):
            bo = _u(n * plane)
            for r in range(Ho):
                o = _u(r * Wc)
                for m in range(h_cnt[r]):
                    q = bo + _u(h_idx[r, m] * Wc)
                    _pair(ta, o, ll, q, lh, q, h_lo[r, m], h_hi[r, m], _u(Wc), m == 0)
                    _pair(td, o, hl, q, hh, q, h_lo[r, m], h_hi[r, m], _u(Wc), m == 0)
            for r in range(Ho):
                src = _u(r * Wc)
                o = _u((n * Ho + r) * Wo)
                for c in range(Wo):
                    q = _u(w_idx[c, 0]) + src
                    acc = w_lo[c, 0] * ta[q] + w_hi[c, 0] * td[q]
                    for m in range(1, w_cnt[c]):
                        q = _u(w_idx[c, m]) + src
                        acc += w_lo[c, m] * ta[q] + w_hi[c, m] * td[q]
                    out[o + _u(c)] = acc
