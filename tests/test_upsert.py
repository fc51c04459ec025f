"""upsert: half the rows new, half already there by email; every round verified (the table's
rows, and the updated ones still under their ids), the equal-work idioms and the floor held to
the contract as the database counts rows; an upsert that writes too much or replaces rows
fails; SQL Server cells say why they are unsupported. On SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from harness.targets.connection import BULK_BATCH_ROWS
from scenarios import REGISTRY, Capabilities

TESTS = str(Path(__file__).parent)
ROWS = 2500  # several bulk batches on every database


def run(cli, folder: Path, url: str, *args: str):
    result = cli(
        "run",
        "--db",
        url,
        "--scenarios",
        "upsert",
        "--rows",
        str(ROWS),
        "--rounds",
        "3",
        "--output",
        str(folder),
        *args,
        env={"PYTHONPATH": TESTS},
    )
    path = folder / "results.json"
    return result, json.loads(path.read_text()) if path.exists() else None


def test_every_backend_upserts_and_the_equal_work_meets_the_contract(
    cli, tmp_path, any_url
) -> None:
    result, data = run(cli, tmp_path / "r", any_url)
    assert result.code == 0, result.stderr + result.stdout
    (info,) = data["databases"]
    family = info["family"]
    by = {(c["backend"], c["idiom"]): c for c in data["cells"]}
    assert set(by) == {
        ("sqlalchemy", "documented"),
        ("sqlalchemy", "equal"),
        ("django", "documented"),
        ("django", "equal"),
        ("dbapi", "floor"),
    }
    for cell in by.values():
        verification = cell["verification"]
        assert verification["status"] == "passed", (cell["backend"], verification)
        assert verification["rounds_checked"] == 4  # a fresh table and a check every round
        assert cell["trace"]["transactions"] == 1
    batches = math.ceil(ROWS / BULK_BATCH_ROWS[family])
    for unit in (("sqlalchemy", "equal"), ("django", "equal"), ("dbapi", "floor")):
        trace = by[unit]["trace"]
        assert trace["by_kind"]["INSERT"] == batches, unit
        # Each of the n rows counted once: inserted or updated (MariaDB, with RETURNING,
        # reports the rows returned; without it MySQL would count an update twice).
        assert trace["rows_written"] == {"INSERT": ROWS}, unit
        assert trace["rows_fetched"] == ROWS, unit  # every id back, as Django fetches them
        assert "ids returned by the writes" in by[unit]["verification"]["contract"]
    # As documented, SQLAlchemy's ORM bulk upsert fetches no ids; Django's always does here.
    assert by[("sqlalchemy", "documented")]["trace"]["rows_fetched"] == 0
    assert by[("django", "documented")]["trace"]["rows_fetched"] == ROWS
    sent = " ".join(s["sql"] for c in by.values() for s in c["trace"]["sql"])
    if family == "mysql":
        assert "ON DUPLICATE KEY UPDATE" in sent and "ON CONFLICT" not in sent
    else:
        assert "ON CONFLICT" in sent.upper() and "DUPLICATE KEY" not in sent


@pytest.mark.parametrize(
    ("backends", "broken", "reason"),
    [
        (
            "sqlalchemy,broken_backends:WholeRowUpsertDjango,dbapi",
            "django",
            "rows as expected but their values differ",
        ),
        (
            "broken_backends:ReplacingUpsertSqlAlchemy,django,dbapi",
            "sqlalchemy",
            "written anew instead of updated",
        ),
    ],
    ids=["writes-every-column", "delete-and-reinsert"],
)
def test_an_upsert_that_does_other_work_fails(
    cli, tmp_path, any_url, backends: str, broken: str, reason: str
) -> None:
    result, data = run(cli, tmp_path / "r", any_url, "--backends", backends)
    assert result.code == 1, result.stderr + result.stdout
    cells = {(c["backend"], c["idiom"]): c for c in data["cells"]}
    failed = cells[(broken, "documented")]["verification"]
    assert failed["status"] == "failed" and reason in failed["reason"], failed
    for (backend, _idiom), cell in cells.items():
        if backend != broken:
            assert cell["verification"]["status"] == "passed", cell["verification"]


def capabilities(family: str, returning: bool) -> Capabilities:
    return Capabilities(BULK_BATCH_ROWS[family], returning, family)


def test_contract_counts_rows_as_each_database_reports_them() -> None:
    upsert = REGISTRY["upsert"](1001, 42)  # 500 already there, 501 new
    postgresql = upsert.contract(capabilities("postgresql", True))
    assert postgresql.rows_written == {"INSERT": 1001} and postgresql.rows_fetched == 1001
    assert postgresql.statements == {"INSERT": 2} and postgresql.transactions == 1
    # MySQL without RETURNING: its affected-rows count is 1 per inserted row and 2 per
    # updated one, and the driver's executemany may pack the rows into fewer statements.
    mysql = upsert.contract(capabilities("mysql", False))
    assert mysql.rows_written == {"INSERT": 501 + 2 * 500} and mysql.rows_fetched == 0
    assert not mysql.exact_statements
    # MariaDB with RETURNING: the driver's row count is the rows returned, one per row.
    mariadb = upsert.contract(capabilities("mysql", True))
    assert mariadb.rows_written == {"INSERT": 1001}
    sqlite = upsert.contract(capabilities("sqlite", True))
    assert sqlite.statements == {"INSERT": math.ceil(1001 / 166)}


def test_sql_server_cells_say_why_they_are_unsupported() -> None:
    upsert = REGISTRY["upsert"](10, 42)
    assert "mssql-django 2.0" in upsert.unsupported("django", "mssql")
    assert "no upsert (MERGE) construct" in upsert.unsupported("sqlalchemy", "mssql")
    assert upsert.unsupported("dbapi", "mssql")
    for family in ("sqlite", "postgresql", "mysql"):
        assert all(upsert.unsupported(b, family) is None for b in ("sqlalchemy", "django"))
    assert not REGISTRY["upsert"].default and not REGISTRY["streaming"].default
