"""`ormbench concurrency` on SQLite, PostgreSQL and MariaDB: every repetition of every cell
verified, the pool's figures reported from the untimed observed pass (SQLAlchemy's default
QueuePool overflowing or waiting above its pool size, the equal-work pools sized to the
threads, Django and the floor one connection per thread), nothing of the harness on a timed
pool, the equal-work idiom sending the same statements for every backend, repetitions,
intervals and verdicts in the output files, equal sequences per thread, a backend that
misreports its work caught, and bad input refused in one line."""

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
    Unit,
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
UNITS = (
    ("sqlalchemy", "documented"),
    ("sqlalchemy", "equal"),
    ("django", "documented"),
    ("dbapi", "floor"),
)
THREADS = (1, 8)  # 8: above QueuePool's pool_size of 5
REPETITIONS = 2
POOL_SIZE = 5
FLOOR = Unit("dbapi", "floor")


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
        "0.25",
        "--repetitions",
        str(REPETITIONS),
        "--rows",
        "200",
        cwd=where,
    )
    folder = where / "ormbench-report"
    assert result.code == 0, result.stderr + result.stdout
    return result, json.loads((folder / "concurrency.json").read_text()), folder


def test_every_repetition_of_every_cell_runs_and_is_verified(small_run) -> None:
    _, data, _ = small_run
    cells = {(c["backend"], c["idiom"], c["threads"]): c for c in data["cells"]}
    assert set(cells) == {(b, i, k) for b, i in UNITS for k in THREADS}
    for cell in cells.values():
        assert cell["verification"]["status"] == "passed", cell
        assert len(cell["repetitions"]) == REPETITIONS
        assert [r["index"] for r in cell["repetitions"]] == list(range(REPETITIONS))
        for repetition in cell["repetitions"]:
            assert repetition["verification"]["status"] == "passed", repetition
            assert repetition["operations"] > 0 and repetition["ops_per_s"] > 0
            assert repetition["reads"] + repetition["writes"] == repetition["operations"]
            assert len(repetition["per_thread"]) == cell["threads"]
            assert sum(repetition["per_thread"]) == repetition["operations"]
            assert repetition["increments"] > 0  # writes committed, and the table holds them
        assert cell["operations"] == sum(r["operations"] for r in cell["repetitions"])
        rates = sorted(r["ops_per_s"] for r in cell["repetitions"])
        assert rates[0] <= cell["ops_per_s"] <= rates[-1]
        assert cell["latency"]["p50_s"] <= cell["latency"]["p99_s"]
        observed = cell["observed"]  # the untimed pass that counts SQLAlchemy's pools
        assert (observed is not None) == (cell["backend"] == "sqlalchemy")
        if observed:
            assert observed["index"] == -1 and observed["verification"]["status"] == "passed"
    assert data["complete"] is True and data["schema_version"] == 2
    assert data["plan"]["repetitions"] == REPETITIONS


def test_pool_figures_show_the_default_queuepool_the_sized_pools_and_own_connections(
    small_run,
) -> None:
    _, data, _ = small_run
    cells = {(c["backend"], c["idiom"], c["threads"]): c["connections"] for c in data["cells"]}
    for k in THREADS:
        pool = cells[("sqlalchemy", "documented", k)]
        assert pool["limit"] == 15 and "default QueuePool" in pool["policy"]
        assert pool["observed_pass"] is True
        assert pool["checkouts"] > 0 and 1 <= pool["peak_in_use"] <= 15
        assert pool["waits"] >= 0 and pool["wait_s"] >= 0
        sized = cells[("sqlalchemy", "equal", k)]
        assert sized["limit"] == 2 * k and f"pool_size {k}, max_overflow 0" in sized["policy"]
        assert sized["waits"] == 0 and sized["opened_during"] == 0 and sized["closed_during"] == 0
        for unit in (("django", "documented"), ("dbapi", "floor")):
            own = cells[(*unit, k)]
            assert own["limit"] == k and own["opened_before"] == k
            assert own["opened_during"] == 0 and own["waits"] is None
    above = cells[("sqlalchemy", "documented", THREADS[-1])]
    # More threads than the pool keeps: overflow connections in use (and opened again after
    # the warm-up returned them), or checkouts that waited for one.
    overflowed = above["peak_in_use"] > POOL_SIZE or above["opened_during"] > 0
    assert overflowed or above["waits"] > 0, above
    assert cells[("sqlalchemy", "documented", 1)]["peak_in_use"] == 1


