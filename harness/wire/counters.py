"""The database's own count of the work a backend did: read untimed, before and after every run
(each warm-up and timed round, and the traced run), so that a round which reads or writes less
than the traced one fails (harness.measuring.checks). Reads leave no trace in the table state,
so this is what catches a backend that serves a read from memory or skips a SELECT only when
untraced.

What each family counts, and where:

- SQLite (no server): the library's own counters on the backend's connection, read through
  its C API with no SQL: pages the connection asked its page cache for (`sqlite3_db_status`
  SQLITE_DBSTATUS_CACHE_HIT + CACHE_MISS: a miss after another connection wrote is still one
  page asked for), and rows it changed (`sqlite3_total_changes`).
- MySQL/MariaDB: the session's status counters (`SHOW SESSION STATUS`): statements by kind
  (`Com_*`), rows sent to the client (`Rows_sent`) and the storage engine's row reads by index
  key, by index order and by full scan (`Handler_read_key/next/rnd_next`).
- PostgreSQL: no per-session counts before 18, so the tables' own (`pg_stat_user_tables`:
  scans of any kind, rows inserted, updated, deleted) for the harness's tables,
  database-wide. Every session of the harness hands its pending counts over
  (`pg_stat_force_next_flush()`) before the first reading, the backend's sessions before the
  second, so only the backend's run lies between the two.
- SQL Server: the session's `logical_reads` and `writes` (`sys.dm_exec_sessions`), where the
  server fills them, and its open transactions (`@@TRANCOUNT`) after the run.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from functools import cache
from typing import Any

# --- MySQL / MariaDB: per session ---------------------------------------------------------------

MYSQL_COUNTERS = (
    "Com_begin",
    "Com_commit",
    "Com_delete",
    "Com_insert",
    "Com_rollback",
    "Com_select",
    "Com_set_option",  # mysqlclient's SET autocommit, which Django sends around atomic()
    "Com_update",
    "Handler_read_key",  # rows looked up by an index key (a primary-key get)
    "Handler_read_next",  # rows read in index order (a range)
    "Handler_read_rnd_next",  # rows read by a full scan
    "Rows_sent",  # rows the server sent to the client
)


def _mysql_counters(connection: Any) -> dict[str, int]:
    cursor = connection.cursor()
    names = ", ".join(f"'{n}'" for n in MYSQL_COUNTERS)
    # SHOW STATUS does not move the counters it shows (measured on MariaDB 10.11).
    cursor.execute(f"SHOW SESSION STATUS WHERE Variable_name IN ({names})")
    counters = {str(name): int(value) for name, value in cursor.fetchall()}
    cursor.close()
    return counters


# --- SQLite: the library's counters, through its C API ------------------------------------------

SQLITE_DBSTATUS_CACHE_HIT = 7
SQLITE_DBSTATUS_CACHE_MISS = 8


@cache
def _sqlite_library() -> Any:
    """The SQLite library Python's sqlite3 module runs on: its extension module's own symbols
    (SQLite linked in) or those of the library it loaded; None where neither is reachable."""
    if sys.implementation.name != "cpython":
        return None
    try:
        import _sqlite3

        library = ctypes.CDLL(_sqlite3.__file__)
        status = library.sqlite3_db_status
    except (ImportError, OSError, AttributeError):
        return None
    status.argtypes = [
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_int),
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_int,
    ]
    status.restype = ctypes.c_int
    library.sqlite3_db_filename.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    library.sqlite3_db_filename.restype = ctypes.c_char_p
    return library


def _sqlite_handle(connection: Any) -> int | None:
    """The `sqlite3 *` of a sqlite3.Connection: CPython's connection object holds it right
    after the object header (Modules/_sqlite/connection.h, 3.8 to 3.13). Checked against the
    file the connection reports, so a different layout reads nothing rather than wrongly."""
    import sqlite3

    if not isinstance(connection, sqlite3.Connection) or _sqlite_library() is None:
        return None
    header = ctypes.sizeof(ctypes.c_ssize_t) + ctypes.sizeof(ctypes.c_void_p)
    handle = ctypes.c_void_p.from_address(id(connection) + header).value
    if not handle:
        return None
    if _layout_checked:
        return handle
    name = _sqlite_library().sqlite3_db_filename(handle, b"main")
    rows = connection.execute("PRAGMA database_list").fetchall()
    expected = next((str(r[2]) for r in rows if r[1] == "main"), None)
    if name is None or name.decode() != expected:
        return None
    _layout_checked.append(True)  # the object layout is the interpreter's: once is enough
    return handle


_layout_checked: list[bool] = []


def _sqlite_counters(connection: Any) -> dict[str, int] | None:
    handle = _sqlite_handle(connection)
    if handle is None:
        return None
    # Any statement that names a table loads the schema first: a connection opened for the
    # traced run does it here, untimed, not inside the run it counts.
    connection.execute("SELECT 1 FROM sqlite_master LIMIT 0").fetchall()
    status = _sqlite_library().sqlite3_db_status
    pages = 0
    for op in (SQLITE_DBSTATUS_CACHE_HIT, SQLITE_DBSTATUS_CACHE_MISS):
        current, highest = ctypes.c_int(), ctypes.c_int()
        if status(handle, op, ctypes.byref(current), ctypes.byref(highest), 0) != 0:
            return None
        pages += current.value
    return {"pages read": pages, "rows changed": connection.total_changes}


# --- SQL Server: per session --------------------------------------------------------------------


def _mssql_counters(connection: Any) -> dict[str, int]:
    """The session's reads and writes where the server fills them (SQL Server does; Babelfish
    returns NULL), and on a connection in autocommit its open transactions (@@TRANCOUNT: 0
    unless a round left one open). A connection outside autocommit holds a transaction by
    the driver's design (ODBC's implicit transactions; Babelfish reports 1 even right after a
    COMMIT), so there it says nothing, and reading the view must not end it either."""
    autocommit = bool(getattr(connection, "autocommit", False))
    cursor = connection.cursor()
    counters = {}
    if autocommit:
        cursor.execute("SELECT @@TRANCOUNT")
        counters["open transactions"] = int(cursor.fetchone()[0])
    cursor.execute(
        "SELECT logical_reads, writes FROM sys.dm_exec_sessions WHERE session_id = @@SPID"
    )
    row = cursor.fetchone()
    cursor.close()
    for name, value in zip(("logical reads", "writes"), row or (), strict=False):
        if value is not None:
            counters[name] = int(value)
    return counters


# Counters that say how things stand after a run, not how much it did: compared as they are.
STATE_COUNTERS = frozenset({"open transactions"})


def read_session_counters(family: str, connection: Any) -> dict[str, int] | None:
    """The counters one bare DB-API connection's session has kept so far (see the module's
    docstring), or None where the database keeps none per session (PostgreSQL: see
    `read_table_counters`)."""
    if family == "mysql":
        return _mysql_counters(connection)
    if family == "sqlite":
        return _sqlite_counters(connection)
    if family == "mssql":
        return _mssql_counters(connection)
    return None


def sum_counters(readings: Sequence[dict[str, int] | None]) -> dict[str, int] | None:
    """Several sessions' counters added up; None when any session's are unknown."""
    if not readings or any(r is None for r in readings):
        return None
    total: dict[str, int] = {}
    for reading in readings:
        for name, value in (reading or {}).items():
            if name in STATE_COUNTERS:
                total[name] = max(total.get(name, 0), value)
            else:
                total[name] = total.get(name, 0) + value
    return total


def counters_moved(
    before: dict[str, int] | None, after: dict[str, int] | None
) -> dict[str, int] | None:
    """What a run added to each counter (counters that did not move left out); a state
    counter (STATE_COUNTERS) as it stands after the run, when not zero."""
    if before is None or after is None:
        return None
    moved = {}
    for name, value in after.items():
        change = value if name in STATE_COUNTERS else value - before.get(name, 0)
        if change:
            moved[name] = change
    return moved


# --- PostgreSQL: per table, database-wide -------------------------------------------------------

# pg_stat_user_tables' counts, per table. Scans are counted whatever their kind (sequential,
# index, bitmap), as one: the planner may change a query's plan between two runs of it (a
# generic plan once psycopg prepares it, fresh statistics after autovacuum's ANALYZE), and a
# sequential scan that becomes an index scan is the same work asked for. The rows each scan
# read (seq_tup_read, idx_tup_fetch) depend on the plan too, and are left out.
PG_TABLE_COUNTERS = {
    # What pg_stat_user_tables shows, from the functions it is built on (cheaper than the view,
    # which computes every table of the database first).
    "scans": "pg_stat_get_numscans(c.oid) + coalesce((SELECT sum(pg_stat_get_numscans("
    "i.indexrelid)) FROM pg_index i WHERE i.indrelid = c.oid), 0)",
    "rows inserted": "pg_stat_get_tuples_inserted(c.oid)",
    "rows updated": "pg_stat_get_tuples_updated(c.oid)",
    "rows deleted": "pg_stat_get_tuples_deleted(c.oid)",
}
# PostgreSQL's count of the database's transactions (pg_stat_database), read around the trace
# pass; the reads' own transactions count too (harness.measuring.trace_pass takes them off).
PG_TRANSACTION_COUNTERS = ("xact_commit", "xact_rollback")


def flush_statistics(family: str, connection: Any) -> bool:
    """Have this PostgreSQL session hand its pending statistics to the shared views now (one
    committed transaction of its own; the flush happens before the session answers). A
    session otherwise hands them over at most once a second, whenever it goes idle. False
    where the server cannot (before 15)."""
    if family != "postgresql" or connection.info.server_version < 150000:
        return False
    with _autocommit(connection):  # the flush happens once the session is idle, outside one
        cursor = connection.cursor()
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.close()
    return True


@contextmanager
def _autocommit(connection: Any) -> Iterator[None]:
    """Statements that are each a transaction of their own on a psycopg connection: an idle
    one is switched to autocommit for the while (no round trip: psycopg only stops sending
    BEGIN), which saves the COMMIT's round trip; one inside a transaction commits after."""
    import psycopg

    idle = connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    if connection.autocommit or not idle:
        yield
        if not connection.autocommit:
            connection.commit()
        return
    connection.autocommit = True
    try:
        yield
    finally:
        connection.autocommit = False


