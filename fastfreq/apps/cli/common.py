"""What every CLI command shares: argparse value types and the error for bad option combinations."""
from __future__ import annotations

import argparse

PROG = "fastfreq"


class CLIError(ValueError):
    """A bad combination of options found after parsing."""


def number(cast, minimum, description):
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


positive_int = number(int, 1, "a positive integer")
nonneg_int = number(int, 0, "an integer >= 0")
nonneg_float = number(float, 0.0, "a finite number >= 0")


def fmt_metric(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


# The keys of fastfreq.metrics.METRIC_NAMES with their printed names (kept here: the CLI's --help loads no sklearn).
METRIC_LABELS = (("image_auroc", "image AUROC"), ("image_f1_max", "F1-max"), ("image_ap", "AP"),
                 ("pixel_auroc", "pixel AUROC"), ("pixel_ap", "pixel AP"), ("pro", "PRO"))


def format_metrics(result: dict) -> str:
    """Two lines: the image metrics, then the pixel metrics ("n/a" where a metric is None)."""
    parts = [f"{label} {fmt_metric(result.get(key))}" for key, label in METRIC_LABELS]
    return "  ".join(parts[:3]) + "\n" + "  ".join(parts[3:])


def metrics_record(result: dict) -> dict:
    """The metric values of a result, by their METRIC_NAMES keys (for metrics JSON files)."""
    return {key: result.get(key) for key, _ in METRIC_LABELS}


def add_pro_options(p) -> None:
    p.add_argument("--no-pro", action="store_true", help="skip PRO (computed by default, exact)")
    p.add_argument("--pro", action="store_true",
                   help="no effect: PRO is computed by default now (kept for older command lines)")


def add_missing_masks_option(p) -> None:
    p.add_argument("--missing-masks", choices=("error", "zeros"), default="error",
                   help="a defect image without a mask under ground_truth/: 'error' (default) or 'zeros' (an "
                        "all-zero mask)")
