"""Numba threading-layer choice, made once before any parallel kernel compiles.

GNU OpenMP (`omp`) aborts in forked DataLoader workers, so fastfreq prefers
TBB (thread- and fork-safe, installed as a dependency) and falls back to
Numba's own `workqueue`. An explicit NUMBA_THREADING_LAYER is respected.
"""
import os

import numba

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER_PRIORITY = ["tbb", "workqueue", "omp"]
    numba.config.THREADING_LAYER = "default"


def limit_threads(n: int) -> None:
    """Cap the threads Numba's parallel loops use in this process (e.g. 1 in a DataLoader worker)."""
    numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))
