"""Verification catches a backend that does different work: the cell fails, no verdict is
drawn from it, and `ormbench run` exits 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TESTS = str(Path(__file__).parent)


def _run(cli, folder: Path, sqlite_url: str, backends: str, scenarios: str):
    result = cli(
        "run",
        "--db",
        sqlite_url,
        "--backends",
        backends,
        "--scenarios",
        scenarios,
        "--rows",
        "50",
        "--rounds",
        "6",
        "--warmup",
        "0",
        env={"PYTHONPATH": TESTS},
    )
    return result, json.loads((folder / "ormbench-report/results.json").read_text())


@pytest.mark.parametrize(
    ("backends", "scenario", "broken", "reason"),
    [
        (
            "sqlalchemy,broken_backends:DroppingDjango",
            "bulk_create",
            "django",
            "49 rows, expected 50",
        ),
        ("broken_backends:OffByOneSqlAlchemy,django", "update", "sqlalchemy", "values differ"),
        ("broken_backends:ShuffledFilterDbApi", "filter", "dbapi", "differs from the expected"),
    ],
)
def test_a_backend_doing_different_work_fails_its_cell(
    cli, tmp_path, sqlite_url, backends, scenario, broken, reason
):
    result, data = _run(cli, tmp_path, sqlite_url, backends, scenario)
    assert result.code == 1, result.stderr
    # The broken method is the documented idiom (the floor's only one).
    idiom = "floor" if broken == "dbapi" else "documented"
    cells = {(c["backend"], c["idiom"]): c for c in data["cells"]}
    assert cells[(broken, idiom)]["verification"]["status"] == "failed"
    assert reason in cells[(broken, idiom)]["verification"]["reason"]
    for (name, _idiom), cell in cells.items():
        if name != broken:
            assert cell["verification"]["status"] == "passed", cell["verification"]
    for comparison in data["comparisons"]:
        involved = broken in (comparison["numerator"], comparison["denominator"])
        if involved and comparison["idiom"] in (idiom, "documented"):
            assert comparison["verdict"].startswith("no verdict"), comparison
    assert "failed" in result.stdout
    report = (tmp_path / "ormbench-report/report.md").read_text()
    assert "NOT all cells passed" in report


def test_honest_backends_pass_the_same_scenarios(cli, tmp_path, sqlite_url):
    result, data = _run(
        cli, tmp_path, sqlite_url, "sqlalchemy,django,dbapi", "bulk_create,update,filter"
    )
    assert result.code == 0, result.stderr
    assert {c["verification"]["status"] for c in data["cells"]} == {"passed"}
    assert len(data["cells"]) == 15  # 3 scenarios: two ORMs in two idioms, and the floor
