"""The ``fastfreq`` command line: synth-hdmap, synth-textures, train draem|wepadim|padim, eval, grid, demo, eda.

One module per command group; each adds its parser and imports its work only
when the command runs, so ``fastfreq --help`` loads no training, plotting or
scikit-learn code. Bad values end with an argparse-style one-line message and
exit code 2.
"""
from __future__ import annotations

import argparse
import sys

from . import data, demo, detectors, draem, eda
from .common import PROG, CLIError, add_missing_masks_option, add_pro_options, positive_int

__all__ = ["CLIError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Frequency-aware Scaled CutPaste for anomaly detection. "
                               "Start with `fastfreq demo`.")
    from ... import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    data.add_synth_hdmap(sub)
    data.add_synth_textures(sub)
    train = sub.add_parser("train", help="train DRAEM (HDMAP or MVTec-style, Scaled CutPaste) or fit WE-PaDiM / PaDiM (MVTec-style)",
                           description="Train a model. Models: draem, wepadim, padim.")
    models = train.add_subparsers(dest="model", metavar="MODEL", required=True)
    draem.add_train_draem(models)
    detectors.add_train_detectors(models)
    _add_eval(sub)
    detectors.add_grid(sub)
    demo.add_demo(sub)
    eda.add_eda(sub)
    return parser


def _add_eval(sub):
    p = sub.add_parser("eval", help="score a test split with a trained checkpoint / fitted model",
                       description="Evaluate a DRAEM checkpoint on <ROOT>/domain_<X>/test (--domain) or "
                                   "<ROOT>/<X>/test (--category), or a WE-PaDiM / PaDiM model on "
                                   "<ROOT>/<X>/test (--category); writes <OUT>/scores_<X>.csv and "
                                   "<OUT>/metrics_<X>.json (image AUROC, F1-max, AP; pixel AUROC, AP, PRO).")
    p.add_argument("--checkpoint", required=True, metavar="PATH", help="file written by `train`")
    p.add_argument("--data", required=True, metavar="ROOT", help="HDMAP root (DRAEM) or MVTec-style root")
    p.add_argument("--domain", metavar="X", help="HDMAP domain, e.g. A (DRAEM checkpoints)")
    p.add_argument("--category", metavar="X", help="category folder (DRAEM checkpoints, WE-PaDiM / PaDiM models)")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default: the checkpoint's folder)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="(default: %(default)s)")
    p.add_argument("--mean-filter", type=positive_int, default=None,
                   help="DRAEM: box size of the image score (default: from the checkpoint)")
    add_pro_options(p)
    add_missing_masks_option(p)
    p.set_defaults(func=cmd_eval)


def cmd_eval(args) -> int:
    """DRAEM checkpoints score an HDMAP domain or a category folder, WE-PaDiM / PaDiM models a category."""
    if detectors.is_detector_file(args.checkpoint):
        return detectors.cmd_eval_detector(args)
    return draem.cmd_eval_draem(args)


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
