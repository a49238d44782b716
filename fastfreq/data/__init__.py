"""Data: datasets for HDMAP TIFFs and MVTec-style folders (``datasets``), the synthetic HDMAP
generator (``hdmap``) and synthetic MVTec-style textures with defect masks (``textures``)."""
from .datasets import FolderDataset, HDMAPDataset
from .hdmap import FAULT_KINDS, make_synthetic_hdmap

__all__ = ["FAULT_KINDS", "FolderDataset", "HDMAPDataset", "make_synthetic_hdmap"]
