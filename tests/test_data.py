import hashlib
import pickle

import numpy as np
import pytest
import tifffile
import torch
import torch.nn.functional as F
from PIL import Image

from fastfreq.data import FolderDataset, HDMAPDataset, make_synthetic_hdmap


def _write(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, arr, photometric="minisblack")
    return path


def _hdmap(root, files):
    """files: {"train/good/a.tiff": array, ...} under root/domain_A."""
    for rel, arr in files.items():
        _write(root / "domain_A" / rel, np.asarray(arr, dtype=np.float32))
    return root


def _band_fractions(x):
    """Mean |FFT2|^2 fraction in radial bands [0,.1), ..., [.4, inf) of maps (N, H, W)."""
    h, w = x.shape[-2:]
    d = np.sqrt(np.fft.fftfreq(h)[:, None] ** 2 + np.fft.fftfreq(w)[None, :] ** 2)
    e = np.abs(np.fft.fft2(x.astype(np.float64))) ** 2
    band = np.minimum((d / 0.1).astype(int), 4)
    frac = np.stack([e[:, band == b].sum(1) for b in range(5)], 1) / e.sum((1, 2))[:, None]
    return frac.mean(0)


# ------------------------------------------------------------------ HDMAP
def test_tiff_round_trip_exact(tmp_path):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((31, 95)) * 3).astype(np.float32)  # negatives, > 1
    b = a[None] + 1  # (1, H, W) stored shape is accepted too
    _write(tmp_path / "domain_A/train/good/0.tiff", a)
    _write(tmp_path / "domain_A/train/good/1.tif", b)
    ds = HDMAPDataset(tmp_path, "A", "train")
    assert len(ds) == 2
    x0, x1 = ds[0]["image"], ds[1]["image"]
    assert x0.dtype == torch.float32 and x0.shape == (1, 31, 95)
    assert np.array_equal(x0.numpy()[0], a)
    assert np.array_equal(x1.numpy(), b)


def test_labels_paths_and_order(tmp_path):
    img = np.zeros((4, 6))
    _hdmap(tmp_path, {"train/good/b.tiff": img, "train/good/a.tiff": img + 1,
                      "test/good/z.tiff": img, "test/good/c.tiff": img + 2,
                      "test/fault/y.tiff": img + 3, "test/fault/b.tiff": img + 4})
    ds = HDMAPDataset(tmp_path, "domain_A", "test")
    names = [p.split("/")[-2] + "/" + p.split("/")[-1] for p in ds.paths]
    assert names == ["good/c.tiff", "good/z.tiff", "fault/b.tiff", "fault/y.tiff"]
    assert ds.labels.tolist() == [0, 0, 1, 1] and ds.labels.dtype.kind == "i"
    item = ds[2]
    assert item["label"] == 1 and item["path"] == ds.paths[2]
    assert float(item["image"][0, 0, 0]) == 4.0
    # same result for "A"; category filters; train is good only
    assert HDMAPDataset(tmp_path, "A", "test").paths == ds.paths
    assert HDMAPDataset(tmp_path, "A", "test", category="fault").labels.tolist() == [1, 1]
    assert HDMAPDataset(tmp_path, "A", "test", category="good").labels.tolist() == [0, 0]
    tr = HDMAPDataset(tmp_path, "A", "train")
    assert [float(tr[i]["image"][0, 0, 0]) for i in range(2)] == [1.0, 0.0]  # a.tiff, b.tiff
    assert tr.labels.tolist() == [0, 0]


