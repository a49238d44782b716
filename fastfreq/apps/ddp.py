"""Data-parallel pieces shared by the runners: the process group, sharding, reductions, DDP wrapping.

Under ``torchrun --nproc_per_node N`` (or its multi-node rendezvous flags)
every process runs the same command; ``process_group`` initialises
``torch.distributed`` from torchrun's environment (gloo on the CPU; gloo for
CPU tensors and NCCL for CUDA tensors when the device is a GPU) and tears it
down at the end. Without torchrun (``WORLD_SIZE`` unset or 1) nothing here
does anything and every runner behaves as a single process.
"""
from __future__ import annotations

import contextlib
import datetime

import torch
import torch.distributed as dist

from ..backends.numba_cpu import limit_threads
from ..distributed import rank_world


def active() -> bool:
    """True when a process group with more than one process is initialised."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


@contextlib.contextmanager
def process_group(device="cpu", timeout_s: float = 1800.0):
    """Initialise the process group from torchrun's env when ``WORLD_SIZE > 1``; destroy it on exit.

    Does nothing with one process or when a group is already initialised (the
    caller owns that one). ``device``: this rank's device (``device_for_rank``);
    a CUDA device is made current and gets NCCL beside gloo. The Numba kernels
    use as many threads as torch (torchrun sets ``OMP_NUM_THREADS=1`` per
    process unless told otherwise), so the ranks do not oversubscribe the cores.
    """
    _, world = rank_world()
    if world == 1 or dist.is_initialized():
        yield
        return
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
        backend = "cpu:gloo,cuda:nccl"
    else:
        backend = "gloo"
    dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s))
    limit_threads(torch.get_num_threads())
    try:
        yield
    finally:
        dist.destroy_process_group()


def shard(dataset):
    """This rank's strided share ``dataset[rank::world]`` (no padding, no duplicates; possibly empty)."""
    from torch.utils.data import Subset

    rank, world = rank_world()
    if world == 1:
        return dataset
    return Subset(dataset, range(rank, len(dataset), world))


def sharded_stats(model, dataset, progress: bool = False):
    """``GaussianStats`` of the whole ``dataset``: each rank embeds its shard, the sums are all-reduced.

    Every rank gets the total; a rank whose shard is empty contributes zeros.
    """
    stats = model.partial_stats(shard(dataset), progress=progress, allow_empty=True)
    return stats.all_reduce()


def assign(costs, world: int) -> list:
    """The rank of each job: longest first, each to the least loaded rank (ties: the lower rank, then order).

    Deterministic, so every rank computes the same split without talking.
    """
    load = [0.0] * world
    owner = [0] * len(costs)
    for i in sorted(range(len(costs)), key=lambda i: (-costs[i], i)):
        r = min(range(world), key=lambda r: (load[r], r))
        owner[i] = r
        load[r] += costs[i]
    return owner


def gather_to_main(obj) -> list | None:
    """``[obj of rank 0, obj of rank 1, ...]`` on rank 0 (picklable objects), None on the other ranks."""
    if not active():
        return [obj]
    rank, world = dist.get_rank(), dist.get_world_size()
    out = [None] * world if rank == 0 else None
    dist.gather_object(obj, out, dst=0)
    return out


def mean_over_ranks(values: torch.Tensor) -> torch.Tensor:
    """The mean of a small tensor over all ranks (a detached copy); the tensor itself with one process."""
    if not active():
        return values
    values = values.detach().clone()
    dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values / dist.get_world_size()


def wrap(model: torch.nn.Module, device) -> torch.nn.Module:
    """``DistributedDataParallel(model)`` on ``device`` (gradients averaged over ranks)."""
    from torch.nn.parallel import DistributedDataParallel

    dev = torch.device(device)
    return DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)


def broadcast_buffers(model: torch.nn.Module) -> None:
    """Copy rank 0's buffers (e.g. BatchNorm running statistics) to every rank.

    DDP broadcasts them before each forward, so each rank's own last forward
    leaves its copy different; after training this makes every rank's model
    the one rank 0 saves.
    """
    if active():
        for buf in model.buffers():
            dist.broadcast(buf, src=0)


def barrier() -> None:
    if active():
        dist.barrier()


__all__ = ["active", "assign", "barrier", "broadcast_buffers", "gather_to_main", "mean_over_ranks", "process_group",
           "shard", "sharded_stats", "wrap"]
