"""Argument checks and input conversion shared by the whole package: clear errors before any kernel runs."""
from __future__ import annotations

import numbers

import numpy as np
import torch

FLOAT_DTYPES = (torch.float32, torch.float64)


def as_float_tensor(x, name: str = "x") -> tuple:
    """(tensor view, was_numpy) for a float32/float64 tensor or array with >= 2 dims and an element.

    A NumPy array with negative strides is copied first (torch cannot view it).
    """
    was_numpy = isinstance(x, np.ndarray)
    if was_numpy and any(st < 0 for st in x.strides):
        x = np.ascontiguousarray(x)
    t = torch.from_numpy(x) if was_numpy else x
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy.ndarray, got {type(x).__name__}")
    if t.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got {t.dtype}")
    if t.ndim < 2 or t.numel() == 0:
        raise ValueError(f"{name} must have shape (..., H, W) with at least one element, got {tuple(t.shape)}")
    return t, was_numpy


def check_images(x, name: str = "images", ndim: int = 4, finite: bool = True) -> torch.Tensor:
    """Validate a float32/float64 torch tensor (or NumPy array) of ``ndim`` dims; return a tensor."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy.ndarray, got {type(x).__name__}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got {x.dtype}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions (B, C, H, W), got shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    if finite and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or Inf values")
    return x


def check_int_range(name: str, value, low: int = 1) -> tuple[int, int]:
    """An inclusive ``(min, max)`` integer range with ``low <= min <= max``."""
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise ValueError(f"{name} must be an inclusive (min, max) pair of integers, got {value!r}")
    lo, hi = value
    for v in (lo, hi):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{name} must contain integers, got {value!r}")
    if lo < low or hi < lo:
        raise ValueError(f"{name} must satisfy {low} <= min <= max, got {value!r}")
    return int(lo), int(hi)


def check_float_range(name: str, value, low: float = 0.0, high: float = np.inf,
                      open_low: bool = False) -> tuple[float, float]:
    """A ``(min, max)`` float range inside ``[low, high]`` (``(low, high]`` if open_low)."""
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise ValueError(f"{name} must be a (min, max) pair of numbers, got {value!r}")
    lo, hi = value
    for v in (lo, hi):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v):
            raise ValueError(f"{name} must contain finite numbers, got {value!r}")
    bad_low = lo <= low if open_low else lo < low
    if bad_low or hi > high or hi < lo:
        bracket = "(" if open_low else "["
        raise ValueError(f"{name} must satisfy min <= max within {bracket}{low}, {high}], got {value!r}")
    return float(lo), float(hi)


def check_float(name: str, value, low: float = 0.0, open_low: bool = False) -> float:
    """A finite number >= low (> low if open_low)."""
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and np.isfinite(value)
    if not ok or (value <= low if open_low else value < low):
        raise ValueError(f"{name} must be a finite number {'>' if open_low else '>='} {low}, got {value!r}")
    return float(value)


def check_probability(name: str, p) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {p!r}")
    return float(p)


def check_choice(name: str, value, choices) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_int(name: str, value, low: int | None = None, high: int | None = None) -> int:
    """An integer (not bool) within ``[low, high]`` (either bound optional)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {value!r}")
    return int(value)


def check_positive_int(name: str, value, allow_none: bool = False):
    """A positive integer (not bool), or None when ``allow_none``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_clip(clip):
    """None, or ``clip`` as a ``(low, high)`` tuple of finite floats with low < high."""
    if clip is None:
        return None
    ok = (isinstance(clip, (tuple, list)) and len(clip) == 2
          and all(isinstance(c, numbers.Real) and not isinstance(c, bool) and np.isfinite(c) for c in clip)
          and clip[0] < clip[1])
    if not ok:
        raise ValueError(f"clip must be None or a (low, high) pair of finite numbers with low < high, got {clip!r}")
    return (float(clip[0]), float(clip[1]))
