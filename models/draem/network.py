"""DRAEM sub-networks: a reconstructive encoder-decoder and a discriminative U-Net.

Both accept any input height and width: the input is padded (replicate) up to a
multiple of ``2 ** depth`` and the output is cropped back, so every pooled map
lines up with its skip and the output has the input's spatial size.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 convolution, batch norm, ReLU (the building brick of both networks)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def double_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two conv-BN-ReLU bricks."""
    return nn.Sequential(conv_bn_relu(in_channels, out_channels), conv_bn_relu(out_channels, out_channels))


def up_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Bilinear x2 upsampling followed by one conv-BN-ReLU."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
        conv_bn_relu(in_channels, out_channels),
    )


def level_widths(base_width: int, depth: int) -> list[int]:
    """Channels per resolution level: base * (1, 2, 4, 8, 8, ...) as in DRAEM."""
    return [base_width * min(2**i, 8) for i in range(depth + 1)]


def decoder_widths(widths: list[int]) -> list[int]:
    """Decoder output channels per level: one level narrower than the encoder
    (level l gives widths[l - 1], level 0 gives widths[0]), as in DRAEM."""
    return [widths[max(level - 1, 0)] for level in range(len(widths) - 1)]


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad bottom/right (replicate) so H and W are multiples of ``multiple``."""
    h, w = x.shape[-2:]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    return x, (h, w)


def encoder_blocks(in_channels: int, widths: list) -> nn.ModuleList:
    """One double conv block per level (widths[0..depth]); the caller pools between levels."""
    return nn.ModuleList([double_block(in_channels, widths[0])]
                         + [double_block(widths[i - 1], widths[i]) for i in range(1, len(widths))])


class ReconstructiveSubNetwork(nn.Module):
    """Encoder-decoder without skip connections that reconstructs a clean image."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, base_width: int = 128, depth: int = 4):
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.depth = depth
        widths = level_widths(base_width, depth)
        self.encoder = encoder_blocks(in_channels, widths)  # max-pool between levels
        self.pool = nn.MaxPool2d(2)
        # Decoder, deepest level first: upsample (same width), then narrow. No skips.
        dec = decoder_widths(widths)
        ins = [widths[depth]] + [dec[level + 1] for level in range(depth - 2, -1, -1)]
        outs = [dec[level] for level in range(depth - 1, -1, -1)]
        self.ups = nn.ModuleList([up_block(c, c) for c in ins])
        self.decoder = nn.ModuleList([double_block(c_in, c_out) for c_in, c_out in zip(ins, outs)])
        self.head = nn.Conv2d(dec[0], out_channels, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, (h, w) = pad_to_multiple(x, 2**self.depth)
        for i, block in enumerate(self.encoder):
            x = block(x if i == 0 else self.pool(x))
        for up, block in zip(self.ups, self.decoder):
            x = block(up(x))
        return self.head(x)[..., :h, :w]


class DiscriminativeSubNetwork(nn.Module):
    """U-Net that segments anomalies from concat(input, reconstruction)."""

    def __init__(self, in_channels: int = 6, out_channels: int = 2, base_width: int = 64, depth: int = 5):
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.depth = depth
        widths = level_widths(base_width, depth)
        self.encoder = encoder_blocks(in_channels, widths)
        self.pool = nn.MaxPool2d(2)
        # Decoder, deepest level first: upsample and narrow, concat the skip, fuse.
        dec = decoder_widths(widths)
        ins = [widths[depth]] + [dec[level + 1] for level in range(depth - 2, -1, -1)]
        levels = range(depth - 1, -1, -1)
        self.ups = nn.ModuleList([up_block(c, dec[level]) for c, level in zip(ins, levels)])
        self.decoder = nn.ModuleList([double_block(dec[level] + widths[level], dec[level]) for level in levels])
        self.head = nn.Conv2d(dec[0], out_channels, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, (h, w) = pad_to_multiple(x, 2**self.depth)
        skips = []
        for i, block in enumerate(self.encoder):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        skips.pop()  # the bottleneck is not a skip
        for up, block in zip(self.ups, self.decoder):
            x = block(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)[..., :h, :w]
