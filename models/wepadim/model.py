"""WE-PaDiM and the PaDiM baseline: one pipeline, two ways to build the per-position embedding.

images (B, C, H, W) in [0, 1] -> resize + center crop + ImageNet normalisation
-> frozen backbone taps -> embedding (B, D, h, w) -> per-position Gaussian
(``GaussianStats`` streamed over the training images, ``GaussianModel``) ->
Mahalanobis distance (h, w) -> bilinear upsample to the crop -> Gaussian
smoothing (sigma) -> anomaly map; image score = max of the map.

- ``WEPaDiM``: per-layer DWT subbands (``fastfreq.WaveletFeatures``), layers
  aligned (bilinear) to the smallest map as in the public code, or to a given
  ``align=(h, w)`` grid, concatenated; no random channel selection.
- ``PaDiM``: layers upsampled (nearest) to the first tap's size, concatenated,
  then ``d`` random channels (fixed by ``seed``).

The score is the Mahalanobis distance (standard PaDiM); ``squared=True`` gives
the squared distance that the public WE-PaDiM code uses.
"""
from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F

from fastfreq._files import save_torch
from fastfreq._validate import check_float, check_int
from fastfreq.wavelets.features import WaveletFeatures
from ..backbones import Backbone, load_backbone, preprocess, resize_crop
from .gaussian import GaussianModel, GaussianStats, check_eps
from .smoothing import gaussian_smooth


def _check_size(name, value):
    return None if value is None else check_int(name, value, low=8)


def check_sigma(sigma) -> float:
    return check_float("sigma", sigma, 0.0)


def _batch_images(batch):
    """(images, masks or None, labels or None) from a tensor, (image, label) tuple or dict batch."""
    if isinstance(batch, dict):
        if "image" not in batch:
            raise ValueError(f"dict batches need an 'image' key, got keys {sorted(batch)}")
        return batch["image"], batch.get("mask"), batch.get("label")
    if isinstance(batch, (tuple, list)):
        return batch[0], None, (batch[1] if len(batch) > 1 else None)
    return batch, None, None


def iter_batches(data, batch_size: int = 16):
    """Yield (images, masks, labels) from a (N, C, H, W) tensor, a map-style Dataset or an iterable of batches."""
    if isinstance(data, torch.Tensor):
        if data.ndim != 4:
            raise ValueError(f"images must have shape (N, C, H, W), got {tuple(data.shape)}")
        for i in range(0, data.shape[0], batch_size):
            yield data[i:i + batch_size], None, None
        return
    if isinstance(data, torch.utils.data.Dataset) and hasattr(data, "__len__"):
        data = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=False)
    for batch in data:
        yield _batch_images(batch)


