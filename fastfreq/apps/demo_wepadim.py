"""The WE-PaDiM part of ``fastfreq demo``: WE-PaDiM vs the PaDiM baseline on synthetic textures.

Both detectors use the same pretrained EfficientNet-Lite0 taps, data and
Gaussian code; only the embedding differs (DWT subbands vs random channels).
"""
from __future__ import annotations

import pathlib
import time

from .tables import format_table

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
    from ..data.textures import make_synthetic_textures
    from .demo_figures import write_wepadim_figure
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
    echo(format_table(rows, DETECTOR_COLUMNS, DETECTOR_NOTES))
    figure = write_wepadim_figure(out / "wepadim_maps.png", results, CATEGORY)
    return {"rows": rows, "figure": figure, "data": str(root)}


def _fmt3(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


DETECTOR_COLUMNS = [
    ("detector", "<26", lambda r: r["detector"]),
    ("image AUROC", ">11", lambda r: _fmt3(r["image_auroc"])),
    ("pixel AUROC", ">11", lambda r: _fmt3(r["pixel_auroc"])),
    ("fit", ">7", lambda r: f"{r['fit_s']:.1f}s"),
    ("eval", ">7", lambda r: f"{r['eval_s']:.1f}s"),
    ("embedding", ">14", lambda r: f"{r['dim']} x {r['positions']}"),
]
DETECTOR_NOTES = ("embedding: feature dimension x positions of the per-position Gaussians (EfficientNet-Lite0 "
                  "taps, ImageNet weights)",)
