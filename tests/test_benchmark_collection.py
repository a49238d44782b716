"""pytest.ini's `testpaths = tests benchmarks` with the root conftest.py: a plain run never collects
benchmarks/; a pytest-benchmark option or naming the folder does. Run in process on a copy of
pytest.ini and conftest.py beside a stand-in tests/ and benchmarks/ (fast)."""
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(pytester):
    for name in ("pytest.ini", "conftest.py"):
        (pytester.path / name).write_text((ROOT / name).read_text())
    pytester.mkdir("tests")
    (pytester.path / "tests" / "conftest.py").write_text("VALUE = 1\n")
    (pytester.path / "tests" / "test_unit.py").write_text("from conftest import VALUE\n\ndef test_unit():\n"
                                                           "    assert VALUE == 1\n")
    pytester.mkdir("benchmarks")  # no __init__.py: the outer run may hold the real `benchmarks` package
    (pytester.path / "benchmarks" / "test_bench_x.py").write_text("def test_x(benchmark):\n"
                                                                   "    benchmark(sum, [1, 2])\n")
    return pytester


def items(project, *args):
    result = project.runpytest_inprocess("--co", "-q", "-p", "no:cacheprovider", *args)
    return sorted(line.split("::")[0] for line in result.outlines if "::" in line)


@pytest.mark.parametrize("args,expected", [
    ((), ["tests/test_unit.py"]),
    (("--benchmark-skip",), ["tests/test_unit.py"]),
    (("--benchmark-only",), ["benchmarks/test_bench_x.py", "tests/test_unit.py"]),
    (("--benchmark-autosave",), ["benchmarks/test_bench_x.py", "tests/test_unit.py"]),
    (("--benchmark-compare",), ["benchmarks/test_bench_x.py", "tests/test_unit.py"]),
    (("benchmarks",), ["benchmarks/test_bench_x.py"]),
])
# with --co, --benchmark-autosave / --benchmark-compare have nothing to save or compare, and warn
@pytest.mark.filterwarnings("ignore::pytest_benchmark.logger.PytestBenchmarkWarning")
def test_benchmarks_collected_only_when_asked(project, args, expected):
    assert items(project, *args) == expected


def test_plain_run_and_benchmark_only_run(project):
    project.runpytest_inprocess("-q", "-p", "no:cacheprovider").assert_outcomes(passed=1)
    project.runpytest_inprocess("-q", "-p", "no:cacheprovider", "--benchmark-only", "--benchmark-max-time=0.001",
                                "--benchmark-min-rounds=1", "--benchmark-warmup=off").assert_outcomes(passed=1, skipped=1)
