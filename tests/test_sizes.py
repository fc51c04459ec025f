"""The harness's own untimed work at large sizes: data streamed into the table as Core stored it,
the table digest in one pass with the meaning it had, memory that does not grow with the rows,
and a scenario too long for its size said before the run."""

from __future__ import annotations

import tracemalloc

import pytest
from sqlalchemy import text

from harness.targets.database import HarnessDatabase
from harness.targets.urls import parse_target
from scenarios.base import table_of
from scenarios.data import iter_rows, make_rows
from scenarios.schema import DATA_COLUMNS, digest, item_table, normal_row


@pytest.fixture
def db(any_url):
    harness = HarnessDatabase(parse_target(any_url))
    harness.create_tables()
    yield harness
    harness.drop_tables()
    harness.close()


def _stored(db: HarnessDatabase) -> list[tuple]:
    """The table's rows as the driver reads them back, untouched, in id order."""
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"SELECT id, {', '.join(DATA_COLUMNS)} FROM {item_table.name} ORDER BY id")
        rows = [tuple(r) for r in cursor.fetchall()]
        raw.commit()
    finally:
        raw.close()
    return rows


def test_a_streamed_load_stores_what_an_insert_through_core_stored(db):
    """The rows, loaded from a generator in batches by the driver's bulk path, hold the very
    values (as the driver reads them back) that an INSERT through SQLAlchemy Core stores; the
    ids come back in the order of the rows; the table's own numbering continues after them."""
    rows = make_rows(25_000, 7)  # more than two batches
    ids = db.load(iter_rows(25_000, 7))
    streamed = _stored(db)
    assert ids == [r[0] for r in streamed]
    assert len(set(ids)) == len(ids) == len(rows)

    db.reset()
    with db.engine.begin() as conn:
        conn.execute(item_table.insert(), rows)
    through_core = _stored(db)
    assert [r[1:] for r in streamed] == [r[1:] for r in through_core]

    # An insert without an id after a load gets a fresh one (COPY and explicit ids leave
    # PostgreSQL's sequence behind unless the load moves it on).
    db.reset()
    ids = db.load(iter_rows(3, 8))
    with db.engine.begin() as conn:
        conn.execute(item_table.insert(), make_rows(1, 9, start=100))
        newest = conn.execute(text(f"SELECT max(id) FROM {item_table.name}")).scalar_one()
    assert newest > max(ids)


def test_the_table_digest_keeps_its_meaning_on_every_database(db):
    """Equal tables give equal digests, in any order and whoever computes them (the harness
    reading the table, the scenario from its generated rows); one changed value, one missing
    row, one extra row or one duplicated row changes it."""
    rows = make_rows(2_000, 3)
    db.load(iter_rows(2_000, 3))
    expected = table_of(rows)
    assert db.table_digest() == expected == table_of(reversed(rows))
    state = db.scan_table(with_ids=True)
    assert state.digest == expected
    assert state.with_ids == digest(normal_row(r, ("id", *DATA_COLUMNS)) for r in _stored(db))

    with db.engine.begin() as conn:
        conn.execute(text(f"UPDATE {item_table.name} SET quantity = quantity + 1 WHERE id = 5"))
    changed = db.table_digest()
    assert changed[0] == expected[0] and changed != expected

    others = [
        rows[1:],  # one missing
        [*rows, make_rows(1, 4, start=99_999)[0]],  # one extra
        [*rows, rows[0]],  # one twice (a multiset: it does not cancel out)
    ]
    for other in others:
        assert table_of(other) != expected
    assert table_of([rows[0], rows[0], rows[1]]) != table_of([rows[1], rows[1], rows[0]])


def test_a_kept_row_that_is_gone_is_named(db):
    ids = db.load(iter_rows(50, 5))
    kept = db.table_rows(with_ids=True)[:3]
    assert db.scan_table(with_ids=True, kept=kept).missing == set()
    with db.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {item_table.name} WHERE id = {ids[1]}"))
    assert db.scan_table(with_ids=True, kept=kept).missing == {kept[1]}


