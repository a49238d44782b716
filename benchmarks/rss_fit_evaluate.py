"""Peak RSS of ``fit_evaluate`` / ``run_grid`` on an MVTec-style category (one fresh process per call).

    python benchmarks/rss_fit_evaluate.py ROOT CATEGORY [--grid OUT]

Make large images first, e.g. 40 synthetic 1024x1024 textures:
    fastfreq synth-textures data/tex1024 --categories fabric --size 1024 --n-train 20 --n-test-good 10 --n-test-defect 10
Prints the peak resident set size of this process (``ru_maxrss``) and the metrics.
"""
import argparse
import json
import resource
import sys
import time


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("root")
    p.add_argument("category")
    p.add_argument("--grid", metavar="OUT", help="run a one-config run_grid into OUT instead of fit_evaluate")
    p.add_argument("--kind", default="wepadim", choices=("wepadim", "padim"))
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    if args.grid:
        from fastfreq.apps.grid import run_grid

        recs = run_grid(args.root, [args.category], args.grid, wavelets=("haar",), levels=(1,), sigmas=(4.0,),
                        cov_regs=(0.01,), progress=False, echo=lambda *a: None)
        metrics = {k: v for k, v in recs[0].items() if k.startswith(("image", "pixel", "pro"))}
    else:
        from fastfreq.apps.wepadim import fit_evaluate

        r = fit_evaluate(args.root, args.category, args.kind)
        metrics = {k: r[k] for k in r if k.startswith(("image_", "pixel_", "pro"))}
    wall = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"mode": "grid" if args.grid else args.kind, "peak_rss_mb": round(rss_mb, 1),
                      "wall_s": round(wall, 1), **metrics}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
