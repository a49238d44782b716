"""Anomaly-detection metrics and score CSV output.

``anomaly_metrics`` computes the field's usual set in one call: image AUROC,
image F1-max, image AP, pixel AUROC, pixel AP and PRO (AUPRO up to FPR 0.3),
with None for what the data cannot define (one class only, no masks). The
pixel metrics share one sort of the pixels: each is exact (every distinct score
is a threshold), so PRO needs no threshold grid and stays O(N log N).

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
    labels = _binary_values(name, labels)
    if not _both_classes(labels):
        raise ValueError(f"{name} contains only one class ({int(labels.any())}); AUROC needs both 0 and 1")
    return labels


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


# ------------------------------------------------------- ranked curves
# Every metric here is exact: each distinct score is a threshold. Only thresholds at positive scores change
# TP (and PRO), so the curves are built from the positives, sorted, and the negatives' sorted scores
# searched at those thresholds: one np.sort of the negatives, no argsort of all pixels.
def _ranked(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None) -> dict:
    """Counts at each distinct positive score t (highest first), for >= t ("ge") and > t ("gt").

    ``tp_*`` / ``fp_*``: positives / negatives scoring at least (above) t;
    ``w_*``: the same sums of the positives' ``weights`` (PRO's per-region
    shares); ``n_pos``, ``n_neg``.
    """
    positive = labels.astype(bool)
    neg = scores[~positive]
    neg.sort()
    pos = scores[positive]
    order = np.argsort(pos)[::-1]
    pos = pos[order]
    last = np.append(np.flatnonzero(pos[1:] != pos[:-1]), pos.size - 1)  # end of each tie group
    t = pos[last]
    tp_ge = last + 1
    out = {"tp_ge": tp_ge, "tp_gt": np.append(0, tp_ge[:-1]), "n_pos": pos.size, "n_neg": neg.size,
           "fp_ge": neg.size - np.searchsorted(neg, t, side="left"),
           "fp_gt": neg.size - np.searchsorted(neg, t, side="right")}
    if weights is not None:
        w_ge = np.cumsum(weights[positive][order])[last]
        out.update(w_ge=w_ge, w_gt=np.append(0.0, w_ge[:-1]))
    return out


def _polyline(c: dict, y: str, y_end: float) -> tuple[np.ndarray, np.ndarray]:
    """The exact curve (FPR, y) from (0, 0) to (1, y_end): at each positive threshold the point just above
    it (> t) and at it (>= t); ties between positives and negatives give the diagonal segments."""
    fp = np.stack([c["fp_gt"], c["fp_ge"]], 1).ravel() / c["n_neg"]
    ys = np.stack([c[f"{y}_gt"], c[f"{y}_ge"]], 1).ravel().astype(np.float64)
    return np.concatenate([[0.0], fp, [1.0]]), np.concatenate([[0.0], ys, [y_end]])


def _auroc_from_counts(c: dict) -> float:
    """Trapezoidal ROC area (ties count half): equals scikit-learn's roc_auc_score."""
    fpr, tp = _polyline(c, "tp", c["n_pos"])
    return float(np.trapezoid(tp / c["n_pos"], fpr))


def _ap_from_counts(c: dict) -> float:
    """Average precision, sum over thresholds of (R_k - R_{k-1}) P_k: equals scikit-learn's."""
    precision = c["tp_ge"] / (c["tp_ge"] + c["fp_ge"])
    return float(np.sum((c["tp_ge"] - c["tp_gt"]) / c["n_pos"] * precision))


def _f1_max_from_counts(c: dict) -> float:
    """max over thresholds of F1 = 2 TP / (2 TP + FP + FN), FN = P - TP (only positive scores can win)."""
    return float(np.max(2 * c["tp_ge"] / (c["tp_ge"] + c["fp_ge"] + c["n_pos"])))


def _pro_from_curve(fpr: np.ndarray, pro: np.ndarray, max_fpr: float) -> float:
    """Area under the (fpr, pro) polyline up to ``max_fpr`` (linear at the limit), divided by ``max_fpr``."""
    pro = np.minimum(pro, 1.0)
    k = int(np.searchsorted(fpr, max_fpr, side="right"))  # fpr[:k] <= max_fpr; fpr[0] = 0 so k >= 1
    if k < fpr.size:  # the curve passes max_fpr between points k - 1 and k
        f0, f1, p0, p1 = fpr[k - 1], fpr[k], pro[k - 1], pro[k]
        fpr = np.append(fpr[:k], max_fpr)
        pro = np.append(pro[:k], p0 + (p1 - p0) * (max_fpr - f0) / (f1 - f0))
    return float(np.trapezoid(pro, fpr) / max_fpr)


