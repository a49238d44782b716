"""Train and evaluate DRAEM on Scaled CutPaste batches (a plain PyTorch loop).

``train_draem`` feeds ``FreqCutPasteCollate`` batches to DRAEM: the augmented
image is the model input, the clean original the reconstruction target and the
paste mask the segmentation target. With a whole-image filter on the augment
(strategy 2) the input *and* the target are filtered, and ``evaluate`` must be
given the same filter; ``save_checkpoint`` keeps it in the config as plain data
(``fastfreq.augment.config``).

Under ``torchrun`` (an initialised process group of more than one process)
``train_draem`` trains with ``DistributedDataParallel``: a
``DistributedSampler`` splits every epoch's images between the ranks, each
rank draws its own patches (``fastfreq.distributed``), gradients are averaged
and rank 0 alone writes checkpoints.
"""
from __future__ import annotations

import math
import time
import warnings

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler
from tqdm.auto import tqdm

from .._validate import check_clip as check_clip_value
from .._validate import check_float, check_positive_int
from ..augment import FreqCutPasteCollate, ScaledCutPaste
from ..augment.config import filter_to_dict
from ..distributed import device_for_rank, rank_world
from ..filters import FrequencyFilter
from ..metrics import anomaly_metrics, write_scores_csv
from ..models.draem import DRAEM, DraemLoss, anomaly_map_from_logits, image_score, mean_filter as box_filter
from ..models.draem import load_checkpoint, load_train_state, save_checkpoint
from . import ddp

DEFAULT_MEAN_FILTER = 21  # DRAEM's box size; clipped to the map's shorter side


# ------------------------------------------------------------------ training
class _TimedCollate:
    """Wraps the collate and records its own run time in ``batch.extra`` (works in workers too)."""

    def __init__(self, collate: FreqCutPasteCollate):
        self.collate = collate

    def __call__(self, samples):
        start = time.perf_counter()
        batch = self.collate(samples)
        batch.extra["_collate_s"] = time.perf_counter() - start
        return batch


def _batches(loader, total_steps, on_epoch=None):
    """Yield (step, next() seconds, batch) for ``total_steps`` steps, cycling epochs (``on_epoch(epoch)`` first)."""
    step = 0
    epoch = 0
    while step < total_steps:
        if on_epoch is not None:
            on_epoch(epoch)
        epoch += 1
        it = iter(loader)
        while step < total_steps:
            start = time.perf_counter()
            try:
                batch = next(it)
            except StopIteration:
                break
            yield step, time.perf_counter() - start, batch
            step += 1


