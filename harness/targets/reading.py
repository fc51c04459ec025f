"""How the harness reads a table back, untimed: every row normalised and digested in one
streamed pass (`scan_table`), or hashed as the driver hands it over (`fingerprint`). A mixin
of harness.targets.database.HarnessDatabase, which gives it `engine` and `target`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Engine

from harness.targets.urls import Target
from scenarios.schema import (
    ALL_COLUMNS,
    DATA_COLUMNS,
    Digest,
    NormalRow,
    item_table,
    row_normaliser,
)

# Rows per batch in which a table is read back: the memory a read holds is bounded by a
# batch, not by the table.
SCAN_BATCH_ROWS = 10_000


class TableReading:
    engine: Engine
    target: Target

    def table_rows(self, table: Table = item_table, with_ids: bool = False) -> list[NormalRow]:
        """Every row of `table` through the bare DB-API cursor, normalised (in id order, id
        first, `with_ids`; else without the key, whose values depend on the run)."""
        columns = _columns(table, with_ids)
        order = " ORDER BY id" if with_ids else ""
        normal = row_normaliser(columns, table)
        with self._streamed(f"SELECT {', '.join(columns)} FROM {table.name}{order}") as batches:
            return [normal(r) for batch in batches for r in batch]

    def table_digest(self, table: Table = item_table) -> tuple[int, str]:
        return self.scan_table(table).digest

    def scan_table(
        self, table: Table = item_table, with_ids: bool = False, kept: Iterable[NormalRow] = ()
    ) -> TableState:
        """One streamed read of `table` (`fetchmany`, on a server-side cursor where the
        driver has one): its digest without the key, with `with_ids` also with the key first,
        and which of the `kept` rows (id first) it does not hold. Memory does not grow with
        the table: no row is kept once it is counted."""
        columns = _columns(table, with_ids=True)
        normal = row_normaliser(columns, table)
        state, ids = Digest(), Digest()
        missing = set(kept)
        with self._streamed(f"SELECT {', '.join(columns)} FROM {table.name}") as batches:
            for batch in batches:
                rows = [normal(values) for values in batch]
                state.update(row[1:] for row in rows)
                if with_ids:
                    ids.update(rows)
                if missing:
                    missing.difference_update(rows)
        return TableState(state.value(), ids.value() if with_ids else None, missing)

    @contextmanager
    def _streamed(self, sql: str) -> Iterator[Iterator[Sequence[Any]]]:
        """The rows of `sql` in batches of SCAN_BATCH_ROWS, read through the bare DB-API on
        the driver's server-side cursor where it has one (psycopg's named cursor, mysqlclient's
        SSCursor), so that neither Python nor the driver holds the whole result."""
        raw = self.engine.raw_connection()
        try:
            family = self.target.family
            if family == "postgresql":
                cursor = raw.driver_connection.cursor(name="ormbench_harness_scan")
            elif family == "mysql":
                from MySQLdb.cursors import SSCursor

                cursor = raw.driver_connection.cursor(SSCursor)
            else:
                cursor = raw.cursor()
            cursor.execute(sql)
            yield _fetched(cursor)
            cursor.close()
            raw.commit()
        finally:
            raw.close()

    def fingerprint(self, table: Table = item_table) -> str:
        """Every row of `table`, key first, in key order, as the driver hands them over (no
        normalisation), hashed: the row count and the SHA-256 of each batch's repr in turn.
        Equal fingerprints are the same rows with the same values and types (up to a SHA-256
        collision); a table whose normalised state was proved once need not be normalised
        again while its fingerprint stays (harness.measuring.checks.Proven). A few times
        cheaper than `scan_table`, which normalises and hashes every row."""
        columns = _columns(table, with_ids=True)
        order = ", ".join(c.name for c in table.primary_key.columns)
        hashed, count = sha256(), 0
        sql = f"SELECT {', '.join(columns)} FROM {table.name} ORDER BY {order}"
        with self._streamed(sql) as batches:
            for batch in batches:
                count += len(batch)
                if type(batch[0]) is not tuple:  # pyodbc's and mssql-python's Row
                    batch = [tuple(row) for row in batch]
                hashed.update(repr(batch).encode())
        return f"{count}:{hashed.hexdigest()}"

    def table_rows_with_ids(self, table: Table = item_table) -> list[NormalRow]:
        """Every row with its id first, in id order (what a bulk insert returned is held to)."""
        return self.table_rows(table, with_ids=True)


@dataclass(frozen=True)
class TableState:
    """What one streamed read of a table found (`HarnessDatabase.scan_table`)."""

    digest: tuple[int, str]  # every row without the key (what Work.expected_table holds)
    with_ids: tuple[int, str] | None  # every row with the key first, where asked for
    missing: set[NormalRow]  # of the rows asked about (id first), those not in the table


def _columns(table: Table, with_ids: bool) -> tuple[str, ...]:
    """The columns the harness reads of `table`: the key first (`with_ids`), then the rest."""
    if table is item_table:
        return ALL_COLUMNS if with_ids else DATA_COLUMNS
    return tuple(c.name for c in table.columns if with_ids or not c.primary_key)


def _fetched(cursor: Any) -> Iterator[Sequence[Any]]:
    while batch := cursor.fetchmany(SCAN_BATCH_ROWS):  # mysqlclient ends with (), others []
        yield batch
