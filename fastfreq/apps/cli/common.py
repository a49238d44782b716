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
