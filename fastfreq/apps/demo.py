"""``fastfreq demo``: plain vs Butterworth-HPF Scaled CutPaste for DRAEM on synthetic HDMAP,
then WE-PaDiM vs PaDiM on synthetic textures.

Synthesises one HDMAP domain, trains DRAEM twice on the same data, seed and
patch draws (only the patch filter differs), evaluates both on the test split,
prints a comparison table and writes figures into the output folder. Then fits
WE-PaDiM and PaDiM on one synthetic texture category (``demo_wepadim``).
"""
from __future__ import annotations

import pathlib
import time

import numpy as np
import torch

from .._files import write_json
from ..augment import ScaledCutPaste
from ..augment.config import augment_to_dict
from ..filters import FrequencyFilter
from ..models.draem import save_checkpoint
from .defaults import CUTPASTE, DEFAULT_OUT, MEAN_FILTER, TRAIN
from .draem import evaluate, train_draem
from .tables import format_table

DOMAIN = "A"
DATA = dict(n_train=200, n_test_good=100, n_test_fault=100)

# --quick: a seconds-long run of the same pipeline (for tests).
QUICK_TRAIN = dict(steps=3, batch_size=8, lr=2e-3, weight_decay=1e-4,
                   model_kwargs=dict(recon_width=4, disc_width=4, depth=2))
QUICK_DATA = dict(n_train=16, n_test_good=6, n_test_fault=6)

BHPF = FrequencyFilter("butterworth", "highpass", 0.2, 2)
VARIANTS = {"plain": None, "bhpf_c0.2_o2": BHPF}


def make_augment(patch_filter, seed: int) -> ScaledCutPaste:
    return ScaledCutPaste(**CUTPASTE, patch_filter=patch_filter, seed=seed)


def warm_up_kernels() -> float:
    """Compile or load the Numba kernels once, so no variant's train time carries it."""
    start = time.perf_counter()
    x = torch.rand(2, 1, 31, 95)
    for filt in VARIANTS.values():
        make_augment(filt, 0)(x)
    return time.perf_counter() - start


def run_demo(out=DEFAULT_OUT, *, quick: bool = False, seed: int = 0, progress: bool = True,
             echo=print) -> dict:
    """Run the comparison; returns ``{"out", "rows", "figures", "wall_s"}``."""
    from ..data import HDMAPDataset, make_synthetic_hdmap

    start = time.perf_counter()
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data_cfg, train_cfg = (QUICK_DATA, QUICK_TRAIN) if quick else (DATA, TRAIN)
    echo(f"fastfreq demo -> {out.resolve()}")
    data_root = make_synthetic_hdmap(out / "data", domains=(DOMAIN,), seed=seed, **data_cfg)
    train_set = HDMAPDataset(data_root, DOMAIN, "train").preload()
    test_set = HDMAPDataset(data_root, DOMAIN, "test").preload()
    echo(f"synthetic HDMAP domain {DOMAIN}: {len(train_set)} train, {len(test_set)} test images "
         f"({int(test_set.labels.sum())} faults) in {data_root}")
    warm_s = warm_up_kernels()
    echo(f"Numba kernels ready in {warm_s:.1f} s")

    rows, runs = [], {}
    for name, filt in VARIANTS.items():
        echo(f"training DRAEM with {name} patches ({train_cfg['steps']} steps) ...")
        augment = make_augment(filt, seed)
        model, history = train_draem(train_set, augment, seed=seed, progress=progress, **train_cfg)
        result = evaluate(model, test_set, mean_filter=MEAN_FILTER, csv_path=out / f"scores_{name}.csv",
                          return_maps=True)
        save_checkpoint(out / f"draem_{name}.pt", model,
                        {"augment": augment_to_dict(augment), "image_filter": None, "mean_filter": MEAN_FILTER,
                         "train": {k: v for k, v in train_cfg.items()}, "domain": DOMAIN, "seed": seed})
        runs[name] = dict(augment=augment, model=model, history=history, result=result)
        rows.append(_row(name, history, result))

    echo("")
    echo(format_table(rows, DRAEM_COLUMNS, DRAEM_NOTES))
    from .demo_figures import write_figures

    figures = write_figures(out, runs, train_set, seed)
    echo("")
    from .demo_wepadim import run_wepadim_demo

    wepadim = run_wepadim_demo(out, quick=quick, seed=seed, progress=progress, echo=echo)
    figures.append(pathlib.Path(wepadim["figure"]))
    wall = time.perf_counter() - start
    summary = {"rows": rows, "wepadim_rows": wepadim["rows"], "wall_s": wall, "kernel_warmup_s": warm_s,
               "quick": quick, "seed": seed,
               "cutpaste": {k: list(v) if isinstance(v, tuple) else v for k, v in CUTPASTE.items()},
               "train": train_cfg, "mean_filter": MEAN_FILTER}
    write_json(out / "summary.json", summary, indent=2)
    echo("")
    echo(f"figures: {', '.join(p.name for p in figures)}")
    echo(f"total time {wall:.1f} s; output folder: {out.resolve()}")
    return {"out": out, "rows": rows, "wepadim_rows": wepadim["rows"], "figures": figures, "wall_s": wall}


def _row(name, history, result) -> dict:
    return {"variant": name, "image_auroc": result["image_auroc"], "train_s": history["train_s"],
            "step_ms": history["step_ms"], "collate_fraction": history["collate_fraction"],
            "augment_fraction": history["augment_fraction"], "final_loss": float(np.mean(history["loss"][-20:]))}


DRAEM_COLUMNS = [
    ("variant", "<14", lambda r: r["variant"]),
    ("image AUROC", ">11", lambda r: "n/a" if r["image_auroc"] is None else f"{r['image_auroc']:.3f}"),
    ("train time", ">10", lambda r: f"{r['train_s']:.1f}s"),
    ("step", ">8", lambda r: f"{r['step_ms']:.0f}ms"),
    ("collate share", ">13", lambda r: f"{100 * r['collate_fraction']:.1f}%"),
    ("of it augment", ">13", lambda r: f"{100 * r['augment_fraction']:.1f}%"),
]
DRAEM_NOTES = ("collate share: time in the DataLoader's next() / (next() + forward, backward, step), "
               "after the first step; augment: the collate_fn (stack + Scaled CutPaste) alone.",)