class GaussianDetector:
    """Shared pipeline of ``WEPaDiM`` and ``PaDiM``; subclasses define ``embed_taps``."""

    def __init__(self, backbone="efficientnet-lite0", layers=None, weights="default", *, cov_reg: float = 0.01,
                 sigma: float = 4.0, squared: bool = False, resize: int | None = 256, crop: int | None = 224,
                 device="cpu", batch_size: int = 16):
        if isinstance(backbone, Backbone):
            if layers is not None:
                raise ValueError("layers must be None when backbone is a Backbone instance (its taps are fixed)")
            self.backbone = backbone.to(device)
        elif isinstance(backbone, str):
            self.backbone = load_backbone(backbone, layers=layers, weights=weights, device=device)
        else:
            raise TypeError(f"backbone must be a name or a fastfreq.models.backbones.Backbone, "
                            f"got {type(backbone).__name__}")
        self.cov_reg = check_eps(cov_reg)
        self.sigma = check_sigma(sigma)
        self.squared = bool(squared)
        self.resize, self.crop = _check_size("resize", resize), _check_size("crop", crop)
        self.device = torch.device(device)
        self.batch_size = check_int("batch_size", batch_size, low=1)
        self.gaussian: GaussianModel | None = None

    # ------------------------------------------------------------ features
    def check_images(self, images) -> torch.Tensor:
        if not isinstance(images, torch.Tensor):
            raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
        if images.ndim != 4 or images.shape[1] not in (1, 3) or images.numel() == 0:
            raise ValueError(f"images must have shape (B, 1 or 3, H, W), got {tuple(images.shape)}")
        if not images.is_floating_point():
            raise TypeError(f"images must be a float tensor in [0, 1], got {images.dtype}")
        if not bool(torch.isfinite(images).all()):
            raise ValueError("images contain NaN or Inf values")
        return images

    def prepare(self, images) -> torch.Tensor:
        """Model input: resize + center crop + ImageNet normalisation, on the model's device."""
        images = self.check_images(images)
        return preprocess(images.to(self.device, torch.float32), resize=self.resize, crop=self.crop)

    def prepare_masks(self, masks, image_hw) -> torch.Tensor:
        """(B, 1, H, W) 0/1 masks -> the same resize + crop as the images (nearest), (B, h, w) uint8."""
        if masks.ndim == 3:
            masks = masks.unsqueeze(1)
        if masks.ndim != 4 or masks.shape[1] != 1:
            raise ValueError(f"masks must have shape (B, 1, H, W), got {tuple(masks.shape)}")
        if tuple(masks.shape[-2:]) != tuple(image_hw):
            raise ValueError(f"mask size {tuple(masks.shape[-2:])} does not match image size {tuple(image_hw)}")
        m = resize_crop((masks.float() > 0.5).float(), self.resize, self.crop, mode="nearest")
        return m[:, 0].to(torch.uint8)

    @torch.no_grad()
    def taps(self, images) -> list:
        return [t.float() for t in self.backbone(self.prepare(images))]

    def embed_taps(self, taps) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def embed(self, images) -> torch.Tensor:
        """(B, D, h, w) embeddings of images in [0, 1]."""
        return self.embed_taps(self.taps(images))

    # ------------------------------------------------------------ fitting
    def stats_from_embeddings(self, embeddings, stats: GaussianStats | None = None) -> GaussianStats:
        if stats is None:
            return GaussianStats.from_embeddings(embeddings)
        return stats.update(embeddings)

    def partial_stats(self, data, progress: bool = False, allow_empty: bool = False) -> GaussianStats:
        """Sufficient statistics of ``data`` (tensor, Dataset or iterable of batches): mergeable with ``+``.

        Empty ``data`` raises ValueError, or with ``allow_empty`` gives
        ``GaussianStats.empty()`` (a process's empty shard: it still joins
        ``all_reduce``).
        """
        stats = None
        batches = iter_batches(data, self.batch_size)
        if progress:
            from tqdm import tqdm
            batches = tqdm(batches, desc=f"fit {type(self).__name__}", unit="batch")
        for images, _, _ in batches:
            stats = self.stats_from_embeddings(self.embed(images), stats)
        if stats is None:
            if allow_empty:
                return GaussianStats.empty()
            raise ValueError("no training images: data is empty")
        return stats

    def fit_stats(self, stats: GaussianStats, cov_reg: float | None = None):
        """Fit the Gaussians from (possibly merged) statistics (not kept: they are O(P D^2) float64)."""
        self.gaussian = GaussianModel.fit(stats, self.cov_reg if cov_reg is None else cov_reg)
        return self

    def fit(self, data, progress: bool = False):
        """Stream ``data`` through the backbone once and fit the per-position Gaussians."""
        return self.fit_stats(self.partial_stats(data, progress=progress))

    # ------------------------------------------------------------ scoring
    def _require_fit(self):
        if self.gaussian is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit() first")
        return self.gaussian

    def distances(self, embeddings, gaussian: GaussianModel | None = None) -> torch.Tensor:
        """(B, h, w) Mahalanobis distances (squared if ``self.squared``)."""
        gaussian = gaussian or self._require_fit()
        d = gaussian.mahalanobis(embeddings, squared=self.squared)
        return d.reshape(embeddings.shape[0], *embeddings.shape[-2:])

    def maps_from_distances(self, dist, out_hw, sigma: float | None = None) -> torch.Tensor:
        """Bilinear upsample (B, h, w) distances to ``out_hw`` and smooth: (B, H, W) anomaly maps."""
        up = F.interpolate(dist.unsqueeze(1), size=tuple(out_hw), mode="bilinear", align_corners=False)[:, 0]
        return gaussian_smooth(up, self.sigma if sigma is None else check_sigma(sigma))

    @torch.no_grad()
    def predict(self, images) -> tuple:
        """(scores (B,), maps (B, h, w)) for images in [0, 1]; maps at the cropped input size."""
        self._require_fit()
        x = self.prepare(images)
        emb = self.embed_taps([t.float() for t in self.backbone(x)])
        maps = self.maps_from_distances(self.distances(emb), x.shape[-2:])
        return maps.flatten(1).amax(dim=1), maps

    # ------------------------------------------------------------ persistence
    def config(self) -> dict:
        return dict(backbone=self.backbone.name, layers=list(self.backbone.layers), cov_reg=self.cov_reg,
                    sigma=self.sigma, squared=self.squared, resize=self.resize, crop=self.crop,
                    batch_size=self.batch_size)

    def save(self, path) -> str:
        state = {"kind": type(self).__name__, "config": self.config(),
                 "gaussian": self._require_fit().state_dict()}
        return save_torch(state, path)

    @staticmethod
    def load(path, device="cpu", weights="default"):
        """Rebuild a saved WEPaDiM / PaDiM (the backbone's weights are loaded again from ``weights``)."""
        state = torch.load(str(path), map_location="cpu", weights_only=True)
        cls = {"WEPaDiM": WEPaDiM, "PaDiM": PaDiM}.get(state.get("kind"))
        if cls is None:
            raise ValueError(f"{path} is not a saved WEPaDiM or PaDiM model")
        model = cls(**state["config"], weights=weights, device=device)
        model.gaussian = GaussianModel.from_state_dict(state["gaussian"]).to(device)
        return model


