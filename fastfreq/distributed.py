"""Where this process stands in a data-parallel run (``torchrun`` / ``torch.distributed``), and rank-aware seeds.

Rank and world size come from ``torch.distributed`` when a process group is
initialised, else from the variables ``torchrun`` sets (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``), else this is a single process (rank 0 of 1).
Nothing here starts a process group: ``fastfreq.apps.ddp`` does, for the CLI.

Seeds: with one process everything draws exactly as it would without this
module. With ``world > 1`` the global rank and the world size are appended to
the seed's entropy, ``default_rng([seed, rank, world])`` (Lightning's
``seed_everything(workers=True)`` mixes the rank the same way), so every rank
draws differently and the same (seed, rank, world) draws the same again.
"""
from __future__ import annotations

import os

import numpy as np


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name, "")
    if text.strip() == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer, got {text!r}") from None
    if value < 0:
        raise ValueError(f"environment variable {name} must be >= 0, got {value}")
    return value


def rank_world() -> tuple[int, int]:
    """(global rank, world size): the process group's, else torchrun's RANK / WORLD_SIZE, else (0, 1)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    world = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    if world < 1 or rank >= world:
        raise ValueError(f"RANK={rank} and WORLD_SIZE={world} are inconsistent (need 0 <= RANK < WORLD_SIZE)")
    return rank, world


def local_rank() -> int:
    """This process's index on its machine (torchrun's LOCAL_RANK; 0 when not set): picks its GPU."""
    return _env_int("LOCAL_RANK", 0)


def device_for_rank(device=None) -> str:
    """The device this process should use: ``None`` / ``"auto"`` is CUDA when available, else the CPU.

    A CUDA device without an index (``"cuda"``) becomes ``cuda:LOCAL_RANK``
    under torchrun (so each process on a machine takes its own GPU); an
    explicit ``"cuda:N"`` is kept. CUDA asked for but not available raises
    ValueError.
    """
    import torch

    text = "auto" if device is None else str(device)
    if text == "auto":
        text = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(text)
    except RuntimeError:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {text!r} asked for, but CUDA is not available (use --device cpu)")
        if dev.index is None and ("LOCAL_RANK" in os.environ or rank_world()[1] > 1):
            dev = torch.device("cuda", local_rank())
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {str(dev)!r}: only {torch.cuda.device_count()} CUDA device(s) visible")
    return str(dev)


def is_main_process() -> bool:
    """True on global rank 0 (and in a single process): the one process that writes files and prints."""
    return rank_world()[0] == 0


def rank_entropy(entropy: list, where: tuple | None = None) -> list:
    """``entropy`` (a list of ints), with ``[rank, world]`` appended when there is more than one process.

    ``where``: a (rank, world) recorded earlier (e.g. by the main process, for
    a spawned DataLoader worker that has neither the process group nor
    torchrun's variables); default ``rank_world()``.
    """
    rank, world = rank_world() if where is None else where
    return list(entropy) + [rank, world] if world > 1 else list(entropy)


def rank_generator(seed=None) -> np.random.Generator:
    """``numpy.random.default_rng(seed)``, with the rank mixed in when ``world > 1``.

    One process: exactly ``default_rng(seed)``. Several: an int seed (or a
    sequence of ints) becomes ``default_rng([*seed, rank, world])``; a
    ``SeedSequence`` gets ``(rank, world)`` appended to its spawn key; None
    stays None (fresh OS entropy, different on every rank anyway); a
    ``Generator`` or ``BitGenerator`` is used as given.
    """
    rank, world = rank_world()
    if world == 1 or seed is None or isinstance(seed, (np.random.Generator, np.random.BitGenerator)):
        return np.random.default_rng(seed)
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, rank, world),
                                                            pool_size=seed.pool_size))
    if isinstance(seed, (int, np.integer)):
        return np.random.default_rng([int(seed), rank, world])
    return np.random.default_rng([*(int(s) for s in seed), rank, world])


__all__ = ["device_for_rank", "is_main_process", "local_rank", "rank_entropy", "rank_generator", "rank_world"]