def _region_weights(masks: np.ndarray) -> np.ndarray:
    """Per pixel ``1 / (n_regions * region size)`` inside the 8-connected regions of (N, H, W) 0/1 masks, else 0."""
    from scipy import ndimage

    weights = np.zeros(masks.shape, np.float64)
    sizes = []
    for m, w in zip(masks, weights):
        if not m.any():
            continue
        lab, n = ndimage.label(m, structure=np.ones((3, 3), dtype=int))
        size = np.bincount(lab.ravel())
        w[lab > 0] = 1.0 / size[lab[lab > 0]]
        sizes.append(n)
    return weights / max(sum(sizes), 1)


def _pixel_metrics(masks: np.ndarray, maps: np.ndarray, max_fpr: float = 0.3, pro: bool = True) -> dict:
    """pixel AUROC, pixel AP and PRO of checked (N, H, W) 0/1 masks (both classes present) and finite maps."""
    weights = _region_weights(masks).ravel() if pro else None
    c = _ranked(masks.ravel(), maps.ravel(), weights)
    out = {"pixel_auroc": _auroc_from_counts(c), "pixel_ap": _ap_from_counts(c), "pro": None}
    if pro:
        out["pro"] = _pro_from_curve(*_polyline(c, "w", 1.0), max_fpr)
    return out


def _mask_pair(masks, maps) -> tuple[np.ndarray, np.ndarray]:
    """numpy masks and maps of one shape (N, H, W) or (H, W); singleton dims are squeezed to match."""
    masks, maps = _drop_channel(to_numpy(masks)), _drop_channel(to_numpy(maps))
    if masks.shape != maps.shape and np.squeeze(masks).shape == np.squeeze(maps).shape:
        masks, maps = np.squeeze(masks), np.squeeze(maps)
    if masks.shape != maps.shape or masks.ndim not in (2, 3):
        raise ValueError(f"masks and maps must have the same shape (N, H, W), got {masks.shape} and {maps.shape}")
    return masks, maps


def _drop_channel(a: np.ndarray) -> np.ndarray:
    """(N, 1, H, W) -> (N, H, W); other shapes unchanged."""
    return a[:, 0] if a.ndim == 4 and a.shape[1] == 1 else a


def _check_max_fpr(max_fpr) -> float:
    if isinstance(max_fpr, bool) or not isinstance(max_fpr, (int, float, np.floating)) or not 0 < max_fpr <= 1:
        raise ValueError(f"max_fpr must be in (0, 1], got {max_fpr!r}")
    return float(max_fpr)


def pro_auc(masks, maps, max_fpr: float = 0.3, n_thresholds: int | None = None) -> float:
    """Area under the per-region-overlap (PRO) curve up to ``max_fpr``, normalised to [0, 1].

    Regions are the 8-connected components of each ground-truth mask. At a
    threshold t, PRO is the mean over regions of the fraction of the region's
    pixels with score >= t, and FPR the fraction of normal pixels (mask 0, all
    images) with score >= t. ``n_thresholds=None`` (default): every distinct
    score is a threshold (exact curve, as the MVTec AD evaluation code), linear
    interpolation at ``max_fpr``, trapezoidal integration. An integer: the
    normal-score quantiles giving that many evenly spaced FPRs in [0, max_fpr]
    (the earlier approximation, within ~1e-3 of the exact value).
    """
    masks, maps = _mask_pair(masks, maps)
    max_fpr = _check_max_fpr(max_fpr)
    if masks.ndim == 2:
        masks, maps = masks[None], maps[None]
    masks = _check_binary("masks", masks.ravel()).reshape(masks.shape)
    maps = _check_scores("maps", maps.ravel()).reshape(maps.shape)
    if n_thresholds is None:
        if not (masks.any() and not masks.all()):
            raise ValueError(f"masks contains only one class ({int(masks.any())}); PRO needs both 0 and 1")
        return _pixel_metrics(masks, maps, max_fpr)["pro"]
    if isinstance(n_thresholds, bool) or not isinstance(n_thresholds, (int, np.integer)) or n_thresholds < 2:
        raise ValueError(f"n_thresholds must be None (exact) or an integer >= 2, got {n_thresholds!r}")
    from scipy import ndimage

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


