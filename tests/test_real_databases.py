"""The whole scenario matrix on the machine's real PostgreSQL and MariaDB, each in a database
the test session creates and drops; and several databases in one run, one report."""

from __future__ import annotations

import json

import pytest

from scenarios import REGISTRY

SCENARIOS = set(REGISTRY)  # every built-in scenario


def _results(folder) -> dict:
    return json.loads((folder / "ormbench-report/results.json").read_text())


@pytest.mark.parametrize("matrix_run", ["postgres_url", "mariadb_url"], indirect=True)
def test_whole_matrix_verifies_on_a_real_server(request, matrix_run) -> None:
    """The session's one run of every scenario on each server (`--scenarios all`, exit 0)."""
    server, data = request.node.callspec.params["matrix_run"], matrix_run
    assert {c["scenario"] for c in data["cells"]} == SCENARIOS
    # SQLAlchemy and Django in two idioms each, the floor once: 5 cells per scenario
    assert len(data["cells"]) == len(SCENARIOS) * 5
    assert {c["verification"]["status"] for c in data["cells"]} == {"passed"}
    (info,) = data["databases"]
    assert info["server_version"] and info["driver_version"]
    expected_driver = "psycopg" if server == "postgres_url" else "mysqlclient"
    assert info["driver"] == expected_driver


def test_bulk_create_batches_on_postgresql(cli, tmp_path, postgres_url) -> None:
    result = cli(
        "run",
        "--db",
        postgres_url,
        "--rows",
        "50",
        "--rounds",
        "1",
        "--warmup",
        "0",
        "--scenarios",
        "bulk_create",
        "--quiet",
    )
    assert result.code == 0, result.stderr
    data = _results(tmp_path)
    traces = {(c["backend"], c["idiom"]): c["trace"] for c in data["cells"]}
    # As documented: one statement each (Django's UNNEST, SQLAlchemy's executemany).
    assert traces[("django", "documented")]["by_kind"]["INSERT"] == 1
    assert traces[("sqlalchemy", "documented")]["by_kind"]["INSERT"] == 1
    assert traces[("sqlalchemy", "documented")]["rows_fetched"] == 0  # no ids back
    # Equal work: 1,000-row batches returning the ids, as the floor does.
    for key in (("django", "equal"), ("sqlalchemy", "equal"), ("dbapi", "floor")):
        assert traces[key]["by_kind"]["INSERT"] == 1, key
        assert traces[key]["rows_fetched"] == 50, key


def test_several_databases_in_one_run_give_one_report(
    cli, tmp_path, sqlite_url, postgres_url, mariadb_url
) -> None:
    result = cli(
        "run",
        "--db",
        sqlite_url,
        "--db",
        postgres_url,
        "--db",
        mariadb_url,
        "--rows",
        "20",
        "--rounds",
        "1",
        "--warmup",
        "0",
        "--scenarios",
        "create,get",
        "--quiet",
    )
    assert result.code == 0, result.stderr
    data = _results(tmp_path)
    assert [d["family"] for d in data["databases"]] == ["sqlite", "postgresql", "mysql"]
    assert len(data["cells"]) == 3 * 2 * 5
    report = (tmp_path / "ormbench-report/report.md").read_text()
    assert report.count("\n## ") == 1 + 3  # the bottom line, then one section per database
