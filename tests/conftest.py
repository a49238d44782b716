import numpy as np
import pytest
import torch

from fastfreq import FrequencyFilter

SHAPES = ("ideal", "gaussian", "butterworth")
MODES = ("lowpass", "highpass", "bandpass", "bandstop")


def make_filter(shape, mode, order=2):
    cutoff = (0.12, 0.3) if mode in ("bandpass", "bandstop") else 0.2
    return FrequencyFilter(shape, mode, cutoff, order)


ALL_FILTERS = [make_filter(s, m) for s in SHAPES for m in MODES]


@pytest.fixture
def images():
    """A batch in [0, 1] (the parity contract's input range)."""
    g = torch.Generator().manual_seed(0)
    return torch.rand(12, 2, 31, 95, generator=g)


def numpy_filter(x, mask):
    return np.real(np.fft.ifft2(np.fft.fft2(x) * mask))
