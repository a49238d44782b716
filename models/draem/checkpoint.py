"""DRAEM checkpoints: ``{"state_dict", "config"}`` files, written atomically, loaded with weights_only."""
from __future__ import annotations

import os

import torch

from fastfreq._files import save_torch

from .model import DRAEM


def save_checkpoint(path, model: DRAEM, config: dict | None = None) -> str:
    """Write ``{"state_dict", "config"}``; ``config["model"]`` is set to ``model.config``.

    ``config`` is plain data (JSON-like): what else a caller needs to use the model again
    (e.g. the augmentation and image filter it was trained with).
    """
    config = dict(config or {})
    config["model"] = dict(model.config)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return save_torch({"state_dict": state, "config": config}, path)


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
