import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from fastfreq import AugmentedBatch, FreqCutPasteCollate, FrequencyFilter, ScaledCutPaste
from fastfreq.backends.options import CutPasteOptions
from fastfreq.backends.reference import cutpaste_reference

BHPF = FrequencyFilter("butterworth", "highpass", 0.2, 2)


class Constant(Dataset):
    """Every sample is the same image, so batches differ only by their augmentation."""

    def __init__(self, n=32, kind="tensor"):
        self.n, self.kind = n, kind
        self.image = torch.rand(1, 31, 95, generator=torch.Generator().manual_seed(0))

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if self.kind == "tuple":
            return self.image, i
        if self.kind == "dict":
            return {"image": self.image, "label": i % 2, "path": f"img{i}.tiff"}
        return self.image


def make_collate(seed=0):
    return FreqCutPasteCollate(cut_h=(1, 2), cut_w=(10, 80), probability=1.0, patch_filter=BHPF, seed=seed)


def drain(loader):
    return [batch for batch in loader]


@pytest.mark.parametrize("kind", ["tensor", "tuple", "dict"])
def test_sample_formats(kind):
    batch = make_collate()([Constant(kind=kind)[i] for i in range(4)])
    assert isinstance(batch, AugmentedBatch)
    assert batch.image.shape == (4, 1, 31, 95) and batch.mask.shape == (4, 1, 31, 95)
    if kind == "tuple":
        assert batch.extra["target"].tolist() == [0, 1, 2, 3]
    if kind == "dict":
        assert batch.extra["label"].tolist() == [0, 1, 0, 1]
        assert batch.extra["path"] == ["img0.tiff", "img1.tiff", "img2.tiff", "img3.tiff"]
    # the collated batch equals the reference on the same params
    ref, mask = cutpaste_reference(batch.original, batch.params, CutPasteOptions(patch_filter=BHPF))
    assert (batch.image - ref).abs().max() < 1e-5 and torch.equal(batch.mask, mask)


def test_collate_in_main_process_is_reproducible_and_varies_per_batch():
    loader = lambda: DataLoader(Constant(), batch_size=8, collate_fn=make_collate(seed=3))  # noqa: E731
    a, b = drain(loader()), drain(loader())
    assert all(torch.equal(x.image, y.image) for x, y in zip(a, b))
    assert not torch.equal(a[0].image, a[1].image)


def test_workers_differ_are_reproducible_and_change_per_epoch():
    ScaledCutPaste(cut_h=(1, 2), cut_w=(10, 80), patch_filter=BHPF)(torch.rand(2, 1, 31, 95))  # kernels live before fork

    def epochs(seed, n=2):
        collate = make_collate(seed=5)
        loader = DataLoader(Constant(), batch_size=4, num_workers=2, collate_fn=collate, pin_memory=True,
                            generator=torch.Generator().manual_seed(seed))
        return [drain(loader) for _ in range(n)]

    run1, run2 = epochs(11), epochs(11)
    first = run1[0]
    assert len(first) == 8 and all(isinstance(b, AugmentedBatch) for b in first)
    # batches 0 and 1 come from workers 0 and 1 with identical images: the draws differ
    assert not np.array_equal(first[0].params.src_x, first[1].params.src_x)
    # the same loader seed reproduces every batch of every epoch
    for e1, e2 in zip(run1, run2):
        assert all(torch.equal(x.image, y.image) and torch.equal(x.mask, y.mask) for x, y in zip(e1, e2))
    # a new epoch draws new params
    assert not np.array_equal(run1[0][0].params.src_x, run1[1][0].params.src_x)
    # what the workers computed is the reference on the same params
    for batch in first:
        ref, _ = cutpaste_reference(batch.original, batch.params, CutPasteOptions(patch_filter=BHPF))
        assert (batch.image - ref).abs().max() < 1e-5


def test_pin_memory_pins_every_tensor(monkeypatch):
    pinned = []

    def fake_pin(self, *args, **kwargs):
        pinned.append(tuple(self.shape))
        return self.clone()

    monkeypatch.setattr(torch.Tensor, "pin_memory", fake_pin)
    batch = make_collate()([Constant(kind="tuple")[i] for i in range(3)])
    out = torch.utils.data._utils.pin_memory.pin_memory(batch)
    assert isinstance(out, AugmentedBatch)
    assert sorted(pinned) == sorted([(3, 1, 31, 95)] * 3 + [(3,)] * 3)  # image, original, mask, label, amplitude, target
    assert torch.equal(out.image, batch.image)


def test_collate_errors():
    with pytest.raises(ValueError, match="either"):
        FreqCutPasteCollate(ScaledCutPaste(), probability=0.5)
    with pytest.raises(TypeError, match="augment"):
        FreqCutPasteCollate("cutpaste")
    with pytest.raises(ValueError, match="empty"):
        make_collate()([])
    with pytest.raises(ValueError, match="'image'"):
        make_collate()([{"img": torch.rand(1, 31, 95)}])
    with pytest.raises(TypeError, match="samples"):
        make_collate()([np.zeros((1, 31, 95))])
