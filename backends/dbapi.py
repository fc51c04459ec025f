"""Raw DB-API with hand-written SQL: the floor. The same logical steps as the ORMs (load, then
write), on the same driver and connection settings, without an ORM in between."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from backends.base import Backend, RowData
from harness.targets import Target
from harness.trace import TracedConnection, Tracer
from scenarios.schema import ALL_COLUMNS, DATA_COLUMNS, ITEM_TABLE, NormalRow, normal_row


def driver_params(target: Target, row: RowData) -> tuple[Any, ...]:
    """A row as the driver takes it. sqlite3 has no adapter for Decimal (or, from Python 3.12,
    datetime): text is what the ORMs' SQLite dialects store too."""
    values = tuple(row[c] for c in DATA_COLUMNS)
    if target.family == "sqlite":
        name, email, quantity, price, active, created_at = values
        return name, email, quantity, str(price), active, created_at.isoformat(" ")
    return values


class DbApi(Backend):
    """Plain DB-API: one persistent connection, a cursor per operation, explicit commit()."""

    name = "dbapi"
    title = "raw DB-API"

    def __init__(self, target: Target, tracer: Tracer | None = None) -> None:
        super().__init__(target, tracer)
        bare = target.dbapi_connect()
        self.conn = TracedConnection(bare, tracer) if tracer is not None else bare
        p = target.placeholder
        columns = ", ".join(DATA_COLUMNS)
        select = f"SELECT {', '.join(ALL_COLUMNS)} FROM {ITEM_TABLE}"
        self.sql_insert = f"INSERT INTO {ITEM_TABLE} ({columns}) VALUES ({', '.join([p] * 6)})"
        self.sql_get = f"{select} WHERE id = {p}"
        self.sql_filter = f"{select} WHERE name LIKE {p} ORDER BY id"
        self.sql_update = f"UPDATE {ITEM_TABLE} SET quantity = {p} WHERE id = {p}"
        self.sql_delete = f"DELETE FROM {ITEM_TABLE} WHERE id = {p}"

    def close(self) -> None:
        self.conn.close()

    def create(self, rows: Sequence[RowData]) -> None:
        """`cursor.execute(INSERT ...)` then `connection.commit()` per row."""
        conn, target, sql = self.conn, self.target, self.sql_insert
        cursor = conn.cursor()
        for row in rows:
            cursor.execute(sql, driver_params(target, row))
            conn.commit()
        cursor.close()

    def bulk_create(self, rows: Sequence[RowData]) -> None:
        """One `cursor.executemany(INSERT ...)`, then one `commit()`."""
        cursor = self.conn.cursor()
        cursor.executemany(self.sql_insert, [driver_params(self.target, r) for r in rows])
        self.conn.commit()
        cursor.close()

    def get(self, ids: Sequence[int]) -> list[Any]:
        """`SELECT ... WHERE id = ?` and `fetchone()` per key; one `commit()` at the end."""
        cursor = self.conn.cursor()
        rows = []
        for pk in ids:
            cursor.execute(self.sql_get, (pk,))
            rows.append(cursor.fetchone())
        self.conn.commit()
        cursor.close()
        return rows

    def filter(self, prefix: str) -> list[Any]:
        """`SELECT ... WHERE name LIKE 'prefix%' ORDER BY id`, `fetchall()`, then `commit()`."""
        cursor = self.conn.cursor()
        cursor.execute(self.sql_filter, (prefix + "%",))
        rows = cursor.fetchall()
        self.conn.commit()
        cursor.close()
        return list(rows)

    def update(self, changes: Sequence[tuple[int, int]]) -> None:
        """Per row: `SELECT` the row, `UPDATE ... SET quantity`, `commit()`."""
        conn = self.conn
        cursor = conn.cursor()
        for pk, quantity in changes:
            cursor.execute(self.sql_get, (pk,))
            cursor.fetchone()
            cursor.execute(self.sql_update, (quantity, pk))
            conn.commit()
        cursor.close()

    def delete(self, ids: Sequence[int]) -> None:
        """Per row: `SELECT` the row, `DELETE`, `commit()`."""
        conn = self.conn
        cursor = conn.cursor()
        for pk in ids:
            cursor.execute(self.sql_get, (pk,))
            cursor.fetchone()
            cursor.execute(self.sql_delete, (pk,))
            conn.commit()
        cursor.close()

    def normal_rows(self, result: list[Any]) -> list[NormalRow]:
        return [normal_row(row, ALL_COLUMNS) for row in result]
