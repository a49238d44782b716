"""Fit / evaluate WE-PaDiM and PaDiM on MVTec-style folders, and the grid / subband-ablation runner.

The grid runs the backbone once per category (train and test taps are cached),
computes the DWT embedding and the streaming statistics once per (wavelet,
level, subbands), one Cholesky per eps, and only the smoothing per sigma.
Every run writes ``runs/<run_id>.json``; existing files are skipped (resume).
``results_by_image.csv`` / ``results_by_pixel.csv`` rank all runs, and
``configs_by_image.csv`` ranks configurations by their mean over categories.
"""
from __future__ import annotations

import csv
import itertools
import json
import pathlib
import time

import numpy as np
import torch

from .metrics import image_auroc, metric_or_none, pixel_auroc, pro_auc, to_numpy
from .models.wepadim import GaussianModel, GaussianStats, PaDiM, WEPaDiM, iter_batches
from .wavelet_features import SUBBAND_NAMES

GRID = dict(wavelet=("haar", "db4", "sym4"), level=(1, 2), sigma=(2.0, 4.0, 6.0), cov_reg=(0.1, 0.01, 0.001))
DEFAULT_SUBBANDS = ("LL", "LH", "HL")
ALL_SUBBAND_SETS = tuple(s for r in range(1, 5) for s in itertools.combinations(SUBBAND_NAMES, r))


def metrics_from_maps(scores, labels, maps=None, masks=None, pro: bool = False) -> dict:
    """image AUROC of scores; pixel AUROC (and PRO) of maps vs masks when masks have defect pixels."""
    out = {"image_auroc": metric_or_none(image_auroc, labels, scores), "pixel_auroc": None, "pro": None}
    if maps is not None and masks is not None:
        out["pixel_auroc"] = metric_or_none(pixel_auroc, masks, maps)
        if pro:
            out["pro"] = metric_or_none(pro_auc, masks, maps)
    return out


@torch.no_grad()
def evaluate_detector(model, test_data, *, pro: bool = False, progress: bool = False) -> dict:
    """Scores, maps and metrics of a fitted WEPaDiM / PaDiM on a test Dataset (items with image/label/mask)."""
    scores, labels, maps, masks = [], [], [], []
    batches = iter_batches(test_data, model.batch_size)
    if progress:
        from tqdm import tqdm
        batches = tqdm(batches, desc="evaluate", unit="batch")
    for images, mask, label in batches:
        s, m = model.predict(images)
        scores.append(s.cpu())
        maps.append(m.cpu())
        if label is None:
            raise ValueError("test data must provide labels (dict items with 'label', or (image, label) pairs)")
        labels.append(torch.as_tensor(label).reshape(-1))
        if mask is not None:
            masks.append(model.prepare_masks(torch.as_tensor(mask), images.shape[-2:]).cpu())
    scores, labels, maps = torch.cat(scores), torch.cat(labels), torch.cat(maps)
    masks = torch.cat(masks) if masks else None
    result = metrics_from_maps(scores, labels, maps, masks, pro=pro)
    result.update(scores=to_numpy(scores), labels=to_numpy(labels), maps=maps, masks=masks)
    return result


def make_detector(kind: str = "wepadim", **kwargs):
    kinds = {"wepadim": WEPaDiM, "padim": PaDiM}
    if kind not in kinds:
        raise ValueError(f"kind must be one of {tuple(kinds)}, got {kind!r}")
    return kinds[kind](**kwargs)


def fit_evaluate(root, category, kind: str = "wepadim", *, pro: bool = False, progress: bool = False,
                 **kwargs) -> dict:
    """Fit on ``<root>/<category>/train/good`` and evaluate on its test split; returns metrics, timings, model."""
    from .data import FolderDataset

    train = FolderDataset(root, category, "train", channels=3)
    test = FolderDataset(root, category, "test", channels=3)
    model = make_detector(kind, **kwargs)
    t0 = time.perf_counter()
    model.fit(train, progress=progress)
    t1 = time.perf_counter()
    result = evaluate_detector(model, test, pro=pro, progress=progress)
    t2 = time.perf_counter()
    result.update(model=model, fit_s=t1 - t0, eval_s=t2 - t1, n_train=len(train), n_test=len(test),
                  paths=list(test.paths), positions=model.gaussian.positions, dim=model.gaussian.dim)
    return result


