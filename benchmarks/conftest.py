"""Benchmarks: ``python benchmarks/report.py`` runs them and prints throughput ratios.

Each group times fastfreq's backends beside the per-sample torch.fft reference
(the baseline) on identical inputs and sampled params, in one run.
"""
import numba
import pytest
import torch


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["torch"] = torch.__version__
    machine_info["torch_threads"] = torch.get_num_threads()
    machine_info["numba"] = numba.__version__
    machine_info["numba_threads"] = numba.get_num_threads()


@pytest.fixture(autouse=True)
def _no_grad():
    with torch.no_grad():
        yield
