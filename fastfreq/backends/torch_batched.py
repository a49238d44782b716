"""Batched torch.fft implementation (any device): patches grouped by size.

What a careful torch user would write: gather all patches of one (h, w) with
advanced indexing, filter them with one batched ``rfft2``, scatter-add them.
It is the default on CUDA tensors when CuPy is not installed, and a second
baseline in the benchmarks.
"""
from __future__ import annotations

import numpy as np
import torch

from .reference import patch_weight


def filter_batched(x: torch.Tensor, filt) -> torch.Tensor:
    """Batched ``irfft2(rfft2(x) * filt.mask_half(H, W))`` over the last two dims."""
    h, w = x.shape[-2:]
    half = torch.from_numpy(filt.mask_half(h, w)).to(x.device)
    return torch.fft.irfft2(torch.fft.rfft2(x) * half, s=(h, w)).to(x.dtype)


def cutpaste_batched(images: torch.Tensor, params, options):
    """(out, mask): every size group gathered, filtered by one batched rfft2 and scatter-added."""
    normalize, patch_filter, dual_path = options.normalize, options.patch_filter, options.dual_path
    band_weight = options.band_weight
    B, C, H, W = images.shape
    dev = images.device
    out = images.clone()
    mask = torch.zeros(B, 1, H, W, dtype=images.dtype, device=dev)
    idx = np.flatnonzero(params.applied)
    sizes = np.stack([params.cut_h[idx], params.cut_w[idx]], axis=1) if idx.size else np.zeros((0, 2), int)
    chans = torch.arange(C, device=dev)[None, :, None, None]
    for h, w in {tuple(s) for s in sizes.tolist()}:
        sel = idx[(sizes[:, 0] == h) & (sizes[:, 1] == w)]
        b = torch.as_tensor(sel, device=dev)[:, None, None, None]
        rows = torch.arange(h, device=dev)[None, :]
        cols = torch.arange(w, device=dev)[None, :]
        sy = torch.as_tensor(params.src_y[sel], device=dev)[:, None] + rows
        sx = torch.as_tensor(params.src_x[sel], device=dev)[:, None] + cols
        dy = torch.as_tensor(params.dst_y[sel], device=dev)[:, None] + rows
        dx = torch.as_tensor(params.dst_x[sel], device=dev)[:, None] + cols
        patch = images[b, chans, sy[:, None, :, None], sx[:, None, None, :]]
        if normalize:
            peak = patch.abs().amax(dim=(1, 2, 3), keepdim=True)
            patch = torch.where(peak > 0, patch / torch.where(peak > 0, peak, 1), patch)
        if dual_path is None:  # one weight for the whole group
            weights = patch_weight(h, w, patch_filter, None, 1.0, band_weight)
            weights = None if weights is None else weights[None, None]
        else:
            weights = np.stack([patch_weight(h, w, None, dual_path, float(params.mix[i]), band_weight) for i in sel])[:, None]
        if weights is not None:
            wt = torch.from_numpy(np.ascontiguousarray(weights[..., : w // 2 + 1], dtype=np.float32)).to(dev)
            patch = torch.fft.irfft2(torch.fft.rfft2(patch) * wt, s=(h, w)).to(images.dtype)
        amp = torch.as_tensor(params.amplitude[sel], dtype=images.dtype, device=dev)[:, None, None, None]
        index = (b, chans, dy[:, None, :, None], dx[:, None, None, :])
        out.index_put_(index, patch * amp, accumulate=True)
        mask[:, 0][b[:, 0], dy[:, :, None], dx[:, None, :]] = 1.0
    if options.image_filter is not None:
        out = filter_batched(out, options.image_filter)
    return out, mask
