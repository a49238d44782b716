"""``fastfreq eda PHASE``: the frequency EDA of HDMAP data as CSV tables and PNG figures."""
from __future__ import annotations


def add_eda(sub):
    p = sub.add_parser("eda", help="frequency EDA of HDMAP data: CSV tables and PNG figures",
                       description="phase1: band energy of normal vs fault images and mean spectra; "
                                   "cutpaste: what Scaled CutPaste does to the spectrum; filters: the pasted "
                                   "difference under each patch filter (same params for all); recon: bands "
                                   "of a DRAEM checkpoint's reconstruction error (FAIR's frequency bias).")
    p.add_argument("phase", choices=("phase1", "cutpaste", "filters", "recon"))
    p.add_argument("--data", required=True, metavar="ROOT", help="HDMAP root with domain_X folders")
    p.add_argument("--domains", nargs="+", default=["A", "B", "C", "D"], metavar="D", help="(default: A B C D)")
    p.add_argument("--out", default="fastfreq_out/eda", metavar="DIR", help="output folder (default: %(default)s)")
    p.add_argument("--checkpoint", metavar="PATH", help="DRAEM checkpoint (phase recon)")
    p.add_argument("--seed", type=int, default=0, help="CutPaste seed (default: %(default)s)")
    p.set_defaults(func=cmd_eda)


def cmd_eda(args) -> int:
    from ..eda_plots import run_phase

    kwargs = {}
    if args.phase == "recon":
        if not args.checkpoint:
            raise ValueError("phase recon needs --checkpoint PATH")
        kwargs["checkpoint"] = args.checkpoint
    elif args.phase in ("cutpaste", "filters"):
        kwargs["seed"] = args.seed
    res, paths = run_phase(args.phase, args.data, args.out, domains=args.domains, **kwargs)
    for line in res.notes:
        print(line)
    print(f"wrote {len(paths)} files to {args.out}: " + ", ".join(p.name for p in paths))
    return 0
