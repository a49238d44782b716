"""Reading and checking backbone weights: state-dict files or mappings, never a download."""
from __future__ import annotations

import os
import warnings
from collections.abc import Mapping

import torch


def read_state_dict(weights) -> Mapping:
    if isinstance(weights, Mapping):
        sd = weights
    else:
        path = os.fspath(weights)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"weights: no such file {path!r}")
        sd = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):            # common checkpoint wrappers
        if isinstance(sd, Mapping) and key in sd and isinstance(sd[key], Mapping):
            sd = sd[key]
    if not isinstance(sd, Mapping):
        raise ValueError(f"weights: expected a state dict, got {type(sd).__name__}")
    return sd


def check_weights_arg(weights):
    if weights is None or (isinstance(weights, str) and weights == "default"):
        return
    if isinstance(weights, (str, os.PathLike, Mapping)):
        return
    raise TypeError("weights must be 'default', None, a path to a state-dict file or a state dict; "
                    f"got {type(weights).__name__}")


def warn_random(name):
    warnings.warn(f"{name}: weights=None -> random initialisation; features are NOT pretrained "
                  "and are useless for anomaly detection except for testing.", UserWarning, stacklevel=3)
