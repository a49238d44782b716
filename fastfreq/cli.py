"""The ``fastfreq`` command line: synth-hdmap, synth-textures, train draem|wepadim|padim, eval, grid, demo, eda.

Bad values end with an argparse-style one-line message and exit code 2.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

PROG = "fastfreq"
FILTER_SHAPES = ("none", "ideal", "gaussian", "butterworth")
FILTER_MODES = ("lowpass", "highpass")


class CLIError(ValueError):
    """A bad combination of options found after parsing."""


# ------------------------------------------------------------ value types
def _number(cast, minimum, description):
    """An argparse type: ``cast(text)`` that must be finite and >= ``minimum``."""
    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {description}, got {text!r}") from None
        if not minimum <= value < float("inf"):
            raise argparse.ArgumentTypeError(f"expected {description}, got {text!r}")
        return value
    return parse


_positive_int = _number(int, 1, "a positive integer")
_nonneg_int = _number(int, 0, "an integer >= 0")
_nonneg_float = _number(float, 0.0, "a finite number >= 0")


# ----------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Frequency-aware Scaled CutPaste for anomaly detection. "
                               "Start with `fastfreq demo`.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    from . import cli_wepadim

    _add_synth(sub)
    cli_wepadim.add_synth_textures(sub, _positive_int, _nonneg_int)
    _add_train(sub)
    _add_eval(sub)
    cli_wepadim.add_grid(sub, _positive_int, _nonneg_float)
    _add_demo(sub)
    _add_eda(sub)
    return parser


def _add_synth(sub):
    p = sub.add_parser("synth-hdmap", help="write a synthetic HDMAP data set (float32 TIFF)",
                       description="Write <OUT>/domain_X/{train/good,test/good,test/fault}/*.tiff.")
    p.add_argument("out", metavar="OUT", help="root folder to write")
    p.add_argument("--domains", nargs="+", default=["A", "B", "C", "D"], metavar="X",
                   help="domain letters (default: A B C D)")
    p.add_argument("--n-train", type=_positive_int, default=200, help="normal train maps per domain (default: 200)")
    p.add_argument("--n-test-good", type=_positive_int, default=50, help="normal test maps per domain (default: 50)")
    p.add_argument("--n-test-fault", type=_positive_int, default=50, help="fault test maps per domain (default: 50)")
    p.add_argument("--size", nargs=2, type=_positive_int, default=[31, 95], metavar=("H", "W"),
                   help="map size (default: 31 95)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.set_defaults(func=cmd_synth)


def _add_filter_options(p):
    g = p.add_argument_group("frequency filters")
    g.add_argument("--patch-filter", choices=FILTER_SHAPES, default="none",
                   help="filter each pasted patch on its own grid, strategy 1 (default: none)")
    g.add_argument("--filter-mode", choices=FILTER_MODES, default="highpass",
                   help="patch filter mode (default: highpass)")
    g.add_argument("--cutoff", type=float, default=0.2,
                   help="patch filter cutoff in cycles/pixel, in (0, 0.75], 0.5 = Nyquist (default: 0.2)")
    g.add_argument("--order", type=float, default=2.0, help="Butterworth order >= 1 (default: 2)")
    g.add_argument("--image-filter", choices=FILTER_SHAPES, default="none",
                   help="filter the whole model input, strategy 2; also applied at eval (default: none)")
    g.add_argument("--image-filter-mode", choices=FILTER_MODES, default=None,
                   help="image filter mode (default: --filter-mode)")
    g.add_argument("--image-cutoff", type=float, default=None, help="image filter cutoff (default: --cutoff)")
    g.add_argument("--image-order", type=float, default=None, help="image filter order (default: --order)")


def _add_cutpaste_options(p):
    from .demo import CUTPASTE

    g = p.add_argument_group("Scaled CutPaste")
    g.add_argument("--cut-h", nargs=2, type=_positive_int, default=list(CUTPASTE["cut_h"]), metavar=("MIN", "MAX"),
                   help="patch height range in pixels, inclusive (default: %(default)s)")
    g.add_argument("--cut-w", nargs=2, type=_positive_int, default=list(CUTPASTE["cut_w"]), metavar=("MIN", "MAX"),
                   help="patch width range in pixels, inclusive (default: %(default)s)")
    g.add_argument("--amplitude", nargs=2, type=_nonneg_float, default=list(CUTPASTE["amplitude"]),
                   metavar=("MIN", "MAX"), help="patch scale a ~ U(MIN, MAX) (default: %(default)s)")
    g.add_argument("--probability", type=float, default=CUTPASTE["probability"],
                   help="chance an image gets a patch, in [0, 1] (default: %(default)s)")
    g.add_argument("--no-normalize", action="store_true", help="do not max-abs normalise patches")


def _add_train(sub):
    from .demo import MEAN_FILTER, TRAIN

    from .cli_wepadim import add_train_models

    p = sub.add_parser("train", help="train DRAEM (HDMAP, Scaled CutPaste) or fit WE-PaDiM / PaDiM (MVTec-style)",
                       description="Train a model. Models: draem, wepadim, padim.")
    models = p.add_subparsers(dest="model", metavar="MODEL", required=True)
    d = models.add_parser("draem", help="DRAEM with configurable widths",
                          description="Train DRAEM on <ROOT>/domain_<X>/train/good with Scaled CutPaste; writes "
                                      "<OUT>/draem_<X>.pt and <OUT>/history_<X>.json.")
    d.add_argument("--data", required=True, metavar="ROOT", help="HDMAP root folder")
    d.add_argument("--domain", required=True, metavar="X", help="domain, e.g. A")
    length = d.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=_positive_int, help="passes over the train set")
    length.add_argument("--steps", type=_positive_int, help=f"optimiser steps (default: {TRAIN['steps']})")
    d.add_argument("--batch-size", type=_positive_int, default=TRAIN["batch_size"], help="(default: %(default)s)")
    d.add_argument("--lr", type=_nonneg_float, default=TRAIN["lr"], help="AdamW learning rate (default: %(default)s)")
    d.add_argument("--weight-decay", type=_nonneg_float, default=TRAIN["weight_decay"], help="(default: %(default)s)")
    d.add_argument("--seed", type=int, default=0, help="seed of the model, loader and patches (default: 0)")
    d.add_argument("--num-workers", type=_nonneg_int, default=0, help="DataLoader workers (default: 0)")
    widths = TRAIN["model_kwargs"]
    d.add_argument("--recon-width", type=_positive_int, default=widths["recon_width"], help="(default: %(default)s)")
    d.add_argument("--disc-width", type=_positive_int, default=widths["disc_width"], help="(default: %(default)s)")
    d.add_argument("--depth", type=_positive_int, default=widths["depth"], help="poolings (default: %(default)s)")
    d.add_argument("--mean-filter", type=_positive_int, default=MEAN_FILTER,
                   help="box size of the image score, stored for eval (default: %(default)s)")
    d.add_argument("--out", default="fastfreq_out/train", metavar="DIR", help="output folder (default: %(default)s)")
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_cutpaste_options(d)
    _add_filter_options(d)
    d.set_defaults(func=cmd_train)
    add_train_models(models, _positive_int, _nonneg_float)


def _add_eval(sub):
    p = sub.add_parser("eval", help="score a test split with a trained checkpoint / fitted model",
                       description="Evaluate a DRAEM checkpoint on <ROOT>/domain_<X>/test (--domain), or a "
                                   "WE-PaDiM / PaDiM model on <ROOT>/<CATEGORY>/test (--category); writes "
                                   "<OUT>/scores_<X>.csv.")
    p.add_argument("--checkpoint", required=True, metavar="PATH", help="file written by `train`")
    p.add_argument("--data", required=True, metavar="ROOT", help="HDMAP root (DRAEM) or MVTec-style root")
    p.add_argument("--domain", metavar="X", help="HDMAP domain, e.g. A (DRAEM checkpoints)")
    p.add_argument("--category", metavar="X", help="category folder (WE-PaDiM / PaDiM models)")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default: the checkpoint's folder)")
    p.add_argument("--batch-size", type=_positive_int, default=64, help="(default: %(default)s)")
    p.add_argument("--mean-filter", type=_positive_int, default=None,
                   help="DRAEM: box size of the image score (default: from the checkpoint)")
    p.add_argument("--pro", action="store_true", help="WE-PaDiM / PaDiM: also compute PRO")
    p.set_defaults(func=cmd_eval)


def _add_demo(sub):
    from .demo import DEFAULT_OUT

    p = sub.add_parser("demo", help="plain vs Butterworth-HPF Scaled CutPaste for DRAEM on synthetic HDMAP",
                       description="Synthesise HDMAP domain A, train DRAEM with plain and with Butterworth "
                                   "high-pass (c=0.2, n=2) patches, compare image AUROC, write figures.")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help="output folder (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="a seconds-long run of the same pipeline")
    p.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_demo)


def _add_eda(sub):
    p = sub.add_parser("eda", help="frequency EDA of the research plan: CSV tables and PNG figures",
                       description="phase1: band energy of normal vs fault images and mean spectra; "
                                   "cutpaste: what Scaled CutPaste does to the spectrum; filters: the pasted "
                                   "difference under each filter of the plan (same params for all); recon: bands "
                                   "of a DRAEM checkpoint's reconstruction error (FAIR's frequency bias).")
    p.add_argument("phase", choices=("phase1", "cutpaste", "filters", "recon"))
    p.add_argument("--data", required=True, metavar="ROOT", help="HDMAP root with domain_X folders")
    p.add_argument("--domains", nargs="+", default=["A", "B", "C", "D"], metavar="D", help="(default: A B C D)")
    p.add_argument("--out", default="fastfreq_out/eda", metavar="DIR", help="output folder (default: %(default)s)")
    p.add_argument("--checkpoint", metavar="PATH", help="DRAEM checkpoint (phase recon)")
    p.add_argument("--seed", type=int, default=0, help="CutPaste seed (default: %(default)s)")
    p.set_defaults(func=cmd_eda)


# --------------------------------------------------------------- commands
def cmd_eda(args) -> int:
    from .eda_plots import run_phase

    kwargs = {}
    if args.phase == "recon":
        if not args.checkpoint:
            raise ValueError("phase recon needs --checkpoint PATH")
        kwargs["checkpoint"] = args.checkpoint
    elif args.phase in ("cutpaste", "filters"):
        kwargs["seed"] = args.seed
    res, paths = run_phase(args.phase, args.data, args.out, domains=args.domains, **kwargs)
    for line in res.notes:
        print(line)
    print(f"wrote {len(paths)} files to {args.out}: " + ", ".join(p.name for p in paths))
    return 0


def _make_filter(shape, mode, cutoff, order):
    from .filters import FrequencyFilter

    return None if shape == "none" else FrequencyFilter(shape, mode, cutoff, order)


def build_augment(args):
    """The ScaledCutPaste described by the train options."""
    from .cutpaste import ScaledCutPaste

    patch = _make_filter(args.patch_filter, args.filter_mode, args.cutoff, args.order)
    image = _make_filter(args.image_filter, args.image_filter_mode or args.filter_mode,
                         args.cutoff if args.image_cutoff is None else args.image_cutoff,
                         args.order if args.image_order is None else args.image_order)
    return ScaledCutPaste(cut_h=tuple(args.cut_h), cut_w=tuple(args.cut_w), amplitude=tuple(args.amplitude),
                          probability=args.probability, normalize=not args.no_normalize,
                          patch_filter=patch, image_filter=image, seed=args.seed)


def cmd_synth(args) -> int:
    from .data import make_synthetic_hdmap

    root = make_synthetic_hdmap(args.out, domains=tuple(args.domains), n_train=args.n_train,
                                n_test_good=args.n_test_good, n_test_fault=args.n_test_fault,
                                size=tuple(args.size), seed=args.seed)
    print(f"wrote synthetic HDMAP ({', '.join(args.domains)}) to {root}")
    return 0


def cmd_train(args) -> int:
    from .data import HDMAPDataset
    from .demo import TRAIN
    from .train import augment_to_dict, save_checkpoint, train_draem

    augment = build_augment(args)  # option errors before any data is read
    dataset = HDMAPDataset(args.data, args.domain, "train").preload()
    length = {"epochs": args.epochs} if args.epochs else {"steps": args.steps or TRAIN["steps"]}
    model_kwargs = dict(in_channels=1, recon_width=args.recon_width, disc_width=args.disc_width, depth=args.depth)
    train_cfg = dict(batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay, seed=args.seed,
                     num_workers=args.num_workers, **length)
    model, history = train_draem(dataset, augment, model_kwargs=model_kwargs, progress=not args.quiet, **train_cfg)
    out = pathlib.Path(args.out)
    domain = dataset.domain.removeprefix("domain_")
    config = {"augment": augment_to_dict(augment), "image_filter": history["image_filter"],
              "mean_filter": args.mean_filter, "train": train_cfg, "domain": domain, "data": str(args.data)}
    ckpt = save_checkpoint(out / f"draem_{domain}.pt", model, config)
    (out / f"history_{domain}.json").write_text(json.dumps(history, indent=1))
    print(f"trained DRAEM on {len(dataset)} images: {history['steps']} steps in {history['train_s']:.1f} s, "
          f"final loss {history['loss'][-1]:.4f}, collate share of a step {100 * history['collate_fraction']:.1f}%")
    print(f"checkpoint: {ckpt}")
    return 0


def cmd_eval(args) -> int:
    from .cli_wepadim import cmd_eval_detector, is_detector_file
    from .data import HDMAPDataset
    from .train import evaluate, filter_from_dict, load_checkpoint

    if is_detector_file(args.checkpoint):
        return cmd_eval_detector(args)
    if not args.domain:
        raise CLIError("--domain is required for a DRAEM checkpoint")
    model, config = load_checkpoint(args.checkpoint)
    dataset = HDMAPDataset(args.data, args.domain, "test", channels=config["model"]["in_channels"])
    mean_filter = args.mean_filter or config.get("mean_filter")
    out = pathlib.Path(args.out) if args.out else pathlib.Path(args.checkpoint).parent
    domain = dataset.domain.removeprefix("domain_")
    result = evaluate(model, dataset, batch_size=args.batch_size, mean_filter=mean_filter,
                      image_filter=filter_from_dict(config.get("image_filter")), csv_path=out / f"scores_{domain}.csv")
    auroc = "n/a (one class only)" if result["image_auroc"] is None else f"{result['image_auroc']:.4f}"
    print(f"domain {domain}: {len(dataset)} test images, image AUROC {auroc}")
    if result["pixel_auroc"] is not None:
        print(f"pixel AUROC {result['pixel_auroc']:.4f}")
    print(f"scores: {result['csv']}")
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    run_demo(args.out, quick=args.quick, seed=args.seed, progress=not args.quiet)
    return 0


# ------------------------------------------------------------------- main
def main(argv=None) -> int:
    """Entry point of the ``fastfreq`` console script; returns 0 or exits with code 2 on bad input."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError, FloatingPointError) as e:
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    sys.exit(main())
