import numpy as np
import pytest
import torch

from fastfreq import BAND_NAMES, band_energy, radial_frequency


def numpy_band_energy(x):
    power = np.abs(np.fft.fft2(x)) ** 2
    d = radial_frequency(*x.shape[-2:])
    # D exactly on an edge belongs to the upper band, like searchsorted(side="right")
    bands = np.searchsorted([0.0, 0.1, 0.2, 0.3, 0.4], d, side="right") - 1
    e = np.stack([(power * (bands == k)).sum(axis=(-2, -1)) for k in range(5)], -1)
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("shape", [(31, 95), (32, 32), (17, 24), (5, 3, 8, 9)])
def test_matches_full_spectrum_numpy(shape):
    x = np.random.default_rng(0).random(shape)
    got = band_energy(x)
    assert got.shape == shape[:-2] + (5,)
    np.testing.assert_allclose(got, numpy_band_energy(x), atol=1e-12)
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-12)


def test_known_signals():
    dc = torch.ones(31, 95)
    assert band_energy(dc).tolist() == pytest.approx([1.0, 0, 0, 0, 0])
    checker = torch.tensor((np.indices((32, 32)).sum(0) % 2) * 2.0 - 1.0)
    assert band_energy(checker).tolist() == pytest.approx([0, 0, 0, 0, 1.0])
    rows = torch.tensor(np.cos(2 * np.pi * 0.25 * np.arange(32)))[:, None].repeat(1, 32)  # D = 0.25: mid
    assert band_energy(rows).tolist() == pytest.approx([0, 0, 1.0, 0, 0])
    assert band_energy(torch.zeros(4, 4)).tolist() == [0.0] * 5
    assert BAND_NAMES == ("very_low", "low", "mid", "high", "very_high")


def test_other_band_counts_and_errors():
    x = torch.rand(3, 16, 16)
    assert band_energy(x, n_bands=2).shape == (3, 2)
    np.testing.assert_allclose(band_energy(x, n_bands=10).sum(-1).numpy(), 1.0)
    with pytest.raises(ValueError, match="n_bands"):
        band_energy(x, n_bands=0)
    with pytest.raises(TypeError, match="dtype"):
        band_energy(torch.zeros(4, 4, dtype=torch.int64))
