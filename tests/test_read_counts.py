"""Every round's reads counted by the database itself: a backend that is honest in the traced
run and reads less only in the timed rounds (skips a SELECT, serves a get from memory) fails,
on SQLite (the library's page count), PostgreSQL (the tables' scan counts) and MariaDB (the
session's status counters)."""

from __future__ import annotations

import json
import re

import pytest
from conftest import TESTS, run_cli, run_in


@pytest.mark.parametrize(
    ("backend", "scenario", "cheat", "idiom"),
    [
        ("TimedOnlyNoSelectUpdateDjango", "update", "django", "equal"),
        ("TimedOnlyMemoryGetSqlAlchemy", "get", "sqlalchemy", "documented"),
    ],
    ids=["update-without-its-select", "get-from-memory"],
)
def test_reading_less_only_in_the_timed_rounds_fails(
    tmp_path, any_url, backend, scenario, cheat, idiom
) -> None:
    result, data = run_in(
        tmp_path, any_url, "--backends", f"cheating_backends:{backend},dbapi",
        "--scenarios", scenario, rows=30, rounds=4,
    )  # fmt: skip
    assert result.code == 1, result.stderr + result.stdout
    cells = {(c["backend"], c["idiom"]): c for c in data["cells"]}
    reason = cells[(cheat, idiom)]["verification"]["reason"]
    assert cells[(cheat, idiom)]["verification"]["status"] == "failed", reason
    # The round, and the database's count of it against the traced run's.
    assert re.search(r"timed round \d+ did other work than the traced run", reason), reason
    assert "(traced: " in reason, reason
    # The traced run was honest: it did the contracted reads, and the report shows its counts.
    assert cells[(cheat, idiom)]["trace"]["server_counters"], cells[(cheat, idiom)]["trace"]
    assert cells[("dbapi", "floor")]["verification"]["status"] == "passed"
    if scenario == "update":  # the documented idiom is Django's own, honest
        assert cells[("django", "documented")]["verification"]["status"] == "passed"
    assert f"{scenario}/{cheat}" in result.stdout


def test_the_traced_run_shows_what_the_database_counted(tmp_path, any_url) -> None:
    result, data = run_in(
        tmp_path, any_url, "--backends", "sqlalchemy,django,dbapi", "--scenarios", "get",
        rows=20, rounds=3,
    )  # fmt: skip
    assert result.code == 0, result.stderr + result.stdout
    for cell in data["cells"]:
        assert cell["verification"]["status"] == "passed", cell["verification"]
        counted = cell["trace"]["server_counters"]
        # 20 primary-key lookups, each a read the database itself counted.
        if any_url.startswith("sqlite"):
            assert counted["pages read"] >= 20, counted
        elif any_url.startswith("postgresql"):
            assert counted["ormbench_item scans"] == 20, counted
        else:
            assert counted["Com_select"] == 20 and counted["Rows_sent"] == 20, counted
            assert counted["Handler_read_key"] == 20, counted


def test_an_equal_work_cell_faster_than_the_floor_is_marked_suspect(tmp_path, sqlite_url) -> None:
    # A floor slowed to 21x its time: the ORMs' equal work runs measurably faster than it.
    result = run_cli(
        "run", "--db", sqlite_url, "--backends", "sqlalchemy,django,slowed_backends:SlowedDbApi",
        "--scenarios", "bulk_create", "--rows", "100", "--rounds", "6", "--warmup", "1",
        cwd=tmp_path, env={"PYTHONPATH": str(TESTS), "ORMBENCH_TEST_SLOWDOWN": "20"},
    )  # fmt: skip
    assert result.code == 0, result.stderr + result.stdout
    data = json.loads((tmp_path / "ormbench-report/results.json").read_text())
    cells = {(c["backend"], c["idiom"]): c["verification"] for c in data["cells"]}
    for backend in ("sqlalchemy", "django"):
        verification = cells[(backend, "equal")]
        assert verification["status"] == "passed", verification
        assert verification["reason"].startswith("suspect: faster than the floor"), verification
        assert "count of every round matched the traced run" in verification["reason"]
    assert cells[("dbapi", "floor")]["reason"] == ""
    assert "suspect: faster than the floor" in (tmp_path / "ormbench-report/report.md").read_text()
