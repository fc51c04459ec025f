"""Client CPU and memory per cell: this thread's CPU time beside the wall time of every timed
round, read outside the wall-clock pair; peak Python memory from an extra untimed pass under
tracemalloc, never during a timed round; both in results.json, the console and report.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reports import format as fmt
from reports.model import Cell, RunResult, Verification

TESTS = str(Path(__file__).parent)
PROBES = ",".join(
    f"clock_probe_backends:{name}" for name in ("ClockSqlAlchemy", "ClockDjango", "ClockDbApi")
)
ROUNDS, WARMUP = 3, 1


@pytest.mark.parametrize("database", ["sqlite_url", "postgres_url"])
def test_cpu_reads_and_tracemalloc_stay_outside_timed_regions(
    cli, tmp_path, request, database
) -> None:
    url = request.getfixturevalue(database)
    log = tmp_path / "clock.log"
    run = cli(
        "run", "--db", url, "--scenarios", "get,create", "--backends", PROBES, "--memory",
        "--rows", "20", "--rounds", str(ROUNDS), "--warmup", str(WARMUP), "--output", "out",
        # A console wide enough for every column (a log's 140 fits one of the two optional
        # ones beside the verified column).
        env={"PYTHONPATH": TESTS, "ORMBENCH_CLOCK_LOG": str(log), "COLUMNS": "170"},
    )  # fmt: skip
    assert run.code == 0, run.stderr + run.stdout
    data = json.loads((tmp_path / "out/results.json").read_text())
    runs, tokens = [], []
    for line in log.read_text().splitlines():
        if line in ("W", "C"):
            tokens.append(line)
        else:
            record = json.loads(line)
            runs.append(record)
            tokens.append("T" if record["timed"] else "U")
    sequence = "".join(tokens)
    # Every timed run: CPU clock, wall clock, the operation, wall clock, CPU clock. Nothing
    # but the operation between the two wall-clock reads; no other clock read by timed_call.
    assert re.fullmatch(r"(?:CWTWC|U)+", sequence), sequence
    units = [c for c in data["cells"] if not c["same_code_as"]]  # cells with rounds of their own
    assert sequence.count("CWTWC") == len(units) * (WARMUP + ROUNDS)
    timed = [r for r in runs if r["timed"]]
    assert timed and not any(r["tracing"] for r in timed)
    # The memory pass: one more run per unit under tracemalloc, outside timed_call.
    measured = [r for r in runs if r["tracing"]]
    assert len(measured) == len(units) and not any(r["timed"] for r in measured)
    for cell in data["cells"]:
        assert cell["verification"]["status"] == "passed", cell["verification"]
        walls, cpus = cell["rounds_s"], cell["cpu_rounds_s"]
        assert len(walls) == len(cpus) == ROUNDS
        # One thread's CPU time cannot exceed the wall time it spans: the CPU reads enclose
        # the wall-clock pair by two clock calls only.
        assert all(0 < cpu <= wall + 1e-3 for wall, cpu in zip(walls, cpus, strict=True))
        assert cell["peak_alloc_bytes"] > 0
    report = (tmp_path / "out/report.md").read_text()
    assert "| × raw | client CPU | peak memory | memory/row | verification |" in report
    assert re.search(r"\| \d+% \| [\d.,]+ (KiB|MiB) \| [\d.,]+ (B|KiB) \|", report)
    embedded_note = "SQLite runs inside the benchmarking process"
    assert (embedded_note in report) == (database == "sqlite_url")
    # The console table keeps both columns, the verified one whole, and says how to read them.
    assert "client CPU" in run.stdout and "mem/row" in run.stdout and "verified" in run.stdout
    assert "client CPU: the share of each timed round's wall time" in run.stdout


def _cell(rounds: list[float], cpu: list[float], peak: int | None = None) -> Cell:
    return Cell(
        database="db", scenario="get", backend="dbapi", rows=1000, operations=1000,
        rounds_s=rounds, median_s=None, iqr_s=None, ops_per_s=None, rows_per_s=None,
        trace=None, verification=Verification("passed"), idiom="floor",
        peak_alloc_bytes=peak, cpu_rounds_s=cpu,
    )  # fmt: skip


def test_client_share_is_the_median_of_cpu_over_wall_per_round() -> None:
    cell = _cell([1.0, 2.0, 4.0, 0.5], [0.5, 1.0, 4.001, 0.5])
    # Per round 50%, 50%, 100% (a CPU read spanning two more clock calls, capped), 100%.
    assert cell.client_share == pytest.approx(0.75)
    assert fmt.client_share(cell) == "75%"
    assert _cell([1.0], []).client_share is None and fmt.client_share(_cell([1.0], [])) == "—"


def test_memory_per_row() -> None:
    assert fmt.memory_per_row(_cell([], [], peak=512_000)) == "512 B"
    assert fmt.memory_per_row(_cell([], [], peak=3 * 1024 * 1000)) == "3.0 KiB"
    assert fmt.memory_per_row(_cell([], [])) == "—"


def test_results_from_before_the_cpu_figures_still_load() -> None:
    cell = {
        "database": "db", "scenario": "get", "backend": "dbapi", "rows": 10, "operations": 10,
        "rounds_s": [0.1, 0.2], "median_s": 0.15, "iqr_s": 0.05, "ops_per_s": 66.0,
        "rows_per_s": 66.0, "trace": None, "verification": {"status": "passed"},
        "idiom": "floor",
    }  # fmt: skip
    data = {
        "schema_version": 2, "tool_version": "0", "started_at": "", "wall_s": 1.0,
        "complete": True, "environment": {}, "plan": {}, "scenarios": {}, "backends": {},
        "databases": [], "cells": [cell],
    }  # fmt: skip
    loaded = RunResult.from_dict(data).cells[0]
    assert loaded.cpu_rounds_s == [] and loaded.client_share is None
