import numpy as np
import pytest
import torch

from conftest import STRATEGY_CASES, strategies
from fastfreq import CutPasteParams, FrequencyFilter, ScaledCutPaste

BHPF = FrequencyFilter("butterworth", "highpass", 0.2, 2)
GLPF = FrequencyFilter("gaussian", "lowpass", 0.1)

CASES = STRATEGY_CASES
GEOMETRIES = {
    "hdmap_31x95": ((6, 1, 31, 95), dict(cut_h=(1, 2), cut_w=(10, 80))),
    "odd_17x23_rgb": ((6, 3, 17, 23), dict(cut_h=(1, 16), cut_w=(1, 22))),
    "height1_patches": ((6, 2, 9, 33), dict(cut_h=(1, 1), cut_w=(3, 31))),
}


def run_all_backends(aug, x, params):
    out = {}
    for backend in ("torch", "numba", "torch_batched"):
        aug.backend = backend
        out[backend] = aug.apply(x, params)
    return out


@pytest.mark.parametrize("geometry", list(GEOMETRIES))
@pytest.mark.parametrize("filt,strategy", CASES, ids=[f"{f.shape}-{f.mode}-{s}" for f, s in CASES])
def test_fast_paths_equal_reference(filt, strategy, geometry):
    shape, sizes = GEOMETRIES[geometry]
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(3))
    x_before = x.clone()
    aug = ScaledCutPaste(**sizes, amplitude=(0.0, 2.0), probability=0.8, seed=7, **strategies(filt)[strategy])
    params = aug.sample_params(x.shape)
    assert params.applied.any() and not params.applied.all()
    out = run_all_backends(aug, x, params)
    ref = out["torch"]
    for backend in ("numba", "torch_batched"):
        got = out[backend]
        assert (got.image - ref.image).abs().max().item() <= 1e-5, backend
        assert torch.equal(got.mask, ref.mask), backend
        assert torch.equal(got.label, ref.label) and torch.equal(got.amplitude, ref.amplitude)
    assert torch.equal(x, x_before)  # the input is never modified
    assert ref.original is x


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-7), (torch.float32, 1e-5)])  # the reference's weight is float32
@pytest.mark.parametrize("cut_w", [(1, 2), (3, 9), (10, 40)])
def test_thin_patches_equal_reference(dtype, tol, cut_w):
    """Patches of height 1 and 2 take the numba kernel's 1-D FFT route (sum / difference of rows)."""
    x = torch.rand(24, 2, 5, 41, dtype=dtype, generator=torch.Generator().manual_seed(11))
    for filt, strategy in [(BHPF, "s1_patch"), (GLPF, "s3_dual"), (BHPF, "s4_band")]:
        aug = ScaledCutPaste(cut_h=(1, 2), cut_w=cut_w, amplitude=(0.5, 2.0), probability=1.0, seed=2,
                             **strategies(filt)[strategy])
        params = aug.sample_params(x.shape)
        assert set(params.cut_h.tolist()) == {1, 2}
        out = run_all_backends(aug, x, params)
        diff = (out["numba"].image - out["torch"].image).abs().max().item()
        assert diff <= tol, (strategy, diff)
        assert (out["numba"].image - x).abs().max().item() > 0.1  # something was pasted



