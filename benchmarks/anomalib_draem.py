"""anomalib's DRAEM with fastfreq's FreqCutPaste vs its own Perlin-noise generator.

Needs the anomalib environment (``pip install -e ".[anomalib]"``; ``.ci/ecosystem_env.sh``
builds one). Both runs are anomalib's ``Draem`` trained and tested by anomalib's
``Engine`` on the same synthetic MVTec-style textures (``fastfreq synth-textures``), with
the same seed, steps, batch size and image size; they differ only in the training
anomalies:

- ``perlin``: anomalib's ``PerlinAnomalyGenerator`` with Perlin noise as its only source
  (``Draem(dtd_dir=<empty folder>)``: offline, no DTD textures);
- ``freqcutpaste``: ``FreqCutPasteDraem`` with Butterworth high-pass (cutoff 0.2, order 2)
  patches, area-ratio sizes 0.02-0.15, amplitude U(0.5, 2.0), probability 0.5, clip (0, 1).

Prints anomalib's test metrics (image / pixel AUROC and F1), the seconds per training step
(median and minimum over the steps after the first, from batch start to batch end; the
augmentation is inside it) and the augmenter's own time per call (median), as a Markdown
table. On a shared 2-core machine the Engine step times follow the load of the neighbours,
so the script then also times ``--interleaved-steps`` training steps of the two models taken
in turn on the same batches (median and minimum; both see the same load).

    python benchmarks/anomalib_draem.py --steps 48 --size 64 --batch 4   # the defaults
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings


def write_data(root, size, n_train, n_test, seed):
    fastfreq = os.path.join(os.path.dirname(sys.executable), "fastfreq")  # the console script
    subprocess.run([fastfreq, "synth-textures", root, "--categories", "fabric", "--size", str(size),
                    "--n-train", str(n_train), "--n-test-good", str(n_test), "--n-test-defect", str(n_test),
                    "--seed", str(seed)], check=True, stdout=subprocess.DEVNULL)


def build(kind, size, seed):
    from anomalib.models import Draem

    from fastfreq import FrequencyFilter
    from fastfreq.integrations.anomalib import FreqCutPasteDraem

    pre = Draem.configure_pre_processor(image_size=(size, size))
    if kind == "perlin":
        with tempfile.TemporaryDirectory() as empty:  # no DTD images: Perlin noise is the anomaly source
            return Draem(dtd_dir=empty, pre_processor=pre)
    return FreqCutPasteDraem(area_ratio=(0.02, 0.15), amplitude=(0.5, 2.0), probability=0.5,
                             patch_filter=FrequencyFilter("butterworth", "highpass", 0.2, 2), seed=seed,
                             pre_processor=pre)


def run(kind, data_root, args, work):
    import torch
    from anomalib.callbacks import ModelCheckpoint
    from anomalib.data import MVTecAD
    from anomalib.engine import Engine
    from lightning.pytorch import Callback, seed_everything

    class StepTimer(Callback):
        def __init__(self):
            self.times, self.augment = [], []

        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            self.start = time.perf_counter()

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            self.times.append(time.perf_counter() - self.start)

    seed_everything(args.seed, verbose=False)
    model = build(kind, args.size, args.seed)
    augment_seconds = []

    def timed(module, inputs):
        module._t0 = time.perf_counter()

    def done(module, inputs, output):
        augment_seconds.append(time.perf_counter() - module._t0)

    model.augmenter.register_forward_pre_hook(timed)
    model.augmenter.register_forward_hook(done)
    timer = StepTimer()
    datamodule = MVTecAD(root=data_root, category="fabric", train_batch_size=args.batch,
                         eval_batch_size=args.batch, num_workers=0, seed=args.seed)
    # one validation pass, after the last step (anomalib's post-processor takes its thresholds
    # there); no checkpoint (DRAEM's, with Adam's state, is 1.2 GB)
    engine = Engine(max_steps=args.steps, accelerator="cpu", logger=False,
                    callbacks=[timer, ModelCheckpoint(save_top_k=0)],
                    default_root_dir=os.path.join(work, kind), enable_progress_bar=False,
                    enable_model_summary=False, check_val_every_n_epoch=None, val_check_interval=args.steps)
    start = time.perf_counter()
    engine.fit(model, datamodule=datamodule)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    (metrics,) = engine.test(model, datamodule=datamodule, verbose=False)
    test_s = time.perf_counter() - start
    steps = timer.times[1:] or timer.times  # the first step warms up
    augment_seconds = augment_seconds[1:] or augment_seconds
    return {"kind": kind, "steps": len(timer.times), "step_s_median": statistics.median(steps),
            "step_s_min": min(steps),
            "step_s_mean": statistics.fmean(steps), "augment_s_median": statistics.median(augment_seconds),
            "fit_s": fit_s, "test_s": test_s, "torch_threads": torch.get_num_threads(),
            **{k: float(v) for k, v in metrics.items()}}


def interleaved(data_root, args):
    """Training steps of both models taken in turn on the same batches (forward, backward, Adam).

    The Engine runs above take minutes each, so on a shared machine their step times follow
    whatever the neighbours do; taken in turn, both kinds see the same load.
    """
    import numpy as np
    import torch
    from lightning.pytorch import seed_everything
    from PIL import Image

    from anomalib.data import ImageBatch

    files = sorted(os.listdir(os.path.join(data_root, "fabric", "train", "good")))
    images = torch.stack([torch.from_numpy(np.array(Image.open(os.path.join(data_root, "fabric", "train", "good", f))
                                                    .convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)
                          for f in files])
    seed_everything(args.seed, verbose=False)
    models = {kind: build(kind, args.size, args.seed).train() for kind in args.kinds}
    optimizers = {kind: torch.optim.Adam(m.model.parameters(), lr=1e-4) for kind, m in models.items()}
    times = {kind: [] for kind in models}
    for step in range(args.interleaved_steps + 1):  # the first round warms up
        batch = images[(step * args.batch) % len(images):][: args.batch]
        order = list(models) if step % 2 == 0 else list(models)[::-1]
        for kind in order:
            start = time.perf_counter()
            loss = models[kind].training_step(ImageBatch(image=batch.clone()), step)["loss"]
            optimizers[kind].zero_grad()
            loss.backward()
            optimizers[kind].step()
            if step:
                times[kind].append(time.perf_counter() - start)
    return {kind: {"median": statistics.median(t), "min": min(t)} for kind, t in times.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=48, help="Engine training steps per model (0: only the in-turn timing)")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--n-train", type=int, default=32)
    p.add_argument("--n-test", type=int, default=16, help="test images per kind (good / defect)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--kinds", nargs="+", default=["perlin", "freqcutpaste"], choices=["perlin", "freqcutpaste"],
                   help="which runs, in this order (default: %(default)s)")
    p.add_argument("--interleaved-steps", type=int, default=8,
                   help="steps per kind of the in-turn timing after the Engine runs (0: skip)")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    results = []
    with tempfile.TemporaryDirectory(prefix="fastfreq_anomalib_bench_") as work:
        data = os.path.join(work, "data")
        write_data(data, args.size, args.n_train, args.n_test, args.seed)
        for kind in args.kinds if args.steps else ():
            results.append(run(kind, data, args, work))
            print(json.dumps(results[-1]), flush=True)
        paired = interleaved(data, args) if args.interleaved_steps else {}
        print(json.dumps({"step_s_interleaved": paired}), flush=True)
        if not args.steps:
            results = [{"kind": k} for k in paired]
        for r in results:
            r["step_s_interleaved"] = paired.get(r["kind"], {}).get("median", float("nan"))
            r["step_s_interleaved_min"] = paired.get(r["kind"], {}).get("min", float("nan"))
    print(f"\nfabric, {args.size}x{args.size}, {args.n_train} train / {args.n_test} + {args.n_test} test, "
          f"{args.steps} steps of batch {args.batch}, seed {args.seed}\n")
    print("| generator | image AUROC | pixel AUROC | image F1 | pixel F1 | s / step in Engine (median, min) "
          "| s / step, in turn (median, min) | augmenter / call |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results if args.steps else ():
        print(f"| {r['kind']} | {r['image_AUROC']:.3f} | {r['pixel_AUROC']:.3f} | {r['image_F1Score']:.3f} | "
              f"{r['pixel_F1Score']:.3f} | {r['step_s_median']:.2f}, {r['step_s_min']:.2f} | "
              f"{r['step_s_interleaved']:.2f}, {r['step_s_interleaved_min']:.2f} | "
              f"{r['augment_s_median'] * 1000:.1f} ms |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
