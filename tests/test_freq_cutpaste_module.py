"""FreqCutPaste: the nn.Module front end of ScaledCutPaste."""
import copy
import pickle

import numpy as np
import pytest
import torch

from fastfreq import AugmentedBatch, CutPasteParams, FrequencyFilter, RadialWeight, ScaledCutPaste
from fastfreq.augment.module import FreqCutPaste

BHPF = FrequencyFilter("butterworth", "highpass", 0.2, 2)
BLPF = FrequencyFilter("butterworth", "lowpass", 0.15, 2)


def rgb(b=6, h=40, w=48, seed=0):
    return torch.rand(b, 3, h, w, generator=torch.Generator().manual_seed(seed))


def module(**kwargs):
    options = dict(area_ratio=(0.02, 0.15), amplitude=(0.5, 2.0), probability=1.0, patch_filter=BHPF, seed=0)
    options.update(kwargs)
    return FreqCutPaste(**options)


# -- construction ---------------------------------------------------------------
def test_keyword_arguments_build_the_same_scaled_cutpaste():
    m = FreqCutPaste(cut_h=(2, 5), cut_w=(3, 9), amplitude=(0.1, 0.3), probability=0.7, dual_path=(BHPF, BLPF),
                     band_weight=RadialWeight.mid_band(), seed=3, backend="torch_batched", clip=(0, 1))
    a = m.augment
    assert isinstance(a, ScaledCutPaste)
    assert (a.cut_h, a.cut_w, a.amplitude, a.probability, a.seed, a.backend) == \
        ((2, 5), (3, 9), (0.1, 0.3), 0.7, 3, "torch_batched")
    assert a.dual_path == (BHPF, BLPF) and a.band_weight is not None
    assert m.clip == (0.0, 1.0) and m.return_mask is True
    positional = FreqCutPaste((2, 5), (3, 9))
    assert (positional.augment.cut_h, positional.augment.cut_w) == ((2, 5), (3, 9))


def test_wraps_a_given_scaled_cutpaste():
    aug = ScaledCutPaste(area_ratio=(0.05, 0.1), seed=1)
    m = FreqCutPaste(aug)
    assert m.augment is aug
    with pytest.raises(ValueError, match="not both"):
        FreqCutPaste(aug, seed=2)


def test_extra_repr_names_the_options():
    text = repr(module(clip=(0, 1), return_mask=False))
    assert text.startswith("FreqCutPaste(ScaledCutPaste(")
    for part in ("area_ratio=(0.02, 0.15)", "amplitude=(0.5, 2.0)", "butterworth", "clip=(0.0, 1.0)",
                 "return_mask=False"):
        assert part in text


@pytest.mark.parametrize("clip, error", [
    ((1, 0), ValueError), ((0, float("nan")), ValueError), ((0,), ValueError), ("0,1", ValueError),
    ((True, 1), ValueError)])
def test_bad_clip(clip, error):
    with pytest.raises(error, match="clip"):
        FreqCutPaste(clip=clip)


def test_bad_return_mask_and_bad_scaled_cutpaste_options():
    with pytest.raises(TypeError, match="return_mask"):
        FreqCutPaste(return_mask=1)
    with pytest.raises(ValueError, match="amplitude"):
        FreqCutPaste(amplitude=(2.0, 1.0))
    with pytest.raises(TypeError, match="patch_filter"):
        FreqCutPaste(patch_filter="bhpf")


# -- the transform ----------------------------------------------------------------
@pytest.mark.parametrize("strategy", [
    dict(patch_filter=BHPF), dict(image_filter=BHPF), dict(dual_path=(BHPF, BLPF)),
    dict(patch_filter=BHPF, band_weight=RadialWeight.mid_band())])
