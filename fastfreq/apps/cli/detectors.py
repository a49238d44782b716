"""``fastfreq train wepadim|padim``, ``fastfreq grid wepadim`` and WE-PaDiM / PaDiM models in ``fastfreq eval``."""
from __future__ import annotations

import pathlib

from .common import add_missing_masks_option, add_pro_options, format_metrics, metrics_record, nonneg_float, positive_int


def _add_detector_options(p, grid=False):
    g = p.add_argument_group("backbone and Gaussian")
    g.add_argument("--backbone", default="efficientnet-lite0", help="(default: %(default)s)")
    g.add_argument("--layers", nargs="+", default=None, metavar="TAP", help="backbone taps (default: the backbone's)")
    g.add_argument("--weights", default="default", metavar="PATH",
                   help="'default' (bundled / local cache), a state-dict file, or 'random' (untrained, warns)")
    if not grid:  # the grid takes lists of these
        g.add_argument("--eps", type=nonneg_float, default=0.01, help="covariance regulariser > 0 (default: %(default)s)")
        g.add_argument("--sigma", type=nonneg_float, default=4.0, help="score-map smoothing (default: %(default)s)")
    g.add_argument("--squared", action="store_true", help="score with the squared Mahalanobis distance")
    g.add_argument("--resize", type=positive_int, default=256, help="(default: %(default)s)")
    g.add_argument("--crop", type=positive_int, default=224, help="(default: %(default)s)")
    g.add_argument("--batch-size", type=positive_int, default=16, help="(default: %(default)s)")
    g.add_argument("--device", default="cpu", metavar="DEV",
                   help="backbone device: cpu, cuda, cuda:N or auto (default: %(default)s; under torchrun cuda means "
                        "cuda:LOCAL_RANK). Statistics stay float64 on the CPU")


def _align(text):
    """'smallest' | 'largest' | 'first' | 'HxW' -> WaveletFeatures' align."""
    if text in ("smallest", "largest", "first"):
        return text
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--align must be smallest, largest, first or HxW (e.g. 7x7), got {text!r}") from None
    return h, w


def _weights(text):
    return None if text == "random" else text


def add_train_detectors(models):
    from ...wavelets import SUBBAND_NAMES

    for kind in ("wepadim", "padim"):
        title = "WE-PaDiM (DWT subbands of backbone features)" if kind == "wepadim" else \
            "PaDiM baseline (random channel selection)"
        p = models.add_parser(kind, help=title,
                              description=f"Fit {title} on <ROOT>/<CATEGORY>/train/good, evaluate on its test "
                                          f"split; writes <OUT>/{kind}_<CATEGORY>.pt, metrics and scores.")
        p.add_argument("--data", required=True, metavar="ROOT", help="MVTec-style root folder")
        p.add_argument("--category", required=True, metavar="X", help="category folder, e.g. fabric")
        p.add_argument("--out", default="fastfreq_out/train", metavar="DIR", help="(default: %(default)s)")
        add_pro_options(p)
        add_missing_masks_option(p)
        p.add_argument("--quiet", action="store_true", help="no progress bars")
        _add_detector_options(p)
        if kind == "wepadim":
            p.add_argument("--wavelet", default="haar", help="(default: %(default)s)")
            p.add_argument("--level", type=positive_int, default=1, help="(default: %(default)s)")
            p.add_argument("--subbands", nargs="+", default=["LL", "LH", "HL"], choices=SUBBAND_NAMES,
                           metavar="B", help="subset of LL LH HL HH (default: LL LH HL)")
            p.add_argument("--mode", default="zero", help="DWT boundary mode (default: %(default)s)")
            p.add_argument("--align", default="smallest", metavar="A",
                           help="Gaussian grid: smallest (public code), largest, first or HxW (default: smallest)")
        else:
            p.add_argument("--d", type=positive_int, default=100, help="random channels kept (default: 100)")
            p.add_argument("--seed", type=int, default=0, help="seed of the channel choice (default: 0)")
        p.set_defaults(func=cmd_train_detector, kind=kind)


def cmd_train_detector(args) -> int:
    from ..._files import write_json
    from ...distributed import device_for_rank
    from ...metrics import write_scores_csv
    from ..ddp import process_group
    from ..wepadim import fit_evaluate

    device = device_for_rank(args.device)
    kwargs = dict(backbone=args.backbone, layers=args.layers, weights=_weights(args.weights), cov_reg=args.eps,
                  sigma=args.sigma, squared=args.squared, resize=args.resize, crop=args.crop,
                  batch_size=args.batch_size, device=device)
    if args.kind == "wepadim":
        kwargs.update(wavelet=args.wavelet, level=args.level, subbands=tuple(args.subbands), mode=args.mode,
                      align=_align(args.align))
    else:
        kwargs.update(d=args.d, seed=args.seed)
    with process_group(device):  # torchrun: each rank embeds its shard, rank 0 fits, evaluates and writes
        r = fit_evaluate(args.data, args.category, args.kind, pro=not args.no_pro, progress=not args.quiet,
                         missing_masks=args.missing_masks, **kwargs)
    if r is None:
        return 0
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model_path = r["model"].save(out / f"{args.kind}_{args.category}.pt")
    csv_path = write_scores_csv(out / f"scores_{args.kind}_{args.category}.csv", r["paths"], r["labels"], r["scores"])
    metrics = dict(metrics_record(r), **{k: r[k] for k in ("fit_s", "eval_s", "n_train", "n_test", "positions",
                                                           "dim")})
    metrics["config"] = r["model"].config()
    write_json(out / f"metrics_{args.kind}_{args.category}.json", metrics)
    print(f"{args.kind} {args.category}: fit {r['n_train']} images in {r['fit_s']:.1f} s, "
          f"evaluated {r['n_test']} in {r['eval_s']:.1f} s; embedding {r['dim']} x {r['positions']} positions")
    print(format_metrics(r))
    print(f"model: {model_path}\nscores: {csv_path}\nmetrics: {out / f'metrics_{args.kind}_{args.category}.json'}")
    return 0


