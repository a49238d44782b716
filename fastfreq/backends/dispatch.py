"""The one place a backend is chosen: CutPaste, the whole-image filter and the DWT.

Callers pass checked tensors and the objects that describe the operation
(params, ``CutPasteOptions``, a filter, a ``pywt.Wavelet``); each function
resolves the backend for the tensor's device and runs it. Implementations are
imported when first used, so importing fastfreq compiles nothing.
"""
from __future__ import annotations

import torch

from .._validate import check_choice

BACKENDS = ("auto", "numba", "torch", "torch_batched", "cupy")
DWT_BACKENDS = ("auto", "numba", "torch", "cupy")


def resolve_backend(backend: str, x: torch.Tensor, choices=BACKENDS) -> str:
    """The backend that runs on ``x``.

    "auto" is numba on CPU; on CUDA cupy when CuPy, a device and Numba's CUDA
    target are usable (``fastfreq.gpu.cupy_available``), else torch_batched
    (plain "torch" where ``choices`` has no torch_batched, as for the DWT).
    """
    check_choice("backend", backend, choices)
    if backend == "auto":
        if x.device.type == "cpu":
            return "numba"
        from . import cuda_env

        if x.device.type == "cuda" and cuda_env.cupy_available():
            return "cupy"
        return "torch_batched" if "torch_batched" in choices else "torch"
    if backend == "numba" and x.device.type != "cpu":
        raise ValueError(f"backend='numba' needs a CPU tensor, got device {x.device}")
    if backend == "cupy":
        from . import cuda_env

        cuda_env.require_cupy()
        if x.device.type != "cuda":
            raise ValueError(f"backend='cupy' needs a CUDA tensor, got device {x.device}: move the batch "
                             f"with .to('cuda') first")
        if not cuda_env.cupy_available():
            raise RuntimeError("backend='cupy': CuPy is installed but no CUDA device or no usable Numba CUDA "
                               f"target (NVVM) was found: {cuda_env.INSTALL_HINT}")
    return backend


def _check_finite(x: torch.Tensor, name: str) -> None:
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or Inf values")


def cutpaste(images: torch.Tensor, params, options, backend: str = "auto"):
    """(augmented, mask) of (B, C, H, W) ``images`` under ``params`` (``CutPasteParams``) and
    ``options`` (``CutPasteOptions``). images are not modified; NaN/Inf raise ValueError."""
    backend = resolve_backend(backend, images)
    if backend == "numba":  # checks finiteness inside its copy pass
        from .numba_cpu import cutpaste as run
    else:
        _check_finite(images, "images")
        if backend == "torch":
            from .reference import cutpaste_reference as run
        elif backend == "cupy":
            from .gpu import cutpaste_cupy as run
        else:
            from .torch_batched import cutpaste_batched as run
    return run(images.detach(), params, options)


def filter_images(x: torch.Tensor, filt, backend: str = "auto") -> torch.Tensor:
    """``real(ifft2(fft2(x) * filt.mask(H, W)))`` over the last two dims of a float tensor x."""
    backend = resolve_backend(backend, x)
    if backend == "numba":
        from .numba_cpu import filter_images as run
    else:
        _check_finite(x, "x")
        if backend == "torch":
            from .reference import filter_reference as run
        elif backend == "cupy":
            from .gpu import filter_cupy as run
        else:
            from .torch_batched import filter_batched as run
    return run(x.detach(), filt)


def dwt2(x: torch.Tensor, wavelet, level: int, mode: str, backend: str = "auto"):
    """``level`` analysis levels over the last two dims of ``x`` (..., H, W):
    (cA, [(cH, cV, cD) for levels 1..J]), each of shape (N, h, w) or (..., h, w) (callers reshape)."""
    backend = resolve_backend(backend, x, DWT_BACKENDS)
    if backend == "numba":
        from .numba_cpu import dwt2 as run
    elif backend == "cupy":
        from .gpu import dwt2_cupy as run
    else:
        from .dwt_torch import dwt2 as run
    return run(x.detach(), wavelet, level, mode)


def idwt2_level(bands, wavelet, mode: str, backend: str = "auto") -> torch.Tensor:
    """One synthesis level of four (N, h, w) subbands (LL, LH, HL, HH) -> (N, H, W).

    "cupy" runs the torch synthesis on the same device.
    """
    backend = resolve_backend(backend, bands[0], DWT_BACKENDS)
    if backend == "numba":
        from .numba_cpu import idwt2_level as run
    else:
        from .dwt_torch import idwt2_level as run
    return run(bands, wavelet, mode)