def test_float32_equals_scaled_cutpaste_apply_exactly(strategy):
    x = rgb()
    m = FreqCutPaste(area_ratio=(0.02, 0.15), amplitude=(0.5, 2.0), probability=0.7, seed=0, **strategy)
    out, mask = m(x)
    params = m.last_params
    assert isinstance(params, CutPasteParams) and isinstance(m.last_batch, AugmentedBatch)
    ref = ScaledCutPaste(area_ratio=(0.02, 0.15), amplitude=(0.5, 2.0), probability=0.7, **strategy).apply(x, params)
    assert out.dtype == torch.float32 and mask.dtype == torch.float32
    assert torch.equal(out, ref.image) and torch.equal(mask, ref.mask)
    assert mask.shape == (6, 1, 40, 48)
    assert torch.equal(mask.flatten(1).amax(1), torch.as_tensor(params.applied, dtype=torch.float32))


def test_float64_is_computed_in_float64():
    x = rgb().double()
    m = module()
    out, mask = m(x)
    ref = ScaledCutPaste(area_ratio=(0.02, 0.15), amplitude=(0.5, 2.0), probability=1.0,
                         patch_filter=BHPF).apply(x, m.last_params)
    assert out.dtype == mask.dtype == torch.float64
    assert torch.equal(out, ref.image)


# Bounds on max |out - float32 result|. Measured on this batch with seeds 0-3: 0.90-1.09e-3
# for float16, 7.3-8.2e-3 for bfloat16. |out| < 2 here, so the output's own rounding is at most
# half an ulp in [1, 2) (4.9e-4 / 3.9e-3); the rest is the input's rounding carried through
# the max-abs normalised, filtered, scaled patch. The bounds leave about 2x headroom.
HALF_BOUNDS = {torch.float16: 2e-3, torch.bfloat16: 1.6e-2}


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_dtypes_are_computed_in_float32_and_returned_in_their_dtype(dtype):
    x32 = rgb()
    x = x32.to(dtype)
    m = module()
    out, mask = m(x)
    assert out.dtype == dtype and mask.dtype == dtype and out.shape == x.shape
    params = m.last_params
    plain = ScaledCutPaste(area_ratio=(0.02, 0.15), amplitude=(0.5, 2.0), probability=1.0, patch_filter=BHPF)
    # the definition: the float32 computation on the upcast input, rounded once
    assert torch.equal(out, plain.apply(x.float(), params).image.to(dtype))
    assert torch.equal(mask, plain.apply(x.float(), params).mask.to(dtype))
    # and close to the float32 result on the float32 input
    ref = plain.apply(x32, params).image
    err = (out.float() - ref).abs().max().item()
    assert err <= HALF_BOUNDS[dtype], err
    assert err > 0  # rounding did happen: the comparison is not vacuous


def test_uint8_is_computed_on_value_over_255_and_rounded_back():
    x32 = rgb()
    x = (x32 * 255).round().to(torch.uint8)
    m = module()
    out, mask = m(x)
    assert out.dtype == torch.uint8 and mask.dtype == torch.float32
    params = m.last_params
    plain = ScaledCutPaste(area_ratio=(0.02, 0.15), amplitude=(0.5, 2.0), probability=1.0, patch_filter=BHPF)
    ref = plain.apply(x.float() / 255, params).image
    expected = (ref * 255).round().clamp(0, 255).to(torch.uint8)
    assert torch.equal(out, expected)
    # within half a grey level of the [0, 1]-clipped float result
    err = (out.float() / 255 - ref.clamp(0, 1)).abs().max().item()
    assert err <= 0.5 / 255 + 1e-6, err
    # the anomaly is as strong as on a float image in [0, 1] (not 255 times weaker)
    changed = (out.int() - x.int()).abs()[mask.expand_as(x) > 0].float().mean().item()
    assert changed > 10
    # outside the pasted boxes nothing changes
    assert torch.equal(out[mask.expand_as(x) == 0], x[mask.expand_as(x) == 0])


def test_uint8_clip_is_on_the_0_1_scale():
    x = (rgb() * 255).round().to(torch.uint8)
    out, _ = module(clip=(0.2, 0.8))(x)
    assert int(out.min()) >= 51 and int(out.max()) <= 204


