"""``fastfreq demo``: plain vs Butterworth-HPF Scaled CutPaste for DRAEM on synthetic HDMAP,
then WE-PaDiM vs PaDiM on synthetic textures.

Synthesises one HDMAP domain, trains DRAEM twice on the same data, seed and
patch draws (only the patch filter differs), evaluates both on the test split,
prints a comparison table and writes figures into the output folder. Then fits
WE-PaDiM and PaDiM on one synthetic texture category (``demo_wepadim``).
"""
from __future__ import annotations

import json
import pathlib
import time

import numpy as np
import torch

from .cutpaste import ScaledCutPaste
from .filters import FrequencyFilter
from .metrics import roc_curve_points, to_numpy
from .train import augment_to_dict, evaluate, save_checkpoint, train_draem

DEFAULT_OUT = "fastfreq_out/demo"
DOMAIN = "A"

# NOTES 2, HDMAP settings. Amplitudes start at 0.5: a Butterworth-HPF patch at a = 1 has an RMS
# of ~1.3 normal pixel std, so patches below ~0.5 vanish in the noise yet would be labelled anomalous.
CUTPASTE = dict(cut_h=(1, 2), cut_w=(10, 80), amplitude=(0.5, 2.0), probability=0.5)
# Thin DRAEM for 31x95 on a 2-core CPU: ~0.2 s a step, about a minute per variant.
TRAIN = dict(steps=300, batch_size=16, lr=4e-3, weight_decay=1e-4,
             model_kwargs=dict(recon_width=16, disc_width=8, depth=3))
MEAN_FILTER = 3  # box of the image score; DRAEM's 21 would average 1-2-row faults away on 31 rows
DATA = dict(n_train=200, n_test_good=100, n_test_fault=100)

# --quick: a seconds-long run of the same pipeline (for tests).
QUICK_TRAIN = dict(steps=3, batch_size=8, lr=2e-3, weight_decay=1e-4,
                   model_kwargs=dict(recon_width=4, disc_width=4, depth=2))
QUICK_DATA = dict(n_train=16, n_test_good=6, n_test_fault=6)

BHPF = FrequencyFilter("butterworth", "highpass", 0.2, 2)
VARIANTS = {"plain": None, "bhpf_c0.2_o2": BHPF}
FIGURES = ("augmented_samples.png", "anomaly_maps.png", "roc_curves.png", "training_loss.png")


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
    from .data import HDMAPDataset, make_synthetic_hdmap

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
    echo(format_table(rows))
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
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    echo("")
    echo(f"figures: {', '.join(p.name for p in figures)}")
    echo(f"total time {wall:.1f} s; output folder: {out.resolve()}")
    return {"out": out, "rows": rows, "wepadim_rows": wepadim["rows"], "figures": figures, "wall_s": wall}


def _row(name, history, result) -> dict:
    return {"variant": name, "image_auroc": result["image_auroc"], "train_s": history["train_s"],
            "step_ms": history["step_ms"], "collate_fraction": history["collate_fraction"],
            "augment_fraction": history["augment_fraction"], "final_loss": float(np.mean(history["loss"][-20:]))}


def format_table(rows) -> str:
    """The comparison table printed by the demo."""
    head = (f"{'variant':<14} {'image AUROC':>11} {'train time':>10} {'step':>8} "
            f"{'collate share':>13} {'of it augment':>13}")
    lines = [head, "-" * len(head)]
    for r in rows:
        auroc = "n/a" if r["image_auroc"] is None else f"{r['image_auroc']:.3f}"
        lines.append(f"{r['variant']:<14} {auroc:>11} {r['train_s']:>9.1f}s {r['step_ms']:>6.0f}ms "
                     f"{100 * r['collate_fraction']:>12.1f}% {100 * r['augment_fraction']:>12.1f}%")
    lines.append("collate share: time in the DataLoader's next() / (next() + forward, backward, step), "
                 "after the first step; augment: the collate_fn (stack + Scaled CutPaste) alone.")
    return "\n".join(lines)


# ------------------------------------------------------------------ figures
def write_figures(out: pathlib.Path, runs: dict, train_set, seed: int) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = [out / name for name in FIGURES]
    for path, draw in zip(paths, (_fig_augmented, _fig_maps, _fig_roc, _fig_loss)):
        fig = draw(plt, runs, train_set, seed)
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
    return paths


def _image(ax, fig, data, title, cmap="viridis", vmin=None, vmax=None, label=None):
    data = to_numpy(data)
    im = ax.imshow(data, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    ax.set_title(title, fontsize=9)
    above = vmax is not None and data.max() > vmax
    below = vmin is not None and data.min() < vmin
    extend = {(True, True): "both", (True, False): "max", (False, True): "min"}.get((above, below), "neither")
    bar = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02, extend=extend)  # arrows: values beyond the range
    bar.ax.tick_params(labelsize=7)
    if label:
        bar.set_label(label, fontsize=7)
    ax.tick_params(labelsize=7)


