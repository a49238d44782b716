"""Separable Gaussian smoothing of score maps, equal to ``scipy.ndimage.gaussian_filter``
(mode "reflect" = half-sample symmetric, truncate 4.0) on each (H, W) map."""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from fastfreq._validate import check_float


@functools.lru_cache(maxsize=32)
def _kernel(sigma: float, truncate: float) -> np.ndarray:
    radius = int(truncate * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


@functools.lru_cache(maxsize=32)
def _symmetric_index(n: int, radius: int) -> np.ndarray:
    """Indices of a half-sample symmetric extension by ``radius`` on both sides (any radius vs n)."""
    i = np.arange(-radius, n + radius) % (2 * n)
    return np.where(i < n, i, 2 * n - 1 - i)


def gaussian_smooth(maps: torch.Tensor, sigma: float, truncate: float = 4.0) -> torch.Tensor:
    """Smooth (..., H, W) maps with a Gaussian of std ``sigma`` pixels; sigma 0 returns a copy."""
    sigma = check_float("sigma", sigma, 0.0)
    if sigma == 0:
        return maps.clone()
    shape = maps.shape
    x = maps.reshape(-1, 1, *shape[-2:])
    k = torch.as_tensor(_kernel(float(sigma), float(truncate)), dtype=x.dtype, device=x.device)
    r = (k.numel() - 1) // 2
    for dim, size in ((2, shape[-2]), (3, shape[-1])):
        idx = torch.as_tensor(_symmetric_index(int(size), r), device=x.device)
        x = x.index_select(dim, idx)
        w = k.view(1, 1, -1, 1) if dim == 2 else k.view(1, 1, 1, -1)
        x = F.conv2d(x, w)
    return x.reshape(shape)


__all__ = ["gaussian_smooth"]
