"""Fit and evaluate WE-PaDiM and PaDiM on MVTec-style folders (the grid runner is ``grid``)."""
from __future__ import annotations

import time

import torch

from ..distributed import is_main_process
from ..metrics import anomaly_metrics, to_numpy
from ..models.wepadim import PaDiM, WEPaDiM, iter_batches


def metrics_from_maps(scores, labels, maps=None, masks=None, pro: bool = True) -> dict:
    """``fastfreq.metrics.anomaly_metrics``: image AUROC / F1-max / AP of scores; pixel AUROC / AP and PRO
    of maps vs masks (None where undefined; ``pro=False`` skips PRO)."""
    return anomaly_metrics(labels, scores, masks, maps, pro=pro)


@torch.no_grad()
def evaluate_detector(model, test_data, *, pro: bool = True, progress: bool = False) -> dict:
    """Scores, maps and metrics of a fitted WEPaDiM / PaDiM on a test Dataset (items with image/label/mask).

    Metrics: the keys of ``fastfreq.metrics.METRIC_NAMES`` (None where undefined)."""
    scores, labels, maps, masks = [], [], [], []
    batches = iter_batches(test_data, model.batch_size)
    if progress:
        from tqdm import tqdm
        batches = tqdm(batches, desc="evaluate", unit="batch")
    for images, mask, label in batches:
        s, m = model.predict(images)
        scores.append(s.cpu())
        maps.append(m.cpu())
        if label is None:
            raise ValueError("test data must provide labels (dict items with 'label', or (image, label) pairs)")
        labels.append(torch.as_tensor(label).reshape(-1))
        if mask is not None:
            masks.append(model.prepare_masks(torch.as_tensor(mask), images.shape[-2:]).cpu())
    scores, labels, maps = torch.cat(scores), torch.cat(labels), torch.cat(maps)
    masks = torch.cat(masks) if masks else None
    result = metrics_from_maps(scores, labels, maps, masks, pro=pro)
    result.update(scores=to_numpy(scores), labels=to_numpy(labels), maps=maps, masks=masks)
    return result


class ModelSizedDataset(torch.utils.data.Dataset):
    """Items of ``dataset`` (dicts with image and mask) brought to the size a detector works at, one at a time.

    ``resize`` and ``crop`` are the detector's. Its ``prepare`` resizes (short side to ``resize``, antialiased)
    and centre-crops every batch; applying that resize (or, without one, the
    crop) here with the same function makes ``prepare`` a no-op for the
    geometry, so scores and maps are the same bit for bit, while no
    full-resolution image outlives its item: a 1024 x 1024 MVTec category
    needs 256 x 256 worth of memory per image (``cache=True`` keeps the
    resized items; the runners read every image once and keep none).
    """

    def __init__(self, dataset, resize, crop, cache: bool = False):
        self.dataset, self.resize, self.crop = dataset, resize, crop
        self.cache = {} if cache else None

    def __len__(self):
        return len(self.dataset)

    def _geometry(self, x: torch.Tensor, mode: str) -> torch.Tensor:
        from ..models.backbones import resize_crop

        if self.resize is not None:
            return resize_crop(x[None], self.resize, None, mode=mode)[0]
        if self.crop is not None:
            return resize_crop(x[None], None, self.crop, mode=mode)[0]
        return x

    def __getitem__(self, i):
        if self.cache is not None and i in self.cache:  # copies: callers may modify what they get
            return {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in self.cache[i].items()}
        item = dict(self.dataset[i])
        item["image"] = self._geometry(item["image"].float(), "bilinear").contiguous()
        if item.get("mask") is not None:
            item["mask"] = self._geometry((item["mask"].float() > 0.5).float(), "nearest").contiguous()
        if self.cache is not None:
            self.cache[i] = {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in item.items()}
        return item


def model_sized_split(root, category, split, model, **kwargs) -> ModelSizedDataset:
    """``FolderDataset(root, category, split, channels=3, cache=False, **kwargs)`` at ``model``'s size
    (a detector, or anything with its ``resize`` and ``crop``)."""
    from ..data import FolderDataset

    return ModelSizedDataset(FolderDataset(root, category, split, channels=3, cache=False, **kwargs),
                             model.resize, model.crop)


def make_detector(kind: str = "wepadim", **kwargs):
    kinds = {"wepadim": WEPaDiM, "padim": PaDiM}
    if kind not in kinds:
        raise ValueError(f"kind must be one of {tuple(kinds)}, got {kind!r}")
    return kinds[kind](**kwargs)


def fit_evaluate(root, category, kind: str = "wepadim", *, pro: bool = True, progress: bool = False,
                 missing_masks: str = "error", distributed: bool | None = None, **kwargs) -> dict | None:
    """Fit on ``<root>/<category>/train/good`` and evaluate on its test split; returns metrics, timings, model.

    ``distributed`` (default: on under an initialised process group of several
    processes, e.g. torchrun): each rank embeds its shard ``train[rank::world]``,
    the statistics are all-reduced, and rank 0 alone fits and evaluates; the
    other ranks return None.

    Images are read once each and resized to the model's input size as they
    are read (``ModelSizedDataset``): memory does not grow with the stored
    resolution. ``missing_masks``: as ``FolderDataset``'s.
    """
    from . import ddp

    model = make_detector(kind, **kwargs)
    train = model_sized_split(root, category, "train", model)
    test = model_sized_split(root, category, "test", model, missing_masks=missing_masks)
    t0 = time.perf_counter()
    if ddp.active() if distributed is None else distributed:
        stats = ddp.sharded_stats(model, train, progress=progress and is_main_process())  # every rank: all the sums
        if not is_main_process():
            return None
        model.fit_stats(stats)
        del stats
    else:
        model.fit(train, progress=progress)
    t1 = time.perf_counter()
    result = evaluate_detector(model, test, pro=pro, progress=progress)
    t2 = time.perf_counter()
    result.update(model=model, fit_s=t1 - t0, eval_s=t2 - t1, n_train=len(train), n_test=len(test),
                  paths=list(test.dataset.paths), positions=model.gaussian.positions, dim=model.gaussian.dim)
    return result


__all__ = ["ModelSizedDataset", "evaluate_detector", "fit_evaluate", "make_detector", "metrics_from_maps",
           "model_sized_split"]
