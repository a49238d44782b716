import numpy as np
import pytest
import torch

from fastfreq.metrics import (
    image_auroc,
    pixel_auroc,
    read_scores_csv,
    roc_curve_points,
    write_scores_csv,
)


def test_image_auroc_hand_computed():
    # positive/negative pairs: (0.35 > 0.1), (0.35 < 0.4), (0.8 > 0.1), (0.8 > 0.4) -> 3/4
    assert image_auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)


def test_image_auroc_ties_count_half():
    assert image_auroc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)


def test_image_auroc_perfect_and_inverted():
    assert image_auroc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.4])) == 1.0
    assert image_auroc(torch.tensor([0, 0, 1, 1]), torch.tensor([0.4, 0.3, 0.2, 0.1])) == 0.0


def test_pixel_auroc_tiny_mask():
    masks = torch.tensor([[[0, 1], [0, 0]]])  # (1, 2, 2)
    maps = torch.tensor([[[[0.2, 0.3], [0.5, 0.1]]]])  # (1, 1, 2, 2)
    # anomalous pixel 0.3 beats 0.2 and 0.1 but not 0.5 -> 2/3
    assert pixel_auroc(masks, maps) == pytest.approx(2 / 3)
    assert pixel_auroc(masks[:, None], maps) == pytest.approx(2 / 3)


