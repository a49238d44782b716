"""fastfreq: frequency-aware synthetic anomalies and wavelet features, fast on CPU and GPU.

Main entry points: ``FrequencyFilter`` and ``RadialWeight`` (radial 2-D
filters), ``ScaledCutPaste`` (batched frequency-filtered Scaled CutPaste) and
``FreqCutPaste`` (the same as a torch module),
``FreqCutPasteCollate`` (a DataLoader collate_fn), ``band_energy``, and the
batched wavelet transforms ``dwt2`` / ``idwt2`` / ``WaveletFeatures``.
The package map is docs/architecture.md.
"""
from .analysis import BAND_NAMES, band_energy
from .augment import AugmentedBatch, CutPasteParams, FreqCutPaste, FreqCutPasteCollate, ScaledCutPaste
from .filters import FrequencyFilter, RadialWeight, radial_frequency
from .wavelets import WaveletFeatures, dwt2, idwt2

__version__ = "0.1.0"

__all__ = [
    "AugmentedBatch", "BAND_NAMES", "CutPasteParams", "FreqCutPaste", "FreqCutPasteCollate", "FrequencyFilter",
    "RadialWeight", "ScaledCutPaste", "WaveletFeatures", "band_energy", "dwt2", "idwt2", "radial_frequency",
]
