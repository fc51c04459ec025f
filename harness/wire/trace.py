"""What each backend sent: a DB-API connection/cursor proxy that counts statements,
transaction-control commands and rows, and keeps the SQL text.

It sits where both ORMs meet the driver, so commits, rollbacks and executemany calls that an ORM
makes through driver methods are counted too (DESIGN.md, "Trust"). It is used only in the
untimed trace pass: timed rounds talk to the bare driver.
"""

from __future__ import annotations

import re
import weakref
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TRANSACTION_WORDS = ("BEGIN", "START", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "END")
# mssql-django asks SQL Server whether a transaction is open (`SELECT @@TRANCOUNT`) on leaving
# each atomic() block, before it turns the driver's autocommit back on: a round trip of
# transaction control, not data work, and it neither opens nor ends a transaction.
TRANCOUNT = "@@TRANCOUNT"
CONTROL_KINDS = (*TRANSACTION_WORDS, TRANCOUNT)
SQL_SAMPLE_LIMIT = 5

# Session options a T-SQL batch may start with, before the statement that does the work
# (mssql-django: `SET NOCOUNT ON INSERT ...; SELECT CAST(SCOPE_IDENTITY() AS bigint)`,
# `SET NOCOUNT OFF; UPDATE ...`). With or without the separating semicolon.
_BATCH_OPTION = re.compile(r"SET\s+NOCOUNT\s+(ON|OFF)\b\s*;?\s*", re.IGNORECASE)


def statement_kind(sql: str) -> str:
    """The first keyword of the statement that does the work, upper-cased (SELECT, INSERT,
    ..., BEGIN): a batch's leading `SET NOCOUNT` is skipped, `WITH` is a SELECT, and
    `SELECT @@TRANCOUNT` is transaction control (TRANCOUNT)."""
    text = sql.lstrip(" \t\r\n(")
    while text.startswith("/*"):
        text = text.partition("*/")[2].lstrip()
    while (option := _BATCH_OPTION.match(text)) and option.end() < len(text):
        text = text[option.end() :]
    word = text.split(None, 1)[0].upper() if text else ""
    if word == "WITH":
        return "SELECT"
    if word == "SET" and "IMPLICIT_TRANSACTIONS" in sql.upper():
        return "SET"
    if word == "SELECT" and " ".join(text.split()).upper().rstrip(";") == "SELECT @@TRANCOUNT":
        return TRANCOUNT
    return word.rstrip(";")


@dataclass
class Tracer:
    """Counts gathered over one traced operation.

    Transactions are counted as the server sees them: an explicit BEGIN, or the first statement
    on a connection whose autocommit is off, opens one (psycopg then sends BEGIN itself, and
    that counts as transaction control); a statement in autocommit outside any transaction is
    a transaction of its own. A commit() or rollback() call counts as transaction control only
    when the driver sends something: psycopg and sqlite3 skip it with no transaction open,
    mysqlclient always sends it.
    """

    statements: int = 0  # execute/executemany calls, transaction-control ones excluded
    by_kind: Counter[str] = field(default_factory=Counter)
    transaction_control: int = 0  # BEGIN/COMMIT/... sent, as statements or by the driver
    commits: int = 0
    rollbacks: int = 0
    rows_sent: int = 0  # parameter sets sent (executemany counts each)
    rows_fetched: int = 0
    sql: Counter[str] = field(default_factory=Counter)  # distinct SQL text -> times sent
    transactions: int = 0  # transactions that held at least one statement
    autocommit_statements: int = 0  # statements that ran as a transaction of their own
    rows_written: Counter[str] = field(default_factory=Counter)  # INSERT/UPDATE/DELETE rowcount
    select_rows: int = 0  # rows fetched from SELECT statements
    narrowest_select: int | None = None  # fewest columns in any fetched SELECT row
    update_columns: Counter[int] = field(default_factory=Counter)  # columns SET -> UPDATEs
    noop_transaction_calls: int = 0  # commit()/rollback() the driver did not send
    in_transaction: bool = False
    # Cursors whose last write's row count may still change: sqlite3 counts the rows of an
    # INSERT ... RETURNING only as they are fetched.
    cursors: weakref.WeakSet[Any] = field(default_factory=weakref.WeakSet)

    def settle(self) -> None:
        """Bring rows_written up to date with every cursor's final row count."""
        for cursor in list(self.cursors):
            cursor._settle()

    def reset(self) -> None:
        """Forget what was counted so far (a connection's own set-up, for one)."""
        self.__init__()  # type: ignore[misc]

    @property
    def explicit_transactions(self) -> int:
        return self.transactions - self.autocommit_statements

    def record(self, sql: str, parameter_sets: int) -> None:
        kind = statement_kind(sql)
        if kind in CONTROL_KINDS:
            self.transaction_control += 1
            self.by_kind[kind] += 1
        else:
            self.statements += 1
            self.by_kind[kind] += 1
            self.rows_sent += parameter_sets
            if kind == "UPDATE":
                self.update_columns[columns_set(sql)] += 1
        self.sql[" ".join(sql.split())] += 1

    def statement_began(self, kind: str, autocommit: bool, driver_begins: bool) -> None:
        """Before a statement runs: which transaction does it belong to?"""
        if kind in ("BEGIN", "START"):
            if not self.in_transaction:
                self.transactions += 1
            self.in_transaction = True
        elif kind in ("COMMIT", "ROLLBACK", "END"):
            self.in_transaction = False
        elif kind in ("SAVEPOINT", "RELEASE", TRANCOUNT):
            pass
        elif not self.in_transaction:
            self.transactions += 1
            if autocommit:
                self.autocommit_statements += 1
            else:
                self.in_transaction = True
                if driver_begins:  # psycopg sends BEGIN before the statement
                    self.transaction_control += 1
                    self.by_kind["BEGIN"] += 1

    def ended(self, call: str, sent: bool) -> None:
        """A commit() or rollback() call; `sent`: did the driver send it to the server?"""
        if call == "commit":
            self.commits += 1
        else:
            self.rollbacks += 1
        if sent:
            self.transaction_control += 1
        else:
            self.noop_transaction_calls += 1
        self.in_transaction = False


