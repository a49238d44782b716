"""Launching the GPU kernels, or their NumPy twins, and the real FFTs of CuPy or NumPy.

``Kernels(kind, stream, xp).run(name, grid, threads, *args)`` runs a kernel of
``kernels/cuda_*.py`` (``kind="cuda"``: on CuPy arrays, or on NumPy arrays
under ``NUMBA_ENABLE_CUDASIM=1``) or its NumPy twin (``kind="numpy"``,
``kernels/cuda_twin.py``): that is how the orchestration is tested without a GPU.
"""
from __future__ import annotations

import numpy as np


def threads_per_block(want: int) -> int:
    """``want``, or at most 16 under Numba's CUDA simulator (it runs a Python thread per CUDA thread)."""
    from numba import config

    return min(want, 16) if config.ENABLE_CUDASIM else want  # the simulator runs a thread per thread


class Kernels:
    """``run(name, grid, threads, *args)`` on the CUDA kernels or their NumPy twins."""

    def __init__(self, kind: str, stream=None, xp=np):
        if kind == "cuda" and stream is None:  # launch where CuPy works: its current stream
            from numba import cuda

            ptr = 0 if xp is np else xp.cuda.get_current_stream().ptr
            stream = cuda.external_stream(ptr) if ptr else 0
        if kind == "cuda":
            from ..kernels import cuda_cutpaste, cuda_dwt

            self.modules = (cuda_cutpaste, cuda_dwt)
        elif kind == "numpy":
            from ..kernels import cuda_twin

            self.modules = (cuda_twin,)
        else:
            raise ValueError(f"kernels must be 'cuda' or 'numpy', got {kind!r}")
        self.kind, self.stream = kind, stream

    def run(self, name, grid, threads, *args):
        fn = next(getattr(m, name) for m in self.modules if hasattr(m, name))
        if self.kind == "numpy":
            fn(*args)
        else:
            from ..kernels.cuda_cutpaste import launch

            launch(fn, grid, threads_per_block(threads), self.stream, *args)


def rfft2(xp, a):
    if xp is np:
        return np.fft.rfft2(a)
    import cupyx.scipy.fft as cfft

    return cfft.rfft2(a)


def irfft2(xp, a, s):
    if xp is np:
        return np.fft.irfft2(a, s=s)
    import cupyx.scipy.fft as cfft

    return cfft.irfft2(a, s=s, overwrite_x=True)  # c2r destroys its input anyway: no defensive copy
