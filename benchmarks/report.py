"""Run the benchmark suite once and print throughput ratios against the baselines.

    python benchmarks/report.py [-k EXPR] [--json PATH] [--table PATH] [PYTEST OPTIONS]

Ratios are taken from medians measured side by side in this one run:
``ratio = baseline median / backend median`` (higher is faster). The baseline
of a group is the benchmark marked ``baseline`` (the torch.fft reference).
The ratio of minimums is printed beside it: on a shared machine, other jobs
only add time, so it moves less between runs. The load average before and
after the run says how quiet the machine was.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections import defaultdict


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def table(results: dict) -> str:
    groups = defaultdict(list)
    for bench in results["benchmarks"]:
        groups[bench["group"]].append(bench)
    lines = ["| group | backend | median ms | speed-up vs reference | vs torch_batched | vs reference (min) |",
             "|---|---|---|---|---|---|"]
    for group, benches in groups.items():
        base = next((b for b in benches if b["extra_info"].get("baseline")), None)
        batched = next((b for b in benches if "torch_batched" in b["name"]), None)
        for b in sorted(benches, key=lambda b: b["stats"]["median"]):
            med = b["stats"]["median"]
            backend = b["param"].split("-")[-1] if b.get("param") else b["name"]
            ratio = f"{base['stats']['median'] / med:.2f}x" if base else "-"
            vs_batched = f"{batched['stats']['median'] / med:.2f}x" if batched else "-"
            by_min = f"{base['stats']['min'] / b['stats']['min']:.2f}x" if base else "-"
            lines.append(f"| {group} | {backend} | {med * 1e3:.2f} | {ratio} | {vs_batched} | {by_min} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                 allow_abbrev=False)
    ap.add_argument("-k", default=None, help="pytest -k expression selecting benchmarks")
    ap.add_argument("--json", default=None, help="keep pytest-benchmark's JSON here")
    ap.add_argument("--table", default=None, help="also write the machine line and the ratio table here")
    args, pytest_args = ap.parse_known_args()  # the rest goes to pytest, e.g. --benchmark-max-time=0.5
    here = os.path.dirname(os.path.abspath(__file__))
    path = args.json or os.path.join(tempfile.mkdtemp(), "bench.json")
    cmd = [sys.executable, "-m", "pytest", here, "-q", "-p", "no:cacheprovider", "--benchmark-only",
           "--benchmark-min-rounds=7", "--benchmark-warmup=on", f"--benchmark-json={path}"]
    if args.k:
        cmd += ["-k", args.k]
    cmd += pytest_args
    load_before = os.getloadavg()[0]
    rc = subprocess.call(cmd)
    if rc != 0:
        return rc
    if not os.path.exists(path):  # pytest-benchmark writes no JSON when every benchmark was skipped
        print("\nNo benchmark ran (all skipped or deselected): no table.")
        return 0
    with open(path) as f:
        results = json.load(f)
    info = results["machine_info"]
    report = (f"Machine: {cpu_name()}, {os.cpu_count()} cores; torch {info.get('torch')} "
              f"({info.get('torch_threads')} threads), numba {info.get('numba')} ({info.get('numba_threads')} threads); "
              f"1-min load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after\n\n{table(results)}")
    print("\n" + report)
    if args.table:
        with open(args.table, "w") as f:
            f.write(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
