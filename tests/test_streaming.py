"""streaming: every row read in id order in chunks, verified by its summary and held to its
contract; each ORM's cursor per database as it really is; peak memory that stays flat as the
table grows where the driver streams, and a memory pass that never runs inside a timed round.
On SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

TESTS = str(Path(__file__).parent)
PROBES = ",".join(
    f"memory_probe_backends:{name}" for name in ("ProbeSqlAlchemy", "ProbeDjango", "ProbeDbApi")
)


def run(cli, folder: Path, url: str, rows: int, *args: str, env: dict[str, str] | None = None):
    result = cli(
        "run",
        "--db",
        url,
        "--rows",
        str(rows),
        "--output",
        str(folder),
        *args,
        env={"PYTHONPATH": TESTS, **(env or {})},
    )
    assert result.code == 0, result.stderr + result.stdout
    return json.loads((folder / "results.json").read_text())


def cells_by_unit(data: dict) -> dict[tuple[str, str, str], dict]:
    return {(c["scenario"], c["backend"], c["idiom"]): c for c in data["cells"]}


def test_every_backend_reads_every_row_once_in_one_select(cli, tmp_path, any_url) -> None:
    rows = 4500  # more than two chunks of 2,000
    data = run(cli, tmp_path / "r", any_url, rows, "--scenarios", "streaming", "--rounds", "3")
    cells = data["cells"]
    assert len(cells) == 5  # two ORMs in two idioms, and the floor
    for cell in cells:
        verification = cell["verification"]
        assert verification["status"] == "passed", (cell["backend"], verification)
        assert verification["rounds_checked"] == 4  # the warm-up and every timed round
        trace = cell["trace"]
        assert trace["by_kind"]["SELECT"] == 1
        assert trace["select_rows"] == trace["rows_fetched"] == rows
        assert trace["narrowest_select"] == 7  # whole objects, every column
        assert cell["peak_alloc_bytes"] > 0
    by = cells_by_unit(data)
    # As documented, Django's iterator() runs in autocommit: one SELECT that is its own
    # transaction; its equal-work idiom, SQLAlchemy's Session and the floor read in one
    # explicit transaction, as the contract says.
    assert by[("streaming", "django", "documented")]["trace"]["autocommit_statements"] == 1
    for backend, idiom in (("django", "equal"), ("sqlalchemy", "equal"), ("dbapi", "floor")):
        trace = by[("streaming", backend, idiom)]["trace"]
        assert trace["transactions"] == 1 and trace["autocommit_statements"] == 0, backend
        assert "1 SELECT" in by[("streaming", backend, idiom)]["verification"]["contract"]
    report = (tmp_path / "r/report.md").read_text()
    assert "| peak memory |" in report and "MiB" in report


CURSORS = """
    import json, sys, weakref
    from harness.database import HarnessDatabase
    from harness.targets import parse_target
    from harness.trace import Tracer
    from backends.dbapi import DbApi
    from backends.django_orm import DjangoOrm
    from backends.sqlalchemy_orm import SqlAlchemyOrm
    from scenarios import REGISTRY

    class Seen(weakref.WeakSet):
        # Every cursor the traced connection hands out, as the driver made it.
        def add(self, cursor):
            bare = cursor._cursor
            kinds.append([type(bare).__name__, getattr(bare, "withhold", None)])
            super().add(cursor)

    target = parse_target(sys.argv[1])
    scenario = REGISTRY["streaming"](50, 42)
    db = HarnessDatabase(target, scenario.tables)
    db.create_tables()
    found = {}
    try:
        work = scenario.prepare(db)
        for cls, idiom in (
            (SqlAlchemyOrm, "documented"), (DjangoOrm, "documented"), (DjangoOrm, "equal"),
            (DbApi, "equal"),
        ):
            tracer = Tracer()
            backend = cls(target, tracer)
            kinds = []
            tracer.cursors = Seen()
            backend.begin_round()
            summary = scenario.run(backend, work.argument, idiom)
            backend.end_round()
            backend.close()
            assert summary.rows == 50
            found[f"{cls.name} {idiom}"] = kinds
    finally:
        db.drop_tables()
        db.close()
    print(json.dumps(found))
