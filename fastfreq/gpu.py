"""GPU helpers documented in docs/gpu.md; the "cupy" backend itself is ``fastfreq.backends.gpu``.

``cupy_available()`` says whether ``backend="cupy"`` can run here;
``to_cupy`` / ``to_torch`` are zero-copy DLPack views; ``use_torch_allocator()``
routes CuPy's allocations through torch's caching allocator; ``clear_caches()``
drops fastfreq's device-side masks and tables.
"""
from .backends.cuda_env import INSTALL_HINT, cupy_available, require_cupy, to_cupy, to_torch, use_torch_allocator
from .backends.device_cache import DIRECT_MAX_N, MASK_CACHE_SIZE, TABLE_CACHE_SIZE, clear_caches
from .backends.gpu import FFT_MIN_WORK

__all__ = ["INSTALL_HINT", "DIRECT_MAX_N", "FFT_MIN_WORK", "MASK_CACHE_SIZE", "TABLE_CACHE_SIZE", "clear_caches",
           "cupy_available", "require_cupy", "to_cupy", "to_torch", "use_torch_allocator"]
