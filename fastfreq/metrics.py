"""Anomaly-detection metrics (image and pixel AUROC) and score CSV output.

Every function accepts numpy arrays, torch tensors or plain sequences.
"""
from __future__ import annotations

import csv
from typing import Sequence

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from ._files import write_csv


def to_numpy(values) -> np.ndarray:
    """numpy view of an array, tensor (any device, detached) or sequence."""
    if hasattr(values, "detach"):  # torch.Tensor, without importing torch
        values = values.detach().cpu().numpy()
    return np.asarray(values)


def _check_binary(name: str, labels: np.ndarray) -> np.ndarray:
    """Labels must be 0/1 and contain both classes; returns them as int."""
    if labels.size == 0:
        raise ValueError(f"{name} is empty")
    zero, one = labels == 0, labels == 1  # no np.unique: pixel label arrays have millions of entries
    if not (zero | one).all():
        raise ValueError(f"{name} must contain only 0 and 1, got values {np.unique(labels)[:10].tolist()}")
    if not zero.any() or not one.any():
        raise ValueError(f"{name} contains only one class ({int(one.any())}); AUROC needs both 0 and 1")
    return one.astype(np.int64)


def _check_scores(name: str, scores: np.ndarray) -> np.ndarray:
    scores = scores.astype(np.float64)
    if not np.isfinite(scores).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return scores


def _paired(labels, scores, label_name: str, score_name: str) -> tuple[np.ndarray, np.ndarray]:
    labels, scores = to_numpy(labels), to_numpy(scores)
    if labels.shape != scores.shape:
        raise ValueError(
            f"{label_name} and {score_name} must have the same shape, "
            f"got {label_name} {labels.shape} and {score_name} {scores.shape}"
        )
    return _check_binary(label_name, labels.ravel()), _check_scores(score_name, scores.ravel())


def image_auroc(labels, scores) -> float:
    """Image-level AUROC of per-image ``scores`` (N,) against 0/1 ``labels`` (N,)."""
    labels, scores = _paired(labels, scores, "labels", "scores")
    return float(roc_auc_score(labels, scores))


def pixel_auroc(masks, maps) -> float:
    """Pixel-level AUROC: all pixels of ``maps`` against 0/1 ``masks``, flattened.

    Shapes must match, except for singleton dims: (N, H, W) masks pair with
    (N, 1, H, W) maps.
    """
    masks, maps = to_numpy(masks), to_numpy(maps)
    if masks.shape != maps.shape and np.squeeze(masks).shape == np.squeeze(maps).shape:
        masks, maps = np.squeeze(masks), np.squeeze(maps)
    masks, maps = _paired(masks, maps, "masks", "maps")
    return float(roc_auc_score(masks, maps))


def pro_auc(masks, maps, max_fpr: float = 0.3, n_thresholds: int = 301) -> float:
    """Area under the per-region-overlap (PRO) curve up to ``max_fpr``, normalised to [0, 1].

    Regions are the 8-connected components of each ground-truth mask. At a
    threshold t, PRO is the mean over regions of the fraction of the region's
    pixels with score >= t, and FPR the fraction of normal pixels (mask 0, all
    images) with score >= t. Thresholds are the normal-score quantiles giving
    ``n_thresholds`` evenly spaced FPRs in [0, max_fpr]; trapezoidal integration.
    """
    from scipy import ndimage

    masks, maps = to_numpy(masks), to_numpy(maps)
    if masks.shape != maps.shape and np.squeeze(masks).shape == np.squeeze(maps).shape:
        masks, maps = np.squeeze(masks), np.squeeze(maps)
    if masks.shape != maps.shape or masks.ndim not in (2, 3):
        raise ValueError(f"masks and maps must have the same shape (N, H, W), got {masks.shape} and {maps.shape}")
    if not 0 < max_fpr <= 1:
        raise ValueError(f"max_fpr must be in (0, 1], got {max_fpr!r}")
    if masks.ndim == 2:
        masks, maps = masks[None], maps[None]
    masks = _check_binary("masks", masks.ravel()).reshape(masks.shape)
    maps = _check_scores("maps", maps.ravel()).reshape(maps.shape)
    normal = np.sort(maps[masks == 0])
    fprs = np.linspace(0.0, max_fpr, int(n_thresholds))
    # t_k with fraction(normal >= t_k) ~= fpr_k; fpr 0 -> just above the largest normal score
    idx = np.clip(np.ceil((1.0 - fprs) * normal.size).astype(np.int64), 0, normal.size)
    thresholds = np.where(idx < normal.size, normal[np.minimum(idx, normal.size - 1)], np.nextafter(normal[-1], np.inf))
    fpr_real = 1.0 - np.searchsorted(normal, thresholds, side="left") / normal.size
    overlaps = []
    for m, s in zip(masks, maps):
        labels, n = ndimage.label(m, structure=np.ones((3, 3), dtype=int))
        for r in range(1, n + 1):
            region = np.sort(s[labels == r])
            overlaps.append(1.0 - np.searchsorted(region, thresholds, side="left") / region.size)
    pro = np.mean(overlaps, axis=0)
    return float(np.trapezoid(pro, fpr_real) / max_fpr)


def metric_or_none(fn, labels, *args):
    """``fn(labels, *args)``, or None when ``labels`` hold one class only (no AUROC / PRO defined)."""
    labels = to_numpy(labels)
    if not ((labels == 0).any() and (labels != 0).any()):
        return None
    return fn(labels, *args)


def roc_curve_points(labels, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve as ``(fpr, tpr, thresholds)`` arrays (scikit-learn order)."""
    labels, scores = _paired(labels, scores, "labels", "scores")
    fpr, tpr, thresholds = roc_curve(labels, scores)
    return fpr, tpr, thresholds


def write_scores_csv(path, paths: Sequence, labels, scores) -> str:
    """Write ``path,label,score`` with one row per image (atomically); returns the path."""
    labels, scores = to_numpy(labels).ravel(), to_numpy(scores).ravel()
    paths = [str(p) for p in paths]
    if not len(paths) == labels.size == scores.size:
        raise ValueError(
            f"paths, labels and scores must have the same length, got {len(paths)}, {labels.size}, {scores.size}"
        )
    rows = ([p, int(label), repr(float(score))] for p, label, score in zip(paths, labels.tolist(), scores.tolist()))
    return write_csv(path, ["path", "label", "score"], rows)


def read_scores_csv(path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Read a file written by :func:`write_scores_csv`: (paths, labels, scores)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    paths = [r["path"] for r in rows]
    labels = np.array([int(r["label"]) for r in rows], dtype=np.int64)
    scores = np.array([float(r["score"]) for r in rows], dtype=np.float64)
    return paths, labels, scores
