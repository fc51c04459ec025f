"""Deep pages by LIMIT/OFFSET and by keyset: the same rows page by page, each page one SELECT
that is its own transaction, keyset pages without an OFFSET. On SQLite, PostgreSQL and
MariaDB."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import MATRIX_ROUNDS, MATRIX_ROWS, run_in, scenarios_of
from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from backends.dbapi import DbApi
from backends.sqlalchemy_orm import Item, SqlAlchemyOrm
from harness.targets.database import HarnessDatabase
from harness.targets.urls import parse_target
from scenarios.idioms import DOCUMENTED, EQUAL
from scenarios.pagination import PageWalk, PaginateKeyset, PaginateOffset

SCENARIOS = ("paginate_offset", "paginate_keyset")
ROWS = MATRIX_ROWS  # 200: pages of 10 rows (n / 20), the last ten of twenty
PAGES, SIZE = 10, 10


def test_the_pages_visited_are_the_last_full_ones() -> None:
    assert PaginateOffset(1000, 42).page_walk() == PageWalk(50, 10, 10, 0)
    assert PaginateOffset(100_000, 42).page_walk().offsets()[0] == 99_500
    walk = PaginateKeyset(ROWS, 42).page_walk()
    assert (walk.size, walk.pages) == (SIZE, PAGES)
    assert walk.offsets() == list(range(100, 200, 10))
    small = PaginateOffset(7, 42).page_walk()  # pages of one row: the back three
    assert small.offsets() == [4, 5, 6]
    assert PaginateOffset(1, 42).page_walk().offsets() == [0]


def test_both_ways_return_the_same_rows_page_by_page(sqlite_url) -> None:
    target = parse_target(sqlite_url)
    db = HarnessDatabase(target)
    db.create_tables()
    try:
        returned = {}
        for cls in (PaginateOffset, PaginateKeyset):
            scenario = cls(ROWS, 42)
            work = scenario.prepare(db)
            for backend_cls in (SqlAlchemyOrm, DbApi):
                backend = backend_cls(target)
                idioms = (EQUAL,) if backend.is_floor else (DOCUMENTED, EQUAL)
                for idiom in idioms:
                    backend.begin_round()
                    pages = scenario.run(backend, work.argument, idiom)
                    backend.end_round()
                    assert [len(page) for page in pages] == [SIZE] * PAGES
                    rows = scenario.returned(pages)
                    assert rows == work.expected_result, (cls.name, backend.name, idiom)
                    # Page number and row values: ids are the load's, the same here.
                    returned[(cls.name, backend.name, idiom)] = rows
                backend.close()
        assert len({tuple(rows) for rows in returned.values()}) == 1
    finally:
        db.drop_tables()
        db.close()


def _run(cli, folder: Path, url: str, scenarios: str, *args: str):
    return run_in(folder, url, "--scenarios", scenarios, *args, rows=ROWS, rounds=3)


@pytest.fixture
def paged_run(matrix_run):
    """Both scenarios of the session's run of every scenario on each database."""
    return scenarios_of(matrix_run, SCENARIOS)


def test_every_cell_passes_and_equal_work_meets_the_contract(paged_run) -> None:
    cells = paged_run["cells"]
    assert {c["scenario"] for c in cells} == set(SCENARIOS)
    # Per scenario: SQLAlchemy in two idioms, Django's documented (also its equal work), floor.
    assert len(cells) == 2 * 5
    for cell in cells:
        assert cell["verification"]["status"] == "passed", cell
        assert cell["verification"]["rounds_checked"] == MATRIX_ROUNDS
        if cell["idiom"] in ("equal", "floor"):
            assert (
                "10 SELECT; 10 transactions (each statement commits itself)"
                in (cell["verification"]["contract"])
            )


