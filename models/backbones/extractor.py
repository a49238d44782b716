"""``Backbone``: a frozen CNN whose chosen submodules ("taps") are read by forward hooks.

The forward pass stops as soon as every tap has been produced, so later
layers and the classifier head never run.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Optional, Union

import torch
from torch import nn


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
        layers = layer_list(layers, "layers")
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


def layer_list(layers, argname="layers") -> list:
    """A non-empty list of distinct layer names (one name may be given as a string)."""
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
