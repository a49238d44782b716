"""Compiled kernels (Numba CPU; GPU later). Installed as ``fastfreq.kernels``."""
