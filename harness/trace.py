"""What each backend sent: a DB-API connection/cursor proxy that counts statements,
transaction-control commands and rows, and keeps the SQL text.

It sits where both ORMs meet the driver, so commits, rollbacks and executemany calls that an ORM
makes through driver methods are counted too (DESIGN.md, "Trust"). It is used only in the
untimed trace pass: timed rounds talk to the bare driver.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

TRANSACTION_WORDS = ("BEGIN", "START", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "END")
SQL_SAMPLE_LIMIT = 5


def statement_kind(sql: str) -> str:
    """The first keyword of a statement, upper-cased (SELECT, INSERT, ..., BEGIN)."""
    text = sql.lstrip(" \t\r\n(")
    while text.startswith("/*"):
        text = text.partition("*/")[2].lstrip()
    word = text.split(None, 1)[0].upper() if text else ""
    if word == "WITH":
        return "SELECT"
    if word == "SET" and "IMPLICIT_TRANSACTIONS" in sql.upper():
        return "SET"
    return word.rstrip(";")


@dataclass
class Tracer:
    """Counts gathered over one traced operation."""

    statements: int = 0  # execute/executemany calls, transaction-control ones excluded
    by_kind: Counter[str] = field(default_factory=Counter)
    transaction_control: int = 0  # BEGIN/COMMIT/... statements and commit()/rollback() calls
    commits: int = 0
    rollbacks: int = 0
    rows_sent: int = 0  # parameter sets sent (executemany counts each)
    rows_fetched: int = 0
    sql: Counter[str] = field(default_factory=Counter)  # distinct SQL text -> times sent

    def reset(self) -> None:
        """Forget what was counted so far (a connection's own set-up, for one)."""
        self.__init__()  # type: ignore[misc]

    def record(self, sql: str, parameter_sets: int) -> None:
        kind = statement_kind(sql)
        if kind in TRANSACTION_WORDS:
            self.transaction_control += 1
            self.by_kind[kind] += 1
        else:
            self.statements += 1
            self.by_kind[kind] += 1
            self.rows_sent += parameter_sets
        self.sql[" ".join(sql.split())] += 1

    def record_commit(self) -> None:
        self.commits += 1
        self.transaction_control += 1

    def record_rollback(self) -> None:
        self.rollbacks += 1
        self.transaction_control += 1


class TracedCursor:
    """A DB-API cursor that reports to a Tracer and otherwise behaves as the one it wraps."""

    def __init__(self, cursor: Any, tracer: Tracer) -> None:
        object.__setattr__(self, "_cursor", cursor)
        object.__setattr__(self, "_tracer", tracer)

    def execute(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        self._tracer.record(str(sql), 1)
        result = self._cursor.execute(sql, *args, **kwargs)
        # Some drivers (sqlite3, pyodbc) return the cursor itself: keep the proxy in the chain.
        return self if result is self._cursor else result

    def executemany(self, sql: Any, seq_of_parameters: Any, *args: Any, **kwargs: Any) -> Any:
        params = list(seq_of_parameters)
        self._tracer.record(str(sql), len(params))
        result = self._cursor.executemany(sql, params, *args, **kwargs)
        return self if result is self._cursor else result

    def fetchone(self) -> Any:
        row = self._cursor.fetchone()
        if row is not None:
            self._tracer.rows_fetched += 1
        return row

    def fetchmany(self, *args: Any, **kwargs: Any) -> Any:
        rows = self._cursor.fetchmany(*args, **kwargs)
        self._tracer.rows_fetched += len(rows)
        return rows

    def fetchall(self) -> Any:
        rows = self._cursor.fetchall()
        self._tracer.rows_fetched += len(rows)
        return rows

    def __iter__(self) -> Any:
        for row in self._cursor:
            self._tracer.rows_fetched += 1
            yield row

    def __enter__(self) -> TracedCursor:
        self._cursor.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._cursor.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._cursor, name, value)


class TracedConnection:
    """A DB-API connection whose cursors, commits and rollbacks report to a Tracer."""

    def __init__(self, connection: Any, tracer: Tracer) -> None:
        object.__setattr__(self, "_connection", connection)
        object.__setattr__(self, "_tracer", tracer)

    @property
    def wrapped(self) -> Any:
        return self._connection

    def cursor(self, *args: Any, **kwargs: Any) -> TracedCursor:
        return TracedCursor(self._connection.cursor(*args, **kwargs), self._tracer)

    def execute(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        # Connection-level execute (sqlite3, psycopg) bypasses cursor(): count it too.
        self._tracer.record(str(sql), 1)
        return self._connection.execute(sql, *args, **kwargs)

    def commit(self) -> None:
        self._tracer.record_commit()
        self._connection.commit()

    def rollback(self) -> None:
        self._tracer.record_rollback()
        self._connection.rollback()

    def __enter__(self) -> TracedConnection:
        self._connection.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._connection.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._connection, name, value)
