"""The benchmark suite (a package, so that its conftest.py is not mistaken for tests/conftest.py
when `testpaths = tests benchmarks` loads both)."""
