"""``fastfreq train draem`` and DRAEM checkpoints in ``fastfreq eval``."""
from __future__ import annotations

import pathlib

from .common import CLIError, nonneg_float, nonneg_int, positive_int

FILTER_SHAPES = ("none", "ideal", "gaussian", "butterworth")
FILTER_MODES = ("lowpass", "highpass")


def _add_filter_options(p):
    g = p.add_argument_group("frequency filters")
    g.add_argument("--patch-filter", choices=FILTER_SHAPES, default="none",
                   help="filter each pasted patch on its own grid, strategy 1 (default: none)")
    g.add_argument("--filter-mode", choices=FILTER_MODES, default="highpass",
                   help="patch filter mode (default: highpass)")
    g.add_argument("--cutoff", type=float, default=0.2,
                   help="patch filter cutoff in cycles/pixel, in (0, 0.75], 0.5 = Nyquist (default: 0.2)")
    g.add_argument("--order", type=float, default=2.0, help="Butterworth order >= 1 (default: 2)")
    g.add_argument("--image-filter", choices=FILTER_SHAPES, default="none",
                   help="filter the whole model input, strategy 2; also applied at eval (default: none)")
    g.add_argument("--image-filter-mode", choices=FILTER_MODES, default=None,
                   help="image filter mode (default: --filter-mode)")
    g.add_argument("--image-cutoff", type=float, default=None, help="image filter cutoff (default: --cutoff)")
    g.add_argument("--image-order", type=float, default=None, help="image filter order (default: --order)")


def _add_cutpaste_options(p):
    from ..defaults import CUTPASTE

    g = p.add_argument_group("Scaled CutPaste")
    g.add_argument("--cut-h", nargs=2, type=positive_int, default=list(CUTPASTE["cut_h"]), metavar=("MIN", "MAX"),
                   help="patch height range in pixels, inclusive (default: %(default)s)")
    g.add_argument("--cut-w", nargs=2, type=positive_int, default=list(CUTPASTE["cut_w"]), metavar=("MIN", "MAX"),
                   help="patch width range in pixels, inclusive (default: %(default)s)")
    g.add_argument("--amplitude", nargs=2, type=nonneg_float, default=list(CUTPASTE["amplitude"]),
                   metavar=("MIN", "MAX"), help="patch scale a ~ U(MIN, MAX) (default: %(default)s)")
    g.add_argument("--probability", type=float, default=CUTPASTE["probability"],
                   help="chance an image gets a patch, in [0, 1] (default: %(default)s)")
    g.add_argument("--no-normalize", action="store_true", help="do not max-abs normalise patches")


def _add_run_options(p):
    g = p.add_argument_group("device, checkpoints, several processes",
                             "Under `torchrun --nproc_per_node N` every process trains a DDP replica on its share of "
                             "each epoch; --batch-size is per process; rank 0 writes the files.")
    g.add_argument("--device", default="auto", metavar="DEV",
                   help="cpu, cuda or cuda:N (default: auto = cuda when available; under torchrun cuda means "
                        "cuda:LOCAL_RANK)")
    g.add_argument("--resume", default=None, metavar="CHECKPOINT",
                   help="continue a run from a checkpoint written by `train draem` (weights, optimiser, scheduler, "
                        "step); --steps / --epochs is the total from the first run's start")
    g.add_argument("--checkpoint-every", type=positive_int, default=None, metavar="K",
                   help="also write the checkpoint every K steps (default: only at the end)")


def add_train_draem(models):
    from ..defaults import MEAN_FILTER, TRAIN

    d = models.add_parser("draem", help="DRAEM with configurable widths",
                          description="Train DRAEM on <ROOT>/domain_<X>/train/good with Scaled CutPaste; writes "
                                      "<OUT>/draem_<X>.pt and <OUT>/history_<X>.json.")
    d.add_argument("--data", required=True, metavar="ROOT", help="HDMAP root folder")
    d.add_argument("--domain", required=True, metavar="X", help="domain, e.g. A")
    length = d.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=positive_int, help="passes over the train set")
    length.add_argument("--steps", type=positive_int, help=f"optimiser steps (default: {TRAIN['steps']})")
    d.add_argument("--batch-size", type=positive_int, default=TRAIN["batch_size"], help="(default: %(default)s)")
    d.add_argument("--lr", type=nonneg_float, default=TRAIN["lr"], help="AdamW learning rate (default: %(default)s)")
    d.add_argument("--weight-decay", type=nonneg_float, default=TRAIN["weight_decay"], help="(default: %(default)s)")
    d.add_argument("--seed", type=int, default=0, help="seed of the model, loader and patches (default: 0)")
    d.add_argument("--num-workers", type=nonneg_int, default=0, help="DataLoader workers (default: 0)")
    widths = TRAIN["model_kwargs"]
    d.add_argument("--recon-width", type=positive_int, default=widths["recon_width"], help="(default: %(default)s)")
    d.add_argument("--disc-width", type=positive_int, default=widths["disc_width"], help="(default: %(default)s)")
    d.add_argument("--depth", type=positive_int, default=widths["depth"], help="poolings (default: %(default)s)")
    d.add_argument("--mean-filter", type=positive_int, default=MEAN_FILTER,
                   help="box size of the image score, stored for eval (default: %(default)s)")
    d.add_argument("--out", default="fastfreq_out/train", metavar="DIR", help="output folder (default: %(default)s)")
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_run_options(d)
    _add_cutpaste_options(d)
    _add_filter_options(d)
    d.set_defaults(func=cmd_train)