def test_resize_and_channel_repeat(tmp_path):
    ramp = np.tile(np.arange(95, dtype=np.float32), (31, 1))
    _hdmap(tmp_path, {"train/good/0.tiff": ramp, "train/good/1.tiff": np.full((31, 95), 2.5)})
    ds = HDMAPDataset(tmp_path, "A", "train", size=(64, 128), channels=3)
    x = ds[0]["image"]
    assert x.shape == (3, 64, 128)
    ref = F.interpolate(torch.from_numpy(ramp)[None, None], size=(64, 128), mode="bilinear",
                        align_corners=False)[0, 0]
    for c in range(3):
        assert torch.equal(x[c], ref)
    assert torch.allclose(ds[1]["image"], torch.full((3, 64, 128), 2.5))
    # no resize, 3 channels
    y = HDMAPDataset(tmp_path, "A", "train", channels=3)[0]["image"]
    assert y.shape == (3, 31, 95) and torch.equal(y[2], torch.from_numpy(ramp))
    # transform runs on the final image tensor
    z = HDMAPDataset(tmp_path, "A", "train", size=(8, 8), transform=lambda t: t * 2)[1]["image"]
    assert torch.allclose(z, torch.full((1, 8, 8), 5.0))


def test_cache_returns_copies(tmp_path):
    rng = np.random.default_rng(1)
    _hdmap(tmp_path, {f"train/good/{i}.tiff": rng.random((31, 95)) for i in range(3)})
    ds = HDMAPDataset(tmp_path, "A", "train", cache=True)
    first = ds[1]["image"]
    assert 1 in ds._cache
    first.mul_(0).add_(7)  # mutate the output: the cache must not change
    again = ds[1]["image"]
    assert torch.equal(again, HDMAPDataset(tmp_path, "A", "train", cache=False)[1]["image"])
    assert not torch.equal(again, first)
    # channel repeat output is a copy too
    ds3 = HDMAPDataset(tmp_path, "A", "train", channels=3)
    z = ds3[0]["image"]
    z.zero_()
    assert ds3[0]["image"].abs().sum() > 0
    # preload fills everything; the dataset pickles (DataLoader workers)
    assert len(ds.preload()._cache) == 3
    clone = pickle.loads(pickle.dumps(ds))
    assert torch.equal(clone[2]["image"], ds[2]["image"])
    # uncached dataset keeps nothing
    nc = HDMAPDataset(tmp_path, "A", "train", cache=False)
    nc[0], nc[1]
    assert nc._cache == {}


# ------------------------------------------------------------- errors
def test_layout_errors_name_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        HDMAPDataset(tmp_path / "nowhere", "A", "train")
    _hdmap(tmp_path, {"train/good/0.tiff": np.zeros((4, 4))})
    (tmp_path / "domain_C").mkdir()
    with pytest.raises(FileNotFoundError, match=r"domain_B.*domain_A.*domain_C"):
        HDMAPDataset(tmp_path, "B", "train")
    with pytest.raises(FileNotFoundError, match="test/good"):  # test/ folders missing
        HDMAPDataset(tmp_path, "A", "test")
    (tmp_path / "domain_A/test/good").mkdir(parents=True)
    (tmp_path / "domain_A/test/good/readme.txt").write_text("not an image")
    with pytest.raises(ValueError, match="test/good"):
        HDMAPDataset(tmp_path, "A", "test", category="good")


def test_bad_files_name_file(tmp_path):
    good = np.zeros((5, 7), np.float32)
    _hdmap(tmp_path, {"train/good/0.tiff": good, "train/good/1.tiff": np.zeros((2, 5, 7)),
                      "test/good/0.tiff": good, "test/good/1.tiff": np.zeros((6, 7)),
                      "test/fault/0.tiff": np.zeros((3, 5, 7))})
    (tmp_path / "domain_A/test/fault/1.tiff").write_bytes(b"garbage, not a tiff")
    ds = HDMAPDataset(tmp_path, "A", "train")
    with pytest.raises(ValueError, match=r"train/good/1\.tiff"):  # (2, H, W)
        ds[1]
    ds = HDMAPDataset(tmp_path, "A", "test", category="good")
    with pytest.raises(ValueError, match=r"test/good/1\.tiff.*test/good/0\.tiff"):  # shape differs
        ds.preload()
    assert HDMAPDataset(tmp_path, "A", "test", category="good", size=(5, 7))[1]["image"].shape == (1, 5, 7)
    with pytest.raises(ValueError, match=r"test/fault/0\.tiff"):  # first file checked at init
        HDMAPDataset(tmp_path, "A", "test", category="fault")
    ds = HDMAPDataset(tmp_path, "A", "test", category="fault", size=(5, 7))
    with pytest.raises(ValueError, match=r"test/fault/1\.tiff"):  # unreadable
        ds[1]


