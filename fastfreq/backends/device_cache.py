"""Device-side caches of the "cupy" backend: whole-image masks, DWT index tables, twiddle tables.

Bounded LRUs keyed by what the table depends on and the device (``"cpu"``
when NumPy stands in for CuPy). A table is synchronised once after its upload,
so a later call on another stream never reads it early.
"""
from __future__ import annotations

import collections

import numpy as np

DIRECT_MAX_N = 512  # largest patch side for the direct DFT (twiddle table size)
MASK_CACHE_SIZE = 64
TABLE_CACHE_SIZE = 256


class LRU:
    """A dict that forgets its least recently used entry beyond ``maxsize``."""
    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self.data = collections.OrderedDict()

    def get(self, key, make):
        if key in self.data:
            self.data.move_to_end(key)
            return self.data[key]
        value = self.data[key] = make()
        if len(self.data) > self.maxsize:
            self.data.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self.data)


MASKS = LRU(MASK_CACHE_SIZE)  # whole-image half-spectrum masks
TABLES = LRU(TABLE_CACHE_SIZE)  # DWT index tables, twiddle tables


def clear_caches() -> None:
    """Drop the device-side masks and tables (CuPy's FFT plan cache: ``cupy.fft.config``)."""
    MASKS.data.clear()
    TABLES.data.clear()


def upload(xp, a):
    """A cached table on the device, its copy finished (it may be read later on another stream)."""
    d = xp.asarray(a)
    if xp is not np:
        xp.cuda.get_current_stream().synchronize()  # once per cached table
    return d


def device_key(xp):
    return "cpu" if xp is np else xp.cuda.Device().id


def mask_half(xp, filt, h: int, w: int):
    """float32 (h, w // 2 + 1) mask of ``filt`` on the device, cached per (h, w, filter, device)."""
    key = (h, w, tuple(filt.spec().tolist()), device_key(xp))
    return MASKS.get(key, lambda: upload(xp, filt.mask_half(h, w)))


def twiddles(xp, dtype):
    """The direct DFT's cos / sin tables up to DIRECT_MAX_N on the device, cached per dtype and device."""
    from ..kernels.cuda_cutpaste import twiddles as make

    key = ("twiddles", np.dtype(dtype).name, device_key(xp))
    return TABLES.get(key, lambda: tuple(upload(xp, t) for t in make(DIRECT_MAX_N, dtype)))
