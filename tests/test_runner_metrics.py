"""WE-PaDiM / PaDiM runners: images read at the model's input size (same numbers, small memory) and the six
metrics in fit_evaluate, grid records, the CLI output and its metrics JSON."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import tiny_backbone
from fastfreq.apps.cli import main
from fastfreq.apps.grid import run_grid
from fastfreq.apps.wepadim import ModelSizedDataset, evaluate_detector, fit_evaluate, model_sized_split
from fastfreq.data import FolderDataset
from fastfreq.data.textures import make_synthetic_textures
from fastfreq.metrics import METRIC_NAMES, anomaly_metrics
from fastfreq.models.wepadim import WEPaDiM


@pytest.fixture(scope="module")
def textures(tmp_path_factory):
    root = tmp_path_factory.mktemp("textures")
    make_synthetic_textures(root, categories=("grid",), n_train=6, n_test_good=3, n_test_defect=3, size=96, seed=4)
    return root


@pytest.mark.parametrize("resize, crop", [(64, 56), (None, 64), (None, None), ((72, 80), 64)])
def test_model_sized_items(textures, resize, crop):
    base = FolderDataset(textures, "grid", "test", channels=3, cache=False)
    if isinstance(resize, tuple):  # exact (h, w) resizes: resize_crop has them, the detectors take ints
        ds = ModelSizedDataset(FolderDataset(textures, "grid", "test", channels=3, cache=False), resize, crop)
    else:
        ds = model_sized_split(textures, "grid", "test", WEPaDiM(tiny_backbone(), resize=resize, crop=crop))
    expect = {(64, 56): (64, 64), (None, 64): (64, 64), (None, None): (96, 96), ((72, 80), 64): (72, 80)}[(resize, crop)]
    item = ds[5]
    assert item["image"].shape == (3, *expect) and item["mask"].shape == (1, *expect)
    assert set(item["mask"].unique().tolist()) <= {0.0, 1.0} and item["label"] == base[5]["label"]
    assert item["path"] == base.paths[5] and len(ds) == len(base) == 6
    assert ds.dataset._cache == {}  # nothing at full resolution is kept


def test_fit_evaluate_at_model_size_equals_the_full_resolution_path(textures):
    """Reading at the model's size gives bit-identical scores, maps and masks to feeding full-size images."""
    kw = dict(resize=64, crop=56, batch_size=4)
    r = fit_evaluate(textures, "grid", "wepadim", backbone=tiny_backbone(), **kw)
    model = WEPaDiM(tiny_backbone(), **kw).fit(FolderDataset(textures, "grid", "train", channels=3))
    full = evaluate_detector(model, FolderDataset(textures, "grid", "test", channels=3))
    assert torch.equal(torch.as_tensor(r["scores"]), torch.as_tensor(full["scores"]))
    assert torch.equal(r["maps"], full["maps"]) and torch.equal(r["masks"], full["masks"])
    assert r["maps"].shape == (6, 56, 56)
    assert {k: r[k] for k in METRIC_NAMES} == {k: full[k] for k in METRIC_NAMES}
    expected = anomaly_metrics(r["labels"], r["scores"], r["masks"], r["maps"])
    assert {k: r[k] for k in METRIC_NAMES} == expected and all(r[k] is not None for k in METRIC_NAMES)
    assert r["paths"] == FolderDataset(textures, "grid", "test").paths
    assert fit_evaluate(textures, "grid", "padim", backbone=tiny_backbone(), d=8, pro=False, **kw)["pro"] is None


def test_cached_model_sized_items_are_copies(textures):
    base = FolderDataset(textures, "grid", "test", channels=3, cache=False)
    ds = ModelSizedDataset(base, 48, None, cache=True)
    first = ds[0]
    assert first["image"].shape == (3, 48, 48) and len(ds.cache) == 1
    expected = first["image"].clone()
    first["image"].zero_()
    again = ds[0]
    assert torch.equal(again["image"], expected) and float(expected.abs().sum()) > 0
    again["mask"].fill_(1)
    assert not bool(ds[0]["mask"].all())