def _make_filter(shape, mode, cutoff, order):
    from ...filters import FrequencyFilter

    return None if shape == "none" else FrequencyFilter(shape, mode, cutoff, order)


def build_augment(args):
    """The ScaledCutPaste described by the train options."""
    from ...augment import ScaledCutPaste

    patch = _make_filter(args.patch_filter, args.filter_mode, args.cutoff, args.order)
    image = _make_filter(args.image_filter, args.image_filter_mode or args.filter_mode,
                         args.cutoff if args.image_cutoff is None else args.image_cutoff,
                         args.order if args.image_order is None else args.image_order)
    return ScaledCutPaste(cut_h=tuple(args.cut_h), cut_w=tuple(args.cut_w), amplitude=tuple(args.amplitude),
                          probability=args.probability, normalize=not args.no_normalize,
                          patch_filter=patch, image_filter=image, seed=args.seed)


def cmd_train(args) -> int:
    from ..._files import write_json
    from ...augment.config import augment_to_dict, filter_to_dict
    from ...data import HDMAPDataset
    from ...distributed import device_for_rank, is_main_process, rank_world
    from ..ddp import process_group
    from ..defaults import TRAIN
    from ..draem import train_draem

    augment = build_augment(args)  # option errors before any data is read
    device = device_for_rank(args.device)
    dataset = HDMAPDataset(args.data, args.domain, "train").preload()
    length = {"epochs": args.epochs} if args.epochs else {"steps": args.steps or TRAIN["steps"]}
    model_kwargs = dict(in_channels=1, recon_width=args.recon_width, disc_width=args.disc_width, depth=args.depth)
    train_cfg = dict(batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay, seed=args.seed,
                     num_workers=args.num_workers, **length)
    out = pathlib.Path(args.out)
    domain = dataset.domain.removeprefix("domain_")
    config = {"augment": augment_to_dict(augment), "image_filter": filter_to_dict(augment.image_filter),
              "mean_filter": args.mean_filter, "train": train_cfg, "domain": domain, "data": str(args.data)}
    ckpt = out / f"draem_{domain}.pt"
    with process_group(device):  # torchrun: DDP over WORLD_SIZE processes; else nothing
        model, history = train_draem(dataset, augment, model_kwargs=model_kwargs, progress=not args.quiet,
                                     device=device, resume=args.resume, checkpoint=ckpt,
                                     checkpoint_every=args.checkpoint_every, checkpoint_config=config, **train_cfg)
        world = rank_world()[1]
        if not is_main_process():
            return 0
    write_json(out / f"history_{domain}.json", history)
    steps = history["steps"]
    ran = f"steps {history['start_step']}-{steps}" if "start_step" in history else f"{steps} steps"
    procs = f" x {world} processes" if world > 1 else ""
    print(f"trained DRAEM on {len(dataset)} images{procs}: {ran} in {history['train_s']:.1f} s, "
          f"final loss {history['loss'][-1]:.4f}, collate share of a step {100 * history['collate_fraction']:.1f}%")
    print(f"checkpoint: {ckpt}")
    return 0


def cmd_eval_draem(args) -> int:
    """Score <ROOT>/domain_<X>/test with a DRAEM checkpoint."""
    from ...augment.config import filter_from_dict
    from ...data import HDMAPDataset
    from ...models.draem import load_checkpoint
    from ..draem import evaluate

    if not args.domain:
        raise CLIError("--domain is required for a DRAEM checkpoint")
    model, config = load_checkpoint(args.checkpoint)
    dataset = HDMAPDataset(args.data, args.domain, "test", channels=config["model"]["in_channels"])
    mean_filter = args.mean_filter or config.get("mean_filter")
    out = pathlib.Path(args.out) if args.out else pathlib.Path(args.checkpoint).parent
    domain = dataset.domain.removeprefix("domain_")
    result = evaluate(model, dataset, batch_size=args.batch_size, mean_filter=mean_filter,
                      image_filter=filter_from_dict(config.get("image_filter")), csv_path=out / f"scores_{domain}.csv")
    auroc = "n/a (one class only)" if result["image_auroc"] is None else f"{result['image_auroc']:.4f}"
    print(f"domain {domain}: {len(dataset)} test images, image AUROC {auroc}")
    if result["pixel_auroc"] is not None:
        print(f"pixel AUROC {result['pixel_auroc']:.4f}")
    print(f"scores: {result['csv']}")
    return 0
