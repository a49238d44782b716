"""``FreqCutPasteCollate``: Scaled CutPaste as a DataLoader ``collate_fn``."""
from __future__ import annotations

import dataclasses
import os

import numpy as np
import torch
from torch.utils.data import default_collate, get_worker_info

from ..backends.cuda_env import in_forked_child
from ..backends.numba_cpu import limit_threads
from ..distributed import rank_entropy, rank_generator, rank_world
from .cutpaste import AugmentedBatch, ScaledCutPaste


class FreqCutPasteCollate:
    """Stack samples and augment the batch with a ``ScaledCutPaste``.

    ``FreqCutPasteCollate(augment)`` or ``FreqCutPasteCollate(**kwargs)`` (the
    ScaledCutPaste arguments). Samples may be tensors (C, H, W), ``(tensor,
    target, ...)`` tuples, dicts with an ``"image"`` key or dataclasses with an
    ``image`` field (e.g. anomalib's ``ImageItem``); the other fields are
    collated with torch's ``default_collate`` into ``batch.extra`` (tuples:
    ``"target"``, ``"field2"``, ...; dicts and dataclasses: their own names).
    A dataclass field that is None in every sample stays None; one that
    ``default_collate`` cannot stack (e.g. paths as ``pathlib.Path``, None in
    some samples) is kept as a list.

    Randomness: in the main process params come from
    ``default_rng([seed, draw])`` where ``draw`` is taken once from torch's
    global generator when seed is None. In a worker the generator is
    ``default_rng([seed or 0, worker_seed])`` with PyTorch's per-worker,
    per-epoch seed, so a seeded DataLoader ``generator`` makes runs reproducible
    while each worker and each epoch draw differently. Under ``torchrun`` /
    ``torch.distributed`` with more than one process the global rank and the
    world size are appended to these seeds (``[..., rank, world]``,
    ``fastfreq.distributed``): every rank draws differently, reproducibly from
    (seed, rank, world size); one process draws exactly as without it.

    Inside a worker the Numba kernels use as many threads as torch does there
    (one, by default), so workers do not oversubscribe the cores.

    ``device``: move the stacked images there before augmenting (e.g.
    ``"cuda"``: the augmentation then runs on the GPU, ``backend="cupy"``
    under "auto" when CuPy is installed). GPU augmentation (``device`` CUDA or
    ``backend="cupy"``) is refused inside a forked worker, where CUDA cannot
    be used: use it with ``num_workers=0``, with
    ``multiprocessing_context="spawn"``, or collate plain batches and call the
    ``ScaledCutPaste`` on ``batch.to("cuda")`` in the training step
    (docs/gpu.md).
    """

    def __init__(self, augment: ScaledCutPaste | None = None, *, device=None, **kwargs):
        if augment is None:
            augment = ScaledCutPaste(**kwargs)
        elif kwargs:
            raise ValueError("give either a ScaledCutPaste or its keyword arguments, not both")
        if not isinstance(augment, ScaledCutPaste):
            raise TypeError(f"augment must be a ScaledCutPaste, got {type(augment).__name__}")
        self.augment = augment
        self.device = None if device is None else torch.device(device)
        self._draws = CallGenerator()

    def __repr__(self) -> str:
        device = "" if self.device is None else f", device={str(self.device)!r}"
        return f"FreqCutPasteCollate({self.augment!r}{device})"

    def _generator(self) -> np.random.Generator:
        rng, fresh = self._draws.get(self.augment.seed)
        if fresh and get_worker_info() is not None:
            limit_threads(torch.get_num_threads())
        return rng

    def __call__(self, samples) -> AugmentedBatch:
        if len(samples) == 0:
            raise ValueError("samples must not be empty")
        on_gpu = self.augment.backend == "cupy" or (self.device is not None and self.device.type == "cuda")
        if on_gpu and get_worker_info() is not None and in_forked_child():
            raise RuntimeError(
                "FreqCutPasteCollate: GPU augmentation cannot run in a forked DataLoader worker (CUDA does not "
                "survive fork). Either collate without augmentation and apply ScaledCutPaste(...) to "
                "batch.to('cuda') in the training step, or create the DataLoader with "
                "multiprocessing_context='spawn' (or num_workers=0). See docs/gpu.md.")
        images, extra = _split_samples(samples)
        if self.device is not None:
            images = images.to(self.device)
        batch = self.augment(images, rng=self._generator())
        batch.extra = extra
        return batch


