"""Frequency-filtered Scaled CutPaste, batched: the ``ScaledCutPaste`` class and its ``AugmentedBatch``.

Parameters are drawn on the host (``params.sample_params``) and applied by a
deterministic backend (``fastfreq.backends.dispatch.cutpaste``), so any batch
can be replayed and every backend is compared on identical draws.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import torch

from .._validate import check_choice, check_float_range, check_images, check_int_range, check_probability
from ..backends import dispatch
from ..backends.options import CutPasteOptions
from ..distributed import rank_generator
from ..filters import FrequencyFilter, RadialWeight
from .params import CutPasteParams, sample_params


@dataclass
class AugmentedBatch:
    """What ``ScaledCutPaste`` returns.

    image: augmented batch (B, C, H, W); original: the clean input, untouched;
    mask: (B, 1, H, W) 0/1 on the pasted box; label: (B,) 1.0 where an anomaly
    was pasted; amplitude: (B,) the sampled scale ``a``; params: the
    ``CutPasteParams`` that produced it; extra: other fields of the samples
    (dataset labels, paths, ...) when built by ``FreqCutPasteCollate``.
    """

    image: torch.Tensor
    original: torch.Tensor
    mask: torch.Tensor
    label: torch.Tensor
    amplitude: torch.Tensor
    params: CutPasteParams
    extra: dict = field(default_factory=dict)

    _TENSORS = ("image", "original", "mask", "label", "amplitude")

    def _map(self, fn) -> "AugmentedBatch":
        changes = {k: fn(getattr(self, k)) for k in self._TENSORS}
        changes["extra"] = {k: fn(v) if isinstance(v, torch.Tensor) else v for k, v in self.extra.items()}
        return dataclasses.replace(self, **changes)

    def pin_memory(self) -> "AugmentedBatch":
        """Called by ``DataLoader(pin_memory=True)``."""
        return self._map(lambda t: t.pin_memory())

    def to(self, *args, **kwargs) -> "AugmentedBatch":
        return self._map(lambda t: t.to(*args, **kwargs))

    def __len__(self) -> int:
        return self.image.shape[0]


class ScaledCutPaste:
    """Batched frequency-filtered Scaled CutPaste.

    For each image (with probability ``probability``): cut a patch of
    ``cut_h`` x ``cut_w`` pixels (inclusive ranges; or classic CutPaste sizes
    from ``area_ratio``/``aspect_ratio`` when both are None), max-abs normalise
    it (``normalize``), filter it in the Fourier domain on its own grid, scale
    it by ``a ~ U(amplitude)`` and *add* it at a non-overlapping destination.

    Strategies (README, "Scaled CutPaste in three lines"):
      1. ``patch_filter``: a FrequencyFilter applied to the patch;
      2. ``image_filter``: a FrequencyFilter applied to the whole augmented image;
      3. ``dual_path=(high, low)``: the patch spectrum weighted by
         ``m * high + (1 - m) * low``, ``m ~ U(mix_weight)`` per sample;
      4. ``band_weight``: a RadialWeight multiplied onto the patch spectrum.
    1 and 3 exclude each other; 4 combines with either; 2 with all.

    ``backend``: "numba" (CPU default under "auto"), "torch" (the per-sample
    torch.fft reference), "torch_batched" (batched torch.fft), "cupy" (CuPy +
    CUDA kernels, the CUDA default under "auto" when CuPy is installed, else
    torch_batched; see docs/gpu.md: apply it to the batch on the GPU, not in
    forked DataLoader workers).
    Parameters are drawn on the host from ``numpy.random.default_rng(seed)``;
    ``apply(images, params)`` replays them deterministically. Under
    ``torchrun`` / ``torch.distributed`` with more than one process the
    global rank and world size are mixed into the seed
    (``default_rng([seed, rank, world])``, ``fastfreq.distributed``), so each
    rank draws differently; the generator is made at the first draw, when the
    rank is known.
    """

    def __init__(self, cut_h=None, cut_w=None, *, area_ratio=None, aspect_ratio=(0.3, 1 / 0.3),
                 amplitude=(0.0, 2.0), normalize: bool = True, probability: float = 0.5,
                 patch_filter: FrequencyFilter | None = None, image_filter: FrequencyFilter | None = None,
                 dual_path=None, mix_weight=(0.0, 1.0), band_weight: RadialWeight | None = None,
                 seed=None, backend: str = "auto"):
        if (cut_h is None) != (cut_w is None):
            raise ValueError("cut_h and cut_w must be given together (or neither, for area-ratio sampling)")
        if cut_h is not None and area_ratio is not None:
            raise ValueError("give either cut_h/cut_w pixel ranges or area_ratio, not both")
        self.cut_h = check_int_range("cut_h", cut_h) if cut_h is not None else None
        self.cut_w = check_int_range("cut_w", cut_w) if cut_w is not None else None
        if cut_h is None:
            area_ratio = (0.02, 0.15) if area_ratio is None else area_ratio
            self.area_ratio = check_float_range("area_ratio", area_ratio, 0.0, 1.0, open_low=True)
            self.aspect_ratio = check_float_range("aspect_ratio", aspect_ratio, 0.0, np.inf, open_low=True)
        else:
            self.area_ratio = self.aspect_ratio = None
        self.amplitude = check_float_range("amplitude", amplitude, 0.0)
        self.probability = check_probability("probability", probability)
        if not isinstance(normalize, (bool, np.bool_)):
            raise TypeError(f"normalize must be a bool, got {normalize!r}")
        self.normalize = bool(normalize)
        for name, value in (("patch_filter", patch_filter), ("image_filter", image_filter)):
            if value is not None and not isinstance(value, FrequencyFilter):
                raise TypeError(f"{name} must be a FrequencyFilter or None, got {type(value).__name__}")
        if band_weight is not None and not isinstance(band_weight, RadialWeight):
            raise TypeError(f"band_weight must be a RadialWeight or None, got {type(band_weight).__name__}")
        if dual_path is not None:
            if patch_filter is not None:
                raise ValueError("patch_filter and dual_path are alternatives; give one of them")
            if not (isinstance(dual_path, (tuple, list)) and len(dual_path) == 2
                    and all(isinstance(f, FrequencyFilter) for f in dual_path)):
                raise TypeError("dual_path must be a (high, low) pair of FrequencyFilter")
            dual_path = tuple(dual_path)
            self.mix_weight = check_float_range("mix_weight", mix_weight, 0.0, 1.0)
        else:
            self.mix_weight = None
        self.patch_filter, self.image_filter = patch_filter, image_filter
        self.dual_path, self.band_weight = dual_path, band_weight
        check_choice("backend", backend, dispatch.BACKENDS)  # the device is checked per call
        self.backend = backend
        self.seed = seed
        self._generator = None  # made at the first draw (fastfreq.distributed.rank_generator)

    def _own_generator(self) -> np.random.Generator:
        """The generator of calls without ``rng``: made at the first draw, when the rank is known."""
        if self._generator is None:
            self._generator = rank_generator(self.seed)
        return self._generator

    def __getstate__(self):
        # a pickled copy (e.g. in a spawned worker, without the process group) continues this rank's generator
        self._own_generator()
        return dict(self.__dict__)

    def __repr__(self) -> str:
        size = f"cut_h={self.cut_h}, cut_w={self.cut_w}" if self.cut_h else f"area_ratio={self.area_ratio}, aspect_ratio={self.aspect_ratio}"
        parts = [size, f"amplitude={self.amplitude}", f"probability={self.probability}", f"normalize={self.normalize}"]
        for name in ("patch_filter", "image_filter", "dual_path", "band_weight"):
            if getattr(self, name) is not None:
                parts.append(f"{name}={getattr(self, name)!r}")
        return f"ScaledCutPaste({', '.join(parts)}, backend={self.backend!r})"

    @property
    def options(self) -> CutPasteOptions:
        """The deterministic settings the backends apply (everything but the sampling ranges)."""
        return CutPasteOptions(normalize=self.normalize, patch_filter=self.patch_filter, dual_path=self.dual_path,
                               band_weight=self.band_weight, image_filter=self.image_filter)

    # -- sampling ---------------------------------------------------------
    def sample_params(self, shape, rng: np.random.Generator | None = None) -> CutPasteParams:
        """Draw params for a batch of ``shape`` (B, C, H, W) from ``rng`` (default: own generator)."""
        B, _, H, W = shape
        if self.cut_h is not None:
            if self.cut_h[1] > H - 1:
                raise ValueError(f"cut_h max must be <= image height - 1 = {H - 1}, got cut_h={self.cut_h}")
            if self.cut_w[1] > W - 1:
                raise ValueError(f"cut_w max must be <= image width - 1 = {W - 1}, got cut_w={self.cut_w}")
        elif H < 2 or W < 2:
            raise ValueError(f"images must be at least 2 x 2 for area-ratio CutPaste, got {H} x {W}")
        return sample_params(self._own_generator() if rng is None else rng, B, H, W, probability=self.probability,
                             cut_h=self.cut_h, cut_w=self.cut_w, area_ratio=self.area_ratio,
                             aspect_ratio=self.aspect_ratio, amplitude=self.amplitude, mix_weight=self.mix_weight)

    # -- applying ---------------------------------------------------------
    def __call__(self, images, rng: np.random.Generator | None = None) -> AugmentedBatch:
        images = check_images(images, finite=False)
        params = self.sample_params(images.shape, rng)
        return self.apply(images, params)

    def apply(self, images, params: CutPasteParams) -> AugmentedBatch:
        """Apply given params to ``images`` (B, C, H, W); deterministic, images not modified."""
        images = check_images(images, finite=False)
        B, C, H, W = images.shape
        if not isinstance(params, CutPasteParams):
            raise TypeError(f"params must be CutPasteParams, got {type(params).__name__}")
        params.validate(B, H, W)
        out, mask = dispatch.cutpaste(images, params, self.options, self.backend)
        label = torch.as_tensor(params.applied, dtype=images.dtype, device=images.device)
        amplitude = torch.as_tensor(params.amplitude, dtype=images.dtype, device=images.device)
        return AugmentedBatch(image=out, original=images, mask=mask, label=label, amplitude=amplitude, params=params)

    def filter_image(self, images):
        """Strategy 2 alone (e.g. at test time): the whole-image filter, or the input if none."""
        if self.image_filter is None:
            return images
        return self.image_filter(images, backend=self.backend)