def read_database_transactions(family: str, connection: Any) -> dict[str, int] | None:
    """The database's committed and rolled-back transactions as pg_stat_database counts them
    (PostgreSQL), read on `connection`; None elsewhere."""
    if family != "postgresql" or connection.info.server_version < 150000:
        return None
    cursor = connection.cursor()
    names = ", ".join(PG_TRANSACTION_COUNTERS)
    cursor.execute(f"SELECT {names} FROM pg_stat_database WHERE datname = current_database()")
    row = cursor.fetchone()
    cursor.close()
    if not connection.autocommit:
        connection.commit()
    return dict(zip(PG_TRANSACTION_COUNTERS, (int(v) for v in row), strict=True))


def read_table_counters(connection: Any, tables: Sequence[str]) -> dict[str, int]:
    """pg_stat_user_tables' counts for `tables` (in the connection's schema), as
    "table counter", read in a transaction of its own (the view keeps one snapshot per
    transaction)."""
    columns = ", ".join(PG_TABLE_COUNTERS.values())
    with _autocommit(connection):
        cursor = connection.cursor()
        cursor.execute(
            f"SELECT c.relname, {columns} FROM pg_class c "
            "WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY(%s)",
            (list(tables),),
        )
        counters = {
            f"{row[0]} {name}": int(value)
            for row in cursor.fetchall()
            for name, value in zip(PG_TABLE_COUNTERS, row[1:], strict=True)
        }
        cursor.close()
    return counters