class WEPaDiM(GaussianDetector):
    """Wavelet-Enhanced PaDiM: DWT subbands of every backbone layer, concatenated, per-position Gaussian.

    ``level`` J must keep at least 2**J samples on each side of the smallest
    feature map (e.g. J <= 2 on EfficientNet-Lite0's 7x7 stage at 224); deeper
    raises ValueError. Unlike pywt's stricter bound (filter length), levels that
    only suffer boundary effects (db4 on 7x7) are allowed, as in the public code.

    ``align``: the grid of the per-position Gaussians. "smallest" (default, the
    public code) is the smallest layer's DWT size: 4x4 for Lite0 at 224 with
    level 1, so each Gaussian covers a 56x56 px patch; ``(7, 7)`` upsamples that
    layer instead (3x the memory, finer maps). Also "largest", "first".
    """

    def __init__(self, backbone="efficientnet-lite0", layers=None, weights="default", *, wavelet="haar",
                 level: int = 1, subbands=("LL", "LH", "HL"), mode: str = "zero", align="smallest", **kwargs):
        if isinstance(align, list):
            align = tuple(align)
        self.features = WaveletFeatures(wavelet, level, subbands, mode, align=align, strict_level=False)
        super().__init__(backbone, layers, weights, **kwargs)
        self.wavelet, self.level = self.features.wavelet.name, self.features.level
        self.subbands, self.mode, self.align = self.features.subbands, self.features.mode, self.features.align

    def check_level(self, taps) -> None:
        for name, t in zip(self.backbone.layers, taps):
            h, w = t.shape[-2:]
            if min(h, w) < 2 ** self.level:
                raise ValueError(f"level {self.level} is too deep for feature map {name!r} of size {h}x{w}: "
                                 f"each level halves the map, so level J needs at least 2**J = {2 ** self.level} "
                                 f"samples per side; use level <= {int(math.log2(min(h, w)))} or a larger input")

    def embed_taps(self, taps) -> torch.Tensor:
        self.check_level(taps)
        with warnings.catch_warnings():  # boundary-effect levels are allowed on purpose (see class doc)
            warnings.simplefilter("ignore", UserWarning)
            return self.features(taps)

    def config(self) -> dict:
        return dict(super().config(), wavelet=self.wavelet, level=self.level, subbands=list(self.subbands),
                    mode=self.mode, align=self.align if isinstance(self.align, str) else list(self.align))


class PaDiM(GaussianDetector):
    """PaDiM (Defard et al. 2020): taps upsampled to the first tap's size, ``d`` random channels kept."""

    def __init__(self, backbone="efficientnet-lite0", layers=None, weights="default", *, d: int = 100,
                 seed: int = 0, **kwargs):
        super().__init__(backbone, layers, weights, **kwargs)
        total = sum(self.backbone.channels)
        self.d = check_int("d (random channels, at most the taps' total)", d, low=1, high=total)
        self.seed = int(seed)
        gen = torch.Generator().manual_seed(self.seed)
        self.index = torch.randperm(total, generator=gen)[: self.d].sort().values

    def embed_taps(self, taps) -> torch.Tensor:
        size = taps[0].shape[-2:]
        parts = [t if t.shape[-2:] == size else F.interpolate(t, size=size, mode="nearest") for t in taps]
        return torch.cat(parts, dim=1).index_select(1, self.index.to(taps[0].device))

    def config(self) -> dict:
        return dict(super().config(), d=self.d, seed=self.seed)


__all__ = ["GaussianDetector", "PaDiM", "WEPaDiM", "iter_batches"]