# ---------------------------------------------------------------------------- grid
def _subbands_id(subbands) -> str:
    return "+".join(subbands)


def run_id(category, wavelet, level, subbands, sigma, cov_reg) -> str:
    return f"{category}__{wavelet}_L{level}_{_subbands_id(subbands)}_s{sigma:g}_e{cov_reg:g}"


@torch.no_grad()
def _cached_taps(model, data):
    """All backbone taps of a Dataset, concatenated per tap, labels, prepared masks and the model input size."""
    taps, labels, masks, size = None, [], [], None
    for images, mask, label in iter_batches(data, model.batch_size):
        x = model.prepare(images)
        if size not in (None, tuple(x.shape[-2:])):
            raise ValueError(f"images of different sizes {size} and {tuple(x.shape[-2:])}: set resize/crop")
        size = tuple(x.shape[-2:])
        t = [f.float() for f in model.backbone(x)]
        taps = [[x] for x in t] if taps is None else [acc + [x] for acc, x in zip(taps, t)]
        if label is not None:
            labels.append(torch.as_tensor(label).reshape(-1))
        if mask is not None:
            masks.append(model.prepare_masks(torch.as_tensor(mask), images.shape[-2:]))
    taps = [torch.cat(x) for x in taps]
    return taps, (torch.cat(labels) if labels else None), (torch.cat(masks) if masks else None), size


def _embed_cached(model, taps, batch_size):
    n = taps[0].shape[0]
    return [model.embed_taps([t[i:i + batch_size] for t in taps]) for i in range(0, n, batch_size)]


def _write_json(path: pathlib.Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)  # atomic: an interrupted run leaves no half-written JSON


