"""Radial frequency filters on unshifted ``fftfreq`` grids.

Every filter here is a function of the radial frequency
``D[u, v] = sqrt(fftfreq(h)[u]**2 + fftfreq(w)[v]**2)`` in cycles/pixel
(0.5 = Nyquist, corners reach ~0.707), so it can be evaluated on any h x w grid:
the whole image or a patch of its own size.

* ideal:        LPF ``D <= c``
* gaussian:     LPF ``exp(-D**2 / (2 c**2))``
* butterworth:  LPF ``1 / (1 + (D / c)**(2 n))``
* highpass = 1 - lowpass; bandpass(lo, hi) = lowpass(hi) * highpass(lo);
  bandstop = 1 - bandpass.

Masks are computed in float64 and returned as float32. The same formulas are
compiled into the Numba kernels (``fastfreq.kernels.spectral``); the tests pin
the two to be identical.
"""
from __future__ import annotations

import functools
import numbers

import numpy as np

from ._validate import as_float_tensor
from .backends import dispatch


SHAPES = ("ideal", "gaussian", "butterworth")
MODES = ("lowpass", "highpass", "bandpass", "bandstop")

# Codes shared with the kernels (see kernels/spectral.py).
SHAPE_CODE = {"identity": -1, "ideal": 0, "gaussian": 1, "butterworth": 2}
MODE_CODE = {"lowpass": 0, "highpass": 1, "bandpass": 2, "bandstop": 3}


def fftfreq(n: int) -> np.ndarray:
    """``numpy.fft.fftfreq(n)``: sample frequencies in cycles/pixel."""
    return np.fft.fftfreq(n)


def radial_frequency(h: int, w: int) -> np.ndarray:
    """The (h, w) float64 grid ``D`` of radial frequencies, unshifted layout."""
    fu = fftfreq(h)
    fv = fftfreq(w)
    return np.sqrt(fu[:, None] * fu[:, None] + fv[None, :] * fv[None, :])


def _lowpass(shape: str, d: np.ndarray, c: float, order: float) -> np.ndarray:
    if shape == "ideal":
        return (d <= c).astype(np.float64)
    if shape == "gaussian":
        return np.exp(-(d * d) / (2.0 * c * c))
    return 1.0 / (1.0 + (d / c) ** (2.0 * order))


