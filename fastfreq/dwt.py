"""2-D discrete wavelet transform with PyWavelets' conventions, fast on CPU.

``dwt2(x, wavelet, level, mode)`` returns exactly what
``pywt.wavedec2(x, wavelet, mode=mode, level=level, axes=(-2, -1))`` returns:
``[cA_J, (cH_J, cV_J, cD_J), ..., (cH_1, cV_1, cD_1)]``, with pywt's sizes
(``floor((N + L - 1) / 2)`` per level, ``ceil(N / 2)`` for "periodization").
``idwt2(coeffs, wavelet, mode)`` is ``pywt.waverec2``: an odd size comes back
one sample longer, as in pywt (crop with ``[..., :H, :W]``).

Backends: "numba" (the compiled CPU kernels in ``fastfreq.kernels.dwt_numba``),
"torch" (explicit padding per mode + one grouped conv2d per level; synthesis
as a polyphase conv2d + pixel_shuffle; runs on any device and is the
reference the kernels are tested and benchmarked against), "cupy" (a Numba
CUDA kernel on CuPy views of CUDA tensors, ``fastfreq.gpu``; ``idwt2`` runs
the torch path on the same device) and "auto" (numba on CPU; on CUDA cupy
when CuPy is installed, else torch). Autograd is not supported (inputs are
detached).

Both backends share one description of a boundary mode: the extended signal
at any integer position is a combination of at most three input samples
(``_extend``). The torch path pads with it (F.pad where torch has the mode,
a gather otherwise); the kernel never pads the input, it reads through
per-axis index tables built from it once per (size, wavelet, mode).
"""
from __future__ import annotations

import functools
import warnings

import numba
import numpy as np
import pywt
import torch
import torch.nn.functional as F

from ._validate import check_choice, check_int
from .ops import _float_tensor, resolve_backend

MODES = ("zero", "constant", "symmetric", "reflect", "periodic", "periodization",
         "smooth", "antisymmetric", "antireflect")
BACKENDS = ("auto", "numba", "torch", "cupy")
WAVELETS = tuple(pywt.wavelist(kind="discrete"))


# ----------------------------------------------------------------------------- arguments

def get_wavelet(wavelet) -> pywt.Wavelet:
    """A discrete ``pywt.Wavelet`` from a name (``pywt.wavelist(kind="discrete")``) or a Wavelet."""
    if isinstance(wavelet, pywt.Wavelet):
        if wavelet.dec_len % 2 or wavelet.rec_len % 2 or wavelet.dec_len != wavelet.rec_len:
            raise ValueError(f"wavelet {wavelet.name!r}: filter banks of odd or unequal lengths are not supported "
                             f"(dec_len={wavelet.dec_len}, rec_len={wavelet.rec_len})")
        return wavelet
    if not isinstance(wavelet, str) or wavelet not in WAVELETS:
        raise ValueError(f"unknown wavelet {wavelet!r}: use a discrete pywt wavelet, one of {WAVELETS}")
    return _named_wavelet(wavelet)


@functools.lru_cache(maxsize=None)
def _named_wavelet(name: str) -> pywt.Wavelet:
    return pywt.Wavelet(name)


def check_mode(mode) -> str:
    return check_choice("mode", mode, MODES)


def _resolve(backend, t: torch.Tensor) -> str:
    """"auto" -> "numba" on CPU, "cupy" or "torch" elsewhere (the shared resolver's "torch_batched")."""
    check_choice("backend", backend, BACKENDS)
    resolved = resolve_backend(backend, t)
    return "torch" if resolved == "torch_batched" else resolved


def _as_tensor(x, name: str):
    """(tensor, was_numpy) via ops._float_tensor; NumPy arrays with negative strides are copied first."""
    if isinstance(x, np.ndarray) and any(st < 0 for st in x.strides):
        x = np.ascontiguousarray(x)
    return _float_tensor(x, name)


def coeff_len(n: int, filter_len: int, mode: str) -> int:
    """Length of the approximation/detail coefficients of a length-n signal (pywt.dwt_coeff_len)."""
    return (n + 1) // 2 if mode == "periodization" else (n + filter_len - 1) // 2


