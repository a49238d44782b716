"""Compile every CUDA kernel of the GPU backend to PTX (sm_90) without a GPU.

The simulator runs kernels as Python, so it cannot catch what the real CUDA
target rejects (e.g. builtin ``max`` on two values in Numba 0.68). This
compiles them for real. Skipped unless Numba finds NVVM: a CUDA toolkit
(/usr/local/cuda), or the pip wheel:

    pip install --target /tmp/nvcc nvidia-cuda-nvcc-cu12
    CUDA_HOME=/tmp/nvcc/nvidia/cuda_nvcc python -m pytest -q tests/test_gpu_ptx.py
"""
import types

import pytest
from numba import config

if config.ENABLE_CUDASIM:
    pytest.skip("the CUDA simulator is on", allow_module_level=True)
try:
    from numba.cuda.cudadrv.nvvm import NVVM

    NVVM()
except Exception as exc:  # noqa: BLE001
    pytest.skip(f"NVVM not found ({type(exc).__name__}): see this file's docstring", allow_module_level=True)

from numba import cuda  # noqa: E402
from numba import types as nt  # noqa: E402

from fastfreq.kernels import cuda_cutpaste as cp, cuda_dwt  # noqa: E402

I64, F64, B = nt.int64, nt.float64, nt.boolean


def arr(dtype, ndim, layout="A"):
    return nt.Array(dtype, ndim, layout)


def signatures(f):
    return {
        "patch_dft": (cp.patch_dft, (arr(f, 4), arr(f, 4), arr(f, 4), arr(I64, 2), arr(F64, 2), arr(F64, 1),
                                     arr(F64, 1), arr(F64, 1), B, B, B, arr(f, 1, "C"), arr(f, 1, "C"),
                                     arr(f, 1, "C"), arr(f, 1, "C"), f)),
        "gather_peak": (cp.gather_peak, (arr(f, 4), arr(f, 4), arr(F64, 1), arr(I64, 2))),
        "weight_mul": (cp.weight_mul, (arr(f, 4), arr(F64, 2), arr(F64, 1), arr(F64, 1), arr(F64, 1), B, I64)),
        "scatter_add": (cp.scatter_add, (arr(f, 4), arr(f, 4), arr(f, 4), arr(F64, 1), arr(I64, 2), arr(F64, 2), B)),
        "dwt2_level": (cuda_dwt.dwt2_level, (arr(f, 3), arr(f, 4), arr(I64, 2), arr(f, 2), arr(f, 2), arr(I64, 1),
                                             arr(I64, 2), arr(f, 2), arr(f, 2), arr(I64, 1), f)),
    }


@pytest.mark.parametrize("dtype", [nt.float32, nt.float64], ids=str)
@pytest.mark.parametrize("name", list(signatures(nt.float32)))
def test_kernel_compiles_to_ptx(name, dtype, monkeypatch):
    from numba.cuda import dispatcher

    # device functions ask the current GPU for its compute capability: there is none here
    monkeypatch.setattr(dispatcher, "get_current_device", lambda: types.SimpleNamespace(compute_capability=(9, 0)))
    kernel, sig = signatures(dtype)[name]
    ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(9, 0))
    assert ".entry" in ptx
    if name == "dwt2_level" and dtype == nt.float32:
        assert ".f64" not in ptx  # float32 stays float32
