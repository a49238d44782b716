"""``fastfreq synth-hdmap`` and ``fastfreq synth-textures``: write synthetic data sets."""
from __future__ import annotations

from .common import nonneg_int, positive_int


def add_synth_hdmap(sub):
    p = sub.add_parser("synth-hdmap", help="write a synthetic HDMAP data set (float32 TIFF)",
                       description="Write <OUT>/domain_X/{train/good,test/good,test/fault}/*.tiff.")
    p.add_argument("out", metavar="OUT", help="root folder to write")
    p.add_argument("--domains", nargs="+", default=["A", "B", "C", "D"], metavar="X",
                   help="domain letters (default: A B C D)")
    p.add_argument("--n-train", type=positive_int, default=200, help="normal train maps per domain (default: 200)")
    p.add_argument("--n-test-good", type=positive_int, default=50, help="normal test maps per domain (default: 50)")
    p.add_argument("--n-test-fault", type=positive_int, default=50, help="fault test maps per domain (default: 50)")
    p.add_argument("--size", nargs=2, type=positive_int, default=[31, 95], metavar=("H", "W"),
                   help="map size (default: 31 95)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.set_defaults(func=cmd_synth)


def cmd_synth(args) -> int:
    from ...data import make_synthetic_hdmap

    root = make_synthetic_hdmap(args.out, domains=tuple(args.domains), n_train=args.n_train,
                                n_test_good=args.n_test_good, n_test_fault=args.n_test_fault,
                                size=tuple(args.size), seed=args.seed)
    print(f"wrote synthetic HDMAP ({', '.join(args.domains)}) to {root}")
    return 0


def add_synth_textures(sub):
    from ...data.textures import DEFECT_KINDS, TEXTURE_KINDS

    p = sub.add_parser("synth-textures", help="write synthetic MVTec-style textures with defects and masks",
                       description="Write <OUT>/<category>/{train/good, test/<defect>, ground_truth/<defect>} "
                                   "PNG images and masks.")
    p.add_argument("out", metavar="OUT", help="root folder to write")
    p.add_argument("--categories", nargs="+", default=list(TEXTURE_KINDS[:1]), choices=TEXTURE_KINDS, metavar="C",
                   help=f"texture kinds from {', '.join(TEXTURE_KINDS)} (default: %(default)s)")
    p.add_argument("--defects", nargs="+", default=None, choices=DEFECT_KINDS, metavar="D",
                   help=f"defect kinds from {', '.join(DEFECT_KINDS)} (default: all)")
    p.add_argument("--n-train", type=positive_int, default=80, help="(default: %(default)s)")
    p.add_argument("--n-test-good", type=nonneg_int, default=50, help="(default: %(default)s)")
    p.add_argument("--n-test-defect", type=nonneg_int, default=50, help="(default: %(default)s)")
    p.add_argument("--size", type=positive_int, default=224, help="image side in pixels (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
    p.set_defaults(func=cmd_synth_textures)


def cmd_synth_textures(args) -> int:
    from ...data.textures import make_synthetic_textures

    summary = make_synthetic_textures(args.out, categories=tuple(args.categories), n_train=args.n_train,
                                      n_test_good=args.n_test_good, n_test_defect=args.n_test_defect,
                                      size=args.size, defects=args.defects, seed=args.seed)
    print(f"wrote synthetic textures ({', '.join(args.categories)}) to {summary['root']}")
    return 0
