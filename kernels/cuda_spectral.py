"""The spectral formulas of ``kernels/spectral.py`` compiled as CUDA device functions.

One source of truth: each function's Python code object is re-bound to a
namespace where its callees are the CUDA versions, then compiled with
``numba.cuda.jit(device=True)``. Nothing is re-derived here. Under
``NUMBA_ENABLE_CUDASIM=1`` the same functions run in Numba's simulator.
"""
import math
import types

from numba import cuda

from . import spectral

# Globals resolve when a kernel first compiles, so the order here does not matter.
_NAMES = ("fftfreq_value", "lowpass_d2", "filter_value_d2", "order_int", "interp_value", "weight_d2")


def _retarget(module, names):
    ns = {"math": math, "__name__": __name__}
    for name in names:
        py = getattr(module, name).py_func
        ns[name] = cuda.jit(device=True)(types.FunctionType(py.__code__, ns, name, py.__defaults__))
    return ns


_DEVICE = _retarget(spectral, _NAMES)
fftfreq_value = _DEVICE["fftfreq_value"]
order_int = _DEVICE["order_int"]
weight_d2 = _DEVICE["weight_d2"]
