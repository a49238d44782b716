"""WE-PaDiM feature fusion: per-layer 2-D DWT subbands, resized and concatenated.

For every backbone layer (B, C_i, H_i, W_i): a J-level DWT (``fastfreq.dwt2``),
keep the level-J LL (if selected) and the selected detail bands of every
level J..1, each bilinearly resized to the level-J LL size, concatenated on
channels in the order LL, then for level J..1: LH, HL, HH (as selected).
Then every layer is resized (bilinear) to a common size and all layers are
concatenated on channels. Subband names: LH = pywt cH, HL = cV, HH = cD.
"""
from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F

from .._validate import FLOAT_DTYPES, check_choice, check_int
from .dwt import BACKENDS, WAVELETS, check_mode, coeff_shapes, dwt2, dwt2_max_level, get_wavelet

SUBBAND_NAMES = ("LL", "LH", "HL", "HH")
ALIGN_CHOICES = ("smallest", "largest", "first")
_DETAIL_INDEX = {"LH": 0, "HL": 1, "HH": 2}  # position in pywt's (cH, cV, cD)


def check_subbands(subbands) -> tuple:
    """A non-empty tuple of distinct names from SUBBAND_NAMES (one name may be given as a string)."""
    if isinstance(subbands, str):
        subbands = (subbands,)
    try:
        subbands = tuple(subbands)
    except TypeError:
        raise TypeError(f"subbands must be a sequence of names from {SUBBAND_NAMES}, got {subbands!r}") from None
    if not subbands:
        raise ValueError(f"subbands must not be empty: choose from {SUBBAND_NAMES}")
    unknown = [s for s in subbands if s not in SUBBAND_NAMES]
    if unknown:
        raise ValueError(f"unknown subband(s) {unknown}: choose from {SUBBAND_NAMES}")
    dupes = sorted({s for s in subbands if subbands.count(s) > 1})
    if dupes:
        raise ValueError(f"duplicate subband(s) {dupes} in {subbands}")
    return subbands


def _check_align(align):
    if isinstance(align, str):
        return check_choice("align", align, ALIGN_CHOICES)
    if (isinstance(align, (tuple, list)) and len(align) == 2
            and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in align)):
        return int(align[0]), int(align[1])
    raise ValueError(f"align must be one of {ALIGN_CHOICES} or an (h, w) pair of positive integers, got {align!r}")


