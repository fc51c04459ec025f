"""ormbench's scenario x backend matrix as a pytest-benchmark suite, for CI jobs that read
pytest-benchmark JSON. Run it with `python -m pytest --pyargs harness.pytest_suite`.

It times only. For CPU instructions per operation, counted under valgrind where wall time is
too noisy to gate on, a CI job runs `ormbench run --measure instructions` beside it and gates
with `ormbench compare` (README, "Counted, not timed")."""