def train_draem(train_dataset, augment: ScaledCutPaste, *, epochs: int | None = None, steps: int | None = None,
                batch_size: int = 16, lr: float = 1e-3, weight_decay: float = 1e-4, seed: int = 0,
                num_workers: int = 0, model_kwargs: dict | None = None, loss_kwargs: dict | None = None,
                lr_schedule: str = "cosine", device="cpu", progress: bool = True, callback=None,
                distributed: bool | None = None, resume=None, checkpoint=None, checkpoint_every: int | None = None,
                checkpoint_config: dict | None = None, clip=None):
    """Train DRAEM on ``train_dataset`` augmented by ``augment``; return ``(model, history)``.

    Give ``epochs`` or ``steps`` (one of them). Samples may be tensors, tuples
    or dicts with an ``"image"`` key. Optimiser: AdamW; ``lr_schedule``
    "cosine" (to 0 at the last step) or "constant". Seeds: ``torch.manual_seed``
    and the DataLoader generator from ``seed``; the patches come from
    ``augment.seed`` (or, when None, from the seeded torch generator).

    ``history``: per-step lists ``loss``, ``l2``, ``ssim``, ``focal``, ``lr``,
    ``data_s`` (time in the DataLoader's next()), ``collate_s`` (the collate
    alone), ``compute_s`` (forward/backward/step); totals ``train_s``, and
    ``collate_fraction`` = data / (data + compute) with ``augment_fraction`` =
    collate / (data + compute), both over steps after the first (which holds
    one-off costs such as loading the Numba kernels); ``steps``, ``epochs``,
    ``batch_size``, ``image_filter`` (plain data, or None).

    ``callback(step, model, history)``, if given, runs after every step (e.g.
    to evaluate on the side); the model is put back in training mode after it.

    Checkpoints and resuming: with ``checkpoint`` (a path) the model and its
    training state (step, optimiser, scheduler; ``checkpoint_config`` as the
    config) are written there every ``checkpoint_every`` steps and after the
    last one. ``resume`` (such a checkpoint) restores them and continues at
    the saved step up to ``steps`` / ``epochs`` (the total, counted from the
    start of the first run). The batches before that step are drawn again
    (data and patches, no model compute), so a resumed run sees exactly the
    batches an uninterrupted one would: same seed, batch size and number of
    processes give the same result; the optimiser's settings (learning rate,
    weight decay) come from the checkpoint. ``history`` then holds the resumed
    steps only, and ``start_step``.

    Several processes: ``distributed`` (default: on when a process group of
    more than one process is initialised, e.g. under ``torchrun`` via
    ``fastfreq.apps.ddp.process_group``) wraps the model in
    ``DistributedDataParallel`` and splits each epoch with a
    ``DistributedSampler(seed=seed)`` (``set_epoch`` per epoch);
    ``batch_size`` is per process. Logged losses are means over the ranks;
    only rank 0 shows progress and writes ``checkpoint``; ``history`` gets
    ``world_size``; ``callback`` runs on every rank with the unwrapped model.
    A CUDA ``device`` without an index becomes ``cuda:LOCAL_RANK``.
    ``clip``: None (default: the augmented image is used as it is, e.g. HDMAP
    maps, whose faults exceed 1) or ``(low, high)``: the model input is clipped
    to that range after augmentation, e.g. ``(0, 1)`` for images in [0, 1]. Not
    with an ``image_filter`` (its output is not in the images' range).
    """
    if not isinstance(augment, ScaledCutPaste):
        raise TypeError(f"augment must be a ScaledCutPaste, got {type(augment).__name__}")
    if (epochs is None) == (steps is None):
        raise ValueError("give exactly one of epochs or steps")
    epochs, steps = check_positive_int("epochs", epochs, True), check_positive_int("steps", steps, True)
    batch_size = check_positive_int("batch_size", batch_size)
    lr, weight_decay = check_float("lr", lr), check_float("weight_decay", weight_decay)
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError(f"num_workers must be an integer >= 0, got {num_workers!r}")
    if lr_schedule not in ("cosine", "constant"):
        raise ValueError(f"lr_schedule must be 'cosine' or 'constant', got {lr_schedule!r}")
    if len(train_dataset) == 0:
        raise ValueError("train_dataset is empty")
    checkpoint_every = check_positive_int("checkpoint_every", checkpoint_every, True)
    if checkpoint_every is not None and checkpoint is None:
        raise ValueError("checkpoint_every needs checkpoint (the path to write)")
    if distributed is None:
        distributed = ddp.active()
    elif distributed and not ddp.active():
        raise ValueError("distributed=True needs an initialised torch.distributed process group of more than one "
                         "process (run under torchrun, see fastfreq.apps.ddp.process_group)")
    rank, world = rank_world() if distributed else (0, 1)
    if distributed:
        device = device_for_rank(device)
    resumed = _read_resume(resume) if resume is not None else None
    clip = check_clip(clip, augment)

    torch.manual_seed(seed)
    sampler = DistributedSampler(train_dataset, num_replicas=world, rank=rank, shuffle=True,
                                 seed=seed) if distributed else None
    # drop_last never leaves an epoch empty
    batch_size = min(batch_size, len(train_dataset) if sampler is None else len(sampler))
    loader = DataLoader(train_dataset, batch_size=batch_size, shuffle=sampler is None, sampler=sampler,
                        drop_last=True, num_workers=num_workers, collate_fn=_TimedCollate(FreqCutPasteCollate(augment)),
                        generator=torch.Generator().manual_seed(seed), persistent_workers=num_workers > 0)
    total = steps if steps is not None else epochs * len(loader)
    model = DRAEM(**(model_kwargs or {})).to(device).train()
    criterion = DraemLoss(**(loss_kwargs or {}))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = (lambda s: 0.5 * (1 + math.cos(math.pi * s / total))) if lr_schedule == "cosine" else (lambda s: 1.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    run = dict(seed=seed, batch_size=batch_size, world_size=world)
    first = _restore(resumed, model, optimizer, scheduler, schedule, total, run) if resumed is not None else 0
    net = ddp.wrap(model, device) if distributed else model

    keys = ("loss", "l2", "ssim", "focal", "lr", "data_s", "collate_s", "compute_s")
    history = {k: [] for k in keys}
    bar = tqdm(total=total, initial=first, desc="train draem", disable=not progress or rank != 0, leave=False)
    start_all = time.perf_counter()
    for step, data_s, batch in _batches(loader, total, sampler.set_epoch if sampler is not None else None):
        if step < first:  # resuming: the same batches and patches are drawn again, nothing is computed
            continue
        start = time.perf_counter()
        batch = batch.to(device)
        if clip is not None:
            batch.image = batch.image.clamp(*clip)
        target = augment.filter_image(batch.original)  # strategy 2: the target lives in the filtered domain too
        reconstruction, logits = net(batch.image)
        loss, parts = criterion(target, reconstruction, batch.mask, logits)
        shown, parts = _over_ranks(loss, parts) if distributed else (loss, parts)  # every rank sees the same values
        if not torch.isfinite(shown):
            raise FloatingPointError(f"loss became {shown.item()} at step {step}; lower the learning rate")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        history["lr"].append(optimizer.param_groups[0]["lr"])
        scheduler.step()
        history["loss"].append(shown.item())
        for name, value in parts.items():
            history[name].append(value.item())
        history["data_s"].append(data_s)
        history["collate_s"].append(float(batch.extra["_collate_s"]))
        history["compute_s"].append(time.perf_counter() - start)
        bar.update(1)
        bar.set_postfix(loss=f"{history['loss'][-1]:.4f}")
        done = step + 1
        if checkpoint is not None and rank == 0 and (done == total or (checkpoint_every
                                                                     and done % checkpoint_every == 0)):
            save_checkpoint(checkpoint, model, checkpoint_config, _train_state(optimizer, scheduler, done, total, run))
        if callback is not None:
            callback(step, model, history)
            model.train()
    bar.close()
    if distributed:  # BatchNorm statistics: every rank ends with rank 0's (those DDP used in every forward)
        ddp.broadcast_buffers(model)
    history["train_s"] = time.perf_counter() - start_all
    history.update(_time_fractions(history))
    history.update(steps=total, epochs=total / len(loader), batch_size=batch_size,
                   image_filter=filter_to_dict(augment.image_filter))
    if distributed:
        history["world_size"] = world
    if resumed is not None:
        history["start_step"] = first
    return model.eval(), history


def _over_ranks(loss, parts):
    """The loss and its parts averaged over the ranks (detached): what is logged under DDP."""
    values = ddp.mean_over_ranks(torch.stack([loss.detach()] + [v.detach() for v in parts.values()]))
    return values[0], dict(zip(parts, values[1:]))


def _train_state(optimizer, scheduler, step: int, total: int, run: dict) -> dict:
    """What ``resume`` needs besides the weights (loadable with ``weights_only=True``)."""
    return {"step": step, "total": total, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            **run}


def _read_resume(path) -> dict:
    """Weights, config and train state of a checkpoint to resume from (errors before any training starts)."""
    model, config = load_checkpoint(path)
    state = load_train_state(path)
    if state is None:
        raise ValueError(f"{path} has no training state (written by an older fastfreq, or not by train_draem): "
                         "it can be evaluated but not resumed")
    return {"path": str(path), "config": config, "train_state": state, "state_dict": model.state_dict()}


def _restore(resumed: dict, model, optimizer, scheduler, schedule, total: int, run: dict) -> int:
    """Load weights, optimiser and scheduler; return the step to continue from."""
    state, path = resumed["train_state"], resumed["path"]
    if resumed["config"]["model"] != dict(model.config):
        raise ValueError(f"{path} holds a DRAEM of {resumed['config']['model']}, this run builds {dict(model.config)}")
    step = int(state["step"])
    if step >= total:
        raise ValueError(f"{path} is at step {step}: nothing left to train for a total of {total} steps "
                         "(steps / epochs count from the start of the first run; ask for more)")
    changed = [f"{k} {run[k]} (checkpoint: {state.get(k)})" for k in run if state.get(k, run[k]) != run[k]]
    if changed:
        warnings.warn(f"resuming {path} with {', '.join(changed)}: training continues, but not on the batches an "
                      "uninterrupted run would have seen", RuntimeWarning, stacklevel=3)
    model.load_state_dict(resumed["state_dict"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    # this run's schedule at the saved step (the same value when the total is unchanged)
    for group, base in zip(optimizer.param_groups, scheduler.base_lrs):
        group["lr"] = base * schedule(step)
    scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]
    return step


def check_clip(clip, augment: ScaledCutPaste | None = None):
    """``fastfreq._validate.check_clip``, refused together with ``augment``'s whole-image filter."""
    clip = check_clip_value(clip)
    if clip is not None and augment is not None and augment.image_filter is not None:
        raise ValueError("clip cannot be combined with an image_filter: the filtered input is not in the "
                         "images' range; use clip=None")
    return clip


def _time_fractions(history: dict) -> dict:
    """Share of the step time spent waiting for batches, skipping the warm-up step."""
    skip = 1 if len(history["loss"]) > 1 else 0
    data = float(np.sum(history["data_s"][skip:]))
    collate = float(np.sum(history["collate_s"][skip:]))
    compute = float(np.sum(history["compute_s"][skip:]))
    step = data + compute
    return {"collate_fraction": data / step if step > 0 else 0.0,
            "augment_fraction": collate / step if step > 0 else 0.0,
            "step_ms": 1000 * step / max(len(history["loss"]) - skip, 1)}


# ---------------------------------------------------------------- evaluation
def _sample_fields(sample):
    """(image, label, mask or None, path) of a dataset item."""
    if isinstance(sample, dict):
        return sample["image"], int(sample.get("label", 0)), sample.get("mask"), str(sample.get("path", ""))
    if isinstance(sample, (tuple, list)):
        return sample[0], int(sample[1]) if len(sample) > 1 else 0, None, ""
    return sample, 0, None, ""


@torch.no_grad()
def predict_maps(model: DRAEM, images: torch.Tensor, image_filter: FrequencyFilter | None = None,
                 batch_size: int = 64, device="cpu") -> torch.Tensor:
    """Anomaly maps (N, 1, H, W) of ``images`` (N, C, H, W), filtered first if ``image_filter``."""
    model = model.to(device).eval()
    maps = []
    for chunk in torch.split(images, batch_size):
        if image_filter is not None:
            chunk = image_filter(chunk)
        maps.append(anomaly_map_from_logits(model(chunk.to(device))[1]).cpu())
    return torch.cat(maps)


def evaluate(model: DRAEM, test_dataset, *, batch_size: int = 64, image_filter: FrequencyFilter | None = None,
             mean_filter: int | None = DEFAULT_MEAN_FILTER, csv_path=None, device="cpu",
             return_maps: bool = False, pro: bool = True) -> dict:
    """Score ``test_dataset``: the field's metrics (``fastfreq.metrics.anomaly_metrics``) and per-image scores.

    ``image_filter`` must be the whole-image filter the model was trained with
    (None if none). Image score = max of the ``mean_filter``-box-filtered
    anomaly map. Returns ``image_auroc``, ``image_f1_max``, ``image_ap`` (None
    if only one class is present), ``pixel_auroc``, ``pixel_ap``, ``pro``
    (None without masks, with one class, or ``pro=False`` for PRO), ``scores``,
    ``labels``, ``paths``, ``csv`` (the written path or None) and, with
    ``return_maps``, ``maps`` (N, 1, H, W) and ``images``.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    if len(test_dataset) == 0:
        raise ValueError("test_dataset is empty")
    fields = [_sample_fields(test_dataset[i]) for i in range(len(test_dataset))]
    images = torch.stack([f[0] for f in fields]).float()
    labels = np.array([f[1] for f in fields], dtype=np.int64)
    paths = [f[3] for f in fields]
    maps = predict_maps(model, images, image_filter, batch_size, device)
    scores = image_score(maps, mean_filter).numpy().astype(np.float64)
    masks = None
    if all(f[2] is not None for f in fields):
        masks = (torch.stack([torch.as_tensor(f[2]) for f in fields]) > 0.5).int()
    result = anomaly_metrics(labels, scores, masks, None if masks is None else maps, pro=pro)
    result.update(scores=scores, labels=labels, paths=paths, csv=None)
    if csv_path is not None:
        result["csv"] = write_scores_csv(csv_path, paths, labels, scores)
    if return_maps:
        result.update(maps=maps, images=images, smoothed=box_filter(maps, mean_filter))
    return result


__all__ = ["train_draem", "evaluate", "predict_maps"]
