"""The trace counts what each ORM is documented to send, seen at the DB-API connection."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pytest

from harness.wire.trace import TracedConnection, Tracer, statement_kind

ROWS = 200
# Django splits a bulk insert so that no statement exceeds SQLite's 999 bound parameters
# ("bulk_create" docs, SQLite notes): 6 columns a row -> 166 rows per INSERT.
DJANGO_SQLITE_BATCH = 999 // 6


def test_proxy_counts_statements_transactions_and_rows(tmp_path: Path) -> None:
    tracer = Tracer()
    conn = TracedConnection(sqlite3.connect(tmp_path / "t.db"), tracer)
    cur = conn.cursor()
    cur.execute("CREATE TABLE t (x INTEGER)")
    cur.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (3,)])
    conn.commit()
    cur.execute("SELECT x FROM t ORDER BY x")
    assert [r[0] for r in cur.fetchall()] == [1, 2, 3]
    cur.execute("BEGIN")
    cur.execute("DELETE FROM t")
    conn.rollback()
    assert tracer.statements == 4  # CREATE, INSERT (one executemany), SELECT, DELETE
    assert tracer.by_kind == {"CREATE": 1, "INSERT": 1, "SELECT": 1, "BEGIN": 1, "DELETE": 1}
    assert (tracer.commits, tracer.rollbacks, tracer.transaction_control) == (1, 1, 3)
    assert tracer.rows_sent == 1 + 3 + 1 + 1
    assert tracer.rows_fetched == 3
    assert tracer.sql["INSERT INTO t VALUES (?)"] == 1
    # The proxy is transparent: the data really is there, untouched by the rollback.
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (3,)


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("  select 1", "SELECT"),
        ("WITH x AS (SELECT 1) SELECT * FROM x", "SELECT"),
        ("/* c */ INSERT INTO t VALUES (1)", "INSERT"),
        ("(SELECT 1)", "SELECT"),
        ("SAVEPOINT s1", "SAVEPOINT"),
        ("commit;", "COMMIT"),
        # mssql-django's batches: the statement that does the work decides the kind.
        ("SET NOCOUNT OFF; UPDATE [t] SET [x] = ? WHERE [t].[id] = ?", "UPDATE"),
        (
            "SET NOCOUNT ON INSERT INTO [t] ([x]) VALUES (?); "
            "SELECT CAST(SCOPE_IDENTITY() AS bigint)",
            "INSERT",
        ),
        ("SET NOCOUNT ON", "SET"),
        # ... and the question it asks on leaving atomic(): transaction control, not a read.
        ("SELECT @@TRANCOUNT", "@@TRANCOUNT"),
        ("SELECT @@TRANCOUNT + 1 FROM t", "SELECT"),
    ],
)
def test_statement_kind(sql: str, kind: str) -> None:
    assert statement_kind(sql) == kind


def test_proxy_counts_transactions_as_the_server_sees_them(tmp_path: Path) -> None:
    tracer = Tracer()
    conn = TracedConnection(sqlite3.connect(tmp_path / "t.db", isolation_level=None), tracer)
    cur = conn.cursor()
    cur.execute("CREATE TABLE t (x INTEGER)")  # autocommit: a transaction of its own
    cur.execute("INSERT INTO t VALUES (1)")  # another
    cur.execute("BEGIN")
    cur.execute("INSERT INTO t VALUES (2)")
    cur.execute("UPDATE t SET x = 3 WHERE x = 2")
    conn.commit()  # ends the explicit transaction: sent
    conn.commit()  # nothing open: sqlite3 sends nothing
    assert tracer.transactions == 3
    assert tracer.autocommit_statements == 2
    assert tracer.transaction_control == 2  # BEGIN and the first COMMIT
    assert tracer.noop_transaction_calls == 1
    assert tracer.rows_written == {"INSERT": 2, "UPDATE": 1}
    assert tracer.update_columns == {1: 1}
    assert not tracer.in_transaction


@pytest.fixture(scope="module")
def traced_run(tmp_path_factory) -> dict[tuple[str, str], dict]:
    from conftest import run_cli

    folder = tmp_path_factory.mktemp("trace")
    result = run_cli(
        "run",
        "--db",
        f"sqlite:///{folder / 'db.sqlite3'}",
        "--rows",
        str(ROWS),
        "--rounds",
        "1",
        "--warmup",
        "0",
        "--output",
        str(folder / "out"),
    )
    assert result.code == 0, result.stderr
    data = json.loads((folder / "out/results.json").read_text())
    # (scenario, backend) is the as-documented idiom (the floor's one idiom for dbapi);
    # (scenario, backend, "equal") the equal-work one.
    traces: dict[tuple[str, ...], dict] = {}
    for c in data["cells"]:
        key = (c["scenario"], c["backend"])
        traces[key if c["idiom"] in ("documented", "floor") else (*key, c["idiom"])] = c["trace"]
    return traces


@pytest.mark.parametrize("backend", ["sqlalchemy", "django", "dbapi"])
def test_per_object_create_sends_one_insert_per_row(traced_run, backend: str) -> None:
    trace = traced_run[("create", backend)]
    assert trace["by_kind"]["INSERT"] == ROWS
    assert trace["statements"] == ROWS
    assert trace["transactions"] == ROWS


def test_sqlalchemy_documented_create_is_an_explicit_transaction_per_row(traced_run) -> None:
    trace = traced_run[("create", "sqlalchemy")]
    assert trace["by_kind"]["BEGIN"] == ROWS  # SQLAlchemy's pysqlite recipe sends BEGIN
    assert trace["commits"] == ROWS
    assert trace["transaction_control"] == 2 * ROWS
    assert trace["autocommit_statements"] == 0
    # Its equal-work idiom lets each INSERT commit itself, as Django does.
    equal = traced_run[("create", "sqlalchemy", "equal")]
    assert equal["transaction_control"] == 0
    assert equal["autocommit_statements"] == ROWS


def test_django_autocommit_create_sends_no_transaction_control(traced_run) -> None:
    trace = traced_run[("create", "django")]
    assert trace["transaction_control"] == 0
    assert trace["autocommit_statements"] == ROWS
    assert trace["rows_fetched"] == ROWS  # INSERT ... RETURNING the new id


def test_bulk_create_sends_one_statement_per_batch(traced_run) -> None:
    sqlalchemy = traced_run[("bulk_create", "sqlalchemy")]
    assert sqlalchemy["statements"] == 1 and sqlalchemy["rows_sent"] == ROWS  # one executemany
    assert sqlalchemy["rows_fetched"] == 0  # as documented: no objects, no ids
    batches = math.ceil(ROWS / DJANGO_SQLITE_BATCH)
    django = traced_run[("bulk_create", "django")]
    assert django["by_kind"]["INSERT"] == batches
    assert django["commits"] == 1  # inside one atomic() block
    for key in (("bulk_create", "sqlalchemy", "equal"), ("bulk_create", "dbapi")):
        trace = traced_run[key]
        assert trace["by_kind"]["INSERT"] == batches, key
        assert trace["rows_fetched"] == ROWS, key  # the new ids, RETURNING


@pytest.mark.parametrize("backend", ["sqlalchemy", "django", "dbapi"])
def test_reads_send_one_select_per_lookup_and_one_for_the_filter(traced_run, backend) -> None:
    assert traced_run[("get", backend)]["by_kind"]["SELECT"] == ROWS
    assert traced_run[("filter", backend)]["by_kind"]["SELECT"] == 1
    # Django's documented get runs in autocommit (its default): each lookup commits itself;
    # its equal-work get holds them in the contract's one transaction, as the others do.
    get = traced_run[("get", backend, "equal") if backend == "django" else ("get", backend)]
    assert get["transactions"] == 1
    assert get["narrowest_select"] == 7  # every column loaded


def test_django_documented_reads_are_autocommit(traced_run) -> None:
    get = traced_run[("get", "django")]
    assert get["transactions"] == get["autocommit_statements"] == ROWS
    assert get["transaction_control"] == 0
    filtered = traced_run[("filter", "django")]
    assert filtered["transactions"] == filtered["autocommit_statements"] == 1
    assert filtered["transaction_control"] == 0


@pytest.mark.parametrize("backend", ["sqlalchemy", "django", "dbapi"])
@pytest.mark.parametrize(("scenario", "write"), [("update", "UPDATE"), ("delete", "DELETE")])
def test_load_then_write_per_row(traced_run, backend: str, scenario: str, write: str) -> None:
    trace = traced_run[(scenario, backend)]
    assert trace["by_kind"]["SELECT"] == ROWS
    assert trace["by_kind"][write] == ROWS
    assert trace["transactions"] == ROWS
    assert trace["rows_written"] == {write: ROWS}


def test_sql_text_is_kept(traced_run) -> None:
    sql = traced_run[("filter", "django")]["sql"]
    assert any("LIKE" in s["sql"] and "ormbench_item" in s["sql"] for s in sql)


def test_django_sql_on_sqlite_is_what_the_driver_received(traced_run) -> None:
    """Django writes `%s`; its SQLite cursor wrapper hands sqlite3 `?`: the trace shows `?`."""
    django = [t for key, t in traced_run.items() if key[1] == "django"]
    statements = [s["sql"] for trace in django for s in trace["sql"]]
    with_parameters = [sql for sql in statements if "?" in sql]
    assert len(with_parameters) >= 5  # get, filter, update, delete, bulk_create, ...
    assert not [sql for sql in statements if "%s" in sql]


def test_proxy_records_the_sql_django_converts_for_sqlite(tmp_path: Path) -> None:
    """Through Django's own cursor wrapper: `%s` and `%(name)s` reach sqlite3 as `?` and
    `:name`, and so does the trace; a statement without parameters is left as written."""
    from django.db.backends.sqlite3.base import SQLiteCursorWrapper

    tracer = Tracer()
    conn = TracedConnection(sqlite3.connect(tmp_path / "t.db"), tracer)
    cur = conn.cursor(factory=SQLiteCursorWrapper)
    cur.execute("CREATE TABLE t (x INTEGER, y TEXT)")
    cur.execute("INSERT INTO t VALUES (%s, %s)", (1, "a"))
    cur.executemany("INSERT INTO t VALUES (%(x)s, %(y)s)", [{"x": 2, "y": "b"}])
    cur.execute("SELECT x FROM t WHERE y LIKE '50%%' OR x = %s", (2,))
    assert list(tracer.sql) == [
        "CREATE TABLE t (x INTEGER, y TEXT)",
        "INSERT INTO t VALUES (?, ?)",
        "INSERT INTO t VALUES (:x, :y)",
        "SELECT x FROM t WHERE y LIKE '50%' OR x = ?",
    ]
    assert cur.fetchall() == [(2,)] and tracer.rows_sent == 4


def test_rows_a_write_returns_count_as_rows_written(tmp_path: Path) -> None:
    """A write whose driver reports no row count (the SQL Server drivers give -1 for an INSERT
    with OUTPUT, and under SET NOCOUNT ON) wrote at least the rows it returned."""
    tracer = Tracer()
    conn = TracedConnection(sqlite3.connect(tmp_path / "t.db", isolation_level=None), tracer)
    conn.cursor().execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER)")
    tracer.reset()
    cursor = conn.cursor()
    cursor.execute("INSERT INTO t (x) VALUES (1), (2), (3) RETURNING id")
    assert len(cursor.fetchall()) == 3
    tracer.settle()
    assert tracer.rows_written == {"INSERT": 3}
