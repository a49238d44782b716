"""The torch <-> CuPy boundary: availability, the fork guard, zero-copy views and streams.

``cupy_available`` says whether the "cupy" backend can run; ``require_cupy``
gives the module or a clear error (not installed, or CUDA unusable after a
fork); ``to_cupy`` / ``to_torch`` share memory through DLPack; ``torch_stream``
runs CuPy and Numba on torch's current stream; ``use_torch_allocator`` routes
CuPy's allocations through torch's caching allocator.
"""
from __future__ import annotations

import contextlib
import functools
import os

import torch

INSTALL_HINT = ("pip install fastfreq[gpu]  (CuPy and Numba's CUDA target; docs/gpu.md lists the extra "
                "for each CUDA major)")
_IMPORT_PID = os.getpid()
_CUDA_PID = None  # the process that first ran the backend


# ----------------------------------------------------------------------------- availability

@functools.lru_cache(maxsize=None)
def _import_cupy():
    try:
        import cupy
    except ImportError:
        return None
    return cupy


@functools.lru_cache(maxsize=None)
def cupy_available() -> bool:
    """CuPy importable, a CUDA device visible and Numba's CUDA target usable (never raises)."""
    cp = _import_cupy()
    if cp is None:
        return False
    try:
        from numba import cuda

        return cp.cuda.runtime.getDeviceCount() > 0 and cuda.is_available()
    except Exception:  # noqa: BLE001  (any driver/toolkit problem means "not available")
        return False


def in_forked_child() -> bool:
    """True in a process forked (e.g. a DataLoader worker) after fastfreq was imported."""
    return os.getpid() != _IMPORT_PID


def require_cupy():
    """The cupy module, or a clear error: not installed, or CUDA unusable after a fork."""
    if (_CUDA_PID is not None and _CUDA_PID != os.getpid()) or torch.cuda._is_in_bad_fork():
        raise RuntimeError("backend='cupy' cannot run in a process forked after CUDA was initialised "
                           "(e.g. a fork-based DataLoader worker): run it in the main process on the "
                           "collated batch, or start workers with multiprocessing_context='spawn'")
    cp = _import_cupy()
    if cp is None:
        raise ImportError(f"backend='cupy' needs CuPy, which is not installed: {INSTALL_HINT}")
    return cp


# ----------------------------------------------------------------------------- torch <-> cupy

def to_cupy(t: torch.Tensor):
    """Zero-copy CuPy view of a CUDA tensor (DLPack)."""
    return require_cupy().from_dlpack(t.detach())


def to_torch(a) -> torch.Tensor:
    """Zero-copy torch view of a CuPy array (DLPack)."""
    return torch.from_dlpack(a)


@contextlib.contextmanager
def torch_stream(device: torch.device):
    """CuPy and Numba on torch's current stream of ``device``; yields the Numba stream."""
    global _CUDA_PID
    cp = require_cupy()
    from numba import cuda

    index = device.index if device.index is not None else torch.cuda.current_device()
    ptr = torch.cuda.current_stream(index).cuda_stream
    _CUDA_PID = os.getpid()
    with cp.cuda.Device(index), cp.cuda.ExternalStream(ptr), cuda.gpus[index]:
        yield cuda.external_stream(ptr) if ptr else cuda.legacy_default_stream()


def use_torch_allocator() -> None:
    """Opt-in: route CuPy's allocations (FFT buffers, scratch) through torch's caching allocator.

    By default CuPy keeps its own memory pool beside torch's, so both can hold
    free blocks. This replaces CuPy's allocator process-wide.
    """
    cp = require_cupy()

    def alloc(size: int):
        device = cp.cuda.Device().id
        ptr = cp.cuda.get_current_stream().ptr
        # torch ties a block to the stream it is allocated on: use the stream CuPy will use it on
        ctx = torch.cuda.stream(torch.cuda.ExternalStream(ptr, device=device)) if ptr else contextlib.nullcontext()
        with ctx:
            t = torch.empty(max(size, 1), dtype=torch.uint8, device=f"cuda:{device}")
        return cp.cuda.MemoryPointer(cp.cuda.UnownedMemory(t.data_ptr(), size, t), 0)

    cp.cuda.set_allocator(alloc)
