"""Backend dispatch: the same operation on the Numba, batched-torch and reference paths."""
from __future__ import annotations

import numpy as np
import torch

from ._validate import FLOAT_DTYPES, check_choice

BACKENDS = ("auto", "numba", "torch", "torch_batched", "cupy")


def resolve_backend(backend: str, x: torch.Tensor) -> str:
    """The backend that runs on ``x``: "auto" is numba on CPU, cupy on CUDA when CuPy is installed
    (``fastfreq.gpu.cupy_available``), torch_batched otherwise."""
    check_choice("backend", backend, BACKENDS)
    if backend == "auto":
        if x.device.type == "cpu":
            return "numba"
        from . import gpu

        return "cupy" if x.device.type == "cuda" and gpu.cupy_available() else "torch_batched"
    if backend == "numba" and x.device.type != "cpu":
        raise ValueError(f"backend='numba' needs a CPU tensor, got device {x.device}")
    if backend == "cupy":
        from . import gpu

        gpu.require_cupy()
        if x.device.type != "cuda":
            raise ValueError(f"backend='cupy' needs a CUDA tensor, got device {x.device}: move the batch "
                             f"with .to('cuda') first")
        if not gpu.cupy_available():
            raise RuntimeError("backend='cupy': CuPy is installed but no CUDA device or no usable Numba CUDA "
                               f"target (NVVM) was found: {gpu.INSTALL_HINT}")
    return backend


def _float_tensor(x, name: str = "x"):
    """(tensor view, was_numpy) for a float32/float64 tensor or array with >= 2 dims."""
    was_numpy = isinstance(x, np.ndarray)
    t = torch.from_numpy(x) if was_numpy else x
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy.ndarray, got {type(x).__name__}")
    if t.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got {t.dtype}")
    if t.ndim < 2 or t.numel() == 0:
        raise ValueError(f"{name} must have shape (..., H, W) with at least one element, got {tuple(t.shape)}")
    return t, was_numpy


def apply_filter(x, filt, backend: str = "auto"):
    """``real(ifft2(fft2(x) * filt.mask(H, W)))`` over the last two dims of x.

    Returns the same type (tensor or array), dtype and device as ``x``; x is
    not modified. NaN/Inf in x raise ValueError.
    """
    t, was_numpy = _float_tensor(x)
    backend = resolve_backend(backend, t)
    H, W = t.shape[-2:]
    if backend == "numba":
        from .kernels.filter_numba import filter_planes
        from .kernels.finite import bit_rows

        planes = t.detach().reshape(-1, H, W).contiguous().numpy()
        out_t = torch.empty(planes.shape, dtype=t.dtype)  # torch allocator: see cutpaste._apply_numba
        out = out_t.numpy()
        nonfinite = np.zeros(planes.shape[0], dtype=np.bool_)
        mask_half = np.ascontiguousarray(filt.mask(H, W)[:, : W // 2 + 1])
        filter_planes(planes, *bit_rows(planes), out, mask_half, nonfinite)
        if nonfinite.any():
            raise ValueError("x contains NaN or Inf values")
        result = out_t.reshape(t.shape)
    else:
        if not bool(torch.isfinite(t).all()):
            raise ValueError("x contains NaN or Inf values")
        if backend == "torch":
            from .reference import filter_reference

            result = filter_reference(t.detach(), filt)
        elif backend == "cupy":
            from .gpu import filter_cupy

            result = filter_cupy(t.detach(), filt)
        else:
            from .torch_batched import filter_rfft

            result = filter_rfft(t.detach(), filt.mask(H, W))
    return result.numpy() if was_numpy else result
