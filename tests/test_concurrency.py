"""`ormbench concurrency` on SQLite, PostgreSQL and MariaDB: every cell verified, the pool's
figures reported (SQLAlchemy's QueuePool overflowing or waiting above its pool size, Django and
the floor one connection per thread), the output files written, equal sequences per thread,
a backend that misreports its work caught, and bad input refused in one line."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import QueuePool

from harness.concurrency import (
    ConcurrencyPlan,
    ObservedQueuePool,
    PoolObserver,
    lock_conflict,
    measure,
    percentile,
)
from harness.targets.database import HarnessDatabase
from harness.targets.urls import parse_target
from scenarios.concurrency import WORKLOADS, Workload, dbapi_read, dbapi_write
from scenarios.schema import item_table

DATABASES = ("sqlite_url", "postgres_url", "mariadb_url")
BACKENDS = ("sqlalchemy", "django", "dbapi")
THREADS = (1, 8)  # 8: above QueuePool's pool_size of 5
POOL_SIZE = 5


@pytest.fixture(scope="module", params=DATABASES)
def small_run(request, tmp_path_factory):
    """One short run per database, shared by the tests that read it."""
    from conftest import run_cli

    where = tmp_path_factory.mktemp("concurrency")
    if request.param == "sqlite_url":
        url = f"sqlite:///{where / 'bench.sqlite3'}"
    else:
        url = request.getfixturevalue(request.param)
    threads = ",".join(map(str, THREADS))
    result = run_cli(
        "concurrency",
        "--db",
        url,
        "--threads",
        threads,
        "--duration",
        "0.5",
        "--rows",
        "200",
        cwd=where,
    )
    folder = where / "ormbench-report"
    assert result.code == 0, result.stderr + result.stdout
    return result, json.loads((folder / "concurrency.json").read_text()), folder


def test_every_cell_runs_and_is_verified(small_run) -> None:
    _, data, _ = small_run
    cells = {(c["backend"], c["threads"]): c for c in data["cells"]}
    assert set(cells) == {(b, k) for b in BACKENDS for k in THREADS}
    for cell in cells.values():
        assert cell["verification"]["status"] == "passed", cell
        assert cell["operations"] > 0 and cell["ops_per_s"] > 0
        assert cell["reads"] + cell["writes"] == cell["operations"]
        assert len(cell["per_thread"]) == cell["threads"]
        assert sum(cell["per_thread"]) == cell["operations"]
        assert cell["latency"]["p50_s"] <= cell["latency"]["p99_s"]
        assert cell["increments"] > 0  # writes committed, and the table holds them
    assert data["complete"] is True and data["schema_version"] == 1


def test_pool_figures_show_the_shared_queuepool_and_per_thread_connections(small_run) -> None:
    _, data, _ = small_run
    cells = {(c["backend"], c["threads"]): c["connections"] for c in data["cells"]}
    for k in THREADS:
        pool = cells[("sqlalchemy", k)]
        assert pool["limit"] == 15 and "QueuePool" in pool["policy"]
        assert pool["checkouts"] > 0 and 1 <= pool["peak_in_use"] <= 15
        assert pool["waits"] >= 0 and pool["wait_s"] >= 0
        for backend in ("django", "dbapi"):
            own = cells[(backend, k)]
            assert own["limit"] == k and own["opened_before"] == k
            assert own["opened_during"] == 0 and own["waits"] is None
    above = cells[("sqlalchemy", THREADS[-1])]
    # More threads than the pool keeps: overflow connections in use (and opened again after
    # the warm-up returned them), or checkouts that waited for one.
    overflowed = above["peak_in_use"] > POOL_SIZE or above["opened_during"] > 0
    assert overflowed or above["waits"] > 0, above
    assert cells[("sqlalchemy", 1)]["peak_in_use"] == 1


def test_report_files_and_console_table(small_run) -> None:
    result, data, folder = small_run
    report = (folder / "concurrency.md").read_text()
    assert "# ormbench concurrency" in report
    assert "| threads | backend | ops/s | p50 | p99 |" in report
    assert "What one operation sends" in report
    assert "session.get(Item, pk, with_for_update=True)" in report
    assert "select_for_update()" in report
    for word in ("ops/s", "p99", "pool waits", "SQLAlchemy", "Django", "raw DB-API", "passed"):
        assert word in result.stdout
    assert "concurrency.md" in result.stderr
    traces = next(iter(data["traces"].values()))
    sent = {t["backend"]: t for t in traces}
    assert set(sent) == set(BACKENDS)
    for trace in sent.values():
        assert trace["error"] is None
        assert trace["read"]["sent"]["SELECT"] == 1 and trace["write"]["sent"]["UPDATE"] == 1


def test_busy_timeout_is_the_same_for_every_backend_on_sqlite(cli, tmp_path, sqlite_url) -> None:
    result = cli("concurrency", "--db", sqlite_url, "--threads", "2", "--duration", "0.2")
    assert result.code == 0, result.stderr
    data = json.loads((tmp_path / "ormbench-report/concurrency.json").read_text())
    (database,) = data["databases"]
    timeouts = {s.get("busy timeout") for s in database["connection_settings"].values()}
    assert timeouts == {"5000 ms"}
    assert "database is locked" in (tmp_path / "ormbench-report/concurrency.md").read_text()


@pytest.mark.parametrize("server", ["postgres_url", "mariadb_url"])
def test_fixed_operations_send_the_same_sequence_on_every_backend(
    request, cli, tmp_path, server
) -> None:
    """Per-thread seeded RNGs: with --operations every backend commits the same increments
    (rows are locked on a server, so no write is lost or refused)."""
    url = request.getfixturevalue(server)
    result = cli("concurrency", "--db", url, "--threads", "3", "--operations", "40", "-q")
    assert result.code == 0, result.stderr
    data = json.loads((tmp_path / "ormbench-report/concurrency.json").read_text())
    cells = data["cells"]
    assert {c["backend"] for c in cells} == set(BACKENDS)
    assert {c["operations"] for c in cells} == {3 * 40}
    assert len({(c["reads"], c["writes"], c["increments"]) for c in cells}) == 1
    assert all(c["verification"]["status"] == "passed" and not c["errors"] for c in cells)


def _measure_on_sqlite(url: str, backend: str, threads: int = 2):
    target = parse_target(url)
    db = HarnessDatabase(target, (item_table,))
    db.create_tables()
    try:
        plan = ConcurrencyPlan(threads=(threads,), duration_s=None, operations=30, rows=50)
        return measure(target, backend, threads, plan, db, threading.Event())
    finally:
        db.drop_tables()
        db.close()


def test_writes_reported_but_not_done_fail_the_cell(monkeypatch, sqlite_url) -> None:
    def write_nothing(db, pk, increment) -> None:
        """Claims its increment without writing it."""

    monkeypatch.setitem(WORKLOADS, "dbapi", Workload(read=dbapi_read, write=write_nothing))
    cell = _measure_on_sqlite(sqlite_url, "dbapi")
    assert cell.verification.status == "failed"
    assert "quantities than the increments reported" in cell.verification.reason


def test_a_read_of_another_row_fails_the_cell(monkeypatch, sqlite_url) -> None:
    def read_the_next_row(db, pk):
        return dbapi_read(db, pk + 1)

    monkeypatch.setitem(WORKLOADS, "dbapi", Workload(read=read_the_next_row, write=dbapi_write))
    cell = _measure_on_sqlite(sqlite_url, "dbapi")
    assert cell.verification.status == "failed"
    assert "another row" in cell.verification.reason


def test_a_failing_operation_is_an_error_cell_not_a_crash(monkeypatch, sqlite_url) -> None:
    def broken_read(db, pk):
        raise RuntimeError("no such luck")

    monkeypatch.setitem(WORKLOADS, "dbapi", Workload(read=broken_read, write=dbapi_write))
    cell = _measure_on_sqlite(sqlite_url, "dbapi")
    assert cell.verification.status == "error"
    assert "no such luck" in cell.verification.reason


def test_observed_pool_counts_a_checkout_that_waits_at_the_limit() -> None:
    engine = create_engine(
        "sqlite://",
        poolclass=ObservedQueuePool,
        pool_size=1,
        max_overflow=0,
        connect_args={"check_same_thread": False},
    )
    observer = engine.pool.observer = PoolObserver()
    held = engine.connect()
    got = threading.Event()

    def wait_for_one() -> None:
        with engine.connect():
            got.set()

    waiter = threading.Thread(target=wait_for_one)
    waiter.start()
    time.sleep(0.05)
    assert not got.is_set()  # the only connection is held: the second checkout waits
    held.close()
    waiter.join(5)
    counts = observer.snapshot()
    assert got.is_set()
    assert counts.checkouts == 2 and counts.waits == 1 and counts.wait_s > 0
    assert counts.peak_in_use == 1
    engine.dispose()


@pytest.mark.parametrize(
    "url", ["sqlite:////tmp/x.sqlite3", "postgresql://u@h/db", "mysql://u@h/db"]
)
def test_the_observed_pool_is_sqlalchemys_default_for_the_family(url) -> None:
    target = parse_target(url)
    engine = create_engine(target.sqlalchemy_url())  # builds the pool; connects nothing
    assert type(engine.pool) is QueuePool
    assert issubclass(ObservedQueuePool, QueuePool)


def test_percentile_is_nearest_rank_and_lock_conflicts_are_recognised() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0 and percentile(values, 0.99) == 99.0
    assert percentile([3.0], 0.99) == 3.0 and percentile([], 0.5) is None
    assert lock_conflict("database is locked")
    assert lock_conflict("(1213, 'Deadlock found when trying to get lock')")
    assert not lock_conflict("no such table: ormbench_item")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--threads", "0"], "'0' is not a thread count"),
        (["--threads", "1,x"], "'x' is not a thread count"),
        (["--threads", ""], "is not a thread count"),
        (["--threads", "100000"], "is not a thread count"),
        (["--duration", "0"], "--duration"),
        (["--duration", "1", "--operations", "5"], "--duration and --operations both given"),
        (["--backends", "hibernate"], "unknown backend 'hibernate'"),
        (["--write-percent", "120"], "--write-percent"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, args, fragment) -> None:
    result = cli("concurrency", *args)
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0] and "Traceback" not in result.stderr
    assert result.stdout == ""
