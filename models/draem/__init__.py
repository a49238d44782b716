"""DRAEM (Zavrtanik et al. 2021) with configurable widths."""
from .anomaly_map import anomaly_map_from_logits, image_score, mean_filter
from .checkpoint import load_checkpoint, load_train_state, save_checkpoint
from .loss import DraemLoss, FocalLoss, gaussian_window, ssim
from .model import DRAEM
from .network import DiscriminativeSubNetwork, ReconstructiveSubNetwork

__all__ = [
    "DRAEM",
    "DraemLoss",
    "FocalLoss",
    "ssim",
    "gaussian_window",
    "ReconstructiveSubNetwork",
    "DiscriminativeSubNetwork",
    "anomaly_map_from_logits",
    "mean_filter",
    "image_score",
    "load_checkpoint",
    "load_train_state",
    "save_checkpoint",
]