def _fig_augmented(plt, runs, train_set, seed):
    """The same images and patch draws through each variant: original, augmented, mask, difference."""
    n = 3
    images = torch.stack([train_set[i]["image"] for i in range(n)])
    augments = {name: run["augment"] for name, run in runs.items()}
    first = next(iter(augments.values()))
    drawer = ScaledCutPaste(cut_h=first.cut_h, cut_w=first.cut_w, amplitude=(1.0, first.amplitude[1]),
                            probability=1.0, seed=seed)
    params = drawer.sample_params(images.shape)
    rows = [(i, name, aug.apply(images, params)) for i in range(n) for name, aug in augments.items()]
    fig, axes = plt.subplots(len(rows), 4, figsize=(17, 2.0 * len(rows)), squeeze=False)
    lo, hi = float(images.min()), float(images.max())
    for r, (i, name, batch) in enumerate(rows):
        diff = (batch.image - batch.original)[i, 0].numpy()
        peak = max(float(np.abs(diff).max()), 1e-6)
        a = float(batch.amplitude[i])
        _image(axes[r, 0], fig, batch.original[i, 0], f"original #{i}", vmin=lo, vmax=hi, label="value")
        _image(axes[r, 1], fig, batch.image[i, 0], f"augmented ({name})", vmin=lo, vmax=hi, label="value")
        _image(axes[r, 2], fig, batch.mask[i, 0], f"mask ({int(params.cut_h[i])}x{int(params.cut_w[i])} px)",
               cmap="gray", vmin=0, vmax=1, label="anomaly")
        _image(axes[r, 3], fig, diff, f"augmented - original (a = {a:.2f})", cmap="RdBu_r", vmin=-peak,
               vmax=peak, label="added")
        axes[r, 0].set_ylabel(f"#{i} {name}\nrow (px)", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("column (px)", fontsize=8)
    fig.suptitle("Scaled CutPaste on synthetic HDMAP: the same patch draws, plain vs Butterworth HPF "
                 "(c = 0.2, n = 2) patches", fontsize=11)
    fig.tight_layout()
    return fig


def _fig_maps(plt, runs, train_set, seed):
    """Test images (good and one fault of each kind) and each variant's anomaly map with its score."""
    from .data import FAULT_KINDS

    result0 = next(iter(runs.values()))["result"]
    labels = result0["labels"]
    picks = list(np.flatnonzero(labels == 0)[:2]) + list(np.flatnonzero(labels == 1)[:len(FAULT_KINDS)])
    names = list(runs)
    # one colour scale per variant, shared by its rows, so good and fault maps compare
    vmax = {n: max(float(runs[n]["result"]["maps"][picks].max()), 1e-3) for n in names}
    fig, axes = plt.subplots(len(picks), 1 + len(names), figsize=(6 * (1 + len(names)), 2.0 * len(picks)),
                             squeeze=False)
    for r, k in enumerate(picks):
        path = pathlib.Path(result0["paths"][k])
        # make_synthetic_hdmap cycles the fault kinds in file order
        kind = f"fault: {FAULT_KINDS[int(path.stem) % len(FAULT_KINDS)]}" if labels[k] else "good"
        _image(axes[r, 0], fig, result0["images"][k, 0], f"test {kind} ({path.name})", label="value")
        axes[r, 0].set_ylabel(f"{kind}\nrow (px)", fontsize=8)
        for c, name in enumerate(names, start=1):
            res = runs[name]["result"]
            _image(axes[r, c], fig, res["maps"][k, 0], f"{name} anomaly map, image score {res['scores'][k]:.3f}",
                   cmap="inferno", vmin=0, vmax=vmax[name], label="P(anomaly)")
    for ax in axes[-1]:
        ax.set_xlabel("column (px)", fontsize=8)
    fig.suptitle("DRAEM anomaly maps on the synthetic test split (image score = max of the "
                 f"{MEAN_FILTER}x{MEAN_FILTER} mean-filtered map; colour range per variant)", fontsize=11)
    fig.tight_layout()
    return fig


def _fig_roc(plt, runs, train_set, seed):
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, run in runs.items():
        res = run["result"]
        if res["image_auroc"] is None:
            continue
        fpr, tpr, _ = roc_curve_points(res["labels"], res["scores"])
        ax.plot(fpr, tpr, lw=2, label=f"{name} (AUROC {res['image_auroc']:.3f})")
    ax.plot([0, 1], [0, 1], "--", color="gray", lw=1, label="chance")
    ax.set_xlabel("false positive rate (good maps flagged)")
    ax.set_ylabel("true positive rate (faults found)")
    ax.set_title("Image-level ROC, synthetic HDMAP test split")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def _fig_loss(plt, runs, train_set, seed):
    """Total loss and its segmentation part (focal) per step, raw and smoothed."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, key, title in ((axes[0], "loss", "total loss (L2 + SSIM + focal)"),
                           (axes[1], "focal", "focal loss (segmentation part)")):
        for name, run in runs.items():
            loss = np.asarray(run["history"][key])
            ax.plot(np.arange(1, len(loss) + 1), loss, lw=0.8, alpha=0.35)
            k = max(1, min(20, len(loss) // 5))
            smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
            label = name if k == 1 else f"{name} ({k}-step mean)"
            ax.plot(np.arange(k, len(loss) + 1), smooth, lw=2, label=label, color=ax.lines[-1].get_color())
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_ylabel(key)
        ax.set_title(title)
        ax.grid(alpha=0.3, which="both")
        ax.legend()
    fig.suptitle("DRAEM training on synthetic HDMAP", fontsize=11)
    fig.tight_layout()
    return fig
