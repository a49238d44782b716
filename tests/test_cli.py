import json

import pytest

from conftest import run_cli
from fastfreq.metrics import read_scores_csv

TINY = ["--recon-width", "4", "--disc-width", "4", "--depth", "2", "--batch-size", "8", "--quiet"]

run = run_cli  # main(argv) -> (exit code, stdout, stderr)


@pytest.fixture(scope="module")
def hdmap(tmp_path_factory):
    from fastfreq.data import make_synthetic_hdmap

    return make_synthetic_hdmap(tmp_path_factory.mktemp("cli"), domains=("A",), n_train=16,
                                n_test_good=5, n_test_fault=5)


@pytest.mark.parametrize("argv, options", [
    ([], ["synth-hdmap", "synth-textures", "train", "eval", "grid", "demo"]),
    (["synth-hdmap"], ["--n-train", "--n-test-good", "--n-test-fault", "--seed", "--domains", "--size"]),
    (["train"], ["draem", "wepadim", "padim"]),
    (["train", "wepadim"], ["--data", "--category", "--wavelet", "--level", "--subbands", "--eps", "--sigma",
                            "--squared", "--backbone", "--weights", "--pro", "--align"]),
    (["train", "padim"], ["--d", "--seed", "--eps"]),
    (["grid", "wepadim"], ["--categories", "--wavelets", "--levels", "--sigmas", "--eps", "--subbands", "--ablation"]),
    (["synth-textures"], ["--categories", "--defects", "--n-train", "--size", "--seed"]),
    (["train", "draem"], ["--data", "--domain", "--epochs", "--steps", "--batch-size", "--lr", "--out",
                          "--patch-filter", "--filter-mode", "--cutoff", "--order", "--image-filter",
                          "--cut-h", "--cut-w", "--amplitude", "--probability"]),
    (["eval"], ["--checkpoint", "--data", "--domain", "--category", "--out", "--mean-filter", "--pro"]),
    (["demo"], ["--out", "--quick"]),
])
def test_help_of_every_command(argv, options, capsys):
    code, out, _ = run(argv + ["--help"], capsys)
    assert code == 0
    for option in options:
        assert option in out


def test_synth_hdmap_writes_the_layout(tmp_path, capsys):
    code, out, _ = run(["synth-hdmap", str(tmp_path), "--domains", "A", "B", "--n-train", "3",
                        "--n-test-good", "2", "--n-test-fault", "1"], capsys)
    assert code == 0 and str(tmp_path) in out
    for domain in ("A", "B"):
        base = tmp_path / f"domain_{domain}"
        assert len(list((base / "train" / "good").glob("*.tiff"))) == 3
        assert len(list((base / "test" / "good").glob("*.tiff"))) == 2
        assert len(list((base / "test" / "fault").glob("*.tiff"))) == 1


def test_train_then_eval(hdmap, tmp_path, capsys):
    out_dir = tmp_path / "run"
    code, out, err = run(["train", "draem", "--data", str(hdmap), "--domain", "A", "--steps", "3",
                          "--patch-filter", "butterworth", "--out", str(out_dir)] + TINY, capsys)
    assert code == 0, err
    assert "checkpoint" in out and (out_dir / "draem_A.pt").is_file()
    history = json.loads((out_dir / "history_A.json").read_text())
    assert len(history["loss"]) == 3

    code, out, err = run(["eval", "--checkpoint", str(out_dir / "draem_A.pt"), "--data", str(hdmap),
                          "--domain", "A"], capsys)
    assert code == 0, err
    auroc = float(out.split("image AUROC")[1].split()[0])
    assert 0.0 <= auroc <= 1.0
    paths, labels, _ = read_scores_csv(out_dir / "scores_A.csv")
    assert len(paths) == 10 and labels.sum() == 5


