"""Batched 2-D wavelet transforms with PyWavelets' conventions (``dwt``) and WE-PaDiM's
subband features of backbone layers (``features``)."""
from .dwt import MODES, WAVELETS, coeff_shapes, dwt2, dwt2_max_level, get_wavelet, idwt2
from .features import SUBBAND_NAMES, WaveletFeatures, check_subbands

__all__ = ["MODES", "SUBBAND_NAMES", "WAVELETS", "WaveletFeatures", "check_subbands", "coeff_shapes", "dwt2",
           "dwt2_max_level", "get_wavelet", "idwt2"]