class WaveletFeatures:
    """Wavelet subband features from several backbone layers (WE-PaDiM's DWT-before-concatenation).

    wavelet: a discrete pywt wavelet name (``fastfreq.wavelets.dwt.WAVELETS``); level:
    J >= 1, at most ``pywt.dwtn_max_level`` of every layer (``strict_level=False``
    allows more, as pywt does with a warning); subbands: a non-empty subset of
    ("LL", "LH", "HL", "HH") (LH = pywt cH, HL = cV, HH = cD); mode: a pywt
    boundary mode ("zero" as WE-PaDiM); align: "smallest" (the layer with the
    fewest output positions, the first on ties), "largest", "first", or an
    explicit (h, w); backend: as ``dwt2``.

    ``__call__(features)`` takes a list of (B, C_i, H_i, W_i) float tensors
    (same B, dtype and device) and returns (B, sum_i C_i * n_bands, h, w)
    with ``n_bands = [LL] + J * (selected detail bands)``. ``output_shape``
    and ``out_channels`` give the result's size without computing it.
    """

    def __init__(self, wavelet="haar", level: int = 1, subbands=("LL", "LH", "HL"), mode: str = "zero",
                 align="smallest", backend: str = "auto", strict_level: bool = True):
        self.wavelet = get_wavelet(wavelet)
        self.level = check_int("level", level, low=1)
        self.subbands = check_subbands(subbands)
        self.mode = check_mode(mode)
        self.align = _check_align(align)
        self.backend = check_choice("backend", backend, BACKENDS)
        self.strict_level = bool(strict_level)
        self._details = [s for s in ("LH", "HL", "HH") if s in self.subbands]

    def __repr__(self) -> str:
        return (f"WaveletFeatures(wavelet={self.wavelet.name!r}, level={self.level}, subbands={self.subbands}, "
                f"mode={self.mode!r}, align={self.align!r}, backend={self.backend!r})")

    # ------------------------------------------------------------------ sizes

    @property
    def bands_per_channel(self) -> int:
        """Output channels per input channel: [LL] + level * (selected detail bands)."""
        return int("LL" in self.subbands) + self.level * len(self._details)

    def out_channels(self, in_channels_list) -> int:
        """Channels of the output for layers with these channel counts."""
        chans = list(in_channels_list)
        if not chans:
            raise ValueError("in_channels_list must not be empty")
        for i, c in enumerate(chans):
            check_int(f"in_channels_list[{i}]", c, low=1)
        return sum(chans) * self.bands_per_channel

    def _check_levels(self, sizes) -> None:
        for i, (h, w) in enumerate(sizes):
            top = dwt2_max_level(h, w, self.wavelet)
            if self.level > top and self.strict_level:
                raise ValueError(
                    f"level {self.level} is too high for layer {i} of spatial size {h}x{w}: the maximum level "
                    f"for wavelet {self.wavelet.name!r} (filter length {self.wavelet.dec_len}) is {top} "
                    f"(pywt.dwtn_max_level); use a lower level, a shorter wavelet or strict_level=False")

    def _layer_size(self, h: int, w: int) -> tuple:
        return coeff_shapes(h, w, self.wavelet, self.level, self.mode)[-1]

    def _target(self, sizes) -> tuple:
        if not isinstance(self.align, str):
            return self.align
        if self.align == "first":
            return sizes[0]
        areas = [h * w for h, w in sizes]
        pick = areas.index(min(areas)) if self.align == "smallest" else areas.index(max(areas))
        return sizes[pick]

    def output_shape(self, layer_shapes) -> tuple:
        """(channels, h, w) of the output for layers of these shapes ((B, C, H, W) or (C, H, W)), no compute."""
        shapes = [tuple(int(v) for v in s) for s in layer_shapes]
        if not shapes:
            raise ValueError("layer_shapes must not be empty")
        for i, s in enumerate(shapes):
            if len(s) not in (3, 4) or min(s) < 1:
                raise ValueError(f"layer_shapes[{i}] must be (B, C, H, W) or (C, H, W) with positive sizes, got {s}")
        self._check_levels([s[-2:] for s in shapes])
        sizes = [self._layer_size(*s[-2:]) for s in shapes]
        h, w = self._target(sizes)
        return self.out_channels([s[-3] for s in shapes]), h, w

    # ------------------------------------------------------------------ compute

    def _check_features(self, features) -> list:
        if isinstance(features, torch.Tensor):
            features = [features]
        if not isinstance(features, (list, tuple)) or not features:
            raise ValueError("features must be a non-empty list of (B, C, H, W) tensors")
        first = None
        for i, f in enumerate(features):
            if not isinstance(f, torch.Tensor):
                raise TypeError(f"features[{i}] must be a torch.Tensor, got {type(f).__name__}")
            if f.ndim != 4:
                raise ValueError(f"features[{i}] must have 4 dimensions (B, C, H, W), got shape {tuple(f.shape)}")
            if f.dtype not in FLOAT_DTYPES:
                raise TypeError(f"features[{i}] must have dtype float32 or float64, got {f.dtype}")
            if f.numel() == 0:
                raise ValueError(f"features[{i}] must not be empty, got shape {tuple(f.shape)}")
            if first is None:
                first = f
            elif (f.shape[0], f.dtype, f.device) != (first.shape[0], first.dtype, first.device):
                raise ValueError(f"features[{i}] has batch/dtype/device {(f.shape[0], f.dtype, f.device)}, "
                                 f"features[0] has {(first.shape[0], first.dtype, first.device)}")
        return list(features)

    def layer_features(self, x: torch.Tensor) -> torch.Tensor:
        """One layer: (B, C, H, W) -> (B, C * bands_per_channel, h_J, w_J), channels grouped by band."""
        coeffs = dwt2(x, self.wavelet, self.level, self.mode, backend=self.backend)
        size = tuple(coeffs[0].shape[-2:])
        parts = [coeffs[0]] if "LL" in self.subbands else []
        for bands in coeffs[1:]:  # level J first, level 1 last
            for name in self._details:
                band = bands[_DETAIL_INDEX[name]]
                if tuple(band.shape[-2:]) != size:
                    band = F.interpolate(band, size=size, mode="bilinear", align_corners=False)
                parts.append(band)
        return torch.cat(parts, dim=1)

    def __call__(self, features) -> torch.Tensor:
        features = self._check_features(features)
        self._check_levels([tuple(f.shape[-2:]) for f in features])
        with torch.no_grad():
            layers = [self.layer_features(f.detach()) for f in features]
            target = self._target([tuple(t.shape[-2:]) for t in layers])
            layers = [t if tuple(t.shape[-2:]) == target
                      else F.interpolate(t, size=target, mode="bilinear", align_corners=False) for t in layers]
            return torch.cat(layers, dim=1)


__all__ = ["ALIGN_CHOICES", "SUBBAND_NAMES", "WAVELETS", "WaveletFeatures"]
