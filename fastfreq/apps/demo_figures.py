"""Figures of ``fastfreq demo``: augmented samples, anomaly maps, ROC curves and losses of the DRAEM
runs, and the WE-PaDiM vs PaDiM anomaly maps. matplotlib is imported here only."""
from __future__ import annotations

import pathlib

import numpy as np
import torch

from ..augment import ScaledCutPaste
from ..metrics import roc_curve_points, to_numpy
from .defaults import MEAN_FILTER

FIGURES = ("augmented_samples.png", "anomaly_maps.png", "roc_curves.png", "training_loss.png")


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
    from ..data import FAULT_KINDS

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


def write_wepadim_figure(path, results, category) -> str:
    """Good and defect test images with their masks and each detector's anomaly map."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..data import FolderDataset

    first = next(iter(results.values()))
    labels = to_numpy(first["labels"])
    kinds = [pathlib.Path(p).parent.name for p in first["paths"]]
    picks = list(np.flatnonzero(labels == 0)[:2])
    picks += [kinds.index(k) for k in dict.fromkeys(kinds) if k != "good"]  # the first of each defect kind
    names = list(results)
    # one colour scale per detector over the shown rows, so good and defect maps compare
    scale = {n: (float(results[n]["maps"][picks].min()), float(results[n]["maps"][picks].max())) for n in names}
    root = pathlib.Path(first["paths"][0]).parents[3]
    test = FolderDataset(root, category, "test", channels=3)
    fig, axes = plt.subplots(len(picks), 2 + len(names), figsize=(3.2 * (2 + len(names)), 3.0 * len(picks)),
                             squeeze=False)
    for r, k in enumerate(picks):
        model = first["model"]
        img = model.prepare(test[k]["image"][None])[0]
        img = (img - img.amin()) / (img.amax() - img.amin() + 1e-12)
        axes[r, 0].imshow(img.permute(1, 2, 0).numpy())
        defect = pathlib.Path(first["paths"][k]).parent.name
        axes[r, 0].set_title(f"{defect} ({pathlib.Path(first['paths'][k]).name})", fontsize=9)
        axes[r, 1].imshow(to_numpy(first["masks"][k]), cmap="gray", vmin=0, vmax=1)
        axes[r, 1].set_title("ground-truth mask", fontsize=9)
        for c, name in enumerate(names, start=2):
            res = results[name]
            im = axes[r, c].imshow(to_numpy(res["maps"][k]), cmap="inferno", vmin=scale[name][0], vmax=scale[name][1])
            axes[r, c].set_title(f"{name}\nscore {float(res['scores'][k]):.2f}", fontsize=8)
            fig.colorbar(im, ax=axes[r, c], fraction=0.046, pad=0.02).ax.tick_params(labelsize=7)
        for ax in axes[r]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle("WE-PaDiM vs PaDiM on synthetic textures: anomaly maps (Mahalanobis distance, smoothed; "
                 "one colour scale per detector)",
                 fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return str(path)
