"""2-D discrete wavelet transform with PyWavelets' conventions, batched and fast on CPU and GPU.

``dwt2(x, wavelet, level, mode)`` returns exactly what
``pywt.wavedec2(x, wavelet, mode=mode, level=level, axes=(-2, -1))`` returns:
``[cA_J, (cH_J, cV_J, cD_J), ..., (cH_1, cV_1, cD_1)]``, with pywt's sizes
(``floor((N + L - 1) / 2)`` per level, ``ceil(N / 2)`` for "periodization").
``idwt2(coeffs, wavelet, mode)`` is ``pywt.waverec2``: an odd size comes back
one sample longer, as in pywt (crop with ``[..., :H, :W]``).

Backends (``fastfreq.backends``): "numba" (compiled CPU kernels), "torch"
(explicit padding + one grouped conv2d per level, any device: the reference
the kernels are tested and benchmarked against), "cupy" (a Numba CUDA kernel
on CUDA tensors; ``idwt2`` runs the torch path on the same device) and "auto"
(numba on CPU; on CUDA cupy when CuPy is installed, else torch). All share one
description of the boundary modes (``fastfreq.backends.dwt_tables``).
Autograd is not supported (inputs are detached).
"""
from __future__ import annotations

import functools
import warnings

import numpy as np
import pywt
import torch

from .._validate import as_float_tensor, check_choice, check_int
from ..backends import dispatch
from ..backends.dwt_tables import coeff_len

MODES = ("zero", "constant", "symmetric", "reflect", "periodic", "periodization",
         "smooth", "antisymmetric", "antireflect")
BACKENDS = dispatch.DWT_BACKENDS
WAVELETS = tuple(pywt.wavelist(kind="discrete"))


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
    t, was_numpy = as_float_tensor(x, "x")
    wav = get_wavelet(wavelet)
    mode = check_mode(mode)
    H, W = t.shape[-2:]
    level = _check_level(level, H, W, wav)
    lead = t.shape[:-2]
    ca, details = dispatch.dwt2(t, wav, level, mode, backend)
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
    a, was_numpy = as_float_tensor(coeffs[0], "coeffs[0]")
    dispatch.resolve_backend(backend, a, BACKENDS)  # argument and device errors before any work
    lead = a.shape[:-2]
    a = a.detach()
    for j, bands in enumerate(coeffs[1:], start=1):
        if not isinstance(bands, (list, tuple)) or len(bands) != 3:
            raise ValueError(f"coeffs[{j}] must be a (cH, cV, cD) tuple")
        ds = [None if b is None else as_float_tensor(b, f"coeffs[{j}]")[0].detach() for b in bands]
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
        y = dispatch.idwt2_level(bands4, wav, mode, backend)
        a = y.reshape(*lead, *y.shape[-2:])
    return a.numpy() if was_numpy else a
