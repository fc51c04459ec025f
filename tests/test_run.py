"""`ormbench run` end to end on SQLite: the default scenarios x three backends, verified, with a
documented results.json and a Markdown report; `ormbench list`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scenarios import REGISTRY

SCENARIOS = [name for name, cls in REGISTRY.items() if cls.default]  # the default run
BACKENDS = ["sqlalchemy", "django", "dbapi"]


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """The embedded default (no --db), small enough for a test."""
    from conftest import run_cli

    folder = tmp_path_factory.mktemp("run")
    result = run_cli("run", "--rows", "60", "--rounds", "6", cwd=folder)
    data = json.loads((folder / "ormbench-report/results.json").read_text())
    return result, data, folder


def test_default_run_covers_every_scenario_and_backend_all_verified(default_run) -> None:
    result, data, _ = default_run
    assert result.code == 0, result.stderr
    cells = {(c["scenario"], c["backend"]) for c in data["cells"]}
    assert cells == {(s, b) for s in SCENARIOS for b in BACKENDS}
    assert {c["verification"]["status"] for c in data["cells"]} == {"passed"}
    assert data["complete"] is True


def test_results_json_has_the_documented_fields(default_run) -> None:
    _, data, _ = default_run
    assert data["schema_version"] == 2
    for key in ("python", "sqlalchemy", "django", "platform"):
        assert data["environment"][key]
    (database,) = data["databases"]
    assert database["family"] == "sqlite" and database["server_version"] and database["driver"]
    assert database["location"]  # the embedded database says where it lives
    cell = data["cells"][0]
    for key in (
        "database",
        "scenario",
        "backend",
        "rows",
        "median_s",
        "rounds_s",
        "trace",
        "verification",
        "idiom",
    ):
        assert key in cell
    assert cell["verification"]["rounds_checked"] == 7  # every warm-up and timed round
    assert database["connection_settings"] and database["connection_policy"]
    assert len(cell["rounds_s"]) == 6 and cell["median_s"] > 0
    assert cell["trace"]["statements"] > 0 and cell["trace"]["sql"]
    kinds = {(c["scenario"], c["kind"]) for c in data["comparisons"]}
    assert ("create", "orm") in kinds and ("create", "floor") in kinds


def test_every_orm_comparison_has_an_interval_and_a_verdict(default_run) -> None:
    _, data, _ = default_run
    for comparison in data["comparisons"]:
        if comparison["kind"] != "orm":
            continue
        assert comparison["ci_low"] <= comparison["ratio"] <= comparison["ci_high"]
        verdict = comparison["verdict"]
        assert (
            verdict.startswith("inconclusive")
            or verdict in ("no practical difference (within ±5%)")
            or verdict.endswith("x faster")
        ), verdict
        if verdict.endswith("faster"):
            assert comparison["ci_high"] < 1 or comparison["ci_low"] > 1


def test_markdown_report_shows_timings_sql_and_verdicts(default_run) -> None:
    _, data, folder = default_run
    report = (folder / "ormbench-report/report.md").read_text()
    for scenario in SCENARIOS:
        assert f"### {scenario}" in report
    assert "SQLAlchemy / Django, as documented:" in report
    assert "SQLAlchemy / Django, equal work:" in report
    assert "Work contract" in report
    assert "### Connection settings" in report
    assert "INSERT INTO ormbench_item" in report  # the SQL each backend sent
    assert "RAM-backed" in report or "on disk" in report
    assert "all cells passed" in report


def test_console_table_lists_every_cell(default_run) -> None:
    result, _, _ = default_run
    for word in ("bulk_create", "SQLAlchemy", "Django", "raw DB-API", "passed", "verdict"):
        assert word in result.stdout


def test_embedded_database_is_removed_after_the_run(default_run) -> None:
    _, data, _ = default_run
    path = data["databases"][0]["label"].removeprefix("sqlite+pysqlite:///")
    assert not Path(path).exists()


def test_list_shows_scenarios_and_backends_with_their_docstrings(cli) -> None:
    result = cli("list")
    assert result.code == 0
    for name in SCENARIOS + BACKENDS:
        assert name in result.stdout
    assert "each row its own transaction" in result.stdout
    assert "save(update_fields=" in result.stdout  # Django's equal-work update
    assert "Session.execute(insert(Item), rows)" in result.stdout