def columns_set(sql: str) -> int:
    """How many columns an UPDATE statement sets (top-level commas between SET and WHERE)."""
    upper = sql.upper()
    start = upper.find(" SET ")
    if start < 0:
        return 0
    stop = upper.find(" WHERE ", start)
    clause = sql[start + 5 : stop if stop >= 0 else len(sql)]
    depth, count = 0, 1
    for char in clause:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            count += 1
    return count


def _driver(connection: Any) -> str:
    return type(connection).__module__.split(".")[0]


def driver_autocommit(connection: Any) -> bool:
    """Is this bare DB-API connection in autocommit mode now?"""
    driver = _driver(connection)
    if driver == "sqlite3":
        return connection.isolation_level is None
    if driver == "MySQLdb":
        return bool(connection.get_autocommit())
    return bool(getattr(connection, "autocommit", False))


def driver_in_transaction(connection: Any) -> bool | None:
    """Does the driver know of an open transaction (None: it does not say)?"""
    driver = _driver(connection)
    if driver == "sqlite3":
        return bool(connection.in_transaction)
    if driver == "psycopg":
        return connection.info.transaction_status != 0  # pq.TransactionStatus.IDLE
    return None


class TracedCursor:
    """A DB-API cursor that reports to a Tracer and otherwise behaves as the one it wraps."""

    def __init__(self, cursor: Any, tracer: Tracer, connection: TracedConnection) -> None:
        object.__setattr__(self, "_cursor", cursor)
        object.__setattr__(self, "_tracer", tracer)
        object.__setattr__(self, "_connection", connection)
        object.__setattr__(self, "_kind", "")
        object.__setattr__(self, "_written", 0)  # rows counted so far for the last statement
        object.__setattr__(self, "_returned", 0)  # rows the last statement gave back so far
        tracer.cursors.add(self)

    def _settle(self) -> None:
        kind = self._kind
        if kind not in ("INSERT", "UPDATE", "DELETE"):
            return
        count = getattr(self._cursor, "rowcount", -1)
        count = count if isinstance(count, int) and count > 0 else 0
        # A write that gives rows back (OUTPUT, RETURNING, SCOPE_IDENTITY() after it) wrote at
        # least as many rows as it returned. The SQL Server drivers report no row count for
        # such a statement (-1), nor for one under SET NOCOUNT ON.
        count = max(count, self._returned)
        if count > self._written:
            self._tracer.rows_written[kind] += count - self._written
            object.__setattr__(self, "_written", count)

    def _run(
        self, method: Any, sql: Any, parameter_sets: int, params: Any, *args: Any, **kwargs: Any
    ) -> Any:
        self._settle()
        text = self._driver_sql(str(sql), params)
        kind = statement_kind(text)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_written", 0)
        object.__setattr__(self, "_returned", 0)
        self._connection._statement(kind)
        self._tracer.record(text, parameter_sets)
        result = method(sql, *args, **kwargs)
        self._settle()
        # Some drivers (sqlite3, pyodbc) return the cursor itself: keep the proxy in the chain.
        return self if result is self._cursor else result

    def _driver_sql(self, text: str, params: Any) -> str:
        """The statement as the driver receives it. Django's SQLite cursor wrapper, which this
        proxy wraps, rewrites Django's `%s` (and `%(name)s`) placeholders to sqlite3's `?`
        (and `:name`) inside its execute(), after the proxy has seen the statement: apply its
        own conversion, as it does, so the trace shows what reached sqlite3."""
        convert = getattr(self._cursor, "convert_query", None)
        if convert is None or params is None:
            return text  # no parameters: Django passes the statement on unchanged
        names = list(params) if isinstance(params, Mapping) else None
        return convert(text, param_names=names)

    def execute(self, sql: Any, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        call = (params, *args) if params is not None or args else ()
        return self._run(self._cursor.execute, sql, 1, params, *call, **kwargs)

    def executemany(self, sql: Any, seq_of_parameters: Any, *args: Any, **kwargs: Any) -> Any:
        params = list(seq_of_parameters)
        first = params[0] if params else None
        return self._run(self._cursor.executemany, sql, len(params), first, params, *args, **kwargs)

    def _fetched(self, rows: list[Any]) -> None:
        object.__setattr__(self, "_returned", self._returned + len(rows))
        self._settle()
        if self._kind in CONTROL_KINDS:  # @@TRANCOUNT's answer is not a row of data
            return
        tracer = self._tracer
        tracer.rows_fetched += len(rows)
        if self._kind == "SELECT" and rows:
            tracer.select_rows += len(rows)
            width = min(len(r) for r in rows)
            if tracer.narrowest_select is None or width < tracer.narrowest_select:
                tracer.narrowest_select = width

    def fetchone(self) -> Any:
        row = self._cursor.fetchone()
        self._fetched([row] if row is not None else [])
        return row

    def fetchmany(self, *args: Any, **kwargs: Any) -> Any:
        rows = self._cursor.fetchmany(*args, **kwargs)
        self._fetched(list(rows))
        return rows

    def fetchall(self) -> Any:
        rows = self._cursor.fetchall()
        self._fetched(list(rows))
        return rows

    def __iter__(self) -> Any:
        for row in self._cursor:
            self._fetched([row])
            yield row
        self._settle()

    def close(self) -> None:
        self._settle()
        self._cursor.close()

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
        return TracedCursor(self._connection.cursor(*args, **kwargs), self._tracer, self)

    def execute(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        # Connection-level execute (sqlite3, psycopg) bypasses cursor(): count it too.
        text = str(sql)
        self._statement(statement_kind(text))
        self._tracer.record(text, 1)
        return self._connection.execute(sql, *args, **kwargs)

    def _statement(self, kind: str) -> None:
        bare = self._connection
        known = driver_in_transaction(bare)
        if known is not None:
            self._tracer.in_transaction = known
        self._tracer.statement_began(
            kind, driver_autocommit(bare), driver_begins=_driver(bare) == "psycopg"
        )

    def _end(self, call: str) -> None:
        bare = self._connection
        known = driver_in_transaction(bare)
        # psycopg and sqlite3 send nothing without an open transaction; mysqlclient and the
        # ODBC drivers pass the call on (mysqlclient sends COMMIT/ROLLBACK to the server).
        if known is not None:
            sent = known
        else:
            sent = _driver(bare) == "MySQLdb" or self._tracer.in_transaction
        self._tracer.ended(call, sent)
        getattr(bare, call)()

    def commit(self) -> None:
        self._end("commit")

    def rollback(self) -> None:
        self._end("rollback")

    @property
    def autocommit(self) -> Any:
        # mysqlclient's autocommit(flag) is a method that sends SET autocommit to the server;
        # psycopg's and pyodbc's `autocommit` is an attribute and sends nothing.
        value = self._connection.autocommit
        if not callable(value):
            return value
        tracer = self._tracer

        def traced_autocommit(*args: Any) -> Any:
            if args:
                tracer.transaction_control += 1
                tracer.by_kind["SET autocommit"] += 1
                if args[0]:
                    tracer.in_transaction = False  # turning autocommit on commits
            return value(*args)

        return traced_autocommit

    def __enter__(self) -> TracedConnection:
        self._connection.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._connection.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._connection, name, value)