def test_generating_loading_and_digesting_hold_memory_that_does_not_grow_with_rows(sqlite_url):
    """200,000 rows generated, loaded and read back for their digest: the most Python memory
    held at once stays under a quarter of what the rows take as a list (about 590 bytes a
    row). What it holds is a few batches of 10,000 rows, and the ids the load returns, the one
    part that grows with the rows (a list of ints, 36 bytes each)."""
    harness = HarnessDatabase(parse_target(sqlite_url))
    harness.create_tables()
    try:
        tracemalloc.start()
        try:
            ids = harness.load(iter_rows(200_000, 1))
            state = harness.scan_table(with_ids=True)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert len(ids) == 200_000 and state.digest[0] == 200_000
        as_a_list = 200_000 * 590  # bytes: every generated row held in a list
        assert peak < as_a_list / 4, f"peak {peak:,} bytes"
    finally:
        harness.drop_tables()
        harness.close()


def test_a_scenario_too_long_for_its_size_is_said_before_the_run(capsys):
    from harness.cli.measuring import _note_long_scenarios
    from scenarios import REGISTRY

    chosen = [REGISTRY["get"], REGISTRY["filter"]]
    _note_long_scenarios(
        chosen, 1_000_000, 42, ["sqlalchemy", "django", "dbapi"], ("documented", "equal"), 4, False
    )
    said = " ".join(capsys.readouterr().err.split())
    assert (
        "note: get at 1,000,000 rows does 1,000,000 operations per run, 5 runs of 5 cells" in said
    )
    assert "filter" not in said
    _note_long_scenarios(chosen, 1_000, 42, ["sqlalchemy"], ("documented",), 11, False)
    assert capsys.readouterr().err == ""


def test_a_fingerprint_repeats_with_the_rows_and_moves_with_one_value(db):
    """The same rows written again into the emptied table, ids from the table's own numbering
    as an ORM's inserts get them, give the same fingerprint (a round proved once need not
    be normalised again); one changed value, or the same rows under other ids, another."""
    rows = make_rows(500, 4)

    def written() -> str:
        db.reset()
        with db.engine.begin() as conn:
            conn.execute(item_table.insert(), rows)
        return db.fingerprint()

    first = written()
    assert written() == first
    with db.engine.begin() as conn:
        conn.execute(text(f"UPDATE {item_table.name} SET quantity = quantity + 1 WHERE id = 7"))
    assert db.fingerprint() != first
    with db.engine.begin() as conn:
        conn.execute(text(f"UPDATE {item_table.name} SET quantity = quantity - 1 WHERE id = 7"))
    assert db.fingerprint() == first
    with db.engine.begin() as conn:
        conn.execute(text(f"UPDATE {item_table.name} SET id = id + 1000"))
    assert db.fingerprint() != first


def test_the_change_marker_moves_with_every_write_to_the_table(db):
    """A read scenario's rounds reuse the table's fingerprint while the database's change
    marker stands; it must never stand across a write: one row inserted, updated or deleted
    (by another connection, committed, or still open) moves it, on every database that has
    one (SQLite, PostgreSQL, MariaDB)."""
    *rows, extra = make_rows(51, 2)
    db.load(rows)
    writes = [
        item_table.insert().values(extra),
        text(f"UPDATE {item_table.name} SET quantity = quantity + 1 WHERE id = 7"),
        text(f"DELETE FROM {item_table.name} WHERE id = 9"),
    ]
    for write in writes:
        before = db.change_marker()
        assert before is not None, db.target.family
        with db.engine.begin() as conn:
            conn.execute(write)
        assert db.change_marker() != before, str(write)
    if db.target.family == "sqlite":
        return  # an open write transaction holds the file's lock: nothing to fingerprint
    before = db.change_marker()
    with db.engine.connect() as conn:
        conn.execute(writes[1])  # not committed yet
        assert db.change_marker() != before
        conn.rollback()
