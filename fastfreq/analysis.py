"""Band-energy analysis: fractions of |F|^2 in radial bands of the radial frequency D."""
from __future__ import annotations

import numpy as np
import torch

from .filters import radial_frequency
from ._validate import as_float_tensor


def band_edges(n_bands: int = 5) -> np.ndarray:
    """Lower edges of ``n_bands`` bands of width 0.5 / n_bands; the last band is open ([0.4, inf) for 5)."""
    if isinstance(n_bands, bool) or not isinstance(n_bands, (int, np.integer)) or n_bands < 1:
        raise ValueError(f"n_bands must be a positive integer, got {n_bands!r}")
    return np.arange(n_bands) * (0.5 / n_bands)


def band_index(h: int, w: int, n_bands: int = 5) -> np.ndarray:
    """(h, w) band number of each unshifted frequency bin."""
    edges = band_edges(n_bands)
    return np.searchsorted(edges, radial_frequency(h, w), side="right") - 1


def band_energy(x, n_bands: int = 5):
    """Fractions of spectral energy per radial band for x of shape (..., H, W).

    Energy ``|fft2(x)|^2`` over the whole unshifted spectrum, split into
    ``n_bands`` bands of width ``0.5 / n_bands`` on D (5 bands: very_low [0, .1),
    low, mid, high, very_high [.4, inf)). Returns (..., n_bands) float64
    fractions summing to 1 (all zeros for an all-zero image), same type as x.
    Computed with a real FFT: the mirrored half of the spectrum is counted twice.
    """
    t, was_numpy = as_float_tensor(x)
    H, W = t.shape[-2:]
    Wh = W // 2 + 1
    onehot = np.zeros((H, Wh, n_bands))
    np.put_along_axis(onehot, band_index(H, W, n_bands)[:, :Wh, None], 1.0, axis=2)
    # columns 1..ceil(W/2)-1 stand for themselves and their mirror
    multiplicity = np.full(Wh, 2.0)
    multiplicity[0] = 1.0
    if W % 2 == 0:
        multiplicity[-1] = 1.0
    onehot *= multiplicity[None, :, None]
    spec = torch.fft.rfft2(t.detach().to(torch.float64))
    power = (spec.real ** 2 + spec.imag ** 2).reshape(*t.shape[:-2], H * Wh)
    energy = power @ torch.from_numpy(onehot.reshape(H * Wh, n_bands)).to(power.device)
    total = energy.sum(-1, keepdim=True)
    fractions = torch.where(total > 0, energy / torch.where(total > 0, total, 1.0), torch.zeros_like(energy))
    return fractions.cpu().numpy() if was_numpy else fractions


BAND_NAMES = ("very_low", "low", "mid", "high", "very_high")
