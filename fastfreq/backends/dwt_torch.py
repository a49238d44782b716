"""The 2-D DWT in plain torch: explicit padding per boundary mode and one grouped conv2d per level.

Runs on any device and is the reference the Numba and CUDA kernels are tested
and benchmarked against. Synthesis is a polyphase conv2d + pixel_shuffle.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from .dwt_tables import analysis_start, coeff_len, extend, filter_bank

_NATIVE_PAD = {"zero": "constant", "constant": "replicate", "periodic": "circular", "reflect": "reflect",
               "periodization": "circular"}


@functools.lru_cache(maxsize=256)
def _pad_plan(n: int, filters: tuple, mode: str):
    """How to extend one axis of length n for a stride-2 'valid' correlation.

    Returns (before, after, native F.pad mode or None, gather terms): the
    extended axis is x_ext[s .. s + n_pad) with s = -before.
    """
    L = len(filters[0])
    n_out = coeff_len(n, L, mode)
    s = analysis_start(L, mode)
    n_pad = 2 * (n_out - 1) + L
    before, after = -s, n_pad + s - n
    native = _NATIVE_PAD.get(mode)
    if mode == "periodization" and n % 2:
        native = None  # the repeated last sample comes first
    if native == "circular" and max(before, after) > n:
        native = None
    if native == "reflect" and max(before, after) >= n:
        native = None
    terms = None
    if native is None:
        terms = [(torch.as_tensor(i), torch.as_tensor(c)) for i, c in extend(np.arange(n_pad) + s, n, mode)]
        if all(bool((c == 1).all()) for _, c in terms[:1]) and len(terms) == 1:
            terms = [(terms[0][0], None)]
    return before, after, native, terms


def _gather(x: torch.Tensor, dim: int, terms) -> torch.Tensor:
    """x_ext along dim (-1 or -2) = sum_terms coef * x[..., index] (advanced indexing: fast on CPU)."""
    out = None
    for index, coef in terms:
        index = index.to(x.device)
        part = x[..., index] if dim == -1 else x[..., index, :]
        if coef is not None:
            c = coef.to(device=x.device, dtype=x.dtype)
            part = part * (c if dim == -1 else c[:, None])
        out = part if out is None else out + part
    return out


def _conv_input(x: torch.Tensor, key: tuple, mode: str):
    """(padded x, conv2d padding): explicit padding per mode for the analysis conv."""
    H, W = x.shape[-2:]
    bh, ah, nh, th = _pad_plan(H, key, mode)
    bw, aw, nw, tw = _pad_plan(W, key, mode)
    if bh == ah == bw == aw == 0:
        return x, 0
    if mode == "zero" and bh == ah and bw == aw:
        return x, (bh, bw)  # conv2d pads with zeros itself
    if nh is not None and nh == nw:
        return F.pad(x, (bw, aw, bh, ah), mode=nh), 0
    if nw is not None:
        x = F.pad(x, (bw, aw, 0, 0), mode=nw)
    else:
        x = _gather(x, -1, tw)
    if nh is not None:
        x = F.pad(x, (0, 0, bh, ah), mode=nh)
    else:
        x = _gather(x, -2, th)
    return x, 0


def _bank(wav, dtype, device, rec: bool):
    """(4, 1, L, L) 2-D filters in the order LL, LH, HL, HH (first factor along H)."""
    f = filter_bank(wav)
    lo, hi = (f[2], f[3]) if rec else (f[0][::-1], f[1][::-1])
    lo = torch.tensor(lo, dtype=dtype, device=device)
    hi = torch.tensor(hi, dtype=dtype, device=device)
    pairs = [(lo, lo), (hi, lo), (lo, hi), (hi, hi)]
    return torch.stack([torch.outer(a, b) for a, b in pairs])[:, None]


def dwt2(x: torch.Tensor, wav, level: int, mode: str):
    """Reference analysis of x (..., H, W): explicit padding per mode, then a grouped conv2d
    (4 filters per channel, stride 2). The subbands come back as strided views of the conv output.
    """
    H, W = x.shape[-2:]
    x = x.reshape(-1, x.shape[-3] if x.ndim >= 3 else 1, H, W)
    key = filter_bank(wav)
    C = x.shape[1]
    weight = _bank(wav, x.dtype, x.device, rec=False).repeat(C, 1, 1, 1)
    cur = x
    details = []
    for _ in range(level):
        xp, padding = _conv_input(cur, key, mode)
        y = F.conv2d(xp, weight, stride=2, padding=padding, groups=C)
        y = y.unflatten(1, (C, 4))
        details.append((y[:, :, 1], y[:, :, 2], y[:, :, 3]))
        cur = y[:, :, 0]
    return cur, details


def _polyphase_bank(wav, dtype, device):
    """(4 phases, 4 bands, L/2, L/2) correlation weights: the stride-2 synthesis as one conv2d.

    A transposed conv with stride 2 is four ordinary convs, one per output
    phase (even/odd row x even/odd column) with the filter's even or odd taps;
    pixel_shuffle(2) interleaves the phases. Bands in the order LL, LH, HL, HH.
    """
    f = filter_bank(wav)
    lo, hi = np.array(f[2]), np.array(f[3])
    if len(lo) % 2:  # an odd filter gets a zero tap so both phases have L/2 taps
        lo, hi = np.append(lo, 0.0), np.append(hi, 0.0)
    bands = [(lo, lo), (hi, lo), (lo, hi), (hi, hi)]
    w = np.empty((4, 4, len(lo) // 2, len(lo) // 2))
    for ph in range(2):
        for pw in range(2):
            for b, (gh, gw) in enumerate(bands):
                w[2 * ph + pw, b] = np.outer(gh[ph::2][::-1], gw[pw::2][::-1])
    return torch.as_tensor(w, dtype=dtype, device=device)


def idwt2_level(bands, wav, mode: str):
    """Reference synthesis: polyphase conv2d of the 4 stacked subbands + pixel_shuffle.

    Non-periodization modes need no padding at all (pywt keeps the 'valid'
    part); periodization wraps the coefficients first, then crops.
    """
    L = wav.rec_len + wav.rec_len % 2
    N, Hc, Wc = bands[0].shape
    c = torch.stack(bands, dim=1)
    if mode == "periodization":
        q = L // 2 - 1
        for dim, n in ((-1, Wc), (-2, Hc)):
            index = torch.arange(-q, n + L // 2, device=c.device) % n
            c = c[..., index] if dim == -1 else c[..., index, :]
    y = F.pixel_shuffle(F.conv2d(c, _polyphase_bank(wav, c.dtype, c.device)), 2)[:, 0]
    if mode == "periodization":
        q = L // 2 - 1
        y = y[:, q:q + 2 * Hc, q:q + 2 * Wc]
    return y
