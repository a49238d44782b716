"""WE-PaDiM runner: fit + evaluate on folders, the resumable grid (cached taps == direct fit), the CLI."""
import json

import numpy as np
import pytest
import torch

from fastfreq.apps.cli import main
from fastfreq.metrics import image_auroc
from conftest import tiny_backbone
from fastfreq.data.textures import make_synthetic_textures
from fastfreq.apps.grid import run_grid, run_id
from fastfreq.apps.wepadim import evaluate_detector, fit_evaluate


@pytest.fixture(scope="module")
def textures(tmp_path_factory):
    root = tmp_path_factory.mktemp("textures")
    make_synthetic_textures(root, categories=("fabric",), n_train=8, n_test_good=4, n_test_defect=4, size=64, seed=1)
    return root


def _tiny_backbone():
    return tiny_backbone((4, 6, 8))


def test_fit_evaluate_scores_and_masks(textures):
    r = fit_evaluate(textures, "fabric", "wepadim", backbone=_tiny_backbone(), resize=None, crop=None, batch_size=5,
                     pro=True)
    assert (r["n_train"], r["n_test"]) == (8, 8)
    assert r["scores"].shape == (8,) and r["maps"].shape == (8, 64, 64) and r["masks"].shape == (8, 64, 64)
    assert r["labels"].tolist() == [1, 1, 1, 1, 0, 0, 0, 0] or sorted(r["labels"].tolist()) == [0] * 4 + [1] * 4
    assert r["image_auroc"] == pytest.approx(image_auroc(r["labels"], r["scores"]))
    assert 0.0 <= r["pixel_auroc"] <= 1.0 and 0.0 <= r["pro"] <= 1.0
    assert int(r["masks"][r["labels"] == 0].sum()) == 0 and int(r["masks"][r["labels"] == 1].sum()) > 0


def test_grid_equals_direct_fit_and_resumes(textures, tmp_path):
    bb = _tiny_backbone()
    kw = dict(wavelets=("haar", "db2"), levels=(1,), sigmas=(1.0, 2.0), cov_regs=(0.1, 0.01),
              subband_sets=(("LL", "HH"),), backbone=bb, resize=None, crop=None, batch_size=3, progress=False,
              echo=lambda *a: None)
    records = run_grid(textures, ["fabric"], tmp_path, **kw)
    assert len(records) == 8 and len(list((tmp_path / "runs").glob("*.json"))) == 8
    rec = next(r for r in records if (r["wavelet"], r["sigma"], r["cov_reg"]) == ("db2", 2.0, 0.01))
    direct = fit_evaluate(textures, "fabric", "wepadim", backbone=bb, wavelet="db2", level=1, subbands=("LL", "HH"),
                          sigma=2.0, cov_reg=0.01, resize=None, crop=None, batch_size=3)
    assert rec["image_auroc"] == pytest.approx(direct["image_auroc"], abs=1e-12)
    assert rec["pixel_auroc"] == pytest.approx(direct["pixel_auroc"], abs=1e-6)
    # ranked CSV: image AUROC non-increasing
    lines = (tmp_path / "results_by_image.csv").read_text().splitlines()
    header = lines[0].split(",")
    col = header.index("image_auroc")
    vals = [float(line.split(",")[col]) for line in lines[1:]]
    assert len(vals) == 8 and vals == sorted(vals, reverse=True)
    assert (tmp_path / "results_by_pixel.csv").exists() and (tmp_path / "configs_by_image.csv").exists()
    # resume: nothing recomputed (files untouched), same records
    path = tmp_path / "runs" / f"{run_id('fabric', 'db2', 1, ('LL', 'HH'), 2.0, 0.01)}.json"
    before = path.stat().st_mtime_ns
    again = run_grid(textures, ["fabric"], tmp_path, **kw)
    assert path.stat().st_mtime_ns == before
    assert sorted(json.dumps(r, sort_keys=True) for r in again) == sorted(json.dumps(r, sort_keys=True) for r in records)


