"""The WE-PaDiM part of ``fastfreq demo``: WE-PaDiM vs the PaDiM baseline on synthetic textures.

Both detectors use the same pretrained EfficientNet-Lite0 taps, data and
Gaussian code; only the embedding differs (DWT subbands vs random channels).
"""
from __future__ import annotations

import pathlib
import time

import numpy as np

from .metrics import to_numpy

CATEGORY = "fabric"
TEXTURE_DATA = dict(n_train=80, n_test_good=50, n_test_defect=50, size=224)
QUICK_TEXTURE_DATA = dict(n_train=8, n_test_good=4, n_test_defect=4, size=64)
# WE-PaDiM twice: on the public code's grid (the smallest layer's DWT size, 4x4 at 224) and on 7x7.
_WE = dict(wavelet="haar", level=1, subbands=("LL", "LH", "HL"))
DETECTORS = {
    "WE-PaDiM haar L1 (4x4)": ("wepadim", dict(_WE, align="smallest")),
    "WE-PaDiM haar L1 (7x7)": ("wepadim", dict(_WE, align=(7, 7))),
    "PaDiM d=100": ("padim", dict(d=100, seed=0)),
}


def run_wepadim_demo(out, *, quick: bool = False, seed: int = 0, progress: bool = True, echo=print) -> dict:
    """Fit and evaluate both detectors on one synthetic texture category; returns rows and the figure path."""
    from .textures import make_synthetic_textures
    from .wepadim import fit_evaluate

    out = pathlib.Path(out)
    data_cfg = QUICK_TEXTURE_DATA if quick else TEXTURE_DATA
    geometry = dict(resize=64, crop=64) if quick else dict(resize=256, crop=224)
    root = out / "textures"
    make_synthetic_textures(root, categories=(CATEGORY,), seed=seed, **data_cfg)
    echo(f"synthetic textures '{CATEGORY}': {data_cfg['n_train']} train, "
         f"{data_cfg['n_test_good']} good + {data_cfg['n_test_defect']} defect test images at {data_cfg['size']} px")
    rows, results = [], {}
    for name, (kind, kwargs) in DETECTORS.items():
        echo(f"fitting {name} ...")
        t0 = time.perf_counter()
        r = fit_evaluate(root, CATEGORY, kind, progress=progress, **geometry, **kwargs)
        results[name] = r
        rows.append({"detector": name, "image_auroc": r["image_auroc"], "pixel_auroc": r["pixel_auroc"],
                     "fit_s": r["fit_s"], "eval_s": r["eval_s"], "dim": r["dim"], "positions": r["positions"],
                     "wall_s": time.perf_counter() - t0})
    echo("")
    echo(format_table(rows))
    figure = write_figure(out / "wepadim_maps.png", results)
    return {"rows": rows, "figure": figure, "data": str(root)}


def format_table(rows) -> str:
    head = f"{'detector':<26} {'image AUROC':>11} {'pixel AUROC':>11} {'fit':>7} {'eval':>7} {'embedding':>14}"
    lines = [head, "-" * len(head)]
    for r in rows:
        fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
        lines.append(f"{r['detector']:<26} {fmt(r['image_auroc']):>11} {fmt(r['pixel_auroc']):>11} "
                     f"{r['fit_s']:>6.1f}s {r['eval_s']:>6.1f}s {r['dim']:>5} x {r['positions']:<5}")
    lines.append("embedding: feature dimension x positions of the per-position Gaussians (EfficientNet-Lite0 taps, "
                 "ImageNet weights)")
    return "\n".join(lines)


def write_figure(path, results) -> str:
    """Good and defect test images with their masks and each detector's anomaly map."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .data import FolderDataset

    first = next(iter(results.values()))
    labels = to_numpy(first["labels"])
    kinds = [pathlib.Path(p).parent.name for p in first["paths"]]
    picks = list(np.flatnonzero(labels == 0)[:2])
    picks += [kinds.index(k) for k in dict.fromkeys(kinds) if k != "good"]  # the first of each defect kind
    names = list(results)
    # one colour scale per detector over the shown rows, so good and defect maps compare
    scale = {n: (float(results[n]["maps"][picks].min()), float(results[n]["maps"][picks].max())) for n in names}
    root = pathlib.Path(first["paths"][0]).parents[3]
    test = FolderDataset(root, CATEGORY, "test", channels=3)
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
