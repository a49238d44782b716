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