@pytest.mark.parametrize("h,w", [(1, 1), (1, 2), (1, 9), (1, 80), (2, 1), (2, 2), (2, 7), (2, 80)])
def test_thin_route_is_the_2d_filter(h, w):
    """float64 weights on both sides (the reference rounds its weight to float32): equal to 1e-12."""
    from fastfreq.kernels.cutpaste_numba import _filter_thin
    from fastfreq.kernels.spectral import filter_grid

    patch = np.random.default_rng(h * 100 + w).standard_normal((3, h, w))
    weight = filter_grid(BHPF.spec(), h, w)
    want = np.real(np.fft.ifft2(np.fft.fft2(patch) * weight))
    got = _filter_thin(patch, np.ascontiguousarray(weight[:, : w // 2 + 1]))
    assert np.abs(got - want).max() <= 1e-12
    assert np.abs(want - patch).max() > 0.01 or w == 1  # the filter did something


@pytest.mark.parametrize("kwargs", [dict(), dict(normalize=False), dict(area_ratio=(0.02, 0.15))])
def test_no_filter_and_area_ratio_paths(kwargs):
    x = torch.rand(10, 3, 40, 48, dtype=torch.float64)
    if "area_ratio" not in kwargs:
        kwargs = dict(cut_h=(2, 20), cut_w=(2, 30)) | kwargs
    aug = ScaledCutPaste(**kwargs, probability=1.0, seed=1)
    params = aug.sample_params(x.shape)
    out = run_all_backends(aug, x, params)
    for backend in ("numba", "torch_batched"):
        assert out[backend].image.dtype == torch.float64
        assert (out[backend].image - out["torch"].image).abs().max().item() <= 1e-12


def test_algorithm_by_hand():
    """Step by step on one sample: cut, normalise, scale, add at the destination."""
    x = torch.arange(2 * 6 * 8, dtype=torch.float32).reshape(1, 2, 6, 8) / 100
    params = CutPasteParams(applied=np.array([True]), src_y=np.array([1]), src_x=np.array([2]),
                            dst_y=np.array([3]), dst_x=np.array([5]), cut_h=np.array([2]), cut_w=np.array([3]),
                            amplitude=np.array([0.5]), mix=np.array([1.0]), image_size=(6, 8))
    for backend in ("torch", "numba", "torch_batched"):
        out = ScaledCutPaste(cut_h=(1, 2), cut_w=(1, 3), backend=backend).apply(x, params)
        patch = x[0, :, 1:3, 2:5]
        expected = x.clone()
        expected[0, :, 3:5, 5:8] += 0.5 * patch / patch.abs().max()
        assert torch.allclose(out.image, expected, atol=1e-6), backend
        assert out.mask.sum() == 6 and out.mask[0, 0, 3:5, 5:8].eq(1).all()
        assert out.label.tolist() == [1.0] and out.amplitude.tolist() == [0.5]


def test_highpass_patch_has_zero_mean():
    x = torch.rand(8, 1, 31, 95)
    aug = ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), probability=1.0, patch_filter=BHPF, seed=0)
    out = aug(x)
    added = (out.image - x).sum(dim=(1, 2, 3))  # a HPF has DC gain 0: the pasted patch sums to 0
    assert added.abs().max() < 1e-4


def test_apply_replays_call_and_seed_reproduces(images):
    a = ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), patch_filter=BHPF, seed=123)
    b = ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), patch_filter=BHPF, seed=123)
    first, second = a(images), b(images)
    assert torch.equal(first.image, second.image) and torch.equal(first.mask, second.mask)
    replay = a.apply(images, first.params)
    assert torch.equal(replay.image, first.image) and torch.equal(replay.mask, first.mask)
    third = a(images)  # the generator advances: a new draw
    assert not np.array_equal(third.params.src_x, first.params.src_x)


def test_sampling_follows_the_seed_rules():
    aug = ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), amplitude=(0.0, 0.5), probability=0.5, seed=5)
    p = aug.sample_params((4000, 1, 31, 95))
    on = p.applied
    assert 0.45 < on.mean() < 0.55
    assert set(np.unique(p.cut_h)) == {1, 2} and p.cut_w.min() == 10 and p.cut_w.max() == 80
    assert (p.amplitude[on] >= 0).all() and (p.amplitude[on] <= 0.5).all() and (p.amplitude[~on] == 0).all()
    assert (p.src_y + p.cut_h <= 31).all() and (p.dst_x + p.cut_w <= 95).all()
    # destination avoids the source on each axis whenever a non-overlapping range exists
    for src, dst, cut, size in ((p.src_y, p.dst_y, p.cut_h, 31), (p.src_x, p.dst_x, p.cut_w, 95)):
        possible = (src - cut >= 0) | (src + cut <= size - cut)
        apart = (dst + cut <= src) | (dst >= src + cut)
        assert apart[possible].all()
    wide = p.cut_w > 95 // 2  # no room on either side: the uniform fallback
    assert (p.src_x[wide] - p.cut_w[wide] < 0).all() and (p.src_x[wide] + 2 * p.cut_w[wide] > 95).all()
    assert wide.sum() > 1000


def test_area_ratio_sampling():
    aug = ScaledCutPaste(area_ratio=(0.02, 0.15), probability=1.0, seed=0)
    p = aug.sample_params((2000, 3, 256, 256))
    ratio = p.cut_h * p.cut_w / 256 ** 2
    assert ratio.min() > 0.015 and ratio.max() < 0.16
    aspect = p.cut_w / p.cut_h
    assert aspect.min() > 0.28 and aspect.max() < 1 / 0.28
    assert np.median(aspect) == pytest.approx(1.0, rel=0.1)


