"""``FreqCutPasteCollate``: Scaled CutPaste as a DataLoader ``collate_fn``."""
from __future__ import annotations

import os

import numpy as np
import torch
from torch.utils.data import default_collate, get_worker_info

from .cutpaste import AugmentedBatch, ScaledCutPaste


class FreqCutPasteCollate:
    """Stack samples and augment the batch with a ``ScaledCutPaste``.

    ``FreqCutPasteCollate(augment)`` or ``FreqCutPasteCollate(**kwargs)`` (the
    ScaledCutPaste arguments). Samples may be tensors (C, H, W), ``(tensor,
    target, ...)`` tuples or dicts with an ``"image"`` key; the other fields are
    collated with torch's ``default_collate`` into ``batch.extra`` (tuples:
    ``"target"``, ``"field2"``, ...; dicts: their own keys).

    Randomness: in the main process params come from
    ``default_rng([seed, draw])`` where ``draw`` is taken once from torch's
    global generator when seed is None. In a worker the generator is
    ``default_rng([seed or 0, worker_seed])`` with PyTorch's per-worker,
    per-epoch seed, so a seeded DataLoader ``generator`` makes runs reproducible
    while each worker and each epoch draw differently.

    Inside a worker the Numba kernels use as many threads as torch does there
    (one, by default), so workers do not oversubscribe the cores.
    """

    def __init__(self, augment: ScaledCutPaste | None = None, **kwargs):
        if augment is None:
            augment = ScaledCutPaste(**kwargs)
        elif kwargs:
            raise ValueError("give either a ScaledCutPaste or its keyword arguments, not both")
        if not isinstance(augment, ScaledCutPaste):
            raise TypeError(f"augment must be a ScaledCutPaste, got {type(augment).__name__}")
        self.augment = augment
        self._rng = None
        self._rng_key = None

    def __repr__(self) -> str:
        return f"FreqCutPasteCollate({self.augment!r})"

    def _generator(self) -> np.random.Generator:
        info = get_worker_info()
        seed = self.augment.seed
        key = (os.getpid(), None if info is None else info.seed)
        if self._rng is None or key != self._rng_key:
            if info is not None:
                self._rng = np.random.default_rng([0 if seed is None else seed, info.seed])
                from .kernels._threading import limit_threads

                limit_threads(torch.get_num_threads())
            elif seed is None:
                self._rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,)).item()))
            else:
                self._rng = np.random.default_rng(seed)
            self._rng_key = key
        return self._rng

    def __call__(self, samples) -> AugmentedBatch:
        if len(samples) == 0:
            raise ValueError("samples must not be empty")
        images, extra = _split_samples(samples)
        batch = self.augment(images, rng=self._generator())
        batch.extra = extra
        return batch


def _split_samples(samples):
    first = samples[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(list(samples)), {}
    if isinstance(first, dict):
        if "image" not in first:
            raise ValueError(f"dict samples need an 'image' key, got keys {sorted(first)}")
        images = torch.stack([s["image"] for s in samples])
        rest = [{k: v for k, v in s.items() if k != "image"} for s in samples]
        return images, (default_collate(rest) if rest[0] else {})
    if isinstance(first, (tuple, list)):
        if not isinstance(first[0], torch.Tensor):
            raise TypeError(f"tuple samples must start with an image tensor, got {type(first[0]).__name__}")
        images = torch.stack([s[0] for s in samples])
        columns = list(zip(*[s[1:] for s in samples]))
        names = ["target"] + [f"field{i}" for i in range(2, len(columns) + 1)]
        return images, {n: default_collate(list(c)) for n, c in zip(names, columns)}
    raise TypeError(f"samples must be tensors, (tensor, ...) tuples or dicts with 'image', got {type(first).__name__}")
