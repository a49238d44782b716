"""``FreqCutPaste``: frequency-filtered Scaled CutPaste as a ``torch.nn.Module``.

The module front end of ``ScaledCutPaste`` for places that expect an
``nn.Module`` augmenter: anomalib's DRAEM (``augmented, mask = augmenter(x)``),
``torch.nn.Sequential``, ``torchvision.transforms.v2.Compose``.
"""
from __future__ import annotations


import numpy as np
import torch
from torch import nn

from .._validate import check_clip
from .collate import CallGenerator
from .cutpaste import AugmentedBatch, ScaledCutPaste
from .params import CutPasteParams

__all__ = ["FreqCutPaste"]

_HALF = (torch.float16, torch.bfloat16)
_FLOAT = (torch.float32, torch.float64) + _HALF


class FreqCutPaste(nn.Module):
    """Frequency-filtered Scaled CutPaste as an ``nn.Module``.

    ``FreqCutPaste(**kwargs)`` takes every ``ScaledCutPaste`` argument under
    the same name (``cut_h``, ``cut_w``, ``area_ratio``, ``amplitude``,
    ``probability``, ``patch_filter``, ``image_filter``, ``dual_path``,
    ``band_weight``, ``seed``, ``backend``, ...); ``FreqCutPaste(aug)`` wraps an
    existing ``ScaledCutPaste``. Extra options:

    clip : None or (low, high)
        Clamp the augmented image to ``[low, high]`` (the whole image). Default
        None: no clipping (HDMAP faults exceed 1 and must not be cut off); use
        ``(0, 1)`` for images in [0, 1].
    return_mask : bool
        True (default): ``forward`` returns ``(augmented, mask)`` like
        anomalib's anomaly generators. False: only the augmented image, so the
        module chains in ``nn.Sequential`` (which passes one value along); the
        mask is then in ``module.last_batch.mask``.

    ``forward(images, params=None)``:

    - ``images``: (B, C, H, W) or one image (C, H, W), on CPU or CUDA.
    - dtypes: float32 and float64 are computed as they are; float16 and
      bfloat16 are computed in float32 and returned in their own dtype; uint8
      (0..255) is computed on ``images / 255`` in float32, like
      ``torchvision.transforms.v2.ToDtype(torch.float32, scale=True)`` would
      give (so the same ``amplitude`` makes the same anomaly as on a [0, 1]
      float image), ``clip`` applies on that [0, 1] scale, and the result is
      multiplied by 255, rounded and clamped to 0..255 as uint8.
    - returns ``(augmented, mask)``: the mask is 0/1 on the pasted boxes,
      (B, 1, H, W) ((1, H, W) for one image), in the image's float dtype
      (float32 for uint8). Inputs are never modified in place. A tensor
      subclass (e.g. torchvision's ``tv_tensors.Image``) comes back as the same
      subclass.
    - ``params``: a ``CutPasteParams`` to replay instead of drawing new ones
      (e.g. ``module.last_params``); applied in eval mode too.

    In eval mode (``module.eval()``) and without ``params`` the input tensor
    itself is returned (not a copy, like ``nn.Dropout``) with an all-zero mask;
    only the dtype and shape are checked. With an ``image_filter`` (strategy 2)
    test images need that filter too: ``module.augment.filter_image(x)``.

    The last training call's full ``AugmentedBatch`` (computation dtype,
    before clipping; ``image``, ``original``, ``mask``, ``label``,
    ``amplitude``, ``params``) is kept as ``module.last_batch`` and its params
    as ``module.last_params``; they are not pickled, deep-copied or put in the
    ``state_dict`` (which is empty: the module has no tensors to save).

    Randomness, like ``FreqCutPasteCollate``: in the main process params come
    from ``numpy.random.default_rng(seed)``, or, when ``seed`` is None, from a
    generator seeded once by ``torch``'s global generator (so
    ``torch.manual_seed`` / Lightning's ``seed_everything`` make runs
    reproducible). Inside a DataLoader worker the generator is
    ``default_rng([seed or 0, worker_seed])``, so copies of the module in
    different workers and epochs draw differently; under torchrun the rank is
    mixed in too (``fastfreq.distributed``), so every process draws its own.
    """

    def __init__(self, *args, clip=None, return_mask: bool = True, **kwargs):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], ScaledCutPaste):
            if kwargs:
                raise ValueError("give either a ScaledCutPaste or its keyword arguments, not both")
            augment = args[0]
        else:
            for a in args:
                if isinstance(a, ScaledCutPaste):
                    raise ValueError("a ScaledCutPaste must be the only positional argument")
            augment = ScaledCutPaste(*args, **kwargs)
        self.augment = augment
        self.clip = check_clip(clip)
        if not isinstance(return_mask, (bool, np.bool_)):
            raise TypeError(f"return_mask must be a bool, got {return_mask!r}")
        self.return_mask = bool(return_mask)
        self.last_batch: AugmentedBatch | None = None
        self._draws = CallGenerator()  # rank- and worker-aware, like the collate's

    # -- introspection ------------------------------------------------------
    @property
    def last_params(self) -> CutPasteParams | None:
        """Params of the last training call (``None`` before the first one)."""
        return None if self.last_batch is None else self.last_batch.params

    def extra_repr(self) -> str:
        return f"{self.augment!r}, clip={self.clip}, return_mask={self.return_mask}"

    # -- pickling / copy.deepcopy (both use __getstate__): the generator state
    # travels, the last batch (tensors, maybe on a GPU) does not.
    def __getstate__(self):
        state = dict(self.__dict__)
        state["last_batch"] = None
        return state

    # -- randomness -----------------------------------------------------------
    def _generator(self) -> np.random.Generator:
        return self._draws.get(self.augment.seed)[0]

    # -- the transform --------------------------------------------------------
    def forward(self, images: torch.Tensor, params: CutPasteParams | None = None):
        """Augment ``images``; returns ``(augmented, mask)`` or, with ``return_mask=False``, ``augmented``."""
        single = _check_input(images)
        if params is not None and not isinstance(params, CutPasteParams):
            raise TypeError(f"params must be CutPasteParams or None, got {type(params).__name__}")
        batch4 = images.unsqueeze(0) if single else images
        mask_dtype = torch.float32 if images.dtype == torch.uint8 else images.dtype
        if not self.training and params is None:
            B, _, H, W = batch4.shape
            mask = torch.zeros((B, 1, H, W), dtype=mask_dtype, device=images.device)
            return self._output(images, mask[0] if single else mask)

        x = batch4.detach()
        if x.dtype == torch.uint8:
            x = x.to(torch.float32).div_(255.0)
        elif x.dtype in _HALF:
            x = x.to(torch.float32)
        if params is None:
            params = self.augment.sample_params(x.shape, self._generator())
        elif tuple(params.image_size) != tuple(x.shape[-2:]):
            raise ValueError(f"params were drawn for images of size {tuple(params.image_size)}, "
                             f"got images of size {tuple(x.shape[-2:])}")
        result = self.augment.apply(x, params)
        self.last_batch = result
        out = result.image
        if self.clip is not None:
            out = out.clamp(*self.clip)  # a new tensor: last_batch.image stays unclipped
        if images.dtype == torch.uint8:
            out = out.mul(255.0).round_().clamp_(0.0, 255.0).to(torch.uint8)
        elif out.dtype != images.dtype:
            out = out.to(images.dtype)
        mask = result.mask.to(mask_dtype)
        if single:
            out, mask = out[0], mask[0]
        if type(images) is not torch.Tensor:  # keep a tensor subclass such as tv_tensors.Image
            out = out.as_subclass(type(images))
        return self._output(out, mask)

    def _output(self, image, mask):
        return (image, mask) if self.return_mask else image


def _check_input(images) -> bool:
    """Validate ``forward``'s input; True for a single (C, H, W) image."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
    if images.dtype != torch.uint8 and images.dtype not in _FLOAT:
        raise TypeError(f"images must have dtype uint8 (0..255), float16, bfloat16, float32 or float64, "
                        f"got {images.dtype}")
    if images.ndim not in (3, 4):
        raise ValueError(f"images must have shape (C, H, W) or (B, C, H, W), got shape {tuple(images.shape)}")
    if images.numel() == 0:
        raise ValueError(f"images must not be empty, got shape {tuple(images.shape)}")
    return images.ndim == 3