def add_grid(sub):
    from ..defaults import DEFAULT_SUBBANDS, GRID

    p = sub.add_parser("grid", help="WE-PaDiM grid search / subband ablation (resumable)",
                       description="Run the WE-PaDiM grid (wavelet x level x sigma x eps x subband sets) over "
                                   "categories; per-run JSON in <OUT>/runs (existing runs are skipped), ranked "
                                   "CSVs in <OUT>.")
    models = p.add_subparsers(dest="model", metavar="MODEL", required=True)
    g = models.add_parser("wepadim", help="the WE-PaDiM grid")
    g.add_argument("--data", required=True, metavar="ROOT", help="MVTec-style root folder")
    g.add_argument("--categories", nargs="+", required=True, metavar="X")
    g.add_argument("--out", default="fastfreq_out/grid", metavar="DIR", help="(default: %(default)s)")
    g.add_argument("--wavelets", nargs="+", default=list(GRID["wavelet"]), metavar="W", help="(default: %(default)s)")
    g.add_argument("--levels", nargs="+", type=positive_int, default=list(GRID["level"]), metavar="J",
                   help="(default: %(default)s)")
    g.add_argument("--sigmas", nargs="+", type=nonneg_float, default=list(GRID["sigma"]), metavar="S",
                   help="(default: %(default)s)")
    g.add_argument("--eps", nargs="+", type=nonneg_float, default=list(GRID["cov_reg"]), metavar="E",
                   help="(default: %(default)s)")
    sb = g.add_mutually_exclusive_group()
    sb.add_argument("--subbands", nargs="+", default=list(DEFAULT_SUBBANDS), metavar="B",
                    help="one subband set (default: LL LH HL)")
    sb.add_argument("--ablation", action="store_true", help="all 15 non-empty subsets of LL LH HL HH")
    g.add_argument("--align", default="smallest", metavar="A",
                   help="Gaussian grid: smallest (public code), largest, first or HxW (default: smallest)")
    add_pro_options(g)
    add_missing_masks_option(g)
    g.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_detector_options(g, grid=True)
    g.set_defaults(func=cmd_grid)


def cmd_grid(args) -> int:
    from ...distributed import device_for_rank, is_main_process
    from ...wavelets import check_subbands
    from ..ddp import process_group
    from ..grid import ALL_SUBBAND_SETS, run_grid

    sets = ALL_SUBBAND_SETS if args.ablation else (check_subbands(args.subbands),)
    device = device_for_rank(args.device)
    with process_group(device):  # torchrun: the groups are split between the ranks, rank 0 ranks them all
        records = run_grid(args.data, args.categories, args.out, wavelets=args.wavelets, levels=args.levels,
                           sigmas=args.sigmas, cov_regs=args.eps, subband_sets=sets, backbone=args.backbone,
                           layers=args.layers, weights=_weights(args.weights), resize=args.resize, crop=args.crop,
                           squared=args.squared, align=_align(args.align), batch_size=args.batch_size,
                           pro=not args.no_pro, progress=not args.quiet, missing_masks=args.missing_masks,
                           device=device)
        if not is_main_process():
            return 0
    ok = [r for r in records if r.get("image_auroc") is not None]
    print(f"{len(records)} runs ({len(records) - len(ok)} without a result) in {args.out}")
    for r in sorted(ok, key=lambda r: (r["image_auroc"], r["pixel_auroc"] or -1), reverse=True)[:5]:
        pix = "n/a" if r["pixel_auroc"] is None else f"{r['pixel_auroc']:.4f}"
        print(f"  {r['category']}: {r['wavelet']} L{r['level']} {r['subbands']} sigma {r['sigma']:g} "
              f"eps {r['cov_reg']:g}: image {r['image_auroc']:.4f} pixel {pix}")
    return 0


def is_detector_file(path) -> bool:
    """True for a file saved by WEPaDiM / PaDiM ``save`` (False for anything else, e.g. DRAEM checkpoints)."""
    import torch

    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001  (missing / other formats: the DRAEM path reports it)
        return False
    return isinstance(state, dict) and state.get("kind") in ("WEPaDiM", "PaDiM")


def cmd_eval_detector(args) -> int:
    """Score <ROOT>/<CATEGORY>/test with a saved WE-PaDiM / PaDiM model."""
    from ..._files import write_json
    from ...data import FolderDataset
    from ...metrics import write_scores_csv
    from ...models.wepadim import GaussianDetector
    from ..wepadim import evaluate_detector

    if not args.category:
        raise ValueError("--category is required for a WE-PaDiM / PaDiM model")
    model = GaussianDetector.load(args.checkpoint)
    test = FolderDataset(args.data, args.category, "test", channels=3, missing_masks=args.missing_masks)
    r = evaluate_detector(model, test, pro=not args.no_pro)
    out = pathlib.Path(args.out) if args.out else pathlib.Path(args.checkpoint).parent
    out.mkdir(parents=True, exist_ok=True)
    csv_path = write_scores_csv(out / f"scores_{args.category}.csv", test.paths, r["labels"], r["scores"])
    json_path = write_json(out / f"metrics_{args.category}.json",
                           dict(metrics_record(r), n_test=len(test), model=type(model).__name__,
                                checkpoint=str(args.checkpoint), category=args.category))
    print(f"{type(model).__name__} {args.category}: {len(test)} test images")
    print(format_metrics(r))
    print(f"scores: {csv_path}\nmetrics: {json_path}")
    return 0
