"""Backbone input: resize, centre crop and ImageNet normalisation of (B, C, H, W) images."""
from __future__ import annotations

import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _pair(v, argname):
    if isinstance(v, bool):
        raise TypeError(f"{argname} must be an int, a (h, w) pair or None, got {v!r}")
    if isinstance(v, int):
        if v <= 0:
            raise ValueError(f"{argname} must be positive, got {v}")
        return v
    try:
        h, w = v
        h, w = int(h), int(w)
    except (TypeError, ValueError):
        raise TypeError(f"{argname} must be an int, a (h, w) pair or None, got {v!r}") from None
    if h <= 0 or w <= 0:
        raise ValueError(f"{argname} must be positive, got {v!r}")
    return (h, w)


def resize_crop(x: torch.Tensor, resize=256, crop=224, mode: str = "bilinear") -> torch.Tensor:
    """The geometry of :func:`preprocess` on (B, C, H, W): short side (int) or exact (h, w) ``resize``,
    then centre ``crop``; ``mode="nearest"`` applies the same geometry to masks."""
    if resize is not None:
        r = _pair(resize, "resize")
        h, w = x.shape[-2:]
        if isinstance(r, int):
            size = (r, int(r * w / h)) if h <= w else (int(r * h / w), r)
        else:
            size = r
        if size != (h, w):
            smooth = dict(align_corners=False, antialias=True) if mode == "bilinear" else {}
            x = F.interpolate(x, size=size, mode=mode, **smooth)
    if crop is not None:
        c = _pair(crop, "crop")
        ch, cw = (c, c) if isinstance(c, int) else c
        h, w = x.shape[-2:]
        if ch > h or cw > w:
            raise ValueError(f"crop {(ch, cw)} is larger than the (resized) image {(h, w)}")
        top = int(round((h - ch) / 2.0))
        left = int(round((w - cw) / 2.0))
        x = x[..., top:top + ch, left:left + cw]
    return x


def preprocess(images, resize=256, crop=224) -> torch.Tensor:
    """Turn ``(B, C, H, W)`` images into normalised backbone input.

    ``images``: float in ``[0, 1]`` (``uint8`` in ``[0, 255]`` is accepted and
    scaled); ``C`` is 1 (repeated to 3) or 3.  Steps, as torchvision's
    ``Resize(resize) -> CenterCrop(crop) -> Normalize(IMAGENET_MEAN, IMAGENET_STD)``:

    * ``resize`` int: bilinear (antialiased) resize of the short side to
      ``resize``, keeping the aspect ratio; ``(h, w)``: resize to exactly that;
      ``None``: skip.
    * ``crop`` int or ``(h, w)``: centre crop (must fit); ``None``: skip.
    """
    x = torch.as_tensor(images)
    if x.dim() != 4:
        raise ValueError(f"images must be (B, C, H, W), got shape {tuple(x.shape)}")
    if x.shape[1] not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels (dim 1), got {x.shape[1]} "
                         f"(shape {tuple(x.shape)}; channels-last input? permute to (B, C, H, W))")
    if x.dtype == torch.uint8:
        x = x.float() / 255.0
    elif not x.is_floating_point():
        raise TypeError(f"images must be float in [0, 1] or uint8, got {x.dtype}")
    elif x.numel():
        lo, hi = float(x.min()), float(x.max())
        if lo < -1e-3 or hi > 1 + 1e-3:
            raise ValueError(f"images must be in [0, 1], got values in [{lo:.4g}, {hi:.4g}] "
                             "(scale 0-255 data by 1/255 or pass uint8)")
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    x = resize_crop(x, resize, crop)
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()
