"""ormbench's scenario x backend matrix as a pytest-benchmark suite, for CI jobs that read
pytest-benchmark JSON. Run it with `python -m pytest --pyargs harness.pytest_suite`."""