def test_comparisons_carry_the_ratio_and_a_verdict_per_thread_count_and_idiom(small_run) -> None:
    _, data, _ = small_run
    comparisons = {(c["threads"], c["idiom"]): c for c in data["comparisons"]}
    assert set(comparisons) == {(k, i) for k in THREADS for i in ("documented", "equal")}
    for comparison in comparisons.values():
        assert comparison["repetitions"] == REPETITIONS and comparison["ratio"] > 0
        # Two repetitions give no 95% interval: no verdict is drawn, and it says why.
        assert comparison["ci_low"] is None and "6 or more repetitions" in comparison["verdict"]
    documented = comparisons[(1, "documented")]["differs"]
    assert "SQLAlchemy's read sends" in documented  # the Session's transaction around a read


def test_the_equal_work_idiom_sends_the_same_statements_for_every_backend(small_run) -> None:
    """Equal work: the read is one SELECT and nothing else, for SQLAlchemy (AUTOCOMMIT Engine),
    Django and the floor; the write the same statements in one transaction (transaction
    control as each driver must send it, e.g. Django's SET autocommit on MariaDB)."""
    _, data, _ = small_run
    traces = {(t["backend"], t["idiom"]): t for t in next(iter(data["traces"].values()))}
    assert set(traces) == set(UNITS)
    equal = [traces[u] for u in (("sqlalchemy", "equal"), ("django", "documented"))]
    equal.append(traces[("dbapi", "floor")])
    for trace in equal:
        assert trace["error"] is None
        assert trace["read"]["sent"] == {"SELECT": 1} and trace["read"]["round_trips"] == 1
        statements = {k: n for k, n in trace["write"]["sent"].items() if k in ("SELECT", "UPDATE")}
        assert statements == {"SELECT": 1, "UPDATE": 1}
        assert trace["write"]["sent"].get("COMMIT") == 1
    documented = traces[("sqlalchemy", "documented")]["read"]["sent"]
    assert documented != {"SELECT": 1} and "ROLLBACK" in documented
    comparisons = {(c["threads"], c["idiom"]): c for c in data["comparisons"]}
    assert "read sends" not in comparisons[(1, "equal")]["differs"]


def test_report_files_and_console_table(small_run) -> None:
    result, data, folder = small_run
    report = (folder / "concurrency.md").read_text()
    assert "# ormbench concurrency" in report
    assert "| threads | backend | idiom | ops/s | IQR | p50 | p99 |" in report
    assert "### SQLAlchemy against Django" in report
    assert "SQLAlchemy ÷ Django ops/s [95% CI]" in report
    assert "What one operation sends" in report
    assert "session.get(Item, pk, with_for_update=True)" in report
    assert 'isolation_level="AUTOCOMMIT"' in report
    assert "select_for_update()" in report
    for word in ("ops/s", "p99", "pool waits", "SQLAlchemy", "Django", "raw DB-API", "passed"):
        assert word in result.stdout
    for word in ("as documented", "equal work", "SQLAlchemy ÷ Django", "6 or more repetitions"):
        assert word in result.stdout
    assert "concurrency.md" in result.stderr


def test_busy_timeout_is_the_same_for_every_backend_on_sqlite(cli, tmp_path, sqlite_url) -> None:
    result = cli(
        "concurrency",
        "--db",
        sqlite_url,
        "--threads",
        "2",
        "--duration",
        "0.1",
        "--repetitions",
        "1",
    )
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
    result = cli(
        "concurrency", "--db", url, "--threads", "3", "--operations", "40", "--repetitions", "2"
    )
    assert result.code == 0, result.stderr
    data = json.loads((tmp_path / "ormbench-report/concurrency.json").read_text())
    cells = data["cells"]
    assert {c["backend"] for c in cells} == set(BACKENDS)
    repetitions = [r for c in cells for r in [*c["repetitions"], c["observed"]] if r]
    assert len(repetitions) == 4 * 2 + 2
    assert {r["operations"] for r in repetitions} == {3 * 40}
    assert len({(r["reads"], r["writes"], r["increments"]) for r in repetitions}) == 1
    assert all(r["verification"]["status"] == "passed" and not r["errors"] for r in repetitions)


def _measure_on_sqlite(
    url: str,
    unit: Unit = FLOOR,
    threads: int = 2,
    observed: bool = False,
    write_percent: float = 20,
):
    target = parse_target(url)
    db = HarnessDatabase(target, (item_table,))
    db.create_tables()
    if unit.backend == "django":
        from backends.django_orm import configure

        configure(target)
    try:
        plan = ConcurrencyPlan(
            threads=(threads,),
            duration_s=None,
            operations=30,
            rows=50,
            write_percent=write_percent,
        )
        return measure(target, unit, threads, plan, db, threading.Event(), observed=observed)
    finally:
        db.drop_tables()
        db.close()


