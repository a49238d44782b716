"""``ScaledCutPaste`` settings as plain data, for checkpoints, JSON files and the CLI."""
from __future__ import annotations

from ..filters import FrequencyFilter, RadialWeight
from .cutpaste import ScaledCutPaste


def filter_to_dict(filt: FrequencyFilter | None) -> dict | None:
    """A FrequencyFilter as plain data (None stays None)."""
    return None if filt is None else filt.to_dict()


def filter_from_dict(data: dict | None) -> FrequencyFilter | None:
    return None if data is None else FrequencyFilter.from_dict(data)


def _pair(value):
    return None if value is None else list(value)


def augment_to_dict(augment: ScaledCutPaste) -> dict:
    """The ScaledCutPaste settings as plain data (``augment_from_dict`` rebuilds it)."""
    band = augment.band_weight
    return {
        "cut_h": _pair(augment.cut_h), "cut_w": _pair(augment.cut_w),
        "area_ratio": _pair(augment.area_ratio), "aspect_ratio": _pair(augment.aspect_ratio),
        "amplitude": _pair(augment.amplitude), "normalize": augment.normalize,
        "probability": augment.probability,
        "patch_filter": filter_to_dict(augment.patch_filter),
        "image_filter": filter_to_dict(augment.image_filter),
        "dual_path": None if augment.dual_path is None else [filter_to_dict(f) for f in augment.dual_path],
        "mix_weight": _pair(augment.mix_weight),
        "band_weight": None if band is None else band.to_dict(),
        "seed": augment.seed, "backend": augment.backend,
    }


def augment_from_dict(data: dict) -> ScaledCutPaste:
    tup = lambda v: None if v is None else tuple(v)  # noqa: E731
    kwargs = dict(amplitude=tup(data["amplitude"]), normalize=data["normalize"], probability=data["probability"],
                  patch_filter=filter_from_dict(data["patch_filter"]),
                  image_filter=filter_from_dict(data["image_filter"]), seed=data["seed"], backend=data["backend"])
    if data["cut_h"] is not None:
        kwargs.update(cut_h=tup(data["cut_h"]), cut_w=tup(data["cut_w"]))
    else:
        kwargs.update(area_ratio=tup(data["area_ratio"]), aspect_ratio=tup(data["aspect_ratio"]))
    if data["dual_path"] is not None:
        kwargs.update(dual_path=tuple(filter_from_dict(f) for f in data["dual_path"]),
                      mix_weight=tup(data["mix_weight"]))
    if data["band_weight"] is not None:
        kwargs["band_weight"] = RadialWeight.from_dict(data["band_weight"])
    return ScaledCutPaste(**kwargs)