@pytest.mark.parametrize("kwargs, name", [
    (dict(split="val"), "split"),
    (dict(split="test", category="bad"), "category"),
    (dict(split="train", category="fault"), "category"),
    (dict(split="train", channels=2), "channels"),
    (dict(split="train", size=(0, 4)), "size"),
])
def test_bad_arguments(tmp_path, kwargs, name):
    _hdmap(tmp_path, {"train/good/0.tiff": np.zeros((4, 4))})
    with pytest.raises(ValueError, match=name):
        HDMAPDataset(tmp_path, "A", **kwargs)


# -------------------------------------------------------- FolderDataset
def _png(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def test_folder_dataset_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    cat = tmp_path / "bottle"
    rgb = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
    gray = rng.integers(0, 256, (10, 12), dtype=np.uint8)
    mask = np.zeros((10, 12), np.uint8)
    mask[2:5, 3:9] = 255
    _png(cat / "train/good/000.png", rgb)
    _png(cat / "test/good/000.png", rgb)
    _png(cat / "test/crack/000.png", rgb)
    _png(cat / "ground_truth/crack/000_mask.png", mask)
    _png(cat / "test/scratch/001.png", gray)  # defect without mask file
    tifffile.imwrite(cat / "test/scratch/002.tiff", gray)

    tr = FolderDataset(tmp_path, "bottle", "train")
    assert len(tr) == 1 and tr[0]["label"] == 0 and tr[0]["mask"].sum() == 0
    ds = FolderDataset(tmp_path, "bottle", "test", missing_masks="zeros")  # scratch images have no mask file
    assert ds.labels.tolist() == [1, 0, 1, 1]  # crack, good, scratch x2 (sorted defects)
    crack, good, scr_png, scr_tif = (ds[i] for i in range(4))
    assert crack["image"].shape == (3, 10, 12) and crack["image"].dtype == torch.float32
    assert np.allclose(crack["image"].numpy(), np.moveaxis(rgb, -1, 0) / 255.0, atol=1e-7)
    assert crack["mask"].shape == (1, 10, 12)
    assert set(crack["mask"].unique().tolist()) == {0.0, 1.0}
    assert np.array_equal(crack["mask"][0].numpy(), (mask > 0).astype(np.float32))
    assert good["mask"].sum() == 0 and good["label"] == 0
    assert scr_png["mask"].sum() == 0 and scr_png["image"].shape == (1, 10, 12)
    assert torch.equal(scr_png["image"], scr_tif["image"])  # PNG and TIFF agree
    assert np.allclose(scr_png["image"][0].numpy(), gray / 255.0)
    # channels and resize (mask with nearest)
    ds3 = FolderDataset(tmp_path, "bottle", "test", size=(20, 24), channels=3, missing_masks="zeros")
    x = ds3[0]
    assert x["image"].shape == (3, 20, 24) and x["mask"].shape == (1, 20, 24)
    assert np.array_equal(x["mask"][0].numpy(), np.kron(mask > 0, np.ones((2, 2))).astype(np.float32))
    assert ds3[2]["image"].shape == (3, 20, 24)
    assert FolderDataset(tmp_path, "bottle", "test", channels=1, missing_masks="zeros")[0]["image"].shape == (1, 10, 12)


def test_folder_dataset_errors(tmp_path):
    cat = tmp_path / "screw"
    _png(cat / "test/hole/000.png", np.zeros((8, 8), np.uint8))
    _png(cat / "ground_truth/hole/000_mask.png", np.zeros((8, 9), np.uint8))
    ds = FolderDataset(tmp_path, "screw", "test")
    with pytest.raises(ValueError, match=r"000_mask\.png.*hole/000\.png"):
        ds[0]
    with pytest.raises(FileNotFoundError, match=r"bottle.*screw"):
        FolderDataset(tmp_path, "bottle", "test")
    with pytest.raises(FileNotFoundError, match="train"):
        FolderDataset(tmp_path, "screw", "train")
    with pytest.raises(ValueError, match="split"):
        FolderDataset(tmp_path, "screw", "valid")
    _png(tmp_path / "nut/train/good/000.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(FileNotFoundError, match=r"nut/test"):
        FolderDataset(tmp_path, "nut", "test")
    (tmp_path / "nut/test/crack").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"nut/test/crack"):
        FolderDataset(tmp_path, "nut", "test")


# ---------------------------------------------------- synthetic HDMAP
@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return make_synthetic_hdmap(tmp_path_factory.mktemp("hdmap"))


def _maps(root, domain, sub):
    return np.stack([tifffile.imread(p) for p in sorted((root / f"domain_{domain}" / sub).glob("*.tiff"))])


def test_synthetic_layout_and_counts(synth):
    for d in "ABCD":
        for sub, n in (("train/good", 200), ("test/good", 50), ("test/fault", 50)):
            x = _maps(synth, d, sub)
            assert x.shape == (n, 31, 95) and x.dtype == np.float32
        tr = _maps(synth, d, "train/good")
        assert tr.min() == 0.0 and tr.max() == 1.0  # fixed per-domain min-max of train normals
        assert _maps(synth, d, "test/fault").max() > 1.0  # some faults exceed the normal range
    ds = HDMAPDataset(synth, "C", "test")
    assert len(ds) == 100 and ds.labels.sum() == 50
    # domains differ
    assert not np.allclose(_maps(synth, "A", "train/good").mean(0), _maps(synth, "B", "train/good").mean(0), atol=0.05)


def test_synthetic_band_energy(synth):
    for d in "ABCD":
        normal = _band_fractions(np.concatenate([_maps(synth, d, "train/good"), _maps(synth, d, "test/good")]))
        fault = _band_fractions(_maps(synth, d, "test/fault"))
        assert 0.90 <= normal[0] <= 0.97, (d, normal)
        assert normal[1:].min() > 0.002, (d, normal)  # the rest is spread over all bands
        assert fault[0] < normal[0] - 0.001, (d, normal, fault)
        assert fault[4] > normal[4] + 0.001, (d, normal, fault)


def _digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.tiff")):
        h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


def test_synthetic_deterministic(tmp_path):
    kw = dict(domains=("B", "domain_D"), n_train=6, n_test_good=3, n_test_fault=4)
    a = _digest(make_synthetic_hdmap(tmp_path / "a", seed=5, **kw))
    b = _digest(make_synthetic_hdmap(tmp_path / "b", seed=5, **kw))
    c = _digest(make_synthetic_hdmap(tmp_path / "c", seed=6, **kw))
    assert a == b and a != c
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["domain_B", "domain_D"]
    # rerun into the same folder with fewer files leaves no stale files
    make_synthetic_hdmap(tmp_path / "a", seed=5, **dict(kw, n_train=2))
    assert len(list((tmp_path / "a/domain_B/train/good").glob("*.tiff"))) == 2
    with pytest.raises(ValueError, match="domains"):
        make_synthetic_hdmap(tmp_path / "x", domains=("AB",))


def test_synthetic_in_dataloader_workers(tmp_path):
    root = make_synthetic_hdmap(tmp_path, domains=("A",), n_train=8, n_test_good=2, n_test_fault=2)
    ds = HDMAPDataset(root, "A", "train", size=(32, 96), channels=3).preload()
    dl = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2)
    batches = list(dl)
    assert len(batches) == 2
    x = torch.cat([b["image"] for b in batches])
    assert x.shape == (8, 3, 32, 96)
    assert torch.equal(x, torch.stack([ds[i]["image"] for i in range(8)]))
    assert torch.cat([b["label"] for b in batches]).tolist() == [0] * 8


