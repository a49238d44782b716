"""DRAEM checkpoints: ``{"state_dict", "config"}`` files, written atomically, loaded with weights_only.

A checkpoint written during training also holds ``"train_state"``: the step,
the optimiser's and the scheduler's state dicts and the torch RNG state, all
loadable with ``weights_only=True``; ``load_train_state`` returns it (None for
checkpoints written without it, which still load as models).
"""
from __future__ import annotations

import os

import torch

from fastfreq._files import save_torch

from .model import DRAEM


def save_checkpoint(path, model: DRAEM, config: dict | None = None, train_state: dict | None = None) -> str:
    """Write ``{"state_dict", "config"}``; ``config["model"]`` is set to ``model.config``.

    ``config`` is plain data (JSON-like): what else a caller needs to use the model again
    (e.g. the augmentation and image filter it was trained with). ``train_state``
    (optional; tensors, numbers, lists and dicts only) is stored beside them for
    resuming training.
    """
    config = dict(config or {})
    config["model"] = dict(model.config)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    data = {"state_dict": state, "config": config}
    if train_state is not None:
        data["train_state"] = train_state
    return save_torch(data, path)


def load_train_state(path) -> dict | None:
    """The ``"train_state"`` of a checkpoint (on the CPU), or None when it was saved without one."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # not a checkpoint / corrupt
        raise ValueError(f"cannot read checkpoint {path}: {e}") from e
    if not isinstance(data, dict) or "state_dict" not in data:
        raise ValueError(f"{path} is not a fastfreq DRAEM checkpoint")
    return data.get("train_state")


def load_checkpoint(path, device="cpu") -> tuple[DRAEM, dict]:
    """Rebuild the model (in eval mode) and return ``(model, config)``."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        data = torch.load(path, map_location=device, weights_only=True)
    except Exception as e:  # not a checkpoint / corrupt
        raise ValueError(f"cannot read checkpoint {path}: {e}") from e
    if not isinstance(data, dict) or "state_dict" not in data or "model" not in data.get("config", {}):
        raise ValueError(f"{path} is not a fastfreq DRAEM checkpoint")
    model = DRAEM(**data["config"]["model"])
    model.load_state_dict(data["state_dict"])
    return model.to(device).eval(), data["config"]
