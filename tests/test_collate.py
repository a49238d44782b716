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


# ------------------------------------------------ dataclass samples (anomalib's ImageItem)
import dataclasses  # noqa: E402
import pathlib  # noqa: E402


@dataclasses.dataclass
class ImageItem:
    """The shape of anomalib's ImageItem: image, gt_label, gt_mask, mask_path, image_path and prediction fields."""

    image: torch.Tensor
    gt_label: torch.Tensor | None = None
    gt_mask: torch.Tensor | None = None
    mask_path: str | None = None
    image_path: str | None = None
    anomaly_map: torch.Tensor | None = None
    pred_score: torch.Tensor | None = None
    explanation: object = None


def _items(n=4, with_masks=True):
    g = torch.Generator().manual_seed(1)
    return [ImageItem(image=torch.rand(3, 32, 48, generator=g), gt_label=torch.tensor(i % 2),
                      gt_mask=(torch.rand(32, 48, generator=g) > 0.9) if with_masks else None,
                      mask_path=f"gt/{i:03d}.png" if i % 2 else None, image_path=str(pathlib.Path(f"img/{i:03d}.png")))
            for i in range(n)]


def test_dataclass_samples_keep_their_fields_in_extra():
    items = _items()
    collate = FreqCutPasteCollate(area_ratio=(0.02, 0.15), probability=1.0, patch_filter=BHPF, seed=0)
    batch = collate(items)
    assert batch.image.shape == (4, 3, 32, 48) and type(batch.image) is torch.Tensor
    assert torch.equal(batch.original, torch.stack([it.image for it in items]))
    assert batch.label.tolist() == [1.0] * 4 and batch.mask.sum() > 0
    assert batch.extra["gt_label"].tolist() == [0, 1, 0, 1]
    assert batch.extra["gt_mask"].shape == (4, 32, 48) and batch.extra["gt_mask"].dtype == torch.bool
    assert torch.equal(batch.extra["gt_mask"], torch.stack([it.gt_mask for it in items]))
    assert batch.extra["image_path"] == ["img/000.png", "img/001.png", "img/002.png", "img/003.png"]
    assert batch.extra["mask_path"] == [None, "gt/001.png", None, "gt/003.png"]  # None in some: a list
    assert batch.extra["anomaly_map"] is None and batch.extra["pred_score"] is None  # None in all: None
    assert sorted(batch.extra) == ["anomaly_map", "explanation", "gt_label", "gt_mask", "image_path", "mask_path",
                                   "pred_score"]
    # the same params applied by the reference give the same batch
    ref, mask = cutpaste_reference(batch.original, batch.params, CutPasteOptions(patch_filter=BHPF))
    assert (batch.image - ref).abs().max() < 1e-5 and torch.equal(batch.mask, mask)
    # same draws as the same images given as plain tensors
    plain = FreqCutPasteCollate(area_ratio=(0.02, 0.15), probability=1.0, patch_filter=BHPF, seed=0)
    assert torch.equal(plain([it.image for it in items]).image, batch.image)


def test_dataclass_samples_in_a_dataloader_and_errors():
    items = _items(6, with_masks=False)
    loader = DataLoader(items, batch_size=3, collate_fn=make_collate_rgb())
    batches = list(loader)
    assert [b.image.shape[0] for b in batches] == [3, 3] and batches[0].extra["gt_mask"] is None
    assert batches[1].extra["gt_label"].tolist() == [1, 0, 1]

    @dataclasses.dataclass
    class NoImage:
        picture: torch.Tensor

    with pytest.raises(ValueError, match="'image' field"):
        make_collate_rgb()([NoImage(torch.rand(3, 8, 8))])
    with pytest.raises(TypeError, match="'image' field of dataclass samples must be a tensor"):
        make_collate_rgb()([ImageItem(image=np.zeros((3, 8, 8)))])
    with pytest.raises(ValueError, match=r"one shape.*\(3, 8, 8\).*\(3, 8, 9\)"):
        make_collate_rgb()([ImageItem(image=torch.rand(3, 8, 8)), ImageItem(image=torch.rand(3, 8, 9))])
    with pytest.raises(TypeError, match="dataclasses with an 'image' field"):
        make_collate_rgb()([ImageItem])  # the class itself is no sample


def make_collate_rgb():
    return FreqCutPasteCollate(area_ratio=(0.02, 0.15), probability=1.0, seed=0)
