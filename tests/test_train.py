import math

import numpy as np
import pytest
import torch

from fastfreq import FrequencyFilter, RadialWeight, ScaledCutPaste
from fastfreq.data import HDMAPDataset, make_synthetic_hdmap
from fastfreq.metrics import read_scores_csv
from fastfreq.apps.draem import evaluate, train_draem
from fastfreq.augment.config import augment_from_dict, augment_to_dict
from fastfreq.models.draem import load_checkpoint, save_checkpoint

TINY = dict(recon_width=4, disc_width=4, depth=2)
BHPF = FrequencyFilter("butterworth", "highpass", 0.2, 2)
HISTORY_KEYS = {"loss", "l2", "ssim", "focal", "lr", "data_s", "collate_s", "compute_s", "train_s",
                "collate_fraction", "augment_fraction", "step_ms", "steps", "epochs", "batch_size", "image_filter"}


@pytest.fixture(scope="module")
def hdmap(tmp_path_factory):
    root = make_synthetic_hdmap(tmp_path_factory.mktemp("hdmap"), domains=("A",), n_train=16,
                                n_test_good=6, n_test_fault=6)
    return HDMAPDataset(root, "A", "train"), HDMAPDataset(root, "A", "test")


def augment(seed=0, **kwargs):
    return ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), amplitude=(0.2, 2.0), probability=0.5, seed=seed, **kwargs)


def train(dataset, steps=2, seed=0, **kwargs):
    kwargs.setdefault("augment", augment(seed))
    return train_draem(dataset, steps=steps, batch_size=8, lr=2e-3, seed=seed, model_kwargs=TINY,
                       progress=False, **kwargs)


def test_train_and_evaluate_end_to_end(hdmap, tmp_path):
    train_set, test_set = hdmap
    model, history = train(train_set, steps=12, augment=augment(patch_filter=BHPF))
    assert set(history) == HISTORY_KEYS
    assert history["steps"] == 12 and history["batch_size"] == 8 and history["epochs"] == 6
    for key in ("loss", "l2", "ssim", "focal", "lr", "data_s", "collate_s", "compute_s"):
        assert len(history[key]) == 12
    assert all(math.isfinite(v) for v in history["loss"])
    # the loss parts sum to the loss
    parts = np.add(np.add(history["l2"], history["ssim"]), history["focal"])
    assert np.allclose(parts, history["loss"], rtol=1e-5)
    assert np.mean(history["loss"][-3:]) < history["loss"][0]
    assert 0.0 <= history["augment_fraction"] <= history["collate_fraction"] <= 1.0
    assert history["lr"][0] == pytest.approx(2e-3) and history["lr"][-1] < history["lr"][0]  # cosine
    assert not model.training

    result = evaluate(model, test_set, batch_size=5, mean_filter=3, csv_path=tmp_path / "scores.csv")
    assert 0.0 <= result["image_auroc"] <= 1.0
    assert result["pixel_auroc"] is None  # HDMAP has no masks
    assert result["scores"].shape == (12,) and np.isfinite(result["scores"]).all()
    paths, labels, scores = read_scores_csv(result["csv"])
    assert len(paths) == len(test_set) == 12
    assert labels.tolist() == test_set.labels.tolist()
    assert np.allclose(scores, result["scores"])


def test_epochs_cover_the_train_set(hdmap):
    _, history = train(hdmap[0], steps=None, epochs=2)
    assert history["steps"] == 4 and len(history["loss"]) == 4  # 16 images / batch 8, two epochs


def test_checkpoint_round_trip_gives_identical_scores(hdmap, tmp_path):
    train_set, test_set = hdmap
    aug = augment(patch_filter=BHPF)
    model, _ = train(train_set, augment=aug)
    before = evaluate(model, test_set, mean_filter=3)
    path = save_checkpoint(tmp_path / "ckpt" / "draem.pt", model, {"augment": augment_to_dict(aug), "mean_filter": 3})
    loaded, config = load_checkpoint(path)
    after = evaluate(loaded, test_set, mean_filter=config["mean_filter"])
    assert np.array_equal(before["scores"], after["scores"])
    assert config["model"] == {"in_channels": 1, "recon_width": 4, "disc_width": 4, "depth": 2, "disc_depth": 2}
    assert repr(augment_from_dict(config["augment"])) == repr(aug)


