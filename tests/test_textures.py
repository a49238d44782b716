import hashlib

import numpy as np
import pytest
from PIL import Image

from fastfreq.data import FolderDataset
from fastfreq.data.textures import (AREA_RANGE, DEFECT_KINDS, TEXTURE_KINDS, add_defect,
                               make_synthetic_textures, render_sample)

SIZE = 64


def _digests(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.png"))}


def _dilate(mask, r=1):
    out = mask.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out |= np.roll(np.roll(mask, dy, 0), dx, 1)
    return out


def test_layout_read_back_by_folder_dataset(tmp_path):
    s = make_synthetic_textures(tmp_path, ("fabric", "grid"), n_train=3, n_test_good=2,
                                n_test_defect=5, size=SIZE)
    assert s["categories"] == ["fabric", "grid"] and s["size"] == SIZE
    assert s["counts"] == {"train/good": 3, "test/good": 2, "test/scratch": 2, "test/stain": 1,
                           "test/hole": 1, "test/crack": 1}
    assert (tmp_path / "fabric/train/good/000.png").is_file()
    assert (tmp_path / "grid/ground_truth/scratch/001_mask.png").is_file()
    with Image.open(tmp_path / "fabric/test/hole/000.png") as im:
        assert im.mode == "RGB" and im.size == (SIZE, SIZE)
    with Image.open(tmp_path / "fabric/ground_truth/hole/000_mask.png") as im:
        assert im.mode == "L" and set(np.unique(np.asarray(im))) <= {0, 255}
    for cat in ("fabric", "grid"):
        train = FolderDataset(tmp_path, cat, "train")
        assert len(train) == 3 and train.labels.tolist() == [0, 0, 0]
        test = FolderDataset(tmp_path, cat, "test")
        assert len(test) == 7 and int(test.labels.sum()) == 5
        assert sorted(set(test.defects)) == sorted(("good",) + DEFECT_KINDS)
        for item, d in zip(test, test.defects):
            assert item["image"].shape == (3, SIZE, SIZE)
            m = item["mask"].numpy()
            assert set(np.unique(m)) <= {0.0, 1.0}
            if d == "good":
                assert m.sum() == 0 and item["label"] == 0
            else:
                assert item["label"] == 1
                assert AREA_RANGE[0] <= m.mean() <= AREA_RANGE[1]


@pytest.mark.parametrize("cat", TEXTURE_KINDS)
@pytest.mark.parametrize("kind", DEFECT_KINDS)
def test_defect_is_local_and_mask_matches_change(cat, kind):
    for i in range(3):
        base, zero = render_sample(cat, kind, i, SIZE, clean=True)
        img, mask = render_sample(cat, kind, i, SIZE)
        assert zero.max() == 0 and set(np.unique(mask)) == {0, 255}
        m = mask > 0
        assert AREA_RANGE[0] <= m.mean() <= AREA_RANGE[1]
        diff = np.abs(img.astype(int) - base.astype(int)).max(-1)
        assert diff[~_dilate(m)].max() == 0             # nothing changes away from the mask
        inside = diff[m]
        assert (inside >= 4).mean() >= 0.8               # the mask is what changed
        assert diff[~m].max() <= max(inside.max() // 2 + 2, 4)  # border pixels change < half


def test_add_defect_on_constant_image_changes_only_mask():
    img = np.full((96, 96, 3), 0.5)
    for k, kind in enumerate(DEFECT_KINDS):
        out, mask = add_defect(img, kind, np.random.default_rng(k))
        assert mask.dtype == bool and AREA_RANGE[0] <= mask.mean() <= AREA_RANGE[1]
        change = np.abs(out - img).max(-1)
        assert change[mask].min() > 0.02 and change[~_dilate(mask)].max() == 0


def test_strength_scales_defect_contrast():
    base, _ = render_sample("wood", "stain", 0, SIZE, clean=True)
    changes = []
    for strength in (0.3, 1.0, 2.0):
        img, mask = render_sample("wood", "stain", 0, SIZE, strength=strength)
        d = np.abs(img.astype(float) - base)[mask > 0]
        changes.append(d.mean())
    assert changes[0] < changes[1] < changes[2]
    assert changes[2] > 2 * changes[0]


def test_normal_images_vary_but_stay_one_texture():
    imgs = [render_sample("carpet", "train", i, SIZE)[0].astype(float) for i in range(4)]
    assert all(np.abs(imgs[0] - im).mean() > 5 for im in imgs[1:])
    means = np.array([im.mean((0, 1)) for im in imgs])
    assert np.ptp(means, 0).max() < 40  # same colour family
    cats = [render_sample(c, "train", 0, SIZE)[0].astype(float).mean((0, 1)) for c in TEXTURE_KINDS]
    assert min(np.abs(a - b).max() for i, a in enumerate(cats) for b in cats[i + 1:]) > 5


def test_same_seed_identical_bytes_other_seed_differs(tmp_path):
    kw = dict(categories="wood", n_train=2, n_test_good=1, n_test_defect=2, size=SIZE)
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    make_synthetic_textures(a, seed=3, **kw)
    make_synthetic_textures(b, seed=3, **kw)
    make_synthetic_textures(c, seed=4, **kw)
    da, db, dc = _digests(a), _digests(b), _digests(c)
    assert len(da) == 7 and da == db
    assert dc.keys() == da.keys()
    assert all(dc[k] != da[k] for k in da if "ground_truth" not in k)


def test_train_unchanged_when_test_counts_change(tmp_path):
    make_synthetic_textures(tmp_path / "a", "fabric", n_train=2, n_test_good=1, n_test_defect=1, size=SIZE)
    make_synthetic_textures(tmp_path / "b", "fabric", n_train=3, n_test_good=4, n_test_defect=7, size=SIZE)
    da, db = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    for k in ("fabric/train/good/000.png", "fabric/train/good/001.png", "fabric/test/good/000.png",
              "fabric/test/scratch/000.png", "fabric/ground_truth/scratch/000_mask.png"):
        assert da[k] == db[k]


def test_defect_split_order_and_stale_files(tmp_path):
    s = make_synthetic_textures(tmp_path, "grid", n_train=4, n_test_good=0, n_test_defect=3,
                                size=32, defects=("hole", "crack"))
    assert s["counts"] == {"train/good": 4, "test/hole": 2, "test/crack": 1}
    assert not (tmp_path / "grid/test/good").exists()
    s = make_synthetic_textures(tmp_path, "grid", n_train=2, n_test_good=1, n_test_defect=1,
                                size=32, defects=["hole", "crack"])
    assert s["counts"] == {"train/good": 2, "test/good": 1, "test/hole": 1}
    assert len(list((tmp_path / "grid/train/good").glob("*.png"))) == 2
    assert len(list((tmp_path / "grid/test/hole").glob("*.png"))) == 1
    assert len(list((tmp_path / "grid/ground_truth/hole").glob("*.png"))) == 1


@pytest.mark.parametrize("kwargs, exc, name", [
    (dict(categories=("fabric", "velvet")), ValueError, "categories"),
    (dict(categories=()), ValueError, "categories"),
    (dict(categories=("wood", "wood")), ValueError, "categories"),
    (dict(categories=3), TypeError, "categories"),
    (dict(defects=("scratch", "dent")), ValueError, "defects"),
    (dict(defects=()), ValueError, "defects"),
    (dict(size=31), ValueError, "size"),
    (dict(size=64.0), TypeError, "size"),
    (dict(n_train=0), ValueError, "n_train"),
    (dict(n_test_good=-1), ValueError, "n_test_good"),
    (dict(n_test_defect=-2), ValueError, "n_test_defect"),
    (dict(n_test_defect=True), TypeError, "n_test_defect"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(strength=0), ValueError, "strength"),
    (dict(strength="big"), ValueError, "strength"),
])
def test_bad_arguments_raise_with_name(tmp_path, kwargs, exc, name):
    args = dict(n_train=1, n_test_good=1, n_test_defect=1, size=SIZE) | kwargs
    with pytest.raises(exc, match=name):
        make_synthetic_textures(tmp_path, **args)
    assert not any(tmp_path.iterdir())  # validation happens before anything is written


def test_empty_defects_allowed_without_defect_images(tmp_path):
    s = make_synthetic_textures(tmp_path, "carpet", n_train=1, n_test_good=1, n_test_defect=0,
                                size=32, defects=())
    assert s["counts"] == {"train/good": 1, "test/good": 1}


def test_render_sample_rejects_unknown_names():
    with pytest.raises(ValueError, match="category"):
        render_sample("marble", "train", 0, SIZE)
    with pytest.raises(ValueError, match="folder"):
        render_sample("wood", "dent", 0, SIZE)