def test_folder_dataset_mask_names_mvtec_and_visa(tmp_path):
    cat = tmp_path / "pcb"
    img = np.full((6, 8, 3), 100, np.uint8)
    m_mvtec, m_visa, m_bmp = (np.zeros((6, 8), np.uint8) for _ in range(3))
    m_mvtec[1:3, 1:3] = 255
    m_visa[3:5, 4:7] = 255
    m_bmp[0, 0] = 255
    _png(cat / "train/good/000.png", img)
    _png(cat / "test/good/000.png", img)
    for stem in ("a", "b", "c", "d"):
        _png(cat / f"test/bad/{stem}.png", img)
    _png(cat / "ground_truth/bad/a_mask.png", m_mvtec)      # MVTec AD name
    _png(cat / "ground_truth/bad/b.png", m_visa)            # VisA / anomalib Folder name
    _png(cat / "ground_truth/bad/c_mask.png", m_mvtec)      # both names: the MVTec one wins
    _png(cat / "ground_truth/bad/c.png", m_visa)
    Image.fromarray(m_bmp).save(cat / "ground_truth/bad/d.bmp")  # another extension
    ds = FolderDataset(tmp_path, "pcb", "test")
    by_name = {p.split("/")[-1]: i for i, p in enumerate(ds.paths)}
    expect = {"a.png": m_mvtec, "b.png": m_visa, "c.png": m_mvtec, "d.png": m_bmp}
    for name, m in expect.items():
        item = ds[by_name[name]]
        assert item["label"] == 1 and np.array_equal(item["mask"][0].numpy(), (m > 0).astype(np.float32)), name
    assert ds.mask_paths[by_name["c.png"]].endswith("c_mask.png")
    assert ds[by_name["000.png"]]["mask"].sum() == 0 and ds.mask_paths[by_name["000.png"]] is None