def test_probability_extremes(images):
    none = ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), probability=0.0, seed=0)(images)
    assert torch.equal(none.image, images) and none.mask.sum() == 0 and none.label.sum() == 0
    every = ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), probability=1.0, seed=0)(images)
    assert every.label.tolist() == [1.0] * len(images)
    areas = (every.params.cut_h * every.params.cut_w).astype(np.float32)
    assert every.mask.sum(dim=(1, 2, 3)).numpy().tolist() == areas.tolist()


def test_zero_patch_is_not_normalised():
    x = torch.zeros(3, 1, 16, 16)
    out = ScaledCutPaste(cut_h=(2, 4), cut_w=(2, 4), probability=1.0, patch_filter=BHPF, seed=0)(x)
    assert torch.equal(out.image, x) and out.mask.sum() > 0


def test_filter_image_alone(images):
    aug = ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), image_filter=BHPF)
    np.testing.assert_allclose(aug.filter_image(images).numpy(), BHPF(images, backend="torch").numpy(), atol=1e-6)
    assert ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80)).filter_image(images) is images


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(cut_h=(1, 2)), ValueError, "together"),
    (dict(cut_h=(0, 2), cut_w=(1, 3)), ValueError, "cut_h"),
    (dict(cut_h=(3, 2), cut_w=(1, 3)), ValueError, "cut_h"),
    (dict(cut_h=(1, 2), cut_w=(-1, 3)), ValueError, "cut_w"),
    (dict(cut_h=(1.5, 2), cut_w=(1, 3)), TypeError, "cut_h"),
    (dict(cut_h=(1, 2), cut_w=(1, 3), area_ratio=(0.1, 0.2)), ValueError, "either"),
    (dict(area_ratio=(0.0, 0.2)), ValueError, "area_ratio"),
    (dict(area_ratio=(0.2, 0.1)), ValueError, "area_ratio"),
    (dict(aspect_ratio=(-1, 2)), ValueError, "aspect_ratio"),
    (dict(amplitude=(-0.5, 1.0)), ValueError, "amplitude"),
    (dict(amplitude=(1.0, 0.5)), ValueError, "amplitude"),
    (dict(probability=1.5), ValueError, "probability"),
    (dict(probability=-0.1), ValueError, "probability"),
    (dict(backend="cuda-magic"), ValueError, "backend"),
    (dict(patch_filter="bhpf"), TypeError, "patch_filter"),
    (dict(patch_filter=BHPF, dual_path=(BHPF, GLPF)), ValueError, "dual_path"),
    (dict(dual_path=(BHPF,)), TypeError, "dual_path"),
    (dict(dual_path=(BHPF, GLPF), mix_weight=(0.5, 1.5)), ValueError, "mix_weight"),
    (dict(band_weight=[1, 2]), TypeError, "band_weight"),
    (dict(normalize="yes"), TypeError, "normalize"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        ScaledCutPaste(**kwargs)


@pytest.mark.parametrize("backend", ["numba", "torch", "torch_batched"])
def test_bad_images(backend):
    aug = ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), backend=backend, probability=1.0)
    with pytest.raises(ValueError, match="4 dimensions"):
        aug(torch.rand(1, 31, 95))
    with pytest.raises(TypeError, match="dtype"):
        aug(torch.zeros(2, 1, 31, 95, dtype=torch.uint8))
    with pytest.raises(TypeError, match="images must be"):
        aug([[0.0]])
    with pytest.raises(ValueError, match="empty"):
        aug(torch.rand(0, 1, 31, 95))
    for bad in (float("nan"), float("inf")):
        x = torch.rand(4, 1, 31, 95)
        x[2, 0, 5, 5] = bad
        with pytest.raises(ValueError, match="NaN or Inf"):
            aug(x)
    with pytest.raises(ValueError, match="cut_w max must be <= image width - 1 = 49"):
        aug(torch.rand(2, 1, 31, 50))
    with pytest.raises(ValueError, match="cut_h max"):
        aug(torch.rand(2, 1, 2, 95))


def test_bad_params():
    aug = ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), probability=1.0, seed=0)
    p = aug.sample_params((4, 1, 31, 95))
    with pytest.raises(ValueError, match="batch size"):
        aug.apply(torch.rand(5, 1, 31, 95), p)
    with pytest.raises(ValueError, match="do not fit"):
        aug.apply(torch.rand(4, 1, 31, 60), p[np.arange(4)] if p.cut_w.max() + p.dst_x.max() > 60 else p)
    with pytest.raises(TypeError, match="CutPasteParams"):
        aug.apply(torch.rand(4, 1, 31, 95), p.to_dict())
