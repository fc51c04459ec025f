"""The pytest-benchmark suite run for real in a child process: one benchmark per scenario x
backend with ormbench's facts in extra_info, verification failures failing their test, and
its JSON rendered and compared by `ormbench report` and `ormbench compare`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backends import BACKENDS
from scenarios import REGISTRY

REPO = Path(__file__).parent.parent
TESTS = str(Path(__file__).parent)
DEFAULT_SCENARIOS = [name for name, cls in REGISTRY.items() if cls.default]  # run without a choice
# Without the variables pytest-xdist sets in its workers: a child pytest that sees them takes
# itself for one, and pytest-benchmark then disables its benchmarks.
OWN_ENVIRONMENT = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST_")}
TINY = ["--ormbench-rows", "10", "--ormbench-rounds", "2", "--ormbench-warmup", "0"]


def suite(*args: str, cwd: Path, env: dict[str, str] | None = None, raw: bool = False):
    """The documented spelling (`python -m harness.pytest_suite`), or pytest's own (`raw`)."""
    head = (
        ["-m", "pytest", "-p", "harness.pytest_suite.plugin", "--pyargs", "harness.pytest_suite"]
        if raw
        else ["-m", "harness.pytest_suite"]
    )
    return subprocess.run(
        [sys.executable, *head, "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
        env={**OWN_ENVIRONMENT, **(env or {})},
    )


@pytest.fixture(scope="module")
def benchmark_json(tmp_path_factory) -> Path:
    """The documented spelling, run from this checkout: whose pytest options (pytest-xdist's
    workers, for ormbench's own tests) are not the suite's."""
    folder = tmp_path_factory.mktemp("suite")
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    out = folder / "out.json"
    proc = suite("--ormbench-db", url, *TINY, "--benchmark-json", str(out), cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def test_one_benchmark_per_scenario_and_backend_with_its_facts(benchmark_json):
    data = json.loads(benchmark_json.read_text())
    benchmarks = data["benchmarks"]
    pairs = [(b["extra_info"]["scenario"], b["extra_info"]["backend"]) for b in benchmarks]
    assert sorted(pairs) == sorted((s, b) for s in DEFAULT_SCENARIOS for b in BACKENDS)
    for bench in benchmarks:
        info = bench["extra_info"]
        assert info["verification"] == {"status": "passed", "reason": ""}
        assert info["rows"] == 10
        assert info["database"].startswith("sqlite+pysqlite:///")
        assert info["trace"]["statements"] >= 1
        assert bench["group"] == info["scenario"]
        assert len(bench["stats"]["data"]) == 2  # --ormbench-rounds, warm-up not counted
    facts = data["machine_info"]["ormbench"]
    assert facts["plan"]["rows"] == 10
    assert facts["databases"][0]["family"] == "sqlite"


def test_per_row_creates_are_traced_as_in_ormbench_run(benchmark_json):
    """The suite's trace pass is `ormbench run`'s: 10 creates send 10 INSERTs everywhere."""
    data = json.loads(benchmark_json.read_text())
    for bench in data["benchmarks"]:
        info = bench["extra_info"]
        if info["scenario"] == "create":
            assert info["trace"]["by_kind"]["INSERT"] == 10, info["backend"]


def test_report_renders_the_benchmark_json(cli, benchmark_json, tmp_path):
    run = cli("report", str(benchmark_json), "--output", "out")
    assert run.code == 0, run.stderr
    report = (tmp_path / "out/report.md").read_text()
    assert "pytest-benchmark run" in report
    assert "SQLAlchemy / Django" in report
    results = json.loads((tmp_path / "out/results.json").read_text())
    assert len(results["cells"]) == len(DEFAULT_SCENARIOS) * len(BACKENDS)
    assert {c["verification"]["status"] for c in results["cells"]} == {"passed"}
    assert all(len(c["rounds_s"]) == 2 for c in results["cells"])
    # The results.json it wrote re-renders, and compares against the benchmark JSON.
    assert cli("report", "out/results.json", "--output", "again").code == 0
    compared = cli("compare", str(benchmark_json), "out/results.json")
    # Read and matched cell by cell; at 2 rounds a side no cell is gated: nothing compared (5).
    assert compared.code == 5, compared.stdout + compared.stderr
    assert "only in" not in compared.stdout


def test_pytest_spelling_and_a_failed_verification(tmp_path):
    """A backend doing different work fails its test and is recorded as failed."""
    proc = suite(
        "--ormbench-db",
        f"sqlite:///{tmp_path / 'b.sqlite3'}",
        *TINY,
        "--ormbench-scenarios",
        "bulk_create",
        "--ormbench-backends",
        "sqlalchemy,broken_backends:DroppingDjango",
        "--benchmark-json",
        "out.json",
        cwd=tmp_path,
        env={"PYTHONPATH": TESTS},
        raw=True,
    )
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "1 failed, 1 passed" in proc.stdout
    data = json.loads((tmp_path / "out.json").read_text())
    by_backend = {b["extra_info"]["backend"]: b["extra_info"] for b in data["benchmarks"]}
    assert by_backend["django"]["verification"]["status"] == "failed"
    assert by_backend["sqlalchemy"]["verification"]["status"] == "passed"


def test_postgresql_label_hides_the_password(postgres_url, tmp_path):
    url = postgres_url.replace("postgres@", "postgres:s3cret-pw@", 1)
    proc = suite(
        "--ormbench-db",
        url,
        *TINY,
        "--ormbench-scenarios",
        "get",
        "--benchmark-json",
        "out.json",
        cwd=tmp_path,
    )
    if proc.returncode != 0 and "password" in proc.stdout + proc.stderr:
        pytest.skip("this server checks passwords; the label test needs trust authentication")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    text = (tmp_path / "out.json").read_text()
    assert "s3cret-pw" not in text
    assert "s3cret-pw" not in proc.stdout + proc.stderr
    assert json.loads(text)["benchmarks"][0]["extra_info"]["database"].startswith("postgresql")


def test_bad_options_end_in_one_line(tmp_path):
    proc = suite("--ormbench-db", "nosuchdb://x", cwd=tmp_path)
    assert proc.returncode == 4  # pytest's usage error
    assert "ormbench: unknown database dialect 'nosuchdb'" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_our_own_test_run_does_not_collect_the_suite():
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "harness/pytest_suite" not in proc.stdout
    assert "test_matrix" not in proc.stdout
    assert "tests/test_pytest_suite.py::test_our_own_test_run" in proc.stdout
