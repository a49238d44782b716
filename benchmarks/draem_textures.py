"""DRAEM on a synthetic RGB texture category: plain vs Butterworth-HPF Scaled CutPaste (README numbers).

    python benchmarks/draem_textures.py --category fabric --size 64 --steps 250 [--seeds 0 1] [--threads 1]

Writes the textures under --data (if missing), trains DRAEM once per variant and seed on the same data,
seed and patch draws (only the patch filter differs; the RGB defaults of `fastfreq train draem --category`:
area-ratio patches, amplitude 0.2..1, input clipped to [0, 1]) and prints image / pixel metrics and PRO.
"""
import argparse
import json
import pathlib
import sys
import time


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="fastfreq_out/bench_textures")
    p.add_argument("--category", default="fabric")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--steps", type=int, default=250)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--threads", type=int, default=None, help="torch threads (1 avoids spin contention on a busy VM)")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)

    import torch

    from fastfreq import FrequencyFilter, ScaledCutPaste
    from fastfreq.apps.cli.draem import scaled_mean_filter
    from fastfreq.apps.defaults import CLIP, CUTPASTE_RGB, TRAIN
    from fastfreq.apps.draem import evaluate, train_draem
    from fastfreq.data import FolderDataset
    from fastfreq.data.textures import make_synthetic_textures

    if args.threads:
        torch.set_num_threads(args.threads)
    root = pathlib.Path(args.data)
    if not (root / args.category).is_dir():
        make_synthetic_textures(root, categories=(args.category,), size=args.size)
    size = (args.size, args.size)
    train = FolderDataset(root, args.category, "train", size=size).preload()
    test = FolderDataset(root, args.category, "test", size=size, channels=3).preload()
    mean_filter = scaled_mean_filter(size)
    variants = {"plain": None, "bhpf_c0.2_o2": FrequencyFilter("butterworth", "highpass", 0.2, 2)}
    rows = []
    for seed in args.seeds:
        for name, filt in variants.items():
            augment = ScaledCutPaste(**CUTPASTE_RGB, patch_filter=filt, seed=seed)
            cfg = dict(TRAIN, steps=args.steps)
            model, history = train_draem(train, augment, seed=seed, clip=CLIP, progress=False,
                                         model_kwargs=dict(cfg.pop("model_kwargs"), in_channels=3), **cfg)
            t0 = time.perf_counter()
            r = evaluate(model, test, mean_filter=mean_filter)
            row = dict(category=args.category, size=args.size, variant=name, seed=seed, steps=args.steps,
                       train_s=round(history["train_s"], 1), eval_s=round(time.perf_counter() - t0, 1),
                       step_ms=round(history["step_ms"]),
                       **{k: r[k] for k in ("image_auroc", "image_f1_max", "image_ap", "pixel_auroc", "pixel_ap",
                                            "pro")})
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
