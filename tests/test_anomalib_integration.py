"""fastfreq.integrations.anomalib: FreqCutPasteDraem with anomalib's own Engine, datamodules and metrics.

Most tests need anomalib (and torchvision): they run in the ecosystem environment that the
last step of .ci/run builds (.ci/ecosystem_env.sh) and are skipped in the main one.
"""
import importlib
import math
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from fastfreq import FrequencyFilter, RadialWeight, ScaledCutPaste
from fastfreq.augment.module import FreqCutPaste

SKIP_REASON = ("anomalib is not installed: these tests run in the ecosystem environment "
               "(the last step of .ci/run, or `bash .ci/ecosystem_env.sh DIR` then DIR/bin/python -m pytest)")
BHPF = FrequencyFilter("butterworth", "highpass", 0.2, 2)
SIZE = 32  # DRAEM's U-Net pools 4 times: 32 -> 2 x 2 at the bottleneck


@pytest.fixture(scope="module")
def anomalib():
    return pytest.importorskip("anomalib", reason=SKIP_REASON)


# -- without anomalib -------------------------------------------------------------------
def test_import_error_names_the_extra(monkeypatch):
    for name in list(sys.modules):
        if name == "anomalib" or name.startswith("anomalib.") or name == "fastfreq.integrations.anomalib":
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "anomalib", None)  # makes `import anomalib...` raise ImportError
    with pytest.raises(ImportError, match=r"pip install fastfreq\[anomalib\]"):
        importlib.import_module("fastfreq.integrations.anomalib")


