"""``fastfreq demo``: the whole story on synthetic data in a few minutes."""
from __future__ import annotations


def add_demo(sub):
    from ..defaults import DEFAULT_OUT

    p = sub.add_parser("demo", help="plain vs Butterworth-HPF Scaled CutPaste for DRAEM on synthetic HDMAP",
                       description="Synthesise HDMAP domain A, train DRAEM with plain and with Butterworth "
                                   "high-pass (c=0.2, n=2) patches, compare image AUROC, write figures.")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help="output folder (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="a seconds-long run of the same pipeline")
    p.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args) -> int:
    from ..demo import run_demo

    run_demo(args.out, quick=args.quick, seed=args.seed, progress=not args.quiet)
    return 0