def test_single_image_chw():
    x = rgb(b=1)[0]
    m = module()
    out, mask = m(x)
    assert out.shape == (3, 40, 48) and mask.shape == (1, 40, 48)
    batch_out, batch_mask = FreqCutPaste(m.augment)(x[None], params=m.last_params)
    assert torch.equal(out, batch_out[0]) and torch.equal(mask, batch_mask[0])
    u8 = (x * 255).to(torch.uint8)
    out8, mask8 = m(u8)
    assert out8.shape == (3, 40, 48) and out8.dtype == torch.uint8 and mask8.shape == (1, 40, 48)


def test_clip():
    x = rgb()
    m = module(clip=(0.0, 1.0))
    out, _ = m(x)
    unclipped = m.last_batch.image
    assert unclipped.min() < 0 or unclipped.max() > 1  # the draw does leave [0, 1]
    assert torch.equal(out, unclipped.clamp(0, 1))
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    # default: no clipping (HDMAP faults exceed 1)
    m2 = module()
    out2, _ = m2(x, params=m.last_params)
    assert torch.equal(out2, unclipped)


def test_probability_zero_gives_an_unchanged_copy_and_zero_mask():
    x = rgb()
    out, mask = module(probability=0.0)(x)
    assert torch.equal(out, x) and out.data_ptr() != x.data_ptr()
    assert not mask.any()


def test_input_never_modified_in_place():
    for dtype in (torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.uint8):
        x = (rgb() * 255).to(dtype) if dtype == torch.uint8 else rgb().to(dtype)
        before = x.clone()
        out, _ = module(clip=(0, 1))(x)
        assert torch.equal(x, before), dtype
        assert out.data_ptr() != x.data_ptr()


def test_tensor_subclass_is_kept():
    class Image(torch.Tensor):
        pass

    x = rgb().as_subclass(Image)
    out, mask = module()(x)
    assert type(out) is Image and type(mask) is torch.Tensor


# -- replay -------------------------------------------------------------------------
def test_replay_with_params_reproduces_the_batch():
    x = rgb()
    m = module(probability=0.5)
    first, first_mask = m(x)
    params = m.last_params
    again, again_mask = m(x, params=params)
    assert torch.equal(first, again) and torch.equal(first_mask, again_mask)
    fresh, _ = m(x)  # new draws after the replay
    assert not torch.equal(fresh, first)
    # replay works in eval mode too, and on another module with the same options
    m.eval()
    replayed, _ = m(x, params=params)
    assert torch.equal(replayed, first)
    other, _ = module(probability=0.5, seed=123)(x, params=params)
    assert torch.equal(other, first)


def test_replay_errors():
    m = module()
    m(rgb())
    with pytest.raises(ValueError, match="size"):
        m(rgb(h=32, w=32), params=m.last_params)
    with pytest.raises(ValueError, match="batch size"):
        m(rgb(b=3), params=m.last_params)
    with pytest.raises(TypeError, match="params"):
        m(rgb(), params=m.last_params.to_dict())


def test_seed_reproducible_and_torch_seed_when_none():
    x = rgb()
    assert torch.equal(module(seed=5)(x)[0], module(seed=5)(x)[0])
    torch.manual_seed(0)
    a = module(seed=None)(x)[0]
    torch.manual_seed(0)
    b = module(seed=None)(x)[0]
    assert torch.equal(a, b)


# -- modes and composition -----------------------------------------------------------
def test_eval_mode_returns_the_input_itself_and_a_zero_mask():
    x = rgb()
    m = module().eval()
    out, mask = m(x)
    assert out is x
    assert mask.shape == (6, 1, 40, 48) and mask.dtype == torch.float32 and not mask.any()
    assert m.last_batch is None
    out1, mask1 = m(x[0])
    assert out1 is x[0] or torch.equal(out1, x[0])
    assert mask1.shape == (1, 40, 48)
    u8 = (x * 255).to(torch.uint8)
    out8, mask8 = m(u8)
    assert out8 is u8 and mask8.dtype == torch.float32
    m.train()
    assert not torch.equal(m(x)[0], x)


