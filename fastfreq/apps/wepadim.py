"""Fit and evaluate WE-PaDiM and PaDiM on MVTec-style folders (the grid runner is ``grid``)."""
from __future__ import annotations

import time

import torch

from ..distributed import is_main_process
from ..metrics import image_auroc, metric_or_none, pixel_auroc, pro_auc, to_numpy
from ..models.wepadim import PaDiM, WEPaDiM, iter_batches


def metrics_from_maps(scores, labels, maps=None, masks=None, pro: bool = False) -> dict:
    """image AUROC of scores; pixel AUROC (and PRO) of maps vs masks when masks have defect pixels."""
    out = {"image_auroc": metric_or_none(image_auroc, labels, scores), "pixel_auroc": None, "pro": None}
    if maps is not None and masks is not None:
        out["pixel_auroc"] = metric_or_none(pixel_auroc, masks, maps)
        if pro:
            out["pro"] = metric_or_none(pro_auc, masks, maps)
    return out


@torch.no_grad()
def evaluate_detector(model, test_data, *, pro: bool = False, progress: bool = False) -> dict:
    """Scores, maps and metrics of a fitted WEPaDiM / PaDiM on a test Dataset (items with image/label/mask)."""
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


def make_detector(kind: str = "wepadim", **kwargs):
    kinds = {"wepadim": WEPaDiM, "padim": PaDiM}
    if kind not in kinds:
        raise ValueError(f"kind must be one of {tuple(kinds)}, got {kind!r}")
    return kinds[kind](**kwargs)


def fit_evaluate(root, category, kind: str = "wepadim", *, pro: bool = False, progress: bool = False,
                 distributed: bool | None = None, **kwargs) -> dict | None:
    """Fit on ``<root>/<category>/train/good`` and evaluate on its test split; returns metrics, timings, model.

    ``distributed`` (default: on under an initialised process group of several
    processes, e.g. torchrun): each rank embeds its shard ``train[rank::world]``,
    the statistics are all-reduced, and rank 0 alone fits and evaluates; the
    other ranks return None.
    """
    from ..data import FolderDataset
    from . import ddp

    train = FolderDataset(root, category, "train", channels=3)
    test = FolderDataset(root, category, "test", channels=3)
    model = make_detector(kind, **kwargs)
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
                  paths=list(test.paths), positions=model.gaussian.positions, dim=model.gaussian.dim)
    return result


__all__ = ["evaluate_detector", "fit_evaluate", "make_detector", "metrics_from_maps"]
