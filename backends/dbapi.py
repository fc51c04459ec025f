"""Raw DB-API with hand-written SQL: the floor. Each scenario's contracted work, on the same
driver and connection settings as the ORMs, with the cheapest protocol that meets the contract:
the connection stays in autocommit, so a statement that is its own transaction needs no
BEGIN or COMMIT, and BEGIN/COMMIT are sent only where the contract asks for a transaction
around several statements."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backends.base import Backend, RowData
from harness.targets.connection import BULK_BATCH_ROWS, read_session_counters, read_settings
from harness.targets.urls import Target
from harness.wire.trace import TracedConnection, Tracer
from scenarios.schema import ALL_COLUMNS, DATA_COLUMNS, ITEM_TABLE


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
        # The SQL every scenario's floor shares; each scenario module writes its own from it.
        p = self.placeholder = target.placeholder
        mssql = target.family == "mssql"
        self.sql_begin = "BEGIN TRANSACTION" if mssql else "BEGIN"
        self.sql_commit = "COMMIT TRANSACTION" if mssql else "COMMIT"
        self.values = f"({', '.join([p] * len(DATA_COLUMNS))})"
        self.sql_insert_head = f"INSERT INTO {ITEM_TABLE} ({', '.join(DATA_COLUMNS)})"
        self.sql_output = " OUTPUT INSERTED.id" if mssql else ""
        self.sql_returning = "" if mssql else " RETURNING id"
        self.sql_select = f"SELECT {', '.join(ALL_COLUMNS)} FROM {ITEM_TABLE}"
        self.sql_get = f"{self.sql_select} WHERE id = {p}"

    def params(self, row: RowData) -> tuple[Any, ...]:
        return driver_params(self.target, row)

    def close(self) -> None:
        self.conn.close()

    def connection_settings(self) -> dict[str, str]:
        return read_settings(self.target.family, self.bare)

    def session_counters(self) -> dict[str, int] | None:
        return read_session_counters(self.target.family, self.bare)

    def on_each_connection(self, call: Callable[[Any], Any]) -> list[Any]:
        return [call(self.bare)]