def test_each_page_is_one_select_of_a_page_of_full_rows(paged_run) -> None:
    family = paged_run["databases"][0]["family"]
    for cell in paged_run["cells"]:
        trace, where = cell["trace"], (cell["scenario"], cell["backend"], cell["idiom"])
        assert trace["by_kind"]["SELECT"] == PAGES, where
        assert trace["select_rows"] == PAGES * SIZE and trace["narrowest_select"] == 7, where
        assert trace["transactions"] == PAGES, where
        if cell["idiom"] != "documented" or cell["backend"] == "django":
            assert trace["autocommit_statements"] == PAGES, where
        else:  # SQLAlchemy's documented Session: each page BEGIN ... ROLLBACK
            assert trace["autocommit_statements"] == 0, where
        # Upper case, without identifier quotes: "SELECT ... WHERE ORMBENCH_ITEM.ID > %S ...".
        texts = [re.sub(r'[`"]', "", s["sql"]).upper() for s in trace["sql"]]
        selects = [sql for sql in texts if sql.startswith("SELECT")]
        assert selects, where
        for sql in selects:
            if cell["scenario"] == "paginate_offset":
                assert " OFFSET " in sql or (family == "mysql" and "LIMIT %S, %S" in sql), where
                assert "WHERE" not in sql, where
            else:
                assert re.search(r"WHERE (ORMBENCH_ITEM\.)?ID > ", sql), where
                if family == "sqlite" and cell["backend"] == "sqlalchemy":
                    # SQLAlchemy's SQLite dialect always writes an OFFSET: 0 here.
                    assert sql.endswith("LIMIT ? OFFSET ?"), where
                else:
                    assert "OFFSET" not in sql, where


def test_sqlalchemy_s_sqlite_offset_on_keyset_pages_is_zero() -> None:
    stmt = select(Item).where(Item.id > 5).order_by(Item.id).limit(SIZE)
    compiled = stmt.compile(dialect=sqlite.dialect())
    assert str(compiled).endswith("LIMIT ? OFFSET ?")
    assert list(compiled.params.values())[-1] == 0


def test_keyset_pages_from_one_query_break_the_contract(cli, tmp_path, any_url) -> None:
    backends = "sqlalchemy,cheating_backends:OneQueryPagesDjango,dbapi"
    result, data = _run(cli, tmp_path, any_url, "paginate_keyset", "--backends", backends)
    assert result.code == 1, result.stderr + result.stdout
    django = {c["idiom"]: c["verification"] for c in data["cells"] if c["backend"] == "django"}
    # Its rows are right, which is all an as-documented cell is held to; its equal work (the
    # same code here) is held to the contract too, and fails it.
    assert django["documented"]["status"] == "passed", django
    assert django["equal"]["status"] == "failed", django
    assert "1 SELECT statements, the contract has 10" in django["equal"]["reason"]
    others = [c for c in data["cells"] if c["backend"] != "django"]
    assert all(c["verification"]["status"] == "passed" for c in others)


def test_list_shows_the_slices_in_the_idioms_labels(cli) -> None:
    # Code in a docstring is not console markup: `[off:off + size]` stays in the label.
    result = cli("list")
    assert result.code == 0, result.stderr
    assert 'Item.objects.order_by("id")[off:off + size]' in result.stdout
    assert 'filter(id__gt=last).order_by("id")[:size]' in result.stdout


def test_what_differs_speaks_of_operations_not_rows_for_pages() -> None:
    """Ten pages of a 200-row table are ten operations: statement counts are per operation,
    never "per row" (which a per-row scenario, one operation per row, does say)."""
    from harness.judging.verdicts import what_differs
    from reports.model import Cell, TraceCounts, Verification

    def cell(backend: str, kinds: dict[str, int], operations: int) -> Cell:
        trace = TraceCounts(
            operations=operations, statements=sum(kinds.values()), transaction_control=0,
            commits=0, rollbacks=0, rows_sent=0, rows_fetched=0, by_kind=kinds, sql=[],
        )  # fmt: skip
        return Cell(
            database="db", scenario="paginate_offset", backend=backend, rows=ROWS,
            operations=operations, rounds_s=[1.0], median_s=1.0, iqr_s=0.0, ops_per_s=1.0,
            rows_per_s=1.0, trace=trace, verification=Verification("passed", ""),
        )  # fmt: skip

    pages = what_differs(
        cell("sqlalchemy", {"BEGIN": 10, "SELECT": 10}, PAGES),
        cell("django", {"SELECT": 10}, PAGES),
    )
    assert "2 statements per operation" in pages and "per row" not in pages
    rows = what_differs(
        cell("sqlalchemy", {"INSERT": ROWS, "BEGIN": ROWS}, ROWS),
        cell("django", {"INSERT": ROWS}, ROWS),
    )
    assert "2 statements per row" in rows