def dwt2_max_level(h: int, w: int, wavelet) -> int:
    """The largest useful level for an (h, w) map: ``pywt.dwtn_max_level((h, w), wavelet)``."""
    L = get_wavelet(wavelet).dec_len
    return min(pywt.dwt_max_level(h, L), pywt.dwt_max_level(w, L))


def coeff_shapes(h: int, w: int, wavelet="haar", level: int = 1, mode: str = "zero") -> list:
    """Spatial sizes ``[(h_1, w_1), ..., (h_J, w_J)]`` of the subbands of each level, without computing."""
    L = get_wavelet(wavelet).dec_len
    shapes = []
    for _ in range(level):
        h, w = coeff_len(h, L, mode), coeff_len(w, L, mode)
        shapes.append((h, w))
    return shapes


def _check_level(level, h: int, w: int, wav: pywt.Wavelet) -> int:
    if level is None:
        return max(dwt2_max_level(h, w, wav), 1)
    level = check_int("level", level, low=1)
    top = dwt2_max_level(h, w, wav)
    if level > top:  # pywt computes anyway, with this warning
        warnings.warn(f"Level value of {level} is too high: all coefficients will experience boundary "
                      f"effects (max level for {h}x{w} and {wav.name} is {top}).", stacklevel=3)
    return level


# ----------------------------------------------------------------------------- boundary modes

def _extend(pos: np.ndarray, n: int, mode: str):
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
    raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def _table(rows: np.ndarray, cols: np.ndarray, w_lo: np.ndarray, w_hi: np.ndarray, n_rows: int, n_cols: int):
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


def _filters(wav: pywt.Wavelet):
    """Hashable float64 filter bank (dec_lo, dec_hi, rec_lo, rec_hi): the cache key of the tables."""
    return tuple(tuple(float(v) for v in f) for f in (wav.dec_lo, wav.dec_hi, wav.rec_lo, wav.rec_hi))


def _analysis_start(L: int, mode: str) -> int:
    """Output k of the analysis correlates taps t = 0..L-1 with x_ext[2k + s + t]."""
    return L // 2 - (L - 1) if mode == "periodization" else 2 - L


