"""``fastfreq train draem`` and DRAEM checkpoints in ``fastfreq eval``."""
from __future__ import annotations

import pathlib

from .common import CLIError, add_missing_masks_option, nonneg_float, nonneg_int, positive_int

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
    from ..defaults import CUTPASTE, CUTPASTE_RGB

    def pair(v):
        return " ".join(f"{x:g}" for x in v)

    g = p.add_argument_group("Scaled CutPaste (defaults differ for --domain and --category data)")
    g.add_argument("--cut-h", nargs=2, type=positive_int, default=None, metavar=("MIN", "MAX"),
                   help=f"patch height range in pixels, inclusive (default: {pair(CUTPASTE['cut_h'])} for --domain; "
                        f"area-ratio patches for --category)")
    g.add_argument("--cut-w", nargs=2, type=positive_int, default=None, metavar=("MIN", "MAX"),
                   help=f"patch width range in pixels, inclusive (default: {pair(CUTPASTE['cut_w'])} for --domain)")
    g.add_argument("--area-ratio", nargs=2, type=nonneg_float, default=None, metavar=("MIN", "MAX"),
                   help=f"patch area as a fraction of the image, instead of --cut-h/--cut-w "
                        f"(default: {pair(CUTPASTE_RGB['area_ratio'])} for --category)")
    g.add_argument("--aspect-ratio", nargs=2, type=nonneg_float, default=None, metavar=("MIN", "MAX"),
                   help="patch width / height range of area-ratio patches (default: 0.3 3.33)")
    g.add_argument("--amplitude", nargs=2, type=nonneg_float, default=None, metavar=("MIN", "MAX"),
                   help=f"patch scale a ~ U(MIN, MAX) (default: {pair(CUTPASTE['amplitude'])} for --domain, "
                        f"{pair(CUTPASTE_RGB['amplitude'])} for --category)")
    g.add_argument("--probability", type=float, default=None,
                   help=f"chance an image gets a patch, in [0, 1] (default: {CUTPASTE['probability']:g})")
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
                          description="Train DRAEM with Scaled CutPaste on <ROOT>/domain_<X>/train/good (HDMAP, "
                                      "--domain) or <ROOT>/<X>/train/good (MVTec-style RGB, --category), then "
                                      "score the test split; writes <OUT>/draem_<X>.pt, history_<X>.json, "
                                      "scores_<X>.csv and metrics_<X>.json.")
    d.add_argument("--data", required=True, metavar="ROOT", help="HDMAP root or MVTec-style root folder")
    which = d.add_mutually_exclusive_group(required=True)
    which.add_argument("--domain", metavar="X", help="HDMAP domain, e.g. A")
    which.add_argument("--category", metavar="X", help="MVTec-style category folder, e.g. fabric")
    d.add_argument("--image-size", nargs="+", type=positive_int, default=None, metavar="N",
                   help="resize to N x N or H W (default: 256 for --category, stored size for --domain)")
    clip = d.add_mutually_exclusive_group()
    clip.add_argument("--clip", nargs=2, type=float, default=None, metavar=("LOW", "HIGH"),
                      help="clip the augmented model input (default: 0 1 for --category, none for --domain)")
    clip.add_argument("--no-clip", action="store_true", help="never clip the augmented input")
    d.add_argument("--no-eval", action="store_true", help="do not score the test split after training")
    add_missing_masks_option(d)
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
    d.add_argument("--mean-filter", type=positive_int, default=None,
                   help=f"box size of the image score, stored for eval (default: {MEAN_FILTER} for --domain; "
                        f"DRAEM's 21 at 256 px scaled to the image size for --category)")
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
    """The ScaledCutPaste described by the train options (defaults by data kind: HDMAP strips or RGB areas)."""
    from ...augment import ScaledCutPaste
    from ..defaults import CUTPASTE, CUTPASTE_RGB

    patch = _make_filter(args.patch_filter, args.filter_mode, args.cutoff, args.order)
    image = _make_filter(args.image_filter, args.image_filter_mode or args.filter_mode,
                         args.cutoff if args.image_cutoff is None else args.image_cutoff,
                         args.order if args.image_order is None else args.image_order)
    rgb = getattr(args, "category", None) is not None
    defaults = CUTPASTE_RGB if rgb else CUTPASTE
    given = lambda name: None if getattr(args, name, None) is None else tuple(getattr(args, name))  # noqa: E731
    pixels = args.cut_h is not None or args.cut_w is not None
    if pixels and given("area_ratio") is not None:
        raise CLIError("give either --cut-h/--cut-w or --area-ratio, not both")
    if pixels and rgb and (args.cut_h is None or args.cut_w is None):
        raise CLIError("give --cut-h and --cut-w together (a category has no pixel default)")
    if pixels or not (rgb or given("area_ratio") is not None):  # HDMAP strips: a missing side from the default
        size = dict(cut_h=given("cut_h") or defaults["cut_h"], cut_w=given("cut_w") or defaults["cut_w"])
    else:
        size = dict(area_ratio=given("area_ratio") or defaults["area_ratio"])
        if given("aspect_ratio") is not None:
            size["aspect_ratio"] = given("aspect_ratio")
    amplitude = given("amplitude") or defaults["amplitude"]
    probability = defaults["probability"] if args.probability is None else args.probability
    return ScaledCutPaste(**size, amplitude=amplitude, probability=probability, normalize=not args.no_normalize,
                          patch_filter=patch, image_filter=image, seed=args.seed)


