"""One level of the 2-D DWT analysis as a Numba CUDA kernel (orchestrated by ``fastfreq.backends.gpu``).

Boundary modes come from the host index tables of ``fastfreq.backends.dwt_tables.analysis_axis``
(the same tables the CPU kernel reads at the edges): output k along an axis is
``sum_m lo[k, m] * x[idx[k, m]]`` (and ``hi`` for the detail), m < cnt[k].

One thread per output position computes all four subbands, separably in
registers: for each of the (at most L) input rows its H-table selects, the
low- and high-pass sums along W, then the H-taps combine them. The input is
read once per level, the four subbands written once; no padded copy, no
intermediate buffer, one launch per level.
"""
from numba import cuda


@cuda.jit
def dwt2_level(x, out, h_idx, h_lo, h_hi, h_cnt, w_idx, w_lo, w_hi, w_cnt, zero):
    """x (N, H, W) -> out (4, N, Ho, Wo): LL, LH (pywt cH, high-pass along H), HL (cV), HH (cD)."""
    Ho = h_idx.shape[0]
    Wo = w_idx.shape[0]
    g = cuda.grid(1)
    if g >= x.shape[0] * Ho * Wo:
        return
    n = g // (Ho * Wo)
    r = g - n * (Ho * Wo)
    k = r // Wo
    l = r - k * Wo  # noqa: E741
    ll = zero
    lh = zero
    hl = zero
    hh = zero
    for m1 in range(h_cnt[k]):
        row = h_idx[k, m1]
        rl = zero  # low-pass along W of input row `row`
        rh = zero
        for m2 in range(w_cnt[l]):
            v = x[n, row, w_idx[l, m2]]
            rl += w_lo[l, m2] * v
            rh += w_hi[l, m2] * v
        a = h_lo[k, m1]
        d = h_hi[k, m1]
        ll += a * rl
        lh += d * rl
        hl += a * rh
        hh += d * rh
    out[0, n, k, l] = ll
    out[1, n, k, l] = lh
    out[2, n, k, l] = hl
    out[3, n, k, l] = hh
