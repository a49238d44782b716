"""DRAEM on MVTec-style categories: train_draem's clip, `fastfreq train draem --category`, `fastfreq eval`."""
import json

import numpy as np
import pytest
import torch

from fastfreq import ScaledCutPaste
from conftest import run_cli
from fastfreq.apps.cli.draem import scaled_mean_filter
from fastfreq.apps.draem import evaluate, train_draem
from fastfreq.data import FolderDataset, make_synthetic_hdmap
from fastfreq.data.textures import make_synthetic_textures
from fastfreq.metrics import METRIC_NAMES, anomaly_metrics, read_scores_csv
from fastfreq.models.draem import load_checkpoint

TINY = dict(recon_width=4, disc_width=4, depth=2)
TINY_CLI = ["--recon-width", "4", "--disc-width", "4", "--depth", "2", "--batch-size", "4", "--quiet"]


@pytest.fixture(scope="module")
def textures(tmp_path_factory):
    root = tmp_path_factory.mktemp("tex")
    make_synthetic_textures(root, categories=("wood",), n_train=8, n_test_good=3, n_test_defect=3, size=32, seed=2)
    return root

run = run_cli  # main(argv) -> (exit code, stdout, stderr)


# ------------------------------------------------------------- train_draem(clip=...)
class Bright(torch.utils.data.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        return torch.full((3, 16, 16), 0.9)


def _inputs_seen(clip):
    """min / max of the model input over steps 1..3 (a forward pre-hook set by the step-0 callback)."""
    seen = []

    def callback(step, model, history):
        if step == 0:
            model.register_forward_pre_hook(lambda m, args: seen.append((float(args[0].min()), float(args[0].max()))))

    aug = ScaledCutPaste(area_ratio=(0.1, 0.2), amplitude=(3.0, 3.0), probability=1.0, seed=0)
    train_draem(Bright(), aug, steps=4, batch_size=4, model_kwargs=dict(TINY, in_channels=3), progress=False,
                callback=callback, clip=clip)
    return min(s[0] for s in seen), max(s[1] for s in seen)


def test_clip_limits_the_augmented_model_input():
    low, high = _inputs_seen(None)
    assert low == pytest.approx(0.9) and high == pytest.approx(0.9 + 3.0)  # patch 0.9 normalised to 1, times 3
    assert _inputs_seen((0.0, 1.0)) == (pytest.approx(0.9), 1.0)
    assert _inputs_seen((0.95, 2.0)) == (pytest.approx(0.95), 2.0)


@pytest.mark.parametrize("clip", [(1.0, 0.0), (0.0,), "01", (0.0, float("inf")), 1.0, (True, 1.0)])
def test_bad_clip_is_a_value_error_naming_clip(clip):
    with pytest.raises(ValueError, match=r"clip must be None or a \(low, high\) pair"):
        train_draem(Bright(), ScaledCutPaste(seed=0), steps=1, model_kwargs=dict(TINY, in_channels=3),
                    progress=False, clip=clip)


def test_clip_with_an_image_filter_is_refused():
    from fastfreq import FrequencyFilter

    aug = ScaledCutPaste(seed=0, image_filter=FrequencyFilter("gaussian", "highpass", 0.2))
    with pytest.raises(ValueError, match="clip cannot be combined with an image_filter"):
        train_draem(Bright(), aug, steps=1, model_kwargs=dict(TINY, in_channels=3), progress=False, clip=(0, 1))


def test_evaluate_reports_the_six_metrics_from_the_maps(textures):
    train = FolderDataset(textures, "wood", "train")
    test = FolderDataset(textures, "wood", "test")
    model, _ = train_draem(train, ScaledCutPaste(area_ratio=(0.02, 0.15), seed=0), steps=2, batch_size=4,
                           model_kwargs=dict(TINY, in_channels=3), progress=False, clip=(0.0, 1.0))
    r = evaluate(model, test, mean_filter=3, return_maps=True)
    masks = torch.stack([test[i]["mask"] for i in range(len(test))])
    expected = anomaly_metrics(test.labels, r["scores"], masks, r["maps"])
    assert {k: r[k] for k in METRIC_NAMES} == expected
    assert all(0.0 <= r[k] <= 1.0 for k in METRIC_NAMES)
    assert evaluate(model, test, mean_filter=3, pro=False)["pro"] is None


# ---------------------------------------------------------------- the CLI
def test_mean_filter_scales_with_the_image_size():
    assert [scaled_mean_filter((s, s)) for s in (256, 128, 64, 32, 512)] == [21, 11, 5, 3, 43]
    assert scaled_mean_filter((64, 256)) == 5  # the shorter side


def test_train_draem_on_a_category_then_eval(textures, tmp_path, capsys):
    code, out, err = run(["train", "draem", "--data", str(textures), "--category", "wood", "--steps", "2",
                          "--image-size", "32", "--patch-filter", "butterworth", "--out", str(tmp_path)] + TINY_CLI,
                         capsys)
    assert code == 0, err
    _, config = load_checkpoint(tmp_path / "draem_wood.pt")
    assert (config["data_kind"], config["category"], config["image_size"], config["clip"]) == \
        ("folder", "wood", [32, 32], [0.0, 1.0])
    assert config["model"]["in_channels"] == 3 and config["mean_filter"] == 3
    aug = config["augment"]
    assert aug["cut_h"] is None and aug["area_ratio"] == [0.02, 0.15] and aug["amplitude"] == [0.2, 1.0]
    assert aug["probability"] == 0.5 and aug["patch_filter"]["shape"] == "butterworth"
    trained = json.loads((tmp_path / "metrics_wood.json").read_text())
    assert set(METRIC_NAMES) <= set(trained) and all(0.0 <= trained[k] <= 1.0 for k in METRIC_NAMES)
    assert trained["n_train"] == 8 and trained["n_test"] == 6 and trained["data_kind"] == "folder"
    for label in ("image AUROC", "F1-max", "AP", "pixel AUROC", "pixel AP", "PRO"):
        assert label in out
    # `fastfreq eval` on the category: the same scores and metrics
    code, out, err = run(["eval", "--checkpoint", str(tmp_path / "draem_wood.pt"), "--data", str(textures),
                          "--category", "wood", "--out", str(tmp_path / "eval")], capsys)
    assert code == 0, err
    assert "category wood: 6 test images" in out
    evaluated = json.loads((tmp_path / "eval" / "metrics_wood.json").read_text())
    assert {k: evaluated[k] for k in METRIC_NAMES} == pytest.approx({k: trained[k] for k in METRIC_NAMES})
    _, _, s_train = read_scores_csv(tmp_path / "scores_wood.csv")
    paths, labels, s_eval = read_scores_csv(tmp_path / "eval" / "scores_wood.csv")
    np.testing.assert_allclose(s_eval, s_train, rtol=1e-6)
    assert labels.tolist() == [1, 1, 1, 0, 0, 0] or sorted(labels.tolist()) == [0, 0, 0, 1, 1, 1]
    # a category checkpoint without --domain / --category: the message names the category
    code, _, err = run(["eval", "--checkpoint", str(tmp_path / "draem_wood.pt"), "--data", str(textures)], capsys)
    assert code == 2 and "--category is required for a DRAEM checkpoint (trained on category 'wood')" in err
    code, _, err = run(["eval", "--checkpoint", str(tmp_path / "draem_wood.pt"), "--data", str(textures),
                        "--category", "wood", "--domain", "A"], capsys)
    assert code == 2 and "--domain or --category, not both" in err


def test_category_options_size_clip_and_patches(textures, tmp_path, capsys):
    code, _, err = run(["train", "draem", "--data", str(textures), "--category", "wood", "--steps", "1", "--no-eval",
                        "--image-size", "24", "32", "--no-clip", "--cut-h", "2", "4", "--cut-w", "3", "9",
                        "--amplitude", "0.1", "0.3", "--out", str(tmp_path)] + TINY_CLI, capsys)
    assert code == 0, err
    _, config = load_checkpoint(tmp_path / "draem_wood.pt")
    assert config["image_size"] == [24, 32] and config["clip"] is None and config["mean_filter"] == 3
    assert config["augment"]["cut_h"] == [2, 4] and config["augment"]["amplitude"] == [0.1, 0.3]
    assert not (tmp_path / "metrics_wood.json").exists()  # --no-eval
    code, _, err = run(["train", "draem", "--data", str(textures), "--category", "wood", "--steps", "1", "--no-eval",
                        "--clip", "0.1", "0.9", "--area-ratio", "0.05", "0.1", "--mean-filter", "7",
                        "--out", str(tmp_path)] + TINY_CLI, capsys)
    assert code == 0, err
    _, config = load_checkpoint(tmp_path / "draem_wood.pt")
    assert config["image_size"] == [256, 256] and config["clip"] == [0.1, 0.9] and config["mean_filter"] == 7
    assert config["augment"]["area_ratio"] == [0.05, 0.1]


@pytest.mark.parametrize("extra, message", [
    (["--domain", "A"], "not allowed with argument"),
    (["--cut-h", "1", "2"], "give --cut-h and --cut-w together (a category has no pixel default)"),
    (["--cut-h", "1", "2", "--cut-w", "1", "2", "--area-ratio", "0.1", "0.2"], "--area-ratio, not both"),
    (["--image-size", "1", "2", "3"], "--image-size takes N or H W"),
    (["--clip", "1", "0"], "clip must be None or a (low, high) pair"),
    (["--image-filter", "gaussian", "--clip", "0", "1"], "clip cannot be combined with an image_filter"),
    (["--clip", "0", "1", "--no-clip"], "not allowed with argument"),
])
def test_bad_category_options_exit_2(textures, tmp_path, capsys, extra, message):
    code, _, err = run(["train", "draem", "--data", str(textures), "--category", "wood", "--steps", "1",
                        "--out", str(tmp_path)] + TINY_CLI + extra, capsys)
    assert code == 2 and message in err and "Traceback" not in err


def test_neither_domain_nor_category_exits_2(textures, tmp_path, capsys):
    code, _, err = run(["train", "draem", "--data", str(textures), "--steps", "1"] + TINY_CLI, capsys)
    assert code == 2 and "one of the arguments --domain --category is required" in err


def test_hdmap_domain_keeps_its_defaults_and_writes_metrics(tmp_path, capsys):
    root = make_synthetic_hdmap(tmp_path / "hdmap", domains=("A",), n_train=8, n_test_good=3, n_test_fault=3)
    code, out, err = run(["train", "draem", "--data", str(root), "--domain", "A", "--steps", "1",
                          "--out", str(tmp_path / "run")] + TINY_CLI, capsys)
    assert code == 0, err
    _, config = load_checkpoint(tmp_path / "run" / "draem_A.pt")
    assert (config["data_kind"], config["domain"], config["image_size"], config["clip"]) == ("hdmap", "A", None, None)
    aug = config["augment"]
    assert (aug["cut_h"], aug["cut_w"], aug["amplitude"], aug["probability"]) == ([1, 2], [10, 80], [0.5, 2.0], 0.5)
    assert config["mean_filter"] == 3 and config["model"]["in_channels"] == 1
    metrics = json.loads((tmp_path / "run" / "metrics_A.json").read_text())
    assert 0.0 <= metrics["image_auroc"] <= 1.0 and 0.0 <= metrics["image_f1_max"] <= 1.0
    assert metrics["pixel_auroc"] is None and metrics["pixel_ap"] is None and metrics["pro"] is None  # no masks
    assert "pixel AUROC n/a" in out
