"""`python -m harness.pytest_suite [pytest options]`: pytest with the suite's plugin and this
package as the only thing collected, whatever the current folder's pytest configuration says
about test file names and options."""

from __future__ import annotations

import sys

import pytest

SUITE_ARGS = [
    "-p",
    "harness.pytest_suite.plugin",
    "--pyargs",
    "harness.pytest_suite",
    # A project's own ini may rename test files; the suite's module must still be found.
    "-o",
    "python_files=test_*.py",
    "-o",
    "python_functions=test_*",
    # Nor its addopts: ormbench's own (pytest-xdist's -n, for its tests) would split the suite
    # over several processes, where it needs one database per process, or fail where
    # pytest-xdist is not installed.
    "-o",
    "addopts=",
]


def main(argv: list[str] | None = None) -> int:
    return int(pytest.main([*SUITE_ARGS, *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    sys.exit(main())
