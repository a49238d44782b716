"""DRAEM losses: SSIM, focal loss, and their weighted sum."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def gaussian_window(size: int, sigma: float = 1.5, dtype=torch.float32, device=None) -> torch.Tensor:
    """Normalised 2-D Gaussian window (size x size, sums to 1)."""
    coords = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(
    x: torch.Tensor,
    y: torch.Tensor,
    window_size: int = 11,
    data_range: float = 1.0,
    sigma: float = 1.5,
) -> torch.Tensor:
    """Mean SSIM of two (B, C, H, W) batches, per channel, 'valid' windows.

    C1 = (0.01 L)^2, C2 = (0.03 L)^2 with L = ``data_range``. A window larger
    than the image is clipped to min(H, W), kept odd.
    """
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.dim() != 4:
        raise ValueError(f"expected (B, C, H, W) inputs, got {x.dim()} dims")
    channels = x.shape[1]
    size = min(window_size, *x.shape[-2:])
    size = size if size % 2 == 1 else size - 1
    window = gaussian_window(size, sigma, x.dtype, x.device).expand(channels, 1, size, size)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, window, groups=channels)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    num = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    den = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    return (num / den).mean()


class FocalLoss(nn.Module):
    """Focal loss -alpha_t (1 - p_t)^gamma log p_t over class logits.

    ``logits``: (B, C, H, W); ``target``: (B, 1, H, W) or (B, H, W) class ids
    (a 0/1 mask for DRAEM). ``alpha``: None (no weighting), a float (weight of
    class 1; class 0 gets 1 - alpha) or one weight per class.
    """

    def __init__(self, gamma: float = 2.0, alpha: float | Sequence[float] | None = None, reduction: str = "mean"):
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.gamma = gamma
        self.alpha = alpha
        self.reduction = reduction

    def _alpha_t(self, target: torch.Tensor, num_classes: int, like: torch.Tensor) -> torch.Tensor | None:
        if self.alpha is None:
            return None
        if isinstance(self.alpha, (int, float)):
            weights = [1.0 - self.alpha, float(self.alpha)]
        else:
            weights = list(self.alpha)
        if len(weights) != num_classes:
            raise ValueError(f"alpha has {len(weights)} weights for {num_classes} classes")
        return torch.tensor(weights, dtype=like.dtype, device=like.device)[target]

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if target.dim() == logits.dim():
            target = target[:, 0]
        target = target.long()
        log_pt = F.log_softmax(logits, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
        loss = -((1 - log_pt.exp()) ** self.gamma) * log_pt
        alpha_t = self._alpha_t(target, logits.shape[1], loss)
        if alpha_t is not None:
            loss = alpha_t * loss
        if self.reduction == "mean":
            return loss.mean()
        if self.reduction == "sum":
            return loss.sum()
        return loss


class DraemLoss(nn.Module):
    """L2 + SSIM loss on the reconstruction, focal loss on the segmentation.

    ``forward`` returns ``(total, parts)``; ``parts`` holds the *weighted*
    terms ``l2``, ``ssim`` and ``focal``, so they sum to ``total``.
    """

    def __init__(
        self,
        l2_weight: float = 1.0,
        ssim_weight: float = 1.0,
        focal_weight: float = 1.0,
        gamma: float = 2.0,
        alpha: float | Sequence[float] | None = None,
        window_size: int = 11,
        data_range: float = 1.0,
    ):
        super().__init__()
        self.l2_weight, self.ssim_weight, self.focal_weight = l2_weight, ssim_weight, focal_weight
        self.window_size, self.data_range = window_size, data_range
        self.focal = FocalLoss(gamma=gamma, alpha=alpha)

    def forward(
        self,
        original: torch.Tensor,
        reconstruction: torch.Tensor,
        mask: torch.Tensor,
        logits: torch.Tensor,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``original``: clean image the reconstruction should match; ``mask``: 0/1 anomaly mask."""
        parts = {
            "l2": self.l2_weight * F.mse_loss(reconstruction, original),
            "ssim": self.ssim_weight * (1 - ssim(reconstruction, original, self.window_size, self.data_range)),
            "focal": self.focal_weight * self.focal(logits, mask),
        }
        return sum(parts.values()), parts