def _floor_with(monkeypatch, read, write) -> None:
    monkeypatch.setitem(WORKLOADS, "dbapi", {"documented": Workload(read=read, write=write)})


def test_writes_reported_but_not_done_fail_the_repetition(monkeypatch, sqlite_url) -> None:
    def write_nothing(db, pk, increment) -> None:
        """Claims its increment without writing it."""

    _floor_with(monkeypatch, dbapi_read, write_nothing)
    verification = _measure_on_sqlite(sqlite_url).repetition.verification
    assert verification.status == "failed"
    assert "quantities than the increments reported" in verification.reason


def test_a_read_of_another_row_fails_the_repetition(monkeypatch, sqlite_url) -> None:
    def read_the_next_row(db, pk):
        return dbapi_read(db, pk + 1)

    _floor_with(monkeypatch, read_the_next_row, dbapi_write)
    verification = _measure_on_sqlite(sqlite_url).repetition.verification
    assert verification.status == "failed"
    assert "another row" in verification.reason


def test_a_failing_operation_is_an_error_not_a_crash(monkeypatch, sqlite_url) -> None:
    def broken_read(db, pk):
        raise RuntimeError("no such luck")

    _floor_with(monkeypatch, broken_read, dbapi_write)
    verification = _measure_on_sqlite(sqlite_url).repetition.verification
    assert verification.status == "error"
    assert "no such luck" in verification.reason


@pytest.mark.parametrize("idiom", ["documented", "equal"])
def test_nothing_of_the_harness_is_on_a_timed_pool(sqlite_url, idiom) -> None:
    """A timed repetition's pools are QueuePool as create_engine builds it, with no listener
    beyond SQLAlchemy's own, checked as the clock starts; the observed pass's are not (the
    check sees the difference)."""
    timed = _measure_on_sqlite(sqlite_url, Unit("sqlalchemy", idiom))
    assert timed.repetition.verification.status == "passed"
    assert timed.hooks_at_start == []
    assert timed.connections is not None and timed.connections.checkouts is None
    observed = _measure_on_sqlite(sqlite_url, Unit("sqlalchemy", idiom), observed=True)
    assert observed.repetition.verification.status == "passed"
    assert "pool class ObservedQueuePool" in observed.hooks_at_start
    assert any("'close' listener" in hook for hook in observed.hooks_at_start)
    assert observed.connections.checkouts > 0


def test_a_pool_sized_to_the_threads_never_waits_at_16_threads(sqlite_url) -> None:
    measured = _measure_on_sqlite(
        sqlite_url, Unit("sqlalchemy", "equal"), threads=16, observed=True, write_percent=0
    )
    assert measured.repetition.verification.status == "passed"
    pools = measured.connections
    assert pools.limit == 32 and pools.waits == 0 and pools.wait_s == 0
    assert pools.opened_during == 0 and pools.closed_during == 0
    assert 1 <= pools.peak_in_use <= 16  # reads alone: one Engine's pool, a connection each


def test_repetitions_give_an_interval_and_a_verdict_with_the_margin(cli, tmp_path) -> None:
    result = cli(
        "concurrency",
        "--threads",
        "2",
        "--operations",
        "15",
        "--rows",
        "30",
        "--repetitions",
        "6",
        "--margin",
        "7.5",
        "-q",
    )
    assert result.code == 0, result.stderr
    data = json.loads((tmp_path / "ormbench-report/concurrency.json").read_text())
    assert data["plan"]["repetitions"] == 6 and data["plan"]["margin"] == 7.5
    assert all(len(c["repetitions"]) == 6 for c in data["cells"])
    for comparison in data["comparisons"]:
        assert comparison["repetitions"] == 6
        assert 0 < comparison["ci_low"] <= comparison["ratio"] <= comparison["ci_high"]
        verdict = comparison["verdict"]
        assert (
            verdict.endswith("x faster")
            or verdict
            in (
                "inconclusive",
                "no practical difference (within ±7.5%)",
            )
            or verdict.startswith("inconclusive (6 repetitions cannot support a claim")
        )
    report = (tmp_path / "ormbench-report/concurrency.md").read_text()
    assert "±7.5%" in report
    first = data["comparisons"][0]
    assert f"{first['ratio']:.2f} [{first['ci_low']:.2f}–{first['ci_high']:.2f}]" in result.stdout


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
        (["--repetitions", "0"], "--repetitions"),
        (["--margin", "0"], "--margin"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, args, fragment) -> None:
    result = cli("concurrency", *args)
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0] and "Traceback" not in result.stderr
    assert result.stdout == ""