def _image_size(values):
    """--image-size N or H W -> (h, w) or None."""
    if values is None:
        return None
    if len(values) not in (1, 2):
        raise CLIError(f"--image-size takes N or H W, got {len(values)} values")
    return (values[0], values[0]) if len(values) == 1 else tuple(values)


def scaled_mean_filter(size) -> int:
    """DRAEM's 21-pixel box at 256 px scaled to the shorter side of ``size`` (odd, >= 3)."""
    from ..defaults import MEAN_FILTER_RGB

    box = max(3, int(round(MEAN_FILTER_RGB * min(size) / 256)))
    return box if box % 2 else box + 1


def _data_setup(args):
    """(kind, name, train dataset, size, clip, mean filter) of the --domain / --category options."""
    from ...data import FolderDataset, HDMAPDataset
    from ..defaults import CLIP, IMAGE_SIZE, MEAN_FILTER

    size = _image_size(args.image_size)
    if args.domain is not None:
        kind = "hdmap"
        dataset = HDMAPDataset(args.data, args.domain, "train", size=size).preload()
        name = dataset.domain.removeprefix("domain_")
        clip, mean_filter = None, MEAN_FILTER
    else:
        kind, name = "folder", args.category
        size = size or IMAGE_SIZE
        dataset = FolderDataset(args.data, args.category, "train", size=size).preload()
        clip = None if args.image_filter != "none" else CLIP
        mean_filter = scaled_mean_filter(size)
    if args.no_clip:
        clip = None
    elif args.clip is not None:
        clip = tuple(args.clip)
    return kind, name, dataset, size, clip, args.mean_filter or mean_filter


def _test_dataset(data, kind, name, size, channels, missing_masks="error"):
    from ...data import FolderDataset, HDMAPDataset

    if kind == "hdmap":
        return HDMAPDataset(data, name, "test", size=size, channels=channels)
    return FolderDataset(data, name, "test", size=size, channels=channels, missing_masks=missing_masks)


def _write_evaluation(out, name, result, extra) -> str:
    """scores_<name>.csv was written by evaluate; write metrics_<name>.json and print the metrics."""
    from ..._files import write_json
    from .common import format_metrics, metrics_record

    path = write_json(out / f"metrics_{name}.json", dict(metrics_record(result), **extra))
    print(format_metrics(result))
    print(f"scores: {result['csv']}\nmetrics: {path}")
    return path


