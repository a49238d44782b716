"""The torch.fft reference: plain, per-sample Scaled CutPaste, line by line as the README's
"Scaled CutPaste" section describes it.

This is the readable ground truth every fast path is tested against and the
baseline of every benchmark. It is deliberately unoptimised.
"""
from __future__ import annotations

import numpy as np
import torch


def patch_weight(h: int, w: int, patch_filter=None, dual_path=None, mix: float = 1.0, band_weight=None):
    """float64 (h, w) spectral weight of a patch, or None for no filtering."""
    weight = None
    if patch_filter is not None:
        weight = patch_filter.response_grid(h, w)
    if dual_path is not None:
        high, low = dual_path
        weight = mix * high.response_grid(h, w) + (1.0 - mix) * low.response_grid(h, w)
    if band_weight is not None:
        g = band_weight.response_grid(h, w)
        weight = g if weight is None else weight * g
    return weight


def filter_reference(x: torch.Tensor, filt) -> torch.Tensor:
    """``real(ifft2(fft2(x) * H))`` over the last two dims."""
    h, w = x.shape[-2:]
    mask = torch.from_numpy(filt.mask(h, w)).to(x.device)
    return torch.fft.ifft2(torch.fft.fft2(x) * mask).real.to(x.dtype)


def cutpaste_one(image: torch.Tensor, applied: bool, src_y: int, src_x: int, dst_y: int, dst_x: int,
                 cut_h: int, cut_w: int, amplitude: float, mix: float = 1.0, *, normalize: bool = True,
                 patch_filter=None, dual_path=None, band_weight=None):
    """Scaled CutPaste of one image (C, H, W): returns (augmented image, mask (1, H, W))."""
    image = image.clone()
    mask = torch.zeros(1, *image.shape[1:], dtype=image.dtype, device=image.device)
    # 1. with probability 1 - p the image is left unchanged
    if not applied:
        return image, mask
    # 5. cut the patch (all channels) and max-abs normalise it
    patch = image[:, src_y:src_y + cut_h, src_x:src_x + cut_w].clone()
    if normalize:
        peak = patch.abs().max()
        if peak > 0:
            patch = patch / peak
    # 6. filter it in the Fourier domain on its own cut_h x cut_w grid
    weight = patch_weight(cut_h, cut_w, patch_filter, dual_path, mix, band_weight)
    if weight is not None:
        weight = torch.from_numpy(weight.astype(np.float32)).to(image.device)
        patch = torch.fft.ifft2(torch.fft.fft2(patch) * weight).real.to(image.dtype)
    # 7. scale its amplitude
    patch = patch * amplitude
    # 8. add it (not replace) at the destination; mask the destination box
    image[:, dst_y:dst_y + cut_h, dst_x:dst_x + cut_w] += patch
    mask[:, dst_y:dst_y + cut_h, dst_x:dst_x + cut_w] = 1.0
    return image, mask


def cutpaste_reference(images: torch.Tensor, params, options):
    """Per-sample loop over ``cutpaste_one``, then the whole-image filter (strategy 2) per image.

    params: ``CutPasteParams``; options: ``CutPasteOptions``.
    """
    outs, masks = [], []
    for b in range(images.shape[0]):
        image, mask = cutpaste_one(
            images[b], bool(params.applied[b]), int(params.src_y[b]), int(params.src_x[b]),
            int(params.dst_y[b]), int(params.dst_x[b]), int(params.cut_h[b]), int(params.cut_w[b]),
            float(params.amplitude[b]), float(params.mix[b]), normalize=options.normalize,
            patch_filter=options.patch_filter, dual_path=options.dual_path, band_weight=options.band_weight)
        if options.image_filter is not None:
            image = filter_reference(image, options.image_filter)
        outs.append(image)
        masks.append(mask)
    return torch.stack(outs), torch.stack(masks)