def test_image_filter_is_stored_and_used_by_eval(hdmap, tmp_path, capsys):
    code, _, err = run(["train", "draem", "--data", str(hdmap), "--domain", "A", "--steps", "2",
                        "--image-filter", "gaussian", "--image-cutoff", "0.3", "--out", str(tmp_path)] + TINY, capsys)
    assert code == 0, err
    from fastfreq.models.draem import load_checkpoint

    _, config = load_checkpoint(tmp_path / "draem_A.pt")
    assert config["image_filter"] == {"shape": "gaussian", "mode": "highpass", "cutoff": 0.3, "order": 2.0}
    code, _, err = run(["eval", "--checkpoint", str(tmp_path / "draem_A.pt"), "--data", str(hdmap),
                        "--domain", "A", "--out", str(tmp_path / "eval")], capsys)
    assert code == 0, err
    assert (tmp_path / "eval" / "scores_A.csv").is_file()
    code, _, err = run(["eval", "--checkpoint", str(tmp_path / "draem_A.pt"), "--data", str(hdmap)], capsys)
    assert code == 2 and "--domain is required for a DRAEM checkpoint" in err


@pytest.mark.parametrize("extra, message", [
    (["--cutoff", "-1", "--patch-filter", "butterworth"], "cutoff must be a number in (0, 0.75]"),
    (["--order", "0.5", "--patch-filter", "butterworth"], "order must be a real number >= 1"),
    (["--probability", "1.5"], "probability must be a number in [0, 1]"),
    (["--cut-h", "3", "1"], "cut_h must satisfy"),
    (["--cut-w", "10", "200"], "cut_w max must be <= image width - 1"),
    (["--batch-size", "0"], "expected a positive integer"),
    (["--patch-filter", "wavelet"], "invalid choice"),
    (["--steps", "2", "--epochs", "1"], "not allowed with argument"),
])
def test_bad_train_arguments_exit_2_with_a_message(hdmap, tmp_path, extra, message, capsys):
    code, _, err = run(["train", "draem", "--data", str(hdmap), "--domain", "A", "--steps", "1",
                        "--out", str(tmp_path)] + TINY + extra, capsys)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("fastfreq")


def test_missing_files_exit_2(hdmap, tmp_path, capsys):
    code, _, err = run(["train", "draem", "--data", str(tmp_path / "nope"), "--domain", "A"], capsys)
    assert code == 2 and err.startswith("fastfreq: error:") and "not found" in err
    code, _, err = run(["train", "draem", "--data", str(hdmap), "--domain", "Z"], capsys)
    assert code == 2 and "domain_A" in err
    code, _, err = run(["eval", "--checkpoint", str(tmp_path / "x.pt"), "--data", str(hdmap), "--domain", "A"], capsys)
    assert code == 2 and "checkpoint not found" in err
    code, _, err = run([], capsys)
    assert code == 2 and "required" in err


def test_demo_quick_writes_figures(tmp_path, capsys):
    code, out, err = run(["demo", "--quick", "--quiet", "--out", str(tmp_path / "demo")], capsys)
    assert code == 0, err
    for name in ("augmented_samples.png", "anomaly_maps.png", "roc_curves.png", "training_loss.png",
                 "wepadim_maps.png"):
        png = tmp_path / "demo" / name
        assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "image AUROC" in out and "plain" in out and "bhpf_c0.2_o2" in out
    assert str((tmp_path / "demo").resolve()) in out
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert [r["variant"] for r in summary["rows"]] == ["plain", "bhpf_c0.2_o2"]
    assert all(0.0 <= r["image_auroc"] <= 1.0 for r in summary["rows"])
    assert (tmp_path / "demo" / "scores_plain.csv").is_file()
    assert [r["detector"] for r in summary["wepadim_rows"]] == ["WE-PaDiM haar L1 (4x4)", "WE-PaDiM haar L1 (7x7)",
                                                          "PaDiM d=100"]
    assert all(0.0 <= r["image_auroc"] <= 1.0 and 0.0 <= r["pixel_auroc"] <= 1.0 for r in summary["wepadim_rows"])
    assert "WE-PaDiM" in out and "pixel AUROC" in out
