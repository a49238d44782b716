"""fastfreq: frequency-aware synthetic anomalies and wavelet features, fast on CPU and GPU.

Main entry points: ``FrequencyFilter`` and ``RadialWeight`` (radial 2-D
filters), ``ScaledCutPaste`` (batched frequency-filtered Scaled CutPaste),
``FreqCutPasteCollate`` (a DataLoader collate_fn) and ``band_energy``.
"""
from .analysis import BAND_NAMES, band_energy
from .collate import FreqCutPasteCollate
from .cutpaste import AugmentedBatch, ScaledCutPaste
from .filters import FrequencyFilter, RadialWeight, radial_frequency
from .params import CutPasteParams

__version__ = "0.1.0"

__all__ = [
    "AugmentedBatch", "BAND_NAMES", "CutPasteParams", "FreqCutPasteCollate", "FrequencyFilter",
    "RadialWeight", "ScaledCutPaste", "band_energy", "radial_frequency",
]