def f1_max(labels, scores) -> float:
    """Image F1-max: the largest F1 score over all thresholds of ``scores`` (N,) against 0/1 ``labels``."""
    labels, scores = _paired(labels, scores, "labels", "scores")
    return _f1_max_from_counts(_ranked(labels, scores))


def average_precision(labels, scores) -> float:
    """Average precision (the area under the step precision-recall curve, as scikit-learn's)."""
    labels, scores = _paired(labels, scores, "labels", "scores")
    return _ap_from_counts(_ranked(labels, scores))


def pixel_ap(masks, maps) -> float:
    """Pixel-level average precision: all pixels of ``maps`` against 0/1 ``masks`` (shapes as ``pixel_auroc``)."""
    masks, maps = to_numpy(masks), to_numpy(maps)
    if masks.shape != maps.shape and np.squeeze(masks).shape == np.squeeze(maps).shape:
        masks, maps = np.squeeze(masks), np.squeeze(maps)
    masks, maps = _paired(masks, maps, "masks", "maps")
    return _ap_from_counts(_ranked(masks, maps))


METRIC_NAMES = ("image_auroc", "image_f1_max", "image_ap", "pixel_auroc", "pixel_ap", "pro")


def anomaly_metrics(labels, scores, masks=None, maps=None, *, max_fpr: float = 0.3, pro: bool = True) -> dict:
    """The field's metrics of one evaluation, as a dict keyed by ``METRIC_NAMES``.

    ``labels`` (N,) 0/1 and ``scores`` (N,) give ``image_auroc``,
    ``image_f1_max`` (max F1 over all thresholds) and ``image_ap`` (average
    precision); 0/1 ``masks`` and anomaly ``maps`` of one shape (N, H, W)
    (singleton dims squeezed) give ``pixel_auroc``, ``pixel_ap`` and ``pro``
    (area under the PRO curve up to ``max_fpr``, divided by ``max_fpr``;
    ``pro=False`` skips it). Every threshold is a distinct score.

    A metric the data cannot define is None, never an error: image metrics
    when the labels hold one class, pixel metrics without masks or maps or when
    the masks hold one class. Bad input (other values than 0/1, NaN / Inf
    scores, shapes that do not pair) raises ValueError.
    """
    max_fpr = _check_max_fpr(max_fpr)
    out = dict.fromkeys(METRIC_NAMES)
    labels, scores = to_numpy(labels), to_numpy(scores)
    if labels.shape != scores.shape:
        raise ValueError(f"labels and scores must have the same shape, got labels {labels.shape} and "
                         f"scores {scores.shape}")
    if labels.size == 0:
        raise ValueError("labels is empty")
    labels = _binary_values("labels", labels.ravel())
    scores = _check_scores("scores", scores.ravel())
    if _both_classes(labels):
        c = _ranked(labels, scores)
        out.update(image_auroc=_auroc_from_counts(c), image_f1_max=_f1_max_from_counts(c),
                   image_ap=_ap_from_counts(c))
    if masks is not None and maps is not None:
        masks, maps = _mask_pair(masks, maps)
        if masks.ndim == 2:
            masks, maps = masks[None], maps[None]
        masks = _binary_values("masks", masks)
        if _both_classes(masks):
            maps = _check_scores("maps", maps.ravel()).reshape(maps.shape)
            out.update(_pixel_metrics(masks, maps, max_fpr, pro))
    return out


def _binary_values(name: str, labels: np.ndarray) -> np.ndarray:
    """0/1 labels as int64 (any shape, may hold one class); other values raise ValueError."""
    zero, one = labels == 0, labels == 1  # no np.unique: pixel label arrays have millions of entries
    if not (zero | one).all():
        raise ValueError(f"{name} must contain only 0 and 1, got values {np.unique(labels)[:10].tolist()}")
    return one.astype(np.int64)


def _both_classes(labels: np.ndarray) -> bool:
    return bool(labels.any() and not labels.all())


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
