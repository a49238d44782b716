"""Compiled kernels: Numba on the CPU, Numba CUDA on the GPU (with NumPy twins). Installed as ``fastfreq.kernels``."""