class CallGenerator:
    """The augmentation's NumPy generator in this process, shared by ``FreqCutPasteCollate`` and ``FreqCutPaste``.

    Made at the first draw and made again in a new process or DataLoader
    worker / epoch: in a worker ``default_rng([seed or 0, worker_seed])`` with
    PyTorch's per-worker, per-epoch seed; else ``default_rng(seed)``, or a seed
    drawn once from torch's global generator when seed is None. With several
    processes (torchrun) the (rank, world) is mixed in (``fastfreq.distributed``);
    when pickled (for a spawned worker, which has neither the process group nor
    torchrun's variables) it keeps the rank of the process that pickled it.
    """

    def __init__(self):
        self.rng, self.key, self.where = None, None, None

    def __getstate__(self):
        return {"rng": self.rng, "key": self.key, "where": self.where or rank_world()}

    def get(self, seed) -> tuple:
        """(generator, True when it was just made)."""
        info = get_worker_info()
        key = (os.getpid(), None if info is None else info.seed)
        if self.rng is not None and key == self.key:
            return self.rng, False
        if info is not None:
            self.rng = np.random.default_rng(rank_entropy([0 if seed is None else seed, info.seed], self.where))
        elif seed is None:
            self.rng = rank_generator(int(torch.randint(0, 2**62, (1,)).item()))
        else:
            self.rng = rank_generator(seed)
        self.key = key
        return self.rng, True


def _split_samples(samples):
    first = samples[0]
    if isinstance(first, torch.Tensor):
        return _stack(list(samples)), {}
    if isinstance(first, dict):
        if "image" not in first:
            raise ValueError(f"dict samples need an 'image' key, got keys {sorted(first)}")
        images = _stack([s["image"] for s in samples])
        rest = [{k: v for k, v in s.items() if k != "image"} for s in samples]
        return images, (default_collate(rest) if rest[0] else {})
    if isinstance(first, (tuple, list)):
        if not isinstance(first[0], torch.Tensor):
            raise TypeError(f"tuple samples must start with an image tensor, got {type(first[0]).__name__}")
        images = _stack([s[0] for s in samples])
        columns = list(zip(*[s[1:] for s in samples]))
        names = ["target"] + [f"field{i}" for i in range(2, len(columns) + 1)]
        return images, {n: default_collate(list(c)) for n, c in zip(names, columns)}
    if dataclasses.is_dataclass(first) and not isinstance(first, type):
        return _split_dataclass_samples(samples)
    raise TypeError(f"samples must be tensors, (tensor, ...) tuples, dicts with 'image' or dataclasses with an "
                    f"'image' field, got {type(first).__name__}")


def _split_dataclass_samples(samples):
    """Images and the other fields of dataclass samples (anomalib's ImageItem: image, gt_label, gt_mask, ...)."""
    names = [f.name for f in dataclasses.fields(samples[0])]
    if "image" not in names:
        raise ValueError(f"dataclass samples need an 'image' field, got fields {names}")
    images = [getattr(s, "image") for s in samples]
    if not all(isinstance(x, torch.Tensor) for x in images):
        bad = next(type(x).__name__ for x in images if not isinstance(x, torch.Tensor))
        raise TypeError(f"the 'image' field of dataclass samples must be a tensor, got {bad}")
    images = _stack(images).as_subclass(torch.Tensor)  # e.g. torchvision's tv_tensors.Image -> Tensor
    return images, {n: _collate_field([getattr(s, n) for s in samples]) for n in names if n != "image"}


def _collate_field(values):
    """``default_collate`` of one field; None if all are None; the plain list where it cannot be collated."""
    if all(v is None for v in values):
        return None
    try:
        return default_collate(values)
    except (TypeError, RuntimeError):
        return list(values)


def _stack(images):
    """``torch.stack`` of the sample images; samples of different shapes raise ValueError naming them."""
    shapes = [tuple(x.shape) if isinstance(x, torch.Tensor) else None for x in images]
    if any(s != shapes[0] for s in shapes):
        bad = next(i for i, s in enumerate(shapes) if s != shapes[0])
        raise ValueError(f"samples must all have one shape to be batched: sample 0 has {shapes[0]}, sample {bad} "
                         f"has {shapes[bad]} (resize them, e.g. the dataset's size=...)")
    return torch.stack(images)
