"""Frequency-filtered Scaled CutPaste: host-side sampling (``params``), the batched augmentation
(``cutpaste``), the DataLoader collate (``collate``), the torch module (``module``), plain-data
settings (``config``) and shared presets (``presets``)."""
from .collate import FreqCutPasteCollate
from .cutpaste import AugmentedBatch, ScaledCutPaste
from .module import FreqCutPaste
from .params import CutPasteParams, sample_params

__all__ = ["AugmentedBatch", "CutPasteParams", "FreqCutPaste", "FreqCutPasteCollate", "ScaledCutPaste",
           "sample_params"]
