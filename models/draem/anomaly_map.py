"""Turn DRAEM logits into an anomaly map and an image score."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def anomaly_map_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Softmax probability of the anomalous class: (B, 2, H, W) -> (B, 1, H, W)."""
    return torch.softmax(logits, dim=1)[:, 1:2]


def effective_kernel(size: int | None, height: int, width: int) -> int:
    """Clip the box size to the map (<= min(H, W)) and keep it odd; 1 means no filter."""
    if not size or size <= 1:
        return 1
    k = min(int(size), height, width)
    return k if k % 2 == 1 else k - 1


def mean_filter(anomaly_map: torch.Tensor, size: int | None) -> torch.Tensor:
    """k x k box filter, same size output, zero padding counted in the mean (as DRAEM)."""
    k = effective_kernel(size, *anomaly_map.shape[-2:])
    if k == 1:
        return anomaly_map
    return F.avg_pool2d(anomaly_map, k, stride=1, padding=k // 2, count_include_pad=True)


def image_score(anomaly_map: torch.Tensor, mean_filter_size: int | None = 21) -> torch.Tensor:
    """Image score: max of the (optionally box-filtered) map, shape (B,)."""
    return mean_filter(anomaly_map, mean_filter_size).flatten(1).amax(dim=1)