def test_single_class_raises():
    with pytest.raises(ValueError, match="labels contains only one class"):
        image_auroc([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="masks contains only one class"):
        pixel_auroc(np.zeros((2, 4, 4)), np.random.rand(2, 4, 4))


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="labels and scores must have the same shape"):
        image_auroc([0, 1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="masks and maps must have the same shape"):
        pixel_auroc(np.zeros((2, 4, 4)), np.zeros((2, 4, 5)))


def test_non_binary_and_nan_raise():
    with pytest.raises(ValueError, match="labels must contain only 0 and 1"):
        image_auroc([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="scores contains NaN"):
        image_auroc([0, 1], [0.1, float("nan")])


def test_roc_curve_points():
    fpr, tpr, thresholds = roc_curve_points([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert fpr[0] == 0 and tpr[-1] == 1 and fpr[-1] == 1
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    area = np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)  # trapezoid rule
    assert area == pytest.approx(0.75)
    assert len(thresholds) == len(fpr)


def test_csv_round_trip(tmp_path):
    paths = ["a/x.tiff", "b/y,z.tiff", "c.tiff"]
    labels = torch.tensor([0, 1, 1])
    scores = np.array([0.125, 1 / 3, 2.5e-8])
    out = write_scores_csv(tmp_path / "sub" / "scores.csv", paths, labels, scores)
    with open(out, encoding="utf-8") as f:
        assert f.readline().strip() == "path,label,score"
    got_paths, got_labels, got_scores = read_scores_csv(out)
    assert got_paths == paths
    assert got_labels.tolist() == [0, 1, 1]
    assert got_scores.tolist() == scores.tolist()  # repr keeps doubles exact


def test_csv_length_mismatch_raises(tmp_path):
    with pytest.raises(ValueError, match="same length"):
        write_scores_csv(tmp_path / "s.csv", ["a", "b"], [0, 1, 1], [0.1, 0.2, 0.3])


# ------------------------------------------------------------------ PRO
def _pro_brute(masks, maps, max_fpr=0.3):
    """Direct PRO curve at every distinct normal score, integrated up to max_fpr with interpolation."""
    from scipy import ndimage

    normal = maps[masks == 0]
    regions = []
    for m, s in zip(masks, maps):
        lab, n = ndimage.label(m, structure=np.ones((3, 3)))
        regions += [s[lab == r] for r in range(1, n + 1)]
    ts = np.unique(normal)[::-1]
    fpr = np.array([(normal >= t).mean() for t in ts])
    pro = np.array([np.mean([(r >= t).mean() for r in regions]) for t in ts])
    fpr, pro = np.concatenate([[0.0], fpr]), np.concatenate([[np.mean([(r > normal.max()).mean() for r in regions])], pro])
    grid = np.linspace(0, max_fpr, 2001)
    return np.trapezoid(np.interp(grid, fpr, pro), grid) / max_fpr


def test_pro_matches_brute_force():
    from fastfreq.metrics import pro_auc

    rng = np.random.default_rng(0)
    masks = np.zeros((3, 24, 24), np.int64)
    masks[0, 2:6, 2:9] = 1
    masks[0, 15:20, 15:17] = 1  # two regions in one image
    masks[1, 10:14, 3:12] = 1
    maps = rng.random((3, 24, 24)) + 0.6 * masks * rng.random((3, 24, 24))
    assert pro_auc(masks, maps, n_thresholds=1001) == pytest.approx(_pro_brute(masks, maps), abs=3e-3)


def test_pro_extremes():
    from fastfreq.metrics import pro_auc

    masks = np.zeros((2, 16, 16), np.int64)
    masks[0, 2:5, 2:5] = 1
    masks[1, 8:12, 8:12] = 1
    base = np.random.default_rng(1).random((2, 16, 16))
    assert pro_auc(masks, base + 2 * masks) == pytest.approx(1.0, abs=1e-3)
    assert pro_auc(masks, base - 2 * masks) == 0.0
    half = base.copy()
    half[0][masks[0] == 1] += 2  # one region found, the other scored below every normal pixel
    half[1][masks[1] == 1] -= 2
    assert pro_auc(masks, half) == pytest.approx(0.5, abs=1e-3)
    with pytest.raises(ValueError, match="max_fpr"):
        pro_auc(masks, base, max_fpr=0)
    with pytest.raises(ValueError, match="same shape"):
        pro_auc(masks, base[:1])


# ------------------------------------------- the field's metrics, exact
from fastfreq.metrics import METRIC_NAMES, anomaly_metrics, average_precision, f1_max, pixel_ap, pro_auc  # noqa: E402


def _pro_exact_brute(masks, maps, max_fpr=0.3):
    """PRO by explicit per-region overlap at every distinct score, FPR counted per threshold,
    the polyline integrated exactly (trapezoids, linear interpolation at max_fpr)."""
    from scipy import ndimage

    normal = maps[masks == 0]
    regions = []
    for m, s in zip(masks, maps):
        lab, n = ndimage.label(m, structure=np.ones((3, 3)))
        regions += [s[lab == r] for r in range(1, n + 1)]
    points = [(0.0, 0.0)]
    for t in np.unique(maps)[::-1]:
        points.append(((normal >= t).mean(), np.mean([(r >= t).mean() for r in regions])))
    area = 0.0
    for (f0, p0), (f1, p1) in zip(points[:-1], points[1:]):
        if f0 >= max_fpr:
            break
        if f1 > max_fpr:  # cut the segment at max_fpr
            p1 = p0 + (p1 - p0) * (max_fpr - f0) / (f1 - f0)
            f1 = max_fpr
        area += (f1 - f0) * (p0 + p1) / 2
    return area / max_fpr


def _f1_brute(labels, scores):
    best = 0.0
    for t in np.unique(scores):
        pred = scores >= t
        tp, fp, fn = np.sum(pred & (labels == 1)), np.sum(pred & (labels == 0)), np.sum(~pred & (labels == 1))
        best = max(best, 2 * tp / (2 * tp + fp + fn))
    return best


def _regions_case(seed, decimals=None):
    rng = np.random.default_rng(seed)
    masks = np.zeros((4, 20, 20), np.int64)
    masks[0, 2:6, 2:9] = 1
    masks[0, 12:16, 14:16] = 1      # two regions in one image
    masks[1, 8:12, 3:12] = 1
    masks[1, 12, 12] = 1            # touches the block diagonally: the same 8-connected region
    masks[2, 15:19, 0:3] = 1
    maps = rng.random(masks.shape) + 0.5 * masks * rng.random(masks.shape)
    if decimals is not None:
        maps = np.round(maps, decimals)   # many ties, also between normal and defect pixels
    return masks, maps


@pytest.mark.parametrize("decimals", [None, 1, 2])
@pytest.mark.parametrize("max_fpr", [0.05, 0.3, 1.0])
def test_pro_is_exact_against_brute_force(decimals, max_fpr):
    masks, maps = _regions_case(3, decimals)
    expected = _pro_exact_brute(masks, maps, max_fpr)
    assert pro_auc(masks, maps, max_fpr=max_fpr) == pytest.approx(expected, abs=1e-12)
    got = anomaly_metrics(masks.reshape(4, -1).max(1), maps.reshape(4, -1).max(1), masks, maps, max_fpr=max_fpr)
    assert got["pro"] == pytest.approx(expected, abs=1e-12)


def test_pro_hand_computed():
    # one image: one defect pixel scored 0.5, normal pixels 0.1, 0.2, 0.6, 0.7, 0.8
    masks = np.array([[[1, 0, 0], [0, 0, 0]]])
    maps = np.array([[[0.5, 0.1, 0.2], [0.6, 0.7, 0.8]]])
    # PRO is 0 until FPR 0.6 (three normals above the defect), then 1
    assert pro_auc(masks, maps, max_fpr=1.0) == pytest.approx(0.4)
    assert pro_auc(masks, maps, max_fpr=0.8) == pytest.approx(0.2 / 0.8)
    assert pro_auc(masks, maps, max_fpr=0.5) == 0.0
    # a tie with a normal pixel: the curve goes diagonally from (0.4, 0) to (0.6, 1)
    maps[0, 0, 0] = 0.6
    assert pro_auc(masks, maps, max_fpr=1.0) == pytest.approx(0.1 + 0.4)
    # the old fixed-grid approximation stays available and close
    assert pro_auc(masks, maps, max_fpr=1.0, n_thresholds=301) == pytest.approx(0.5, abs=0.01)


def test_pro_exact_and_grid_agree():
    masks, maps = _regions_case(7)
    assert pro_auc(masks, maps) == pytest.approx(pro_auc(masks, maps, n_thresholds=1001), abs=2e-3)
    with pytest.raises(ValueError, match="n_thresholds"):
        pro_auc(masks, maps, n_thresholds=1)


@pytest.mark.parametrize("decimals", [None, 1])
def test_image_metrics_match_sklearn_and_brute_force(decimals):
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(decimals or 0)
    for _ in range(20):
        labels = rng.integers(0, 2, 40)
        labels[:2] = (0, 1)
        scores = rng.random(40) + 0.4 * labels
        if decimals is not None:
            scores = np.round(scores, decimals)
        m = anomaly_metrics(labels, scores)
        assert m["image_auroc"] == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
        assert m["image_ap"] == pytest.approx(average_precision_score(labels, scores), abs=1e-12)
        assert m["image_f1_max"] == pytest.approx(_f1_brute(labels, scores), abs=1e-12)
        assert f1_max(labels, scores) == m["image_f1_max"] and average_precision(labels, scores) == m["image_ap"]
        assert m["pixel_auroc"] is None and m["pixel_ap"] is None and m["pro"] is None


def test_f1_max_and_ap_hand_computed():
    labels, scores = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    # thresholds 0.8: P 1 R .5 F1 2/3; 0.4: P .5 R .5; 0.35: P 2/3 R 1 F1 .8; 0.1: P .5 R 1 F1 2/3
    assert f1_max(labels, scores) == pytest.approx(0.8)
    assert average_precision(labels, scores) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_pixel_metrics_match_sklearn():
    from sklearn.metrics import average_precision_score, roc_auc_score

    masks, maps = _regions_case(5, decimals=2)
    m = anomaly_metrics([1, 1, 1, 0], [0.9, 0.8, 0.7, 0.1], masks, maps[:, None])  # (N, 1, H, W) maps pair
    assert m["pixel_auroc"] == pytest.approx(roc_auc_score(masks.ravel(), maps.ravel()), abs=1e-12)
    assert m["pixel_ap"] == pytest.approx(average_precision_score(masks.ravel(), maps.ravel()), abs=1e-12)
    assert pixel_ap(torch.tensor(masks), torch.tensor(maps)) == pytest.approx(m["pixel_ap"], abs=1e-12)
    assert m["image_auroc"] == 1.0 and m["image_f1_max"] == 1.0 and m["image_ap"] == 1.0
    assert list(m) == list(METRIC_NAMES)


def test_undefined_metrics_are_none_not_errors():
    masks, maps = _regions_case(1)
    one_class = anomaly_metrics([1, 1, 1, 1], [0.1, 0.2, 0.3, 0.4], masks, maps)
    assert one_class["image_auroc"] is None and one_class["image_f1_max"] is None and one_class["image_ap"] is None
    assert one_class["pixel_auroc"] is not None and one_class["pro"] is not None
    no_masks = anomaly_metrics([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4])
    assert no_masks["image_auroc"] == 0.75 and no_masks["pixel_auroc"] is None and no_masks["pro"] is None
    empty_masks = anomaly_metrics([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], np.zeros_like(masks), maps)
    assert empty_masks["pixel_auroc"] is None and empty_masks["pixel_ap"] is None and empty_masks["pro"] is None
    assert anomaly_metrics([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], masks, None)["pixel_auroc"] is None
    assert anomaly_metrics([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], masks, maps, pro=False)["pro"] is None


@pytest.mark.parametrize("kwargs, match", [
    (dict(labels=[0, 2], scores=[0.1, 0.2]), "labels must contain only 0 and 1"),
    (dict(labels=[0, 1], scores=[0.1, np.nan]), "scores contains NaN"),
    (dict(labels=[0, 1, 1], scores=[0.1, 0.2]), "labels and scores must have the same shape"),
    (dict(labels=[], scores=[]), "labels is empty"),
    (dict(labels=[0, 1], scores=[0.1, 0.2], masks=np.full((2, 3, 3), 2), maps=np.zeros((2, 3, 3))),
     "masks must contain only 0 and 1"),
    (dict(labels=[0, 1], scores=[0.1, 0.2], masks=np.zeros((2, 3, 3)), maps=np.zeros((2, 3, 4))),
     "masks and maps must have the same shape"),
    (dict(labels=[0, 1], scores=[0.1, 0.2], max_fpr=0), "max_fpr must be in"),
])
def test_anomaly_metrics_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        anomaly_metrics(**kwargs)


def test_pixel_metrics_fast_on_large_pixel_sets():
    import time

    rng = np.random.default_rng(0)
    masks = np.zeros((100, 224, 224), np.uint8)  # 5 M pixels, a WE-PaDiM test split at 224
    for i in range(50):
        y, x = rng.integers(0, 200, 2)
        masks[i, y:y + 20, x:x + 15] = 1
    maps = rng.random(masks.shape, dtype=np.float32) + masks
    start = time.perf_counter()
    m = anomaly_metrics(np.repeat([1, 0], 50), rng.random(100), masks, maps)
    elapsed = time.perf_counter() - start
    assert m["pixel_auroc"] == pytest.approx(1.0) and m["pixel_ap"] == pytest.approx(1.0)
    assert m["pro"] == pytest.approx(1.0)
    assert elapsed < 8.0  # ~0.4 s on 2 cores; a per-threshold loop over the pixels would take minutes


# ---------------------------------------------------------- anomalib
@pytest.mark.parametrize("seed, decimals", [(11, None), (3, 2)])
def test_metrics_agree_with_anomalib(seed, decimals):
    """The same numbers as anomalib's AUPRO, F1Max and AUROC (runs where anomalib is installed; anomalib 2.7
    computes in float32 and agreed to ~5e-8)."""
    pytest.importorskip("anomalib")
    from types import SimpleNamespace

    from anomalib.metrics import AUPRO, AUROC, F1Max

    masks, maps = _regions_case(seed, decimals)
    labels = torch.tensor([1, 1, 1, 0])
    scores = torch.tensor(maps.reshape(4, -1).max(1), dtype=torch.float32)
    ours = anomaly_metrics(labels, scores, masks, maps.astype(np.float32))
    batch = SimpleNamespace(anomaly_map=torch.tensor(maps, dtype=torch.float32), gt_mask=torch.tensor(masks),
                            pred_score=scores, gt_label=labels)

    def value(metric):
        metric.update(batch)
        return float(metric.compute())

    assert value(AUPRO(fields=["anomaly_map", "gt_mask"], fpr_limit=0.3)) == pytest.approx(ours["pro"], abs=1e-6)
    assert value(F1Max(fields=["pred_score", "gt_label"])) == pytest.approx(ours["image_f1_max"], abs=1e-6)
    assert value(AUROC(fields=["pred_score", "gt_label"])) == pytest.approx(ours["image_auroc"], abs=1e-6)
    assert value(AUROC(fields=["anomaly_map", "gt_mask"])) == pytest.approx(ours["pixel_auroc"], abs=1e-6)
