"""The bit-pattern NaN/Inf check of the Numba kernels (kernels/finite.py) and its use in them."""
import numpy as np
import pytest
import torch

from fastfreq import FrequencyFilter, ScaledCutPaste
from fastfreq.kernels.finite import any_nonfinite, bit_rows, copy_finite

FINITE = {
    np.float32: [0.0, -0.0, 1.0, -1.0, np.finfo(np.float32).max, -np.finfo(np.float32).max,
                 np.finfo(np.float32).tiny, np.finfo(np.float32).smallest_subnormal, -np.finfo(np.float32).eps],
    np.float64: [0.0, -0.0, 1.0, -1.0, np.finfo(np.float64).max, -np.finfo(np.float64).max,
                 np.finfo(np.float64).tiny, np.finfo(np.float64).smallest_subnormal, -np.finfo(np.float64).eps],
}
NONFINITE_BITS = {  # +Inf, -Inf, quiet NaN, negative NaN, signalling NaN, NaN with all payload bits
    np.float32: [0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FFFFFFF],
    np.float64: [0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000, 0xFFF8000000000000,
                 0x7FF0000000000001, 0x7FFFFFFFFFFFFFFF],
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_finite_class_passes_and_copies_bit_for_bit(dtype):
    a = np.array(FINITE[dtype] * 11, dtype=dtype).reshape(1, -1)  # 99 values: vector body and tail
    bits, exponent, lsb = bit_rows(a)
    dst = np.zeros_like(bits[0])
    assert copy_finite(bits[0], dst, exponent, lsb) is False
    assert any_nonfinite(bits[0], exponent, lsb) is False
    np.testing.assert_array_equal(dst, bits[0])
    assert np.signbit(dst.view(dtype)).sum() == np.signbit(a).sum() == 44  # -0.0 kept


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("position", [0, 1, 37, 98])
def test_each_nonfinite_pattern_is_found_anywhere(dtype, position):
    view = np.uint32 if dtype == np.float32 else np.uint64
    for pattern in NONFINITE_BITS[dtype]:
        a = np.ones((1, 99), dtype=dtype)
        a.view(view)[0, position] = view(pattern)
        bits, exponent, lsb = bit_rows(a)
        dst = np.zeros_like(bits[0])
        assert copy_finite(bits[0], dst, exponent, lsb) is True, hex(pattern)
        assert any_nonfinite(bits[0], exponent, lsb) is True, hex(pattern)
        assert int(dst[position]) == pattern  # the copy is complete even so


def test_bit_rows_shares_memory():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    bits, exponent, lsb = bit_rows(a)
    assert bits.shape == (2, 12) and bits.dtype == np.uint32 and np.shares_memory(bits, a)
    assert (int(exponent), int(lsb)) == (0x7F800000, 0x00800000)
    assert bit_rows(a.astype(np.float64))[0].dtype == np.uint64


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_numba_kernels_name_the_sample_with_nonfinite_values(dtype, bad):
    aug = ScaledCutPaste(area_ratio=(0.02, 0.15), probability=1.0, seed=0, backend="numba",
                         patch_filter=FrequencyFilter("butterworth", "highpass", 0.2))
    x = torch.rand(5, 3, 32, 40, dtype=dtype)
    x[3, 2, 31, 39] = bad  # the very last element of sample 3
    before = x.clone()
    with pytest.raises(ValueError, match=r"NaN or Inf values \(sample 3\)"):
        aug(x)
    assert torch.equal(x.isnan(), before.isnan()) and torch.equal(x.nan_to_num(), before.nan_to_num())
    with pytest.raises(ValueError, match="NaN or Inf"):
        FrequencyFilter()(x, backend="numba")
    x[3, 2, 31, 39] = -0.0
    out = aug(x)
    assert out.image.shape == x.shape and bool(torch.isfinite(out.image).all())