def test_missing_masks_reach_the_runners(tmp_path):
    cat = tmp_path / "plain"
    rng = np.random.default_rng(0)
    for rel in ("train/good/000.png", "train/good/001.png", "test/good/000.png", "test/hole/000.png"):
        (cat / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(cat / rel)
    with pytest.raises(ValueError, match=r"no mask for defect image .*hole/000\.png"):
        fit_evaluate(tmp_path, "plain", backbone=tiny_backbone(), resize=None, crop=None)
    r = fit_evaluate(tmp_path, "plain", backbone=tiny_backbone(), resize=None, crop=None, missing_masks="zeros")
    assert r["image_auroc"] is not None and r["pixel_auroc"] is None and r["pro"] is None  # no defect pixels


def test_cli_missing_masks_option(tmp_path, capsys):
    cat = tmp_path / "data" / "plain"
    rng = np.random.default_rng(1)
    for rel in ("train/good/000.png", "train/good/001.png", "test/good/000.png", "test/hole/000.png"):
        (cat / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(cat / rel)
    base = ["train", "padim", "--data", str(tmp_path / "data"), "--category", "plain", "--out", str(tmp_path / "o"),
            "--resize", "64", "--crop", "64", "--d", "10", "--quiet"]
    with pytest.raises(SystemExit) as e:
        main(base)
    assert e.value.code == 2 and "no mask for defect image" in capsys.readouterr().err
    assert main(base + ["--missing-masks", "zeros"]) == 0
    metrics = json.loads((tmp_path / "o" / "metrics_padim_plain.json").read_text())
    assert metrics["image_auroc"] in (0.0, 1.0) and metrics["pixel_auroc"] is None and metrics["pro"] is None


def test_grid_records_and_csvs_carry_the_six_metrics(textures, tmp_path):
    records = run_grid(textures, ["grid"], tmp_path, wavelets=("haar",), levels=(1,), sigmas=(1.0,),
                       cov_regs=(0.1,), backbone=tiny_backbone(), resize=None, crop=None, batch_size=4,
                       progress=False, echo=lambda *a: None)
    direct = fit_evaluate(textures, "grid", "wepadim", backbone=tiny_backbone(), wavelet="haar", level=1,
                          sigma=1.0, cov_reg=0.1, resize=None, crop=None, batch_size=4)
    assert len(records) == 1
    for k in METRIC_NAMES:
        assert records[0][k] == pytest.approx(direct[k], abs=1e-6), k
    header = (tmp_path / "results_by_image.csv").read_text().splitlines()[0].split(",")
    assert all(k in header for k in METRIC_NAMES)
    header = (tmp_path / "configs_by_image.csv").read_text().splitlines()[0].split(",")
    assert all(f"mean_{k}" in header for k in METRIC_NAMES)


def test_cli_prints_and_writes_the_six_metrics(textures, tmp_path, capsys):
    assert main(["train", "padim", "--data", str(textures), "--category", "grid", "--out", str(tmp_path),
                 "--resize", "64", "--crop", "64", "--d", "20", "--quiet"]) == 0
    out = capsys.readouterr().out
    for label in ("image AUROC", "F1-max", "AP", "pixel AUROC", "pixel AP", "PRO"):
        assert label in out
    metrics = json.loads((tmp_path / "metrics_padim_grid.json").read_text())
    assert all(0.0 <= metrics[k] <= 1.0 for k in METRIC_NAMES)
    assert main(["eval", "--checkpoint", str(tmp_path / "padim_grid.pt"), "--data", str(textures),
                 "--category", "grid", "--out", str(tmp_path / "eval"), "--no-pro"]) == 0
    evaluated = json.loads((tmp_path / "eval" / "metrics_grid.json").read_text())
    assert evaluated["pro"] is None and evaluated["model"] == "PaDiM" and evaluated["n_test"] == 6
    for k in ("image_auroc", "image_f1_max", "image_ap", "pixel_auroc", "pixel_ap"):
        assert evaluated[k] == pytest.approx(metrics[k], abs=1e-6), k
    assert "PRO n/a" in capsys.readouterr().out