@functools.lru_cache(maxsize=1024)
def _analysis_axis(n: int, filters: tuple, mode: str, dtype: str):
    """Index table of one analysis axis: (idx, w_lo, w_hi, counts, k0, k1, s, taps_lo, taps_hi)."""
    dec_lo, dec_hi = np.array(filters[0]), np.array(filters[1])
    L = len(dec_lo)
    tap_lo, tap_hi = dec_lo[::-1].copy(), dec_hi[::-1].copy()  # correlation taps
    n_out = coeff_len(n, L, mode)
    s = _analysis_start(L, mode)
    pos = 2 * np.arange(n_out)[:, None] + s + np.arange(L)[None, :]
    rows, cols, wl, wh = [], [], [], []
    for index, coef in _extend(pos, n, mode):
        rows.append(np.broadcast_to(np.arange(n_out)[:, None], pos.shape).ravel())
        cols.append(index.ravel())
        wl.append((coef * tap_lo).ravel())
        wh.append((coef * tap_hi).ravel())
    idx, t_lo, t_hi, cnt = _table(np.concatenate(rows), np.concatenate(cols), np.concatenate(wl),
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
def _synthesis_axis(nc: int, filters: tuple, mode: str, dtype: str):
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
    idx, t_lo, t_hi, cnt = _table(rows[valid], k[valid], np.broadcast_to(rec_lo, r.shape)[valid],
                             np.broadcast_to(rec_hi, r.shape)[valid], n_out, nc)
    dt = np.dtype(dtype)
    return idx, t_lo.astype(dt), t_hi.astype(dt), cnt


def _dtype_name(t: torch.Tensor) -> str:
    return "float32" if t.dtype == torch.float32 else "float64"


# ----------------------------------------------------------------------------- public API

def dwt2(x, wavelet="haar", level: int | None = 1, mode: str = "zero", backend: str = "auto"):
    """Multi-level 2-D DWT over the last two dims: ``pywt.wavedec2(x, wavelet, mode, level, axes=(-2, -1))``.

    x: float32/float64 torch tensor (B, C, H, W) (any ``(..., H, W)``) or NumPy
    array (NumPy in, NumPy out). wavelet: a name from
    ``pywt.wavelist(kind="discrete")`` or a ``pywt.Wavelet``. level: >= 1, or
    None for ``dwt2_max_level``; above the maximum pywt warns and so does this.
    mode: one of ``MODES``. Returns ``[cA_J, (cH_J, cV_J, cD_J), ..., (cH_1, cV_1, cD_1)]``
    in the input's dtype (cH = "LH": high-pass along H; cV = "HL"; cD = "HH").
    NaN/Inf propagate as in pywt.
    """
    t, was_numpy = _as_tensor(x, "x")
    wav = get_wavelet(wavelet)
    mode = check_mode(mode)
    H, W = t.shape[-2:]
    level = _check_level(level, H, W, wav)
    backend = _resolve(backend, t)
    lead = t.shape[:-2]
    if backend == "numba":
        ca, details = _dwt_numba(t.detach().reshape(-1, H, W), wav, level, mode)
    elif backend == "cupy":
        from .gpu import dwt2_cupy

        ca, details = dwt2_cupy(t.detach().reshape(-1, H, W), wav, level, mode)
    else:
        C = t.shape[-3] if t.ndim >= 3 else 1
        ca, details = _dwt_torch(t.detach().reshape(-1, C, H, W), wav, level, mode)
    coeffs = [ca.reshape(*lead, *ca.shape[-2:])]
    for bands in reversed(details):
        coeffs.append(tuple(b.reshape(*lead, *b.shape[-2:]) for b in bands))
    if was_numpy:
        coeffs = [coeffs[0].numpy()] + [tuple(b.numpy() for b in bands) for bands in coeffs[1:]]
    return coeffs


def idwt2(coeffs, wavelet="haar", mode: str = "zero", backend: str = "auto"):
    """Inverse of ``dwt2``: ``pywt.waverec2(coeffs, wavelet, mode, axes=(-2, -1))``.

    coeffs: ``[cA_J, (cH_J, cV_J, cD_J), ..., (cH_1, cV_1, cD_1)]`` (tensors or
    arrays; a detail band may be None for zeros). Between levels the
    approximation is cropped to the detail size as pywt does, so an odd input
    size comes back one sample longer (crop with ``[..., :H, :W]``).
    """
    if not isinstance(coeffs, (list, tuple)) or len(coeffs) < 2:
        raise ValueError("coeffs must be a list [cA, (cH, cV, cD), ...] with at least one detail level")
    wav = get_wavelet(wavelet)
    mode = check_mode(mode)
    a, was_numpy = _as_tensor(coeffs[0], "coeffs[0]")
    backend = _resolve(backend, a)
    lead = a.shape[:-2]
    a = a.detach()
    for j, bands in enumerate(coeffs[1:], start=1):
        if not isinstance(bands, (list, tuple)) or len(bands) != 3:
            raise ValueError(f"coeffs[{j}] must be a (cH, cV, cD) tuple")
        ds = [None if b is None else _as_tensor(b, f"coeffs[{j}]")[0].detach() for b in bands]
        shape = next((d.shape for d in ds if d is not None), None)
        if shape is None:
            shape = a.shape
        for d in ds:
            if d is not None and (d.shape != shape or d.dtype != a.dtype or d.device != a.device):
                raise ValueError(f"coeffs[{j}]: cH, cV, cD must share shape, dtype and device with cA, "
                                 f"got {[None if e is None else tuple(e.shape) for e in ds]}")
        if tuple(shape[:-2]) != tuple(lead):
            raise ValueError(f"coeffs[{j}] leading dims {tuple(shape[:-2])} differ from cA's {tuple(lead)}")
        diff = np.subtract(a.shape[-2:], shape[-2:])
        if np.any((diff < 0) | (diff > 1)):
            raise ValueError(f"coeffs[{j}] size {tuple(shape[-2:])} does not match the approximation "
                             f"size {tuple(a.shape[-2:])}")
        a = a[..., :shape[-2], :shape[-1]]
        ds = [torch.zeros(shape, dtype=a.dtype, device=a.device) if d is None else d for d in ds]
        Hc, Wc = shape[-2:]
        bands4 = [b.reshape(-1, Hc, Wc) for b in (a, *ds)]
        run = _idwt_numba if backend == "numba" else _idwt_torch  # cupy: the torch path, same device
        y = run(bands4, wav, mode)
        a = y.reshape(*lead, *y.shape[-2:])
    return a.numpy() if was_numpy else a


# ----------------------------------------------------------------------------- numba backend

def _n_chunks(n_planes: int) -> int:
    return max(1, min(n_planes, 4 * numba.get_num_threads()))


def _dwt_numba(planes: torch.Tensor, wav, level: int, mode: str):
    from .kernels.dwt_numba import dwt2_level

    key = _filters(wav)
    dt = _dtype_name(planes)
    cur = planes.contiguous().numpy()
    details = []
    for _ in range(level):
        N, H, W = cur.shape
        w_idx, w_lo, w_hi, w_cnt, w_k0, w_k1, w_s, lo, hi = _analysis_axis(W, key, mode, dt)
        h_idx, h_lo, h_hi, h_cnt, h_k0, h_k1, h_s, _, _ = _analysis_axis(H, key, mode, dt)
        Ho, Wo = h_idx.shape[0], w_idx.shape[0]
        w_gap, h_gap = 0, 0
        if mode == "zero":  # zero gaps in the kernel's scratch layout replace the edge tables
            w_gap, h_gap = -(w_s // 2), -(h_s // 2)
            w_k0, w_k1, h_k0, h_k1 = 0, Wo, 0, Ho
            # a row's even samples plus the gap fill exactly one scratch row (L even)
            assert w_gap + (W + 1) // 2 <= Wo and h_gap + (H + 1) // 2 <= Ho
        # torch allocator for the outputs (see cutpaste._apply_numba: 4K aliasing otherwise)
        out_t = torch.empty((4, N, Ho, Wo), dtype=planes.dtype)
        dwt2_level(cur.reshape(-1), out_t.numpy().reshape(-1), lo, hi, w_idx, w_lo, w_hi, w_cnt, w_k0, w_k1,
                   w_s, w_gap, h_idx, h_lo, h_hi, h_cnt, h_k0, h_k1, h_s, h_gap, H, W, _n_chunks(N))
        details.append((out_t[1], out_t[2], out_t[3]))
        ca = out_t[0]
        cur = ca.numpy()
    return ca, details


def _idwt_numba(bands, wav, mode: str):
    from .kernels.dwt_numba import idwt2_level

    key = _filters(wav)
    dt = _dtype_name(bands[0])
    N, Hc, Wc = bands[0].shape
    h_idx, h_lo, h_hi, h_cnt = _synthesis_axis(Hc, key, mode, dt)
    w_idx, w_lo, w_hi, w_cnt = _synthesis_axis(Wc, key, mode, dt)
    out_t = torch.empty((N, h_idx.shape[0], w_idx.shape[0]), dtype=bands[0].dtype)
    flat = [b.contiguous().numpy().reshape(-1) for b in bands]
    idwt2_level(*flat, out_t.numpy().reshape(-1), h_idx, h_lo, h_hi, h_cnt, w_idx, w_lo, w_hi, w_cnt,
                Hc, Wc, _n_chunks(N))
    return out_t


# ----------------------------------------------------------------------------- torch backend

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
    s = _analysis_start(L, mode)
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
        terms = [(torch.as_tensor(i), torch.as_tensor(c)) for i, c in _extend(np.arange(n_pad) + s, n, mode)]
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
    f = _filters(wav)
    lo, hi = (f[2], f[3]) if rec else (f[0][::-1], f[1][::-1])
    lo = torch.tensor(lo, dtype=dtype, device=device)
    hi = torch.tensor(hi, dtype=dtype, device=device)
    pairs = [(lo, lo), (hi, lo), (lo, hi), (hi, hi)]
    return torch.stack([torch.outer(a, b) for a, b in pairs])[:, None]


def _dwt_torch(x: torch.Tensor, wav, level: int, mode: str):
    """Reference: explicit padding per mode, then a grouped conv2d (4 filters per channel, stride 2).

    x: (B, C, H, W). The subbands come back as strided views of the conv output.
    """
    key = _filters(wav)
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
    f = _filters(wav)
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


def _idwt_torch(bands, wav, mode: str):
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