def run_grid(root, categories, out, *, wavelets=GRID["wavelet"], levels=GRID["level"], sigmas=GRID["sigma"],
             cov_regs=GRID["cov_reg"], subband_sets=(DEFAULT_SUBBANDS,), backbone="efficientnet-lite0",
             layers=None, weights="default", resize=256, crop=224, squared=False, align="smallest", batch_size=16,
             pro=False, progress=True, echo=print) -> list:
    """The WE-PaDiM grid over categories; returns all run records (new and resumed), ranked CSVs written."""
    from tqdm import tqdm

    from .data import FolderDataset
    from .models.backbones import Backbone, load_backbone

    out = pathlib.Path(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    categories = [categories] if isinstance(categories, str) else list(categories)
    groups = list(itertools.product(wavelets, levels, [tuple(s) for s in subband_sets]))
    net = backbone if isinstance(backbone, Backbone) else load_backbone(backbone, layers=layers, weights=weights)
    records = []
    for category in categories:
        train = FolderDataset(root, category, "train", channels=3)
        test = FolderDataset(root, category, "test", channels=3)
        todo = [g for g in groups if not all((out / "runs" / f"{run_id(category, *g, s, e)}.json").exists()
                                             for s in sigmas for e in cov_regs)]
        cache = None
        bar = tqdm(total=len(groups) * len(sigmas) * len(cov_regs), desc=f"grid {category}", unit="run",
                   disable=not progress)
        for wavelet, level, subbands in groups:
            if (wavelet, level, subbands) not in todo:
                for s, e in itertools.product(sigmas, cov_regs):
                    records.append(json.loads((out / "runs" / f"{run_id(category, wavelet, level, subbands, s, e)}.json").read_text()))
                    bar.update()
                continue
            model = WEPaDiM(net, wavelet=wavelet, level=level, subbands=subbands, squared=squared, resize=resize,
                            crop=crop, batch_size=batch_size, align=align)
            if cache is None:
                t0 = time.perf_counter()
                cache = (_cached_taps(model, train), _cached_taps(model, test))
                echo(f"{category}: backbone taps of {len(train)} train + {len(test)} test images in "
                     f"{time.perf_counter() - t0:.1f} s")
            (train_taps, _, _, _), (test_taps, labels, masks, out_hw) = cache
            base = dict(category=category, wavelet=wavelet, level=level, subbands=_subbands_id(subbands),
                        backbone=net.name, layers=list(net.layers), squared=squared,
                        align=align if isinstance(align, str) else list(align))
            try:
                t0 = time.perf_counter()
                stats = GaussianStats.from_embeddings(torch.cat(_embed_cached(model, train_taps, batch_size)))
                test_emb = torch.cat(_embed_cached(model, test_taps, batch_size))
                embed_s = time.perf_counter() - t0
            except ValueError as e:  # e.g. a level too deep for the feature maps
                for s, c in itertools.product(sigmas, cov_regs):
                    rec = dict(base, sigma=s, cov_reg=c, error=str(e), image_auroc=None, pixel_auroc=None, pro=None)
                    _write_json(out / "runs" / f"{run_id(category, wavelet, level, subbands, s, c)}.json", rec)
                    records.append(rec)
                    bar.update()
                continue
            for c in cov_regs:
                t0 = time.perf_counter()
                gaussian = GaussianModel.fit(stats, c)
                dist = model.distances(test_emb, gaussian)
                fit_s = time.perf_counter() - t0
                for s in sigmas:
                    t0 = time.perf_counter()
                    maps = model.maps_from_distances(dist, out_hw, s)
                    scores = maps.flatten(1).amax(dim=1)
                    rec = dict(base, sigma=s, cov_reg=c, dim=stats.dim, positions=stats.positions,
                               **metrics_from_maps(scores, labels, maps, masks, pro=pro),
                               embed_s=round(embed_s, 3), gaussian_s=round(fit_s, 3),
                               score_s=round(time.perf_counter() - t0, 3))
                    _write_json(out / "runs" / f"{run_id(category, wavelet, level, subbands, s, c)}.json", rec)
                    records.append(rec)
                    bar.update()
                del gaussian, dist
            del stats, test_emb  # O(P D^2): free before the next group builds its own
        bar.close()
    write_rankings(records, out)
    return records


CSV_FIELDS = ("category", "wavelet", "level", "subbands", "sigma", "cov_reg", "image_auroc", "pixel_auroc", "pro",
              "dim", "positions", "error")


def _key(value):
    return -1.0 if value is None else value


def write_rankings(records, out) -> dict:
    """Ranked CSVs of all runs (by image / by pixel AUROC) and of configs averaged over categories."""
    out = pathlib.Path(out)
    paths = {}
    for metric, other in (("image_auroc", "pixel_auroc"), ("pixel_auroc", "image_auroc")):
        rows = sorted(records, key=lambda r: (_key(r.get(metric)), _key(r.get(other))), reverse=True)
        paths[metric] = _write_csv(out / f"results_by_{metric.split('_')[0]}.csv", rows, CSV_FIELDS)
    configs = {}
    for r in records:
        configs.setdefault((r["wavelet"], r["level"], r["subbands"], r["sigma"], r["cov_reg"]), []).append(r)
    rows = []
    for (w, lv, sb, s, c), rs in configs.items():
        row = dict(wavelet=w, level=lv, subbands=sb, sigma=s, cov_reg=c, n_categories=len(rs))
        for metric in ("image_auroc", "pixel_auroc"):
            vals = [r[metric] for r in rs if r.get(metric) is not None]
            row[f"mean_{metric}"] = float(np.mean(vals)) if vals else None
        rows.append(row)
    rows.sort(key=lambda r: (_key(r["mean_image_auroc"]), _key(r["mean_pixel_auroc"])), reverse=True)
    paths["configs"] = _write_csv(out / "configs_by_image.csv", rows,
                                  ("wavelet", "level", "subbands", "sigma", "cov_reg", "n_categories",
                                   "mean_image_auroc", "mean_pixel_auroc"))
    return paths


def _write_csv(path, rows, fields) -> str:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(fields), extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in fields})
    return str(path)


__all__ = ["ALL_SUBBAND_SETS", "DEFAULT_SUBBANDS", "GRID", "evaluate_detector", "fit_evaluate", "make_detector",
           "metrics_from_maps", "run_grid", "run_id", "write_rankings"]