def test_grid_records_too_deep_levels(textures, tmp_path):
    records = run_grid(textures, "fabric", tmp_path, wavelets=("haar",), levels=(4,), sigmas=(1.0,), cov_regs=(0.1,),
                       backbone=_tiny_backbone(), resize=None, crop=None, progress=False, echo=lambda *a: None)
    assert len(records) == 1 and "too deep" in records[0]["error"] and records[0]["image_auroc"] is None


def test_missing_category_and_bad_kind(textures):
    with pytest.raises(FileNotFoundError, match="category folder not found"):
        fit_evaluate(textures, "nope", backbone=_tiny_backbone())
    with pytest.raises(ValueError, match="kind"):
        fit_evaluate(textures, "fabric", "resnet", backbone=_tiny_backbone())


def test_evaluate_needs_labels():
    m = fit_evaluate.__globals__["WEPaDiM"](_tiny_backbone(), resize=None, crop=None).fit(torch.rand(4, 3, 64, 64))
    with pytest.raises(ValueError, match="labels"):
        evaluate_detector(m, torch.rand(2, 3, 64, 64))


def test_cli_train_wepadim_and_padim(textures, tmp_path, capsys):
    for kind in ("wepadim", "padim"):
        extra = ["--d", "50"] if kind == "padim" else ["--subbands", "LL", "LH"]
        assert main(["train", kind, "--data", str(textures), "--category", "fabric", "--out", str(tmp_path),
                     "--resize", "64", "--crop", "64", "--quiet", *extra]) == 0
        metrics = json.loads((tmp_path / f"metrics_{kind}_fabric.json").read_text())
        assert 0.0 <= metrics["image_auroc"] <= 1.0 and metrics["n_train"] == 8 and metrics["n_test"] == 8
        assert (tmp_path / f"{kind}_fabric.pt").exists()
    out = capsys.readouterr().out
    assert "wepadim fabric" in out and "padim fabric" in out
    # the saved model reloads and gives the same scores
    from fastfreq.models.wepadim import GaussianDetector
    from fastfreq.data import FolderDataset

    model = GaussianDetector.load(tmp_path / "wepadim_fabric.pt")
    r = evaluate_detector(model, FolderDataset(textures, "fabric", "test", channels=3))
    paths_scores = np.loadtxt(tmp_path / "scores_wepadim_fabric.csv", delimiter=",", skiprows=1, usecols=2)
    np.testing.assert_allclose(r["scores"], paths_scores, rtol=1e-5)
    # `fastfreq eval` recognises the model file and writes the same scores
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(tmp_path / "wepadim_fabric.pt"), "--data", str(textures),
                 "--category", "fabric", "--out", str(tmp_path / "eval")]) == 0
    assert "WEPaDiM fabric: 8 test images" in capsys.readouterr().out
    evaluated = np.loadtxt(tmp_path / "eval" / "scores_fabric.csv", delimiter=",", skiprows=1, usecols=2)
    np.testing.assert_allclose(evaluated, paths_scores, rtol=1e-5)
    with pytest.raises(SystemExit) as e:
        main(["eval", "--checkpoint", str(tmp_path / "padim_fabric.pt"), "--data", str(textures)])
    assert e.value.code == 2 and "--category is required" in capsys.readouterr().err


@pytest.mark.parametrize("args,match", [
    (["--eps", "0"], "cov_reg"),
    (["--category", "nope"], "category folder not found"),
    (["--level", "9"], "too deep"),
    (["--align", "7y7"], "--align must be"),
])
def test_cli_bad_input_exits_2(textures, tmp_path, capsys, args, match):
    base = ["train", "wepadim", "--data", str(textures), "--out", str(tmp_path), "--resize", "64", "--crop", "64",
            "--quiet"]
    if "--category" not in args:
        base += ["--category", "fabric"]
    with pytest.raises(SystemExit) as e:
        main(base + args)
    assert e.value.code == 2 and match in capsys.readouterr().err