def cmd_train(args) -> int:
    from ..._files import write_json
    from ...augment.config import augment_to_dict, filter_to_dict
    from ...distributed import device_for_rank, is_main_process, rank_world
    from ..ddp import process_group
    from ..defaults import TRAIN
    from ..draem import check_clip, evaluate, train_draem

    augment = build_augment(args)  # option errors before any data is read
    device = device_for_rank(args.device)
    kind, name, dataset, size, clip, mean_filter = _data_setup(args)
    check_clip(clip, augment)
    in_channels = int(dataset[0]["image"].shape[0])
    test = None if args.no_eval else _test_dataset(args.data, kind, name, size, in_channels, args.missing_masks)
    length = {"epochs": args.epochs} if args.epochs else {"steps": args.steps or TRAIN["steps"]}
    model_kwargs = dict(in_channels=in_channels, recon_width=args.recon_width, disc_width=args.disc_width,
                        depth=args.depth)
    train_cfg = dict(batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay, seed=args.seed,
                     num_workers=args.num_workers, **length)
    out = pathlib.Path(args.out)
    config = {"augment": augment_to_dict(augment), "image_filter": filter_to_dict(augment.image_filter),
              "mean_filter": mean_filter, "train": train_cfg, "data": str(args.data), "data_kind": kind,
              ("domain" if kind == "hdmap" else "category"): name,
              "image_size": None if size is None else list(size), "clip": None if clip is None else list(clip)}
    ckpt = out / f"draem_{name}.pt"
    with process_group(device):  # torchrun: DDP over WORLD_SIZE processes; else nothing
        model, history = train_draem(dataset, augment, model_kwargs=model_kwargs, progress=not args.quiet,
                                     device=device, resume=args.resume, checkpoint=ckpt, clip=clip,
                                     checkpoint_every=args.checkpoint_every, checkpoint_config=config, **train_cfg)
        world = rank_world()[1]
        if not is_main_process():
            return 0
    write_json(out / f"history_{name}.json", history)
    steps = history["steps"]
    ran = f"steps {history['start_step']}-{steps}" if "start_step" in history else f"{steps} steps"
    procs = f" x {world} processes" if world > 1 else ""
    print(f"trained DRAEM on {len(dataset)} images{procs}: {ran} in {history['train_s']:.1f} s, "
          f"final loss {history['loss'][-1]:.4f}, collate share of a step {100 * history['collate_fraction']:.1f}%")
    print(f"checkpoint: {ckpt}")
    if test is not None:
        result = evaluate(model, test, mean_filter=mean_filter, image_filter=augment.image_filter,
                          csv_path=out / f"scores_{name}.csv")
        print(f"{'domain' if kind == 'hdmap' else 'category'} {name}: {len(test)} test images")
        _write_evaluation(out, name, result, dict(n_train=len(dataset), n_test=len(test), checkpoint=str(ckpt),
                                                  data_kind=kind, name=name, train_s=history["train_s"]))
    return 0


def cmd_eval_draem(args) -> int:
    """Score <ROOT>/domain_<X>/test (--domain) or <ROOT>/<X>/test (--category) with a DRAEM checkpoint."""
    from ...augment.config import filter_from_dict
    from ...data.datasets import domain_folder
    from ...models.draem import load_checkpoint
    from ..draem import evaluate

    if args.domain and args.category:
        raise CLIError("give --domain or --category, not both")
    model, config = load_checkpoint(args.checkpoint)
    kind = config.get("data_kind", "hdmap")  # checkpoints before data kinds were HDMAP
    if not (args.domain or args.category):
        if kind == "folder":
            raise CLIError(f"--category is required for a DRAEM checkpoint (trained on category "
                           f"{config.get('category')!r})")
        raise CLIError("--domain is required for a DRAEM checkpoint (HDMAP), or --category for a category")
    kind, name = ("hdmap", domain_folder(args.domain).removeprefix("domain_")) if args.domain else \
        ("folder", args.category)
    size = config.get("image_size")
    dataset = _test_dataset(args.data, kind, name, None if size is None else tuple(size),
                            config["model"]["in_channels"], args.missing_masks)
    mean_filter = args.mean_filter or config.get("mean_filter")
    out = pathlib.Path(args.out) if args.out else pathlib.Path(args.checkpoint).parent
    result = evaluate(model, dataset, batch_size=args.batch_size, mean_filter=mean_filter,
                      image_filter=filter_from_dict(config.get("image_filter")), csv_path=out / f"scores_{name}.csv",
                      pro=not args.no_pro)
    print(f"{'domain' if kind == 'hdmap' else 'category'} {name}: {len(dataset)} test images")
    _write_evaluation(out, name, result, dict(n_test=len(dataset), checkpoint=str(args.checkpoint), data_kind=kind,
                                              name=name))
    return 0
