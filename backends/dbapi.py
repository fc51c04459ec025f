"""Raw DB-API with hand-written SQL: the floor. Each scenario's contracted work, on the same
driver and connection settings as the ORMs, with the cheapest protocol that meets the contract:
the connection stays in autocommit, so a statement that is its own transaction needs no
BEGIN or COMMIT, and BEGIN/COMMIT are sent only where the contract asks for a transaction
around several statements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from backends.base import Backend, RowData
from harness.connection import BULK_BATCH_ROWS, read_session_counters, read_settings
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


def insert_returning(target: Target, conn: Any) -> bool:
    """Can one INSERT of many rows return their ids here (what both ORMs use when it can)?"""
    if target.family in ("postgresql", "mssql"):
        return True
    if target.family == "sqlite":
        import sqlite3

        return sqlite3.sqlite_version_info >= (3, 35)
    cursor = conn.cursor()
    cursor.execute("SELECT VERSION()")
    (version,) = cursor.fetchone()
    cursor.close()
    number = tuple(int(p) for p in version.split("-")[0].split(".")[:2])
    return "mariadb" in version.lower() and number >= (10, 5)


class DbApi(Backend):
    """Plain DB-API: one persistent connection in autocommit, a cursor per operation."""

    name = "dbapi"
    title = "raw DB-API"
    is_floor = True

    def __init__(self, target: Target, tracer: Tracer | None = None) -> None:
        super().__init__(target, tracer)
        self.bare = target.dbapi_connect(autocommit=True)
        self.conn = TracedConnection(self.bare, tracer) if tracer is not None else self.bare
        self.returning = insert_returning(target, self.bare)
        self.batch_rows = BULK_BATCH_ROWS.get(target.family, 1000)
        p = target.placeholder
        mssql = target.family == "mssql"
        self.sql_begin = "BEGIN TRANSACTION" if mssql else "BEGIN"
        self.sql_commit = "COMMIT TRANSACTION" if mssql else "COMMIT"
        columns = ", ".join(DATA_COLUMNS)
        self.values = f"({', '.join([p] * len(DATA_COLUMNS))})"
        self.sql_insert_head = f"INSERT INTO {ITEM_TABLE} ({columns})"
        self.sql_output = " OUTPUT INSERTED.id" if mssql else ""
        self.sql_returning = "" if mssql else " RETURNING id"
        select = f"SELECT {', '.join(ALL_COLUMNS)} FROM {ITEM_TABLE}"
        self.sql_insert = f"{self.sql_insert_head} VALUES {self.values}"
        if target.family == "postgresql":
            self.sql_insert += " RETURNING id"  # psycopg has no lastrowid to give
        self.sql_get = f"{select} WHERE id = {p}"
        self.sql_filter = f"{select} WHERE name LIKE {p} ORDER BY id"
        self.sql_update = f"UPDATE {ITEM_TABLE} SET quantity = {p} WHERE id = {p}"
        self.sql_delete = f"DELETE FROM {ITEM_TABLE} WHERE id = {p}"

    def close(self) -> None:
        self.conn.close()

    def connection_settings(self) -> dict[str, str]:
        return read_settings(self.target.family, self.bare)

    def session_counters(self) -> dict[str, int] | None:
        return read_session_counters(self.target.family, self.bare)

    def create(self, rows: Sequence[RowData]) -> None:
        """`cursor.execute(INSERT ...)` per row in autocommit, the new id from `lastrowid`
        (`RETURNING id` on PostgreSQL): each INSERT its own transaction."""
        target, sql = self.target, self.sql_insert
        cursor = self.conn.cursor()
        returning = target.family == "postgresql"
        for row in rows:
            cursor.execute(sql, driver_params(target, row))
            _ = cursor.fetchone()[0] if returning else cursor.lastrowid
        cursor.close()

    def bulk_create(self, rows: Sequence[RowData]) -> list[tuple[Any, ...]] | None:
        """BEGIN; multi-row `INSERT ... VALUES (...), (...) RETURNING id` in batches of the
        family's bulk size; COMMIT. Where the database cannot return ids, one `executemany`
        (mysqlclient rewrites it into multi-row INSERTs; pyodbc with `fast_executemany`)."""
        conn, target = self.conn, self.target
        cursor = conn.cursor()
        cursor.execute(self.sql_begin)
        if not self.returning:
            if target.family == "mssql":
                cursor.fast_executemany = True
            cursor.executemany(self.sql_insert, [driver_params(target, r) for r in rows])
            cursor.execute(self.sql_commit)
            cursor.close()
            return None
        created = []
        step = self.batch_rows
        for start in range(0, len(rows), step):
            batch = rows[start : start + step]
            sql = (
                f"{self.sql_insert_head}{self.sql_output} VALUES "
                f"{', '.join([self.values] * len(batch))}{self.sql_returning}"
            )
            params = [v for r in batch for v in driver_params(target, r)]
            cursor.execute(sql, params)
            ids = [r[0] for r in cursor.fetchall()]
            created += [
                (pk, *(r[c] for c in DATA_COLUMNS)) for pk, r in zip(ids, batch, strict=True)
            ]
        cursor.execute(self.sql_commit)
        cursor.close()
        return created

    def get(self, ids: Sequence[int]) -> list[Any]:
        """BEGIN; `SELECT ... WHERE id = ?` and `fetchone()` per key; COMMIT."""
        cursor = self.conn.cursor()
        cursor.execute(self.sql_begin)
        rows = []
        for pk in ids:
            cursor.execute(self.sql_get, (pk,))
            rows.append(cursor.fetchone())
        cursor.execute(self.sql_commit)
        cursor.close()
        return rows

    def filter(self, prefix: str) -> list[Any]:
        """`SELECT ... WHERE name LIKE 'prefix%' ORDER BY id` in autocommit, `fetchall()`."""
        cursor = self.conn.cursor()
        cursor.execute(self.sql_filter, (prefix + "%",))
        rows = cursor.fetchall()
        cursor.close()
        return list(rows)

    def update(self, changes: Sequence[tuple[int, int]]) -> None:
        """Per row: BEGIN; `SELECT` the row; `UPDATE ... SET quantity`; COMMIT."""
        cursor = self.conn.cursor()
        begin, commit = self.sql_begin, self.sql_commit
        for pk, quantity in changes:
            cursor.execute(begin)
            cursor.execute(self.sql_get, (pk,))
            cursor.fetchone()
            cursor.execute(self.sql_update, (quantity, pk))
            cursor.execute(commit)
        cursor.close()

    def delete(self, ids: Sequence[int]) -> None:
        """Per row: BEGIN; `SELECT` the row; `DELETE`; COMMIT."""
        cursor = self.conn.cursor()
        begin, commit = self.sql_begin, self.sql_commit
        for pk in ids:
            cursor.execute(begin)
            cursor.execute(self.sql_get, (pk,))
            cursor.fetchone()
            cursor.execute(self.sql_delete, (pk,))
            cursor.execute(commit)
        cursor.close()

    def normal_rows(self, result: list[Any]) -> list[NormalRow]:
        return [normal_row(row, ALL_COLUMNS) for row in result]