def test_import_fastfreq_imports_neither_anomalib_nor_lightning():
    code = ("import sys, fastfreq, fastfreq.integrations; "
            "bad = [m for m in ('anomalib', 'lightning', 'torchvision') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- construction ----------------------------------------------------------------------
def _no_network(monkeypatch):
    import anomalib.models.image.draem.lightning_model as draem_module

    def refuse(*args, **kwargs):
        raise AssertionError("FreqCutPasteDraem tried to download the DTD data set")

    monkeypatch.setattr(draem_module, "download_and_extract", refuse)


def test_constructs_offline_and_leaves_no_folder(anomalib, monkeypatch, tmp_path):
    from fastfreq.integrations.anomalib import FreqCutPasteDraem

    _no_network(monkeypatch)
    monkeypatch.chdir(tmp_path)
    before = set(Path(tempfile.gettempdir()).glob("fastfreq_no_dtd_*"))
    model = FreqCutPasteDraem(area_ratio=(0.02, 0.15), amplitude=(0.5, 2.0), patch_filter=BHPF, seed=0)
    assert list(tmp_path.iterdir()) == []  # no ./datasets/dtd
    assert set(Path(tempfile.gettempdir()).glob("fastfreq_no_dtd_*")) == before
    assert isinstance(model.augmenter, FreqCutPaste)
    assert model.augmenter.clip == (0.0, 1.0)
    assert model.augmenter.augment.patch_filter == BHPF
    assert isinstance(model, anomalib.models.Draem)
    assert "dtd_dir" not in model.hparams and model.hparams["patch_filter"] == BHPF


def test_augmenter_forms(anomalib):
    from fastfreq.integrations.anomalib import FreqCutPasteDraem

    aug = ScaledCutPaste(cut_h=(2, 6), cut_w=(2, 6), seed=1)
    assert FreqCutPasteDraem(aug).augmenter.augment is aug
    module = FreqCutPaste(area_ratio=(0.05, 0.1), clip=None)
    model = FreqCutPasteDraem(module)
    assert model.augmenter is module and model.augmenter.clip is None
    assert FreqCutPasteDraem(clip=None).augmenter.clip is None
    assert FreqCutPasteDraem(image_filter=BHPF).augmenter.clip is None  # "auto": filtered images leave [0, 1]
    with pytest.raises(ValueError, match="not both"):
        FreqCutPasteDraem(aug, seed=3)
    with pytest.raises(ValueError, match="FreqCutPaste"):
        FreqCutPasteDraem(module, clip=(0, 1))
    with pytest.raises(ValueError, match="return_mask"):
        FreqCutPasteDraem(FreqCutPaste(return_mask=False))
    with pytest.raises(TypeError, match="augmenter"):
        FreqCutPasteDraem(lambda x: x)
    with pytest.raises(ValueError, match="clip"):
        FreqCutPasteDraem(clip="yes")


def test_training_step_uses_the_augmenter(anomalib):
    """The anomalies DraemLoss sees are FreqCutPaste's (a spy on the augmenter and on the loss)."""
    from anomalib.data import ImageBatch

    from fastfreq.integrations.anomalib import FreqCutPasteDraem

    model = FreqCutPasteDraem(area_ratio=(0.05, 0.15), amplitude=(0.5, 2.0), probability=1.0, patch_filter=BHPF,
                              seed=0)
    seen = {}
    model.loss.register_forward_hook(lambda m, args, out: seen.update(args=args))
    image = torch.rand(2, 3, SIZE, SIZE)
    model.train()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # self.log outside a Trainer
        batch = ImageBatch(image=image)
        out = model.training_step(batch, 0)
    assert torch.isfinite(out["loss"])
    target, _, mask, _ = seen["args"]
    last = model.augmenter.last_batch
    assert target is batch.image and torch.equal(target, image)  # the clean image is the target
    assert torch.equal(mask, last.mask) and mask.sum() > 0
    assert torch.equal(last.original, image)


# -- Engine fit + test on a tiny MVTec-style folder -------------------------------------------
def _write_textures(root: Path, n_train=8, n_test=4, size=SIZE, seed=0):
    """A tiny MVTec AD layout: train/good, test/{good,defect}, ground_truth/defect/<stem>_mask.png."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]

    def texture():
        phase, freq = rng.uniform(0, 2 * np.pi), rng.uniform(0.25, 0.35)
        base = 0.5 + 0.25 * np.sin(freq * xx + phase) * np.cos(freq * yy)
        return np.clip(base[..., None] * np.array([1.0, 0.8, 0.6]) + rng.normal(0, 0.03, (size, size, 3)), 0, 1)

    def save(array, path):
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray((array * 255).round().astype(np.uint8)).save(path)

    for i in range(n_train):
        save(texture(), root / "train" / "good" / f"{i:03d}.png")
    for i in range(n_test):
        save(texture(), root / "test" / "good" / f"{i:03d}.png")
        image, mask = texture(), np.zeros((size, size))
        y, x = rng.integers(4, size - 12, 2)
        mask[y:y + 8, x:x + 8] = 1
        image[mask > 0] = rng.uniform(0, 1, 3)  # a flat coloured square
        save(image, root / "test" / "defect" / f"{i:03d}.png")
        save(mask, root / "ground_truth" / "defect" / f"{i:03d}_mask.png")


class _Spy:
    """Counts augmenter calls and the pasted pixels of each (a forward hook)."""

    def __init__(self, module):
        self.calls, self.mask_pixels, self.changed = 0, [], []
        module.register_forward_hook(self)

    def __call__(self, module, args, output):
        image, mask = output
        self.calls += 1
        self.mask_pixels.append(float(mask.sum()))
        self.changed.append(bool((image != args[0]).any()))


def _fit_and_test(model, datamodule, root_dir, steps, checkpoint=True):
    from anomalib.callbacks import ModelCheckpoint
    from anomalib.engine import Engine

    # DRAEM's checkpoint with Adam's state is 1.2 GB: written only where a test reloads it
    callbacks = [] if checkpoint else [ModelCheckpoint(save_top_k=0)]
    engine = Engine(max_steps=steps, accelerator="cpu", devices=1, logger=False, default_root_dir=root_dir,
                    enable_progress_bar=False, enable_model_summary=False, callbacks=callbacks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        engine.fit(model, datamodule=datamodule)
        (metrics,) = engine.test(model, datamodule=datamodule, verbose=False)
    return engine, metrics


@pytest.fixture(scope="module")
def mvtec_run(anomalib, tmp_path_factory):
    from anomalib.data import MVTecAD
    from lightning.pytorch import seed_everything

    from fastfreq.integrations.anomalib import FreqCutPasteDraem

    tmp = tmp_path_factory.mktemp("mvtec")
    _write_textures(tmp / "data" / "tiny")
    seed_everything(0, verbose=False)
    model = FreqCutPasteDraem(area_ratio=(0.02, 0.15), amplitude=(0.5, 2.0), probability=0.5,
                              patch_filter=BHPF, band_weight=RadialWeight.mid_band(), seed=0,
                              pre_processor=FreqCutPasteDraem.configure_pre_processor(image_size=(SIZE, SIZE)))
    spy = _Spy(model.augmenter)
    datamodule = MVTecAD(root=tmp / "data", category="tiny", train_batch_size=4, eval_batch_size=4, num_workers=0)
    engine, metrics = _fit_and_test(model, datamodule, tmp / "results", steps=2)  # one epoch
    return dict(model=model, spy=spy, engine=engine, metrics=metrics)


def test_engine_fit_trains_on_freqcutpaste_anomalies(mvtec_run):
    spy = mvtec_run["spy"]
    assert spy.calls == 2  # one call per training step, none at validation / test
    assert sum(spy.mask_pixels) > 0 and any(spy.changed)  # anomalies were pasted
    assert mvtec_run["model"].augmenter.last_batch.image.shape == (4, 3, SIZE, SIZE)


def test_engine_test_metrics_are_finite_in_0_1(mvtec_run):
    metrics = mvtec_run["metrics"]
    for name in ("image_AUROC", "pixel_AUROC", "image_F1Score", "pixel_F1Score"):
        value = float(metrics[name])
        assert math.isfinite(value) and 0.0 <= value <= 1.0, (name, value)


def test_checkpoint_reloads_with_weights_only(mvtec_run):
    from fastfreq.integrations.anomalib import FreqCutPasteDraem

    path = mvtec_run["engine"].best_model_path
    assert path and Path(path).is_file()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = FreqCutPasteDraem.load_from_checkpoint(path)  # weights_only=True: allowlisted filter types
    aug = loaded.augmenter.augment
    assert aug.patch_filter == BHPF and aug.amplitude == (0.5, 2.0) and aug.seed == 0
    assert np.array_equal(aug.band_weight.weights, RadialWeight.mid_band().weights)
    original = mvtec_run["model"].model.state_dict()
    for key, value in loaded.model.state_dict().items():
        assert torch.equal(value, original[key]), key


def test_folder_datamodule_and_whole_image_filter(anomalib, tmp_path):
    """Strategy 2 through anomalib's Folder datamodule: validation / test inputs are filtered too."""
    from anomalib.data import Folder
    from lightning.pytorch import seed_everything

    from fastfreq.integrations.anomalib import FreqCutPasteDraem

    root = tmp_path / "data"
    _write_textures(root, n_train=4, n_test=2, seed=1)
    seed_everything(0, verbose=False)
    lowpass = FrequencyFilter("gaussian", "lowpass", 0.3)
    model = FreqCutPasteDraem(area_ratio=(0.05, 0.15), amplitude=(0.5, 2.0), probability=1.0, patch_filter=BHPF,
                              image_filter=lowpass, seed=0,
                              pre_processor=FreqCutPasteDraem.configure_pre_processor(image_size=(SIZE, SIZE)))
    spy = _Spy(model.augmenter)
    eval_inputs = []
    model.model.register_forward_hook(
        lambda m, args, out: None if m.training else eval_inputs.append(args[0].detach().clone()))
    datamodule = Folder(name="tiny", root=root, normal_dir="train/good", abnormal_dir="test/defect",
                        normal_test_dir="test/good", mask_dir="ground_truth/defect", train_batch_size=4,
                        eval_batch_size=4, num_workers=0)
    _, metrics = _fit_and_test(model, datamodule, tmp_path / "results", steps=1, checkpoint=False)
    assert spy.calls == 1 and all(p > 0 for p in spy.mask_pixels)
    assert not list((tmp_path / "results").rglob("*.ckpt"))
    for name in ("image_AUROC", "pixel_AUROC", "image_F1Score"):
        assert 0.0 <= float(metrics[name]) <= 1.0
    # the model saw low-passed test images: compare with filtering the raw test images
    assert eval_inputs
    raw = torch.stack([_read(p) for p in sorted((root / "test" / "defect").glob("*.png"))])
    seen = torch.cat(eval_inputs)
    expected = lowpass(raw)
    assert any(torch.allclose(s, e, atol=1e-5) for s in seen for e in expected)
    assert not any(torch.allclose(s, r, atol=1e-3) for s in seen for r in raw)


def _read(path):
    from PIL import Image

    return torch.from_numpy(np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)


# -- torchvision ----------------------------------------------------------------------------
def test_in_torchvision_v2_compose():
    v2 = pytest.importorskip("torchvision.transforms.v2", reason=SKIP_REASON.replace("anomalib", "torchvision", 1))
    from torchvision import tv_tensors

    image = tv_tensors.Image(torch.randint(0, 256, (3, SIZE, SIZE), dtype=torch.uint8))
    # image-only in the middle of a pipeline
    pipeline = v2.Compose([v2.RandomHorizontalFlip(p=1.0),
                           FreqCutPaste(area_ratio=(0.05, 0.15), probability=1.0, patch_filter=BHPF, seed=0,
                                        return_mask=False),
                           v2.ToDtype(torch.float32, scale=True)])
    out = pipeline(image)
    assert out.dtype == torch.float32 and out.shape == (3, SIZE, SIZE) and isinstance(out, tv_tensors.Image)
    assert not torch.equal(out, v2.functional.to_dtype(v2.functional.horizontal_flip(image), scale=True))
    # with the mask: (image, mask) goes on; v2 transforms treat the first plain tensor as the image
    pair = v2.Compose([v2.ToDtype(torch.float32, scale=True),
                       FreqCutPaste(area_ratio=(0.05, 0.15), probability=1.0, patch_filter=BHPF, seed=0, clip=(0, 1)),
                       v2.Normalize(mean=[0.5] * 3, std=[0.25] * 3)])
    augmented, mask = pair(image.as_subclass(torch.Tensor))
    assert augmented.shape == (3, SIZE, SIZE) and mask.shape == (1, SIZE, SIZE)
    assert set(mask.unique().tolist()) == {0.0, 1.0}  # the mask passed through Normalize untouched
    assert float(augmented.min()) >= -2.0 - 1e-6 and float(augmented.max()) <= 2.0 + 1e-6
