"""DRAEM: reconstructive + discriminative sub-networks with configurable widths."""
from __future__ import annotations

import torch
from torch import nn

from .anomaly_map import anomaly_map_from_logits, image_score
from .network import DiscriminativeSubNetwork, ReconstructiveSubNetwork


class DRAEM(nn.Module):
    """DRAEM (Zavrtanik et al. 2021).

    The defaults are "thin" (widths 16, depth 4) so the model trains on a CPU
    on 31x95 maps; ``DRAEM.paper()`` gives the paper's widths. ``config`` holds
    the constructor arguments, so ``DRAEM(**m.config)`` rebuilds the model.
    """

    def __init__(
        self,
        in_channels: int = 1,
        recon_width: int = 16,
        disc_width: int = 16,
        depth: int = 4,
        disc_depth: int | None = None,
    ):
        super().__init__()
        disc_depth = depth if disc_depth is None else disc_depth
        self.config = dict(
            in_channels=in_channels,
            recon_width=recon_width,
            disc_width=disc_width,
            depth=depth,
            disc_depth=disc_depth,
        )
        self.reconstructive = ReconstructiveSubNetwork(in_channels, in_channels, recon_width, depth)
        self.discriminative = DiscriminativeSubNetwork(2 * in_channels, 2, disc_width, disc_depth)

    @classmethod
    def paper(cls, in_channels: int = 3) -> "DRAEM":
        """Paper widths: reconstructive 128 (4 poolings), discriminative 64 (5 poolings)."""
        return cls(in_channels=in_channels, recon_width=128, disc_width=64, depth=4, disc_depth=5)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (reconstruction, logits) with logits of shape (B, 2, H, W)."""
        reconstruction = self.reconstructive(x)
        logits = self.discriminative(torch.cat([x, reconstruction], dim=1))
        return reconstruction, logits

    def anomaly_map(self, x: torch.Tensor) -> torch.Tensor:
        """Anomaly probability per pixel, (B, 1, H, W)."""
        return anomaly_map_from_logits(self(x)[1])

    def score(self, x: torch.Tensor, mean_filter: int | None = 21) -> torch.Tensor:
        """Image score (B,): max of the mean-filtered anomaly map."""
        return image_score(self.anomaly_map(x), mean_filter)