def test_augment_config_is_plain_data_and_rebuilds():
    aug = ScaledCutPaste(area_ratio=(0.05, 0.1), dual_path=(BHPF, FrequencyFilter("gaussian", "lowpass", 0.1)),
                         band_weight=RadialWeight.mid_band(), seed=3,
                         image_filter=FrequencyFilter("ideal", "bandpass", (0.1, 0.3)))
    data = augment_to_dict(aug)

    def plain(v):
        return v is None or isinstance(v, (bool, int, float, str)) or (
            isinstance(v, (list, dict)) and all(plain(x) for x in (v.values() if isinstance(v, dict) else v)))

    assert plain(data)
    assert repr(augment_from_dict(data)) == repr(aug)


def test_same_seed_same_losses_other_seed_differs(hdmap):
    a = train(hdmap[0], seed=0)[1]["loss"]
    b = train(hdmap[0], seed=0)[1]["loss"]
    c = train(hdmap[0], seed=1)[1]["loss"]
    assert len(a) == 2 and a == b
    assert a != c


def test_image_filter_is_applied_in_training_and_eval(hdmap, tmp_path):
    train_set, test_set = hdmap
    aug = augment(image_filter=BHPF)
    model, history = train(train_set, augment=aug)
    assert history["image_filter"] == {"shape": "butterworth", "mode": "highpass", "cutoff": 0.2, "order": 2.0}
    path = save_checkpoint(tmp_path / "f.pt", model, {"image_filter": history["image_filter"]})
    _, config = load_checkpoint(path)
    assert config["image_filter"] == history["image_filter"]
    filtered = evaluate(model, test_set, image_filter=BHPF, mean_filter=1)["scores"]
    raw = evaluate(model, test_set, mean_filter=1)["scores"]
    assert not np.allclose(filtered, raw)


def test_workers_give_the_same_run_twice(hdmap):
    a = train(hdmap[0], num_workers=2)[1]
    b = train(hdmap[0], num_workers=2)[1]
    assert a["loss"] == b["loss"] and all(math.isfinite(v) for v in a["loss"])


class MaskedSet(torch.utils.data.Dataset):
    """Tiny dataset with masks: bright boxes on noise."""

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.images = torch.rand(6, 1, 16, 24, generator=g) * 0.1
        self.masks = torch.zeros(6, 1, 16, 24)
        self.masks[3:, :, 4:8, 5:12] = 1
        self.images += self.masks

    def __len__(self):
        return 6

    def __getitem__(self, i):
        return {"image": self.images[i], "label": int(i >= 3), "mask": self.masks[i], "path": f"m{i}"}


def test_pixel_auroc_when_masks_exist():
    model = train(MaskedSet(), augment=ScaledCutPaste(cut_h=(1, 3), cut_w=(2, 6), seed=0))[0]
    result = evaluate(model, MaskedSet(), return_maps=True)
    assert 0.0 <= result["pixel_auroc"] <= 1.0 and 0.0 <= result["image_auroc"] <= 1.0
    assert result["maps"].shape == (6, 1, 16, 24)


@pytest.mark.parametrize("kwargs, match", [
    (dict(steps=2, epochs=1), "exactly one"),
    (dict(steps=0), "steps"),
    (dict(steps=2, batch_size=0), "batch_size"),
    (dict(steps=2, lr=-1.0), "lr"),
    (dict(steps=2, lr_schedule="step"), "lr_schedule"),
])
def test_bad_arguments(hdmap, kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_draem(hdmap[0], augment(), progress=False, model_kwargs=TINY, **kwargs)


def test_bad_augment_and_checkpoint(hdmap, tmp_path):
    with pytest.raises(TypeError, match="ScaledCutPaste"):
        train_draem(hdmap[0], "cutpaste", steps=1)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