def test_folder_dataset_missing_mask_is_an_error_unless_zeros(tmp_path):
    cat = tmp_path / "cable"
    img = np.full((6, 8), 50, np.uint8)
    _png(cat / "test/good/000.png", img)
    _png(cat / "test/cut/000.png", img)
    _png(cat / "test/cut/001.png", img)
    mask = np.zeros((6, 8), np.uint8)
    mask[2:4, 2:4] = 255
    _png(cat / "ground_truth/cut/000_mask.png", mask)
    with pytest.raises(ValueError, match=r"no mask for defect image .*cut/001\.png.*001_mask\.png or 001\.png.*"
                                         r"missing_masks='zeros'"):
        FolderDataset(tmp_path, "cable", "test")
    ds = FolderDataset(tmp_path, "cable", "test", missing_masks="zeros")
    assert ds.labels.tolist() == [1, 1, 0]
    assert ds[0]["mask"].sum() == 4 and ds[1]["mask"].sum() == 0 and ds[1]["label"] == 1
    with pytest.raises(ValueError, match=r"missing_masks='none' is not allowed; choose one of \['error', 'zeros'\]"):
        FolderDataset(tmp_path, "cable", "test", missing_masks="none")
    # the whole ground_truth folder missing: the same error
    import shutil

    shutil.rmtree(cat / "ground_truth")
    with pytest.raises(ValueError, match=r"no mask for defect image .*cut/000\.png"):
        FolderDataset(tmp_path, "cable", "test")


def test_folder_dataset_downscales_with_antialiasing(tmp_path):
    # columns 1, 0, 0, 0 repeated: a 4x downscale without antialiasing samples the zero columns only
    img = np.tile(np.array([255, 0, 0, 0], np.uint8), (16, 4))  # (16, 16)
    _png(tmp_path / "stripes/train/good/000.png", img)
    small = FolderDataset(tmp_path, "stripes", "train", size=(4, 4))[0]["image"]
    assert small.shape == (1, 4, 4)
    assert float(small.mean()) == pytest.approx(0.25, abs=0.02)  # antialiased: the mean survives
    hdmap_style = F.interpolate(torch.tensor(img / 255.0, dtype=torch.float32)[None, None], size=(4, 4),
                                mode="bilinear", align_corners=False)
    assert float(hdmap_style.mean()) == 0.0  # what the resize gave before
