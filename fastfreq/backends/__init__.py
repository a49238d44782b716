"""Backends: the same operations computed by different engines.

``dispatch`` is the one place a backend is chosen; ``reference`` (per-sample
torch.fft, the ground truth), ``torch_batched``, ``numba_cpu`` (host drivers of
the Numba kernels) and ``gpu`` (CuPy + Numba CUDA) implement them;
``dwt_tables`` and ``dwt_torch`` hold the wavelet transform's boundary tables
and its torch implementation; ``cuda_env`` the torch <-> CuPy boundary,
``cuda_launch`` kernel launches and ``device_cache`` the GPU's cached tables.
Backends get filters, wavelets and params as arguments and never import the
layers above them.
"""
