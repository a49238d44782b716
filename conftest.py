"""Repository-root pytest hooks.

pytest.ini has `testpaths = tests benchmarks`, yet a plain `python -m pytest`
stays the fast test run: the files under benchmarks/ are collected only when
a pytest-benchmark option asks for benchmarks (`--benchmark-only`,
`--benchmark-autosave`, `--benchmark-compare`, `--benchmark-json`, ...) or
when paths are named on the command line (`pytest benchmarks`, as
`python benchmarks/report.py` does).
"""
import pytest

# pytest-benchmark options (dest names) that mean: run, time, save or compare benchmarks
BENCHMARK_OPTIONS = ("benchmark_only", "benchmark_save", "benchmark_autosave", "benchmark_json",
                     "benchmark_compare", "benchmark_compare_fail", "benchmark_enable",
                     "benchmark_histogram", "benchmark_csv", "benchmark_cprofile")


def wants_benchmarks(config) -> bool:
    return any(config.getoption(name, default=None) for name in BENCHMARK_OPTIONS)


def paths_from_testpaths(config) -> bool:
    """True when no path was given on the command line (pytest fell back on `testpaths`)."""
    source = getattr(config, "args_source", None)
    if source is None:  # pytest < 7.2
        return [str(a) for a in config.args] == list(config.getini("testpaths"))
    return source == pytest.Config.ArgsSource.TESTPATHS


def pytest_ignore_collect(collection_path, config):
    if (config.rootpath / "benchmarks") not in collection_path.parents:
        return None
    if paths_from_testpaths(config) and not wants_benchmarks(config):
        return True
    return None