class WorkCounter:
    """The database's count of one backend's work over a run: `before()` and
    `moved(before)`, untimed, around it. `sessions(call)` runs `call` on each of the
    backend's bare connections (Backend.on_each_connection); `harness()` holds the harness's
    own idle connections (a context manager giving a list of bare ones, the first to read
    on)."""

    def __init__(
        self,
        family: str,
        sessions: Callable[[Callable[[Any], Any]], list[Any]],
        harness: Callable[[], AbstractContextManager[list[Any]]],
        tables: Sequence[str],
    ) -> None:
        self.family = family
        self.sessions = sessions
        self.harness = harness
        self.tables = tuple(tables)

    def before(self) -> dict[str, int] | None:
        if self.family == "postgresql":
            with self.harness() as connections:
                # The harness's own reads and loads since the last reading reach the view
                # now, not in the middle of the backend's run.
                if not all(flush_statistics(self.family, c) for c in connections):
                    return None
                return read_table_counters(connections[0], self.tables)
        return sum_counters(self.sessions(lambda c: read_session_counters(self.family, c)))

    def moved(self, before: dict[str, int] | None) -> dict[str, int] | None:
        if before is None:
            return None
        if self.family == "postgresql":
            flushed = self.sessions(lambda c: flush_statistics(self.family, c))
            if not flushed or not all(flushed):
                return None
            with self.harness() as connections:
                return counters_moved(before, read_table_counters(connections[0], self.tables))
        after = sum_counters(self.sessions(lambda c: read_session_counters(self.family, c)))
        return counters_moved(before, after)

    def settle(self) -> None:
        """Hand the backend's sessions' pending counts over now (PostgreSQL), e.g. after a run
        that was not counted, so that they do not reach the view during a later one."""
        if self.family == "postgresql":
            with suppress(Exception):
                self.sessions(lambda c: flush_statistics(self.family, c))
