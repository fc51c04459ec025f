"""SQL Server for real: the whole matrix over a live server that speaks its protocol (TDS) and
T-SQL, with both drivers (pyodbc + ODBC Driver 18, mssql-python). Locally and in CI that is
Babelfish for PostgreSQL (`../shared/tds/start`); `ORMBENCH_TEST_MSSQL` and
`ORMBENCH_TEST_MSSQL_PYTHON` point the same tests at a real SQL Server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, run_in

from harness.trace import SQL_SAMPLE_LIMIT
from scenarios import REGISTRY

ROWS = 20  # every path, smallest: a bulk batch, several pages, parents with and without children
ORM_IDIOMS = {"sqlalchemy": ("documented", "equal"), "django": ("documented", "equal")}


@pytest.fixture(scope="module")
def full_run(mssql_url: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict]:
    """`ormbench run --scenarios all` over the server, once per driver."""
    folder = tmp_path_factory.mktemp("mssql")
    result, data = run_in(folder, mssql_url, "--scenarios", "all", rows=ROWS, rounds=2)
    assert data is not None, result.stderr[-2000:]
    return result, data


def _driver(data: dict) -> str:
    url = data["databases"][0]["label"]
    return "mssqlpython" if url.startswith("mssql+mssqlpython") else "pyodbc"


def test_every_cell_passes_or_says_why_it_is_unsupported(full_run) -> None:
    result, data = full_run
    assert result.code == 0, result.stdout[-3000:] + result.stderr[-2000:]
    cells = data["cells"]
    for name in REGISTRY:
        ran = {(c["backend"], c["idiom"]) for c in cells if c["scenario"] == name}
        wanted = {(b, i) for b, idioms in ORM_IDIOMS.items() for i in idioms} | {("dbapi", "floor")}
        assert ran == wanted, name
    for cell in cells:
        status, reason = cell["verification"]["status"], cell["verification"]["reason"]
        where = f"{cell['scenario']}/{cell['backend']}/{cell['idiom']}: {reason}"
        assert status in ("passed", "unsupported"), where
        if status == "unsupported":
            assert reason, where
        else:
            assert cell["verification"]["rounds_checked"] >= 2, where
    for comparison in data["comparisons"]:
        scenario_cells = [c for c in cells if c["scenario"] == comparison["scenario"]]
        if any(c["verification"]["status"] == "unsupported" for c in scenario_cells):
            if comparison["kind"] == "orm":
                assert comparison["verdict"].startswith("unsupported: "), comparison
        else:
            assert "verification did not pass" not in comparison["verdict"], comparison


def test_writes_are_counted_from_the_rows_they_return(full_run) -> None:
    """The SQL Server drivers give no row count for an INSERT ... OUTPUT or under SET NOCOUNT
    ON: every create writes its rows in the trace all the same, and Django's UPDATE batches
    (`SET NOCOUNT OFF; UPDATE ...`) count as UPDATEs."""
    _, data = full_run
    for cell in data["cells"]:
        trace = cell["trace"]
        where = f"{cell['scenario']}/{cell['backend']}/{cell['idiom']}"
        if cell["scenario"] in ("create", "bulk_create"):
            assert trace["rows_written"] == {"INSERT": ROWS}, where
        if cell["scenario"] == "update":
            assert trace["by_kind"].get("UPDATE") == ROWS, where
            assert trace["rows_written"] == {"UPDATE": ROWS}, where


def test_trancount_is_transaction_control(full_run) -> None:
    """mssql-django's `SELECT @@TRANCOUNT` on leaving atomic(): transaction control, one per
    transaction, neither a data SELECT nor a fetched row."""
    _, data = full_run
    (bulk,) = [
        c
        for c in data["cells"]
        if (c["scenario"], c["backend"], c["idiom"]) == ("bulk_create", "django", "equal")
    ]
    trace = bulk["trace"]
    assert trace["by_kind"].get("@@TRANCOUNT") == 1
    assert trace["transactions"] == 1
    assert trace["select_rows"] == 0
    assert trace["rows_fetched"] == ROWS  # the new ids, from OUTPUT


def _listing(driver: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "harness.tsql", "--json", "--rows", str(ROWS), "--driver", driver],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


# mssql-python's paramstyle is pyformat: SQLAlchemy names each parameter, and the names differ
# between the ORM's call and the listing's equivalent statement; the driver sends `?` for each.
_NAMED = re.compile(r"%\([^)]*\)s")


def _as_sent(sql: str) -> str:
    return _NAMED.sub("?", " ".join(sql.split()))


def test_offline_listing_matches_what_each_orm_sent(full_run) -> None:
    """`python -m harness.tsql` (compiled with no server) lists exactly the statements each ORM
    sent over the wire, transaction control with T-SQL text (@@TRANCOUNT) included."""
    _, data = full_run
    listing = _listing(_driver(data))
    for cell in data["cells"]:
        if cell["backend"] not in ORM_IDIOMS or cell["verification"]["status"] != "passed":
            continue
        groups = listing[cell["backend"]][cell["scenario"]]
        listed = {
            _as_sent(s["sql"])
            for s in groups.get(cell["idiom"], groups["documented"])
            if not s["sql"].startswith("--")  # a driver call: no T-SQL text of its own
        }
        sent = {_as_sent(s["sql"]) for s in cell["trace"]["sql"]}
        where = f"{cell['scenario']}/{cell['backend']}/{cell['idiom']}"
        assert sent <= listed, (where, sorted(sent - listed))
        if len(cell["trace"]["sql"]) < SQL_SAMPLE_LIMIT:  # every statement text was kept
            assert sent == listed, (where, sorted(listed - sent))


def test_the_pytest_benchmark_suite_passes_over_the_server(mssql_url: str, tmp_path: Path) -> None:
    from test_pytest_suite import TINY, suite

    # Two scenarios, a write and a read, are enough to show the plugin works over the server:
    # the whole matrix runs above, and the suite is the same cells through pytest-benchmark.
    proc = suite(
        "-q", "--ormbench-db", mssql_url, *TINY, "--ormbench-scenarios", "create,get",
        "--benchmark-json", "out.json", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    benchmarks = json.loads((tmp_path / "out.json").read_text())["benchmarks"]
    assert benchmarks
    assert all(b["extra_info"]["verification"]["status"] == "passed" for b in benchmarks)
