"""The WE-PaDiM grid / subband-ablation runner: resumable, ranked CSVs.

The grid runs the backbone once per category (train and test taps are cached),
computes the DWT embedding and the streaming statistics once per (wavelet,
level, subbands), one Cholesky per eps, and only the smoothing per sigma.
Every run writes ``runs/<run_id>.json`` atomically; existing files are skipped
(resume). ``results_by_image.csv`` / ``results_by_pixel.csv`` rank all runs,
and ``configs_by_image.csv`` ranks configurations by their mean over categories.

Under ``torchrun`` the (category, wavelet, level, subbands) groups are split
between the ranks (largest embedding first, to the least loaded rank); each
rank runs the backbone on the categories it has groups of and writes its own
run JSONs; rank 0 gathers every record and writes the ranked CSVs.
"""
from __future__ import annotations

import itertools
import json
import pathlib
import time
from types import SimpleNamespace

import numpy as np
import torch

from .._files import write_csv, write_json
from ..metrics import METRIC_NAMES
from ..models.wepadim import GaussianModel, GaussianStats, WEPaDiM, iter_batches
from ..distributed import rank_world
from ..wavelets import SUBBAND_NAMES, WaveletFeatures
from . import ddp
from .defaults import DEFAULT_SUBBANDS, GRID
from .wepadim import metrics_from_maps, model_sized_split

ALL_SUBBAND_SETS = tuple(s for r in range(1, 5) for s in itertools.combinations(SUBBAND_NAMES, r))


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


def run_grid(root, categories, out, *, wavelets=GRID["wavelet"], levels=GRID["level"], sigmas=GRID["sigma"],
             cov_regs=GRID["cov_reg"], subband_sets=(DEFAULT_SUBBANDS,), backbone="efficientnet-lite0",
             layers=None, weights="default", resize=256, crop=224, squared=False, align="smallest", batch_size=16,
             pro=True, progress=True, echo=print, missing_masks="error", device="cpu") -> list:
    """The WE-PaDiM grid over categories; returns all run records (new and resumed), ranked CSVs written.

    Images are read once per category, at the model's input size (``ModelSizedDataset``).
    Under an initialised process group of several processes each rank runs
    its share of the groups; rank 0 returns all records, the others their own.
    """
    from tqdm import tqdm

    from ..models.backbones import Backbone, load_backbone

    out = pathlib.Path(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    categories = [categories] if isinstance(categories, str) else list(categories)
    groups = list(itertools.product(wavelets, levels, [tuple(s) for s in subband_sets]))
    net = backbone if isinstance(backbone, Backbone) else load_backbone(backbone, layers=layers, weights=weights,
                                                                      device=device)
    rank, world = rank_world() if ddp.active() else (0, 1)
    mine = _my_groups(categories, groups, net, rank, world)
    if world > 1:
        echo = _prefixed(echo, rank)
    records = []
    for category in categories:
        if not mine[category]:
            continue
        geometry = SimpleNamespace(resize=resize, crop=crop)  # the models' input size
        train = model_sized_split(root, category, "train", geometry)
        test = model_sized_split(root, category, "test", geometry, missing_masks=missing_masks)
        todo = [g for g in groups if not all((out / "runs" / f"{run_id(category, *g, s, e)}.json").exists()
                                             for s in sigmas for e in cov_regs)]
        cache = None
        bar = tqdm(total=len(mine[category]) * len(sigmas) * len(cov_regs), desc=f"grid {category}", unit="run",
                   disable=not progress or rank != 0)
        for wavelet, level, subbands in mine[category]:
            if (wavelet, level, subbands) not in todo:
                for s, e in itertools.product(sigmas, cov_regs):
                    records.append(json.loads((out / "runs" / f"{run_id(category, wavelet, level, subbands, s, e)}.json").read_text()))
                    bar.update()
                continue
            model = WEPaDiM(net, wavelet=wavelet, level=level, subbands=subbands, squared=squared, resize=resize,
                            crop=crop, batch_size=batch_size, align=align, device=device)
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
                    rec = dict(base, sigma=s, cov_reg=c, error=str(e), **dict.fromkeys(METRIC_NAMES))
                    write_json(out / "runs" / f"{run_id(category, wavelet, level, subbands, s, c)}.json", rec)
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
                    write_json(out / "runs" / f"{run_id(category, wavelet, level, subbands, s, c)}.json", rec)
                    records.append(rec)
                    bar.update()
                del gaussian, dist
            del stats, test_emb  # O(P D^2): free before the next group builds its own
        bar.close()
    if world > 1:
        gathered = ddp.gather_to_main(records)
        if rank != 0:
            return records
        order = {(c, w, lv, _subbands_id(sb)): i for i, (c, (w, lv, sb)) in
                 enumerate(itertools.product(categories, groups))}
        records = sorted((r for part in gathered for r in part),
                         key=lambda r: order[(r["category"], r["wavelet"], r["level"], r["subbands"])])
    write_rankings(records, out)
    return records


def _my_groups(categories, groups, net, rank: int, world: int) -> dict:
    """category -> the groups this rank runs (all of them with one process), in grid order."""
    if world == 1:
        return {c: list(groups) for c in categories}
    channels = sum(net.channels)
    widths = {g: WaveletFeatures(g[0], g[1], g[2], strict_level=False).out_channels([channels]) for g in groups}
    jobs = list(itertools.product(categories, groups))
    owner = ddp.assign([float(widths[g]) ** 3 for _, g in jobs], world)  # Cholesky ~ D^3: the big groups first
    return {c: [g for (cat, g), r in zip(jobs, owner) if cat == c and r == rank] for c in categories}


def _prefixed(echo, rank: int):
    return lambda *args, **kwargs: echo(f"[rank {rank}]", *args, **kwargs)


CSV_FIELDS = ("category", "wavelet", "level", "subbands", "sigma", "cov_reg") + METRIC_NAMES + (
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
        for metric in METRIC_NAMES:
            vals = [r[metric] for r in rs if r.get(metric) is not None]
            row[f"mean_{metric}"] = float(np.mean(vals)) if vals else None
        rows.append(row)
    rows.sort(key=lambda r: (_key(r["mean_image_auroc"]), _key(r["mean_pixel_auroc"])), reverse=True)
    paths["configs"] = _write_csv(out / "configs_by_image.csv", rows,
                                  ("wavelet", "level", "subbands", "sigma", "cov_reg", "n_categories")
                                  + tuple(f"mean_{m}" for m in METRIC_NAMES))
    return paths


def _write_csv(path, rows, fields) -> str:
    return write_csv(path, fields, ([r.get(k) for k in fields] for r in rows))


__all__ = ["ALL_SUBBAND_SETS", "DEFAULT_SUBBANDS", "GRID", "run_grid", "run_id", "write_rankings"]