def test_sequential_with_return_mask_false():
    x = rgb()
    aug = module(return_mask=False, clip=(0, 1))
    conv = torch.nn.Conv2d(3, 4, 3, padding=1)
    net = torch.nn.Sequential(aug, conv)
    y = net(x)
    assert y.shape == (6, 4, 40, 48)
    assert torch.allclose(y, conv(aug.last_batch.image.clamp(0, 1)))
    assert aug.last_batch.mask.shape == (6, 1, 40, 48)
    net.eval()
    assert torch.equal(net(x), conv(x))


def test_sequential_with_mask_returns_the_pair_last():
    x = rgb()
    net = torch.nn.Sequential(torch.nn.Identity(), module())
    out, mask = net(x)
    assert out.shape == x.shape and mask.shape == (6, 1, 40, 48)


def test_state_dict_deepcopy_and_pickle():
    x = rgb()
    m = module(clip=(0, 1))
    m(x)
    assert m.state_dict() == {}
    fresh = module(clip=(0, 1))
    fresh.load_state_dict(m.state_dict())
    for copy_of in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert isinstance(copy_of, FreqCutPaste) and copy_of.last_batch is None
        assert copy_of.clip == (0.0, 1.0) and repr(copy_of) == repr(m)
        # the generator state travels: the copy draws what the original draws next
        assert torch.equal(copy_of(x)[0], copy.deepcopy(m)(x)[0])
    assert len(pickle.dumps(m)) < 20_000  # no tensors in the pickle


def test_inside_a_module_state_dict_and_to():
    net = torch.nn.Sequential(module(return_mask=False), torch.nn.Conv2d(3, 2, 1))
    keys = set(net.state_dict())
    assert keys == {"1.weight", "1.bias"}
    net.to(torch.float64)  # no parameters of its own to convert
    assert net(rgb().double()).dtype == torch.float64


def test_dataloader_workers_draw_differently():
    """Copies in DataLoader workers are reseeded per worker (like FreqCutPasteCollate)."""
    from torch.utils.data import DataLoader, Dataset

    class Data(Dataset):
        def __init__(self):
            self.aug = module(return_mask=False, probability=1.0)
            self.image = rgb(b=1)[0]

        def __len__(self):
            return 4

        def __getitem__(self, i):
            return self.aug(self.image)

    loader = DataLoader(Data(), batch_size=1, num_workers=2, generator=torch.Generator().manual_seed(0))
    outs = [b[0] for b in loader]
    assert not torch.equal(outs[0], outs[1])  # first sample of worker 0 vs worker 1


# -- errors ---------------------------------------------------------------------------
@pytest.mark.parametrize("bad, error, match", [
    (np.zeros((2, 3, 8, 8), np.float32), TypeError, "images must be a torch.Tensor"),
    (torch.zeros(3, 8, 8, dtype=torch.int64), TypeError, "images must have dtype"),
    (torch.zeros(3, 8, 8, dtype=torch.int8), TypeError, "images must have dtype"),
    (torch.zeros(3, 8, 8, dtype=torch.bool), TypeError, "images must have dtype"),
    (torch.zeros(3, 8, 8, dtype=torch.complex64), TypeError, "images must have dtype"),
    (torch.zeros(8, 8), ValueError, r"images must have shape \(C, H, W\) or \(B, C, H, W\)"),
    (torch.zeros(1, 1, 3, 8, 8), ValueError, r"images must have shape"),
    (torch.zeros(0, 3, 8, 8), ValueError, "images must not be empty"),
])
def test_bad_input(bad, error, match):
    with pytest.raises(error, match=match):
        module()(bad)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64])
def test_nan_input(dtype):
    x = rgb().to(dtype)
    x[2, 1, 5, 7] = float("nan")
    with pytest.raises(ValueError, match="images contains NaN or Inf"):
        module()(x)