"""


def cursors_used(url: str) -> dict[str, list[list]]:
    """Per backend and idiom, the cursors it opened for one run: [driver class, withhold]."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CURSORS), url],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_each_orm_streams_through_the_cursor_its_driver_offers(any_url) -> None:
    used = cursors_used(any_url)
    family = any_url.split(":", 1)[0]
    if family == "postgresql":
        # yield_per: a psycopg named cursor inside the Session's transaction. Django's
        # iterator(): a named cursor declared WITH HOLD in autocommit (PostgreSQL keeps the
        # whole result once the DECLARE's transaction commits), without HOLD inside atomic().
        assert used["sqlalchemy documented"] == [["ServerCursor", False]]
        assert used["django documented"] == [["ServerCursor", True]]
        assert used["django equal"] == [["ServerCursor", False]]
        assert ["ServerCursor", False] in used["dbapi equal"]
    elif family == "mysql":
        # yield_per: mysqlclient's SSCursor (rows read off the wire as fetched). Django's
        # iterator(): the default cursor, which stores the whole result on the client first.
        assert [kind for kind, _ in used["sqlalchemy documented"]] == ["SSCursor"]
        assert [kind for kind, _ in used["django documented"]] == ["Cursor"]
        assert [kind for kind, _ in used["django equal"]] == ["Cursor"]
        assert "SSCursor" in [kind for kind, _ in used["dbapi equal"]]
    else:
        # sqlite3 has one cursor, which steps through the result as rows are fetched
        # (Django's SQLiteCursorWrapper subclasses it).
        kinds = {kind for kinds in used.values() for kind, _ in kinds}
        assert kinds == {"Cursor", "SQLiteCursorWrapper"}


def peaks(data: dict) -> dict[tuple[str, str, str], int]:
    return {unit: cell["peak_alloc_bytes"] for unit, cell in cells_by_unit(data).items()}


def test_streaming_memory_stays_flat_where_a_list_grows_with_the_table(
    cli, tmp_path, any_url
) -> None:
    """2,000 rows (one chunk) against 12,000 (six): a streaming read holds at most about two
    chunks at once (the next one arrives while the last is still referenced), so its peak at
    most doubles, where the filter scenario, which returns a list, grows with the rows."""
    args = ("--scenarios", "streaming,filter", "--memory", "--rounds", "1", "--warmup", "0")
    small = peaks(run(cli, tmp_path / "small", any_url, 2000, *args))
    large = peaks(run(cli, tmp_path / "large", any_url, 12000, *args))
    assert set(small) == set(large) and all(small.values()) and all(large.values())
    growth = {unit: large[unit] / small[unit] for unit in small}
    mariadb = any_url.startswith("mysql")
    for (scenario, backend, idiom), ratio in growth.items():
        if scenario == "filter":
            assert ratio > 4, (scenario, backend, idiom, ratio)
        elif backend == "django" and mariadb:
            # Django's iterator() on mysqlclient: the default cursor stores the whole result
            # as Python rows before the first chunk (Django's documentation says so too).
            assert ratio > 4, (scenario, backend, idiom, ratio)
        else:
            assert ratio < 3, (scenario, backend, idiom, ratio)


def test_the_memory_pass_never_runs_inside_a_timed_round(cli, tmp_path, any_url) -> None:
    log = tmp_path / "probe.jsonl"
    args = ("--scenarios", "streaming", "--backends", PROBES, "--rounds", "3", "--warmup", "1")
    data = run(cli, tmp_path / "r", any_url, 60, *args, env={"ORMBENCH_PROBE_LOG": str(log)})
    runs = [json.loads(line) for line in log.read_text().splitlines()]
    units = {("sqlalchemy", "documented"), ("django", "documented"), ("django", "equal")}
    units.add(("dbapi", "equal"))  # the floor runs its one idiom as the equal work
    timed = [r for r in runs if r["timed"]]
    assert len(timed) == 4 * len(units)  # a warm-up and three timed rounds each
    assert not any(r["tracing"] for r in timed)
    # Exactly one run per unit under tracemalloc: neither timed nor the trace pass.
    measured = [r for r in runs if r["tracing"]]
    assert sorted((r["backend"], r["idiom"]) for r in measured) == sorted(units)
    assert not any(r["timed"] or r["traced"] for r in measured)
    assert len([r for r in runs if r["traced"]]) == len(units)
    for cell in data["cells"]:
        assert cell["verification"]["status"] == "passed", cell["verification"]
        assert cell["peak_alloc_bytes"] > 0


def test_without_memory_only_streaming_gets_the_memory_pass(cli, tmp_path, sqlite_url) -> None:
    data = run(cli, tmp_path / "r", sqlite_url, 100, "--scenarios", "streaming,get")
    for cell in data["cells"]:
        measured = cell["peak_alloc_bytes"] is not None
        assert measured == (cell["scenario"] == "streaming"), cell["scenario"]
