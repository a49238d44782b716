"""Named backbones: the registry, torchvision / timm ResNets, and ``load_backbone``."""
from __future__ import annotations

import glob
import os
from typing import Optional

import torch
from torch import nn

from .efficientnet_lite0 import LITE0_TAPS, efficientnet_lite0
from .extractor import Backbone, layer_list
from .weights import check_weights_arg, read_state_dict, warn_random

_RESNET_TAPS = {"layer1": "layer1", "layer2": "layer2", "layer3": "layer3", "layer4": "layer4"}

#: Supported backbone names -> default layer taps.
BACKBONES = {
    "efficientnet-lite0": ("stage3", "stage4", "stage5", "stage6"),
    "resnet18": ("layer1", "layer2", "layer3"),
    "wide_resnet50_2": ("layer1", "layer2", "layer3"),
}
_AVAILABLE_TAPS = {
    "efficientnet-lite0": tuple(LITE0_TAPS),
    "resnet18": tuple(_RESNET_TAPS),
    "wide_resnet50_2": tuple(_RESNET_TAPS),
}
# File names torchvision's IMAGENET1K_V1 weights get in the torch hub cache.
_HUB_FILES = {
    "resnet18": ("resnet18-f37072fd.pth", "resnet18-5c106cde.pth"),
    "wide_resnet50_2": ("wide_resnet50_2-95faca4d.pth", "wide_resnet50_2-9ba9bcbe.pth"),
}


def _build_resnet(name: str) -> nn.Module:
    try:
        import torchvision.models as tvm
    except ImportError:
        tvm = None
    if tvm is not None:
        ctor = getattr(tvm, name)
        try:
            return ctor(weights=None)
        except TypeError:                              # torchvision < 0.13
            return ctor(pretrained=False)
    try:
        import timm
    except ImportError:
        timm = None
    if timm is not None:
        return timm.create_model(name, pretrained=False)
    raise ImportError(
        f"backbone {name!r} needs torchvision or timm to build the architecture, and neither is "
        "importable: pip install torchvision (the build matching your torch) or pip install timm; "
        "'efficientnet-lite0' works without either.")


def _hub_weights(name: str) -> str:
    ckpt_dir = os.path.join(torch.hub.get_dir(), "checkpoints")
    for fname in _HUB_FILES[name]:
        path = os.path.join(ckpt_dir, fname)
        if os.path.isfile(path):
            return path
    found = sorted(glob.glob(os.path.join(ckpt_dir, f"{name}-*.pth")))
    if found:
        return found[0]
    raise FileNotFoundError(
        f"weights='default' for {name!r}: no ImageNet weights in the torch hub cache {ckpt_dir} "
        f"(looked for {', '.join(_HUB_FILES[name])}). Nothing is downloaded: pass "
        f"weights=PATH to a local state-dict file (e.g. torchvision's {_HUB_FILES[name][0]}).")


def load_backbone(name: Optional[str] = None, layers=None, weights="default", device="cpu",
                  module: Optional[nn.Module] = None) -> Backbone:
    """Build a frozen, truncated feature extractor.

    Parameters
    ----------
    name : one of :data:`BACKBONES` (default ``"efficientnet-lite0"``); with
        ``module=`` it is only the label of the backbone (default ``"custom"``).
    layers : tap names (default ``BACKBONES[name]``); any subset, any order --
        maps are returned in the order given here.  Lite0 taps: ``stage1`` ..
        ``stage7``; ResNets: ``layer1`` .. ``layer4``; with ``module=``: dotted
        submodule names (required).
    weights : ``"default"`` -- Lite0: the packaged ImageNet weights; ResNets:
        torchvision's ImageNet file from the torch hub cache (never downloaded);
        ``module=``: keep the module's parameters.  A path (or state dict) loads
        that state dict (strict).  ``None`` -- random init (warns); with
        ``module=``, ``None`` also keeps the module's parameters as they are.
    device : where the backbone lives.
    module : any ``nn.Module`` to tap instead of a named backbone.
    """
    check_weights_arg(weights)
    if module is not None:
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        if layers is None:
            raise ValueError("layers is required with module=: give the dotted submodule names to tap")
        if weights is not None and not (isinstance(weights, str) and weights == "default"):
            module.load_state_dict(read_state_dict(weights), strict=True)
        return Backbone.from_module(module.to(device), layers, name=name or "custom")

    name = "efficientnet-lite0" if name is None else name
    if name not in BACKBONES:
        raise ValueError(f"name: unknown backbone {name!r}; allowed values: {sorted(BACKBONES)} "
                         "(or pass module=<nn.Module> with layers=[...])")
    layers = list(BACKBONES[name]) if layers is None else layer_list(layers)
    allowed = _AVAILABLE_TAPS[name]
    bad = [l for l in layers if l not in allowed]
    if bad:
        raise ValueError(f"layers: unknown tap(s) {bad} for {name!r}; allowed values: {list(allowed)}")

    if name == "efficientnet-lite0":
        model = efficientnet_lite0(weights=weights, device=device)
        taps = {l: LITE0_TAPS[l][0] for l in layers}
    else:
        model = _build_resnet(name)
        if weights is None:
            warn_random(name)
        else:
            src = _hub_weights(name) if isinstance(weights, str) and weights == "default" else weights
            model.load_state_dict(read_state_dict(src), strict=True)
        model = model.to(device)
        taps = {l: _RESNET_TAPS[l] for l in layers}
    return Backbone(model, taps, name=name)