class FrequencyFilter:
    """A radial 2-D frequency filter.

    Parameters
    ----------
    shape : {"ideal", "gaussian", "butterworth"}
    mode : {"lowpass", "highpass", "bandpass", "bandstop"}
    cutoff : float in (0, 0.75], or ``(low, high)`` with ``0 < low < high`` for
        band modes; normalised radial frequency in cycles/pixel (0.5 = Nyquist).
    order : Butterworth order ``n >= 1`` (ignored by other shapes).

    ``mask(h, w)`` returns the float32 (h, w) transfer function in unshifted FFT
    layout. Calling the filter on a torch tensor or NumPy array of shape
    (..., H, W) returns ``real(ifft2(fft2(x) * mask))`` with the same type,
    dtype and device.
    """

    def __init__(self, shape: str = "butterworth", mode: str = "highpass", cutoff=0.2, order: float = 2):
        if not isinstance(shape, str) or shape not in SHAPES:
            raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")
        if not isinstance(mode, str) or mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        band = mode in ("bandpass", "bandstop")
        if band:
            if not (isinstance(cutoff, (tuple, list)) and len(cutoff) == 2):
                raise ValueError(f"cutoff must be a (low, high) pair for mode={mode!r}, got {cutoff!r}")
            lo, hi = (_check_cutoff(c) for c in cutoff)
            if not lo < hi:
                raise ValueError(f"cutoff must satisfy low < high, got {cutoff!r}")
        else:
            lo = hi = _check_cutoff(cutoff)
        if isinstance(order, bool) or not isinstance(order, numbers.Real) or not np.isfinite(order) or order < 1:
            raise ValueError(f"order must be a real number >= 1, got {order!r}")
        self.shape = shape
        self.mode = mode
        self.cutoff = (lo, hi) if band else lo
        self.order = float(order)
        self._lo, self._hi = lo, hi

    def __repr__(self) -> str:
        return f"FrequencyFilter(shape={self.shape!r}, mode={self.mode!r}, cutoff={self.cutoff!r}, order={self.order:g})"

    def __eq__(self, other) -> bool:
        return isinstance(other, FrequencyFilter) and self.spec().tolist() == other.spec().tolist()

    def __hash__(self) -> int:
        return hash(tuple(self.spec().tolist()))

    def response(self, d: np.ndarray) -> np.ndarray:
        """Transfer function evaluated at radial frequencies ``d`` (float64)."""
        d = np.asarray(d, dtype=np.float64)
        if self.mode == "lowpass":
            return _lowpass(self.shape, d, self._lo, self.order)
        if self.mode == "highpass":
            return 1.0 - _lowpass(self.shape, d, self._lo, self.order)
        bandpass = _lowpass(self.shape, d, self._hi, self.order) * (1.0 - _lowpass(self.shape, d, self._lo, self.order))
        return bandpass if self.mode == "bandpass" else 1.0 - bandpass

    def response_grid(self, h: int, w: int) -> np.ndarray:
        """float64 (h, w) transfer function on the ``radial_frequency(h, w)`` grid."""
        return self.response(radial_frequency(_check_size("h", h), _check_size("w", w)))

    def mask(self, h: int, w: int) -> np.ndarray:
        """float32 (h, w) transfer function, unshifted FFT layout (a fresh array)."""
        return _cached_mask(self, _check_size("h", h), _check_size("w", w)).copy()

    def mask_half(self, h: int, w: int) -> np.ndarray:
        """float32 contiguous (h, w // 2 + 1): the columns of ``mask`` that an ``rfft2`` keeps."""
        return np.ascontiguousarray(_cached_mask(self, _check_size("h", h), _check_size("w", w))[:, : w // 2 + 1])

    def spec(self) -> np.ndarray:
        """Numeric encoding read by the kernels: [shape, mode, low, high, order]."""
        return np.array([SHAPE_CODE[self.shape], MODE_CODE[self.mode], self._lo, self._hi, self.order], dtype=np.float64)

    def __call__(self, x, backend: str = "auto"):
        """``real(ifft2(fft2(x) * mask))`` over the last two dims of x (tensor or array, any leading dims).

        Returns the same type, dtype and device as x; x is not modified; NaN/Inf raise ValueError.
        """
        t, was_numpy = as_float_tensor(x)
        result = dispatch.filter_images(t, self, backend)
        return result.numpy() if was_numpy else result

    def to_dict(self) -> dict:
        """The filter as plain data (JSON-able); ``FrequencyFilter.from_dict`` rebuilds it."""
        cutoff = list(self.cutoff) if isinstance(self.cutoff, tuple) else self.cutoff
        return {"shape": self.shape, "mode": self.mode, "cutoff": cutoff, "order": self.order}

    @classmethod
    def from_dict(cls, data: dict) -> "FrequencyFilter":
        cutoff = data["cutoff"]
        cutoff = tuple(cutoff) if isinstance(cutoff, (list, tuple)) else cutoff
        return cls(data["shape"], data["mode"], cutoff, data["order"])


@functools.lru_cache(maxsize=256)
def _cached_mask(filt: FrequencyFilter, h: int, w: int) -> np.ndarray:
    m = filt.response(radial_frequency(h, w)).astype(np.float32)
    m.flags.writeable = False
    return m


class RadialWeight:
    """Strategy 4: a piecewise-linear weight curve over the radial frequency D.

    ``knots`` are increasing radial frequencies (cycles/pixel) and ``weights``
    the gains there; between knots the gain is linear, outside it is held at
    the end values (``numpy.interp``). ``RadialWeight.mid_band()`` emphasises
    the mid band [0.2, 0.3) of the band-energy analysis (``fastfreq.band_energy``).
    """

    def __init__(self, knots, weights):
        knots = np.asarray(knots, dtype=np.float64)
        weights = np.asarray(weights, dtype=np.float64)
        if knots.ndim != 1 or knots.size < 1 or knots.shape != weights.shape:
            raise ValueError(f"knots and weights must be 1-D sequences of the same non-zero length, got {knots.shape} and {weights.shape}")
        if not (np.all(np.isfinite(knots)) and np.all(np.isfinite(weights))):
            raise ValueError("knots and weights must be finite")
        if np.any(knots < 0) or np.any(np.diff(knots) <= 0):
            raise ValueError(f"knots must be >= 0 and strictly increasing, got {knots.tolist()}")
        self.knots = knots
        self.weights = weights

    @classmethod
    def mid_band(cls, gain: float = 2.0, base: float = 0.5) -> "RadialWeight":
        """Mid-band emphasis: ``gain`` on [0.2, 0.3], ``base`` below 0.1 and above 0.4."""
        return cls([0.0, 0.1, 0.2, 0.3, 0.4], [base, base, gain, gain, base])

    def __repr__(self) -> str:
        return f"RadialWeight(knots={self.knots.tolist()}, weights={self.weights.tolist()})"

    def response(self, d: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(d, dtype=np.float64), self.knots, self.weights)

    def response_grid(self, h: int, w: int) -> np.ndarray:
        """float64 (h, w) gain on the ``radial_frequency(h, w)`` grid."""
        return self.response(radial_frequency(_check_size("h", h), _check_size("w", w)))

    def to_dict(self) -> dict:
        return {"knots": self.knots.tolist(), "weights": self.weights.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> "RadialWeight":
        return cls(data["knots"], data["weights"])

    def mask(self, h: int, w: int) -> np.ndarray:
        return self.response(radial_frequency(_check_size("h", h), _check_size("w", w))).astype(np.float32)


def _check_cutoff(c) -> float:
    if isinstance(c, bool) or not isinstance(c, numbers.Real) or not np.isfinite(c) or not 0 < c <= 0.75:
        raise ValueError(f"cutoff must be a number in (0, 0.75] cycles/pixel (0.5 = Nyquist), got {c!r}")
    return float(c)


def _check_size(name: str, n) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"{name} must be a positive integer, got {n!r}")
    return int(n)


__all__ = ["FrequencyFilter", "RadialWeight", "radial_frequency", "fftfreq"]
