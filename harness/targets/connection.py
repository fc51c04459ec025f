"""The connection policy: one written set of session settings per database family, applied to
every backend on that database, and read back from each backend's own connection so that the
report shows they really are equal (DESIGN.md, fairness rules).

Where an ORM's own default differs from the policy, `Setting.orm_default` says so: ormbench
overrides it for every backend alike, and the report names the override instead of hiding it.
Autocommit is the one setting that differs by design: it is how each ORM runs transactions
(Django keeps the connection in autocommit and turns it off inside `atomic()`; a SQLAlchemy
`Session` runs on a connection with autocommit off). Each scenario's work contract, not the
connection, fixes the transactions a cell must use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The backends read the servers' own counters of a session's work through this name.
from harness.wire.counters import read_session_counters as read_session_counters

# How many rows one multi-row INSERT carries in the equal-work bulk idioms and the floor, per
# family: what both ORMs can send. SQLite: Django 5.2 caps a batch at 999 parameters (166 rows
# of 6 columns). SQL Server: mssql-django caps a model batch at 2,050 parameters halved (170
# rows of 6 columns), well inside the server's 2,100.
BULK_BATCH_ROWS = {"sqlite": 166, "postgresql": 1000, "mysql": 1000, "mssql": 170}
MSSQL_SESSION = "SET DATEFORMAT ymd; SET DATEFIRST 7"  # what mssql-django sets on connect

PG_ISOLATION = "read committed"
MYSQL_ISOLATION = "REPEATABLE READ"
MSSQL_ISOLATION = "READ COMMITTED"
MYSQL_TIME_ZONE = "SET time_zone = '+00:00'"
SQLITE_PRAGMAS = ("PRAGMA case_sensitive_like = ON", "PRAGMA foreign_keys = ON")
# How long a SQLite connection waits for another one's lock before "database is locked":
# Python's sqlite3 default, given explicitly to every backend (sqlite3's `timeout`).
SQLITE_BUSY_TIMEOUT = 5.0
# psycopg's prepare_threshold for every backend: None, never prepare (Django's own default).
# psycopg's default (prepare a statement on its 6th run on a connection) forgets every prepared
# statement on each ROLLBACK, which ends every SQLAlchemy Session read (Session.close()), and
# not on COMMIT, which ends Django's atomic(): SQLAlchemy's reads would never run prepared
# while Django's did from their 6th run on, and the first timed rounds would mix both regimes.
PG_PREPARE_THRESHOLD: int | None = None


@dataclass(frozen=True)
class Setting:
    """One line of a family's policy."""

    name: str
    policy: str  # what every backend gets
    orm_default: str = ""  # where an ORM's own default differs, which and how


POLICIES: dict[str, tuple[Setting, ...]] = {
    "postgresql": (
        Setting(
            "parameter binding",
            "server-side (psycopg's default cursor)",
            "Django: client-side binding (ClientCursor) unless OPTIONS server_side_binding",
        ),
        Setting(
            "statement preparation",
            "none, in every round: psycopg's prepare_threshold=None for every backend (each "
            "statement parsed and planned by the server on every run)",
            "SQLAlchemy (psycopg's default): prepared on a statement's 6th run on a connection "
            "and forgotten on every ROLLBACK, so never for a Session's reads, which end in one; "
            "Django: none (its own default, prepare_threshold=None)",
        ),
        Setting("isolation level", "READ COMMITTED, set explicitly (the server's default)"),
        Setting("session time zone", "UTC", "Django: settings.TIME_ZONE, America/Chicago"),
        Setting("client encoding", "UTF8"),
        Setting("autocommit", "per ORM design; the floor runs in autocommit"),
    ),
    "mysql": (
        Setting(
            "isolation level",
            f"{MYSQL_ISOLATION}, set explicitly (the server's default)",
            "Django: READ COMMITTED",
        ),
        Setting("session time zone", "UTC (+00:00)"),
        Setting("charset", "utf8mb4"),
        Setting(
            "affected rows",
            "rows matched, not rows changed (client flag FOUND_ROWS: both ORMs' own default)",
        ),
        Setting(
            "collation",
            "connection: the server's for utf8mb4; name column: utf8mb4_bin "
            "(case-sensitive, as the scenarios define text matching)",
        ),
        Setting("autocommit", "per ORM design; the floor runs in autocommit"),
        Setting(
            "rollback on return to the pool",
            "SQLAlchemy's equal-work AUTOCOMMIT engine skips it (skip_autocommit_rollback, "
            "SQLAlchemy's documented switch); its documented Session engine keeps it",
            "SQLAlchemy: rollback() on every return, which mysqlclient sends as a ROLLBACK "
            "even in autocommit",
        ),
    ),
    "sqlite": (
        Setting(
            "transactions",
            "driver autocommit (isolation_level=None), explicit BEGIN: Django's way and "
            "SQLAlchemy's documented pysqlite recipe",
            "SQLAlchemy: Python's sqlite3 begins implicitly, and only before a write",
        ),
        Setting(
            "LIKE",
            "case-sensitive (PRAGMA case_sensitive_like = ON)",
            "both ORMs: case-insensitive for ASCII",
        ),
        Setting("foreign keys", "ON", "SQLAlchemy: OFF (Django turns it on)"),
        Setting(
            "busy timeout",
            f"{SQLITE_BUSY_TIMEOUT:g} s, set explicitly (Python's sqlite3 default)",
        ),
        Setting(
            "threads",
            "a connection may be used by another thread than its creator's "
            "(check_same_thread=False): Django's setting, and SQLAlchemy's own for a file "
            "database's pool",
        ),
        Setting("time zone", "none in SQLite; Django TIME_ZONE=UTC, naive datetimes"),
    ),
    "mssql": (
        Setting("isolation level", f"{MSSQL_ISOLATION} (the server's default)"),
        Setting(
            "date format",
            "SET DATEFORMAT ymd; SET DATEFIRST 7 (mssql-django's own)",
            "SQLAlchemy: the server's defaults",
        ),
        Setting(
            "ids from bulk inserts",
            "returned (OUTPUT), as on the other databases",
            "Django: none unless OPTIONS return_rows_bulk_insert",
        ),
        Setting("collation", "name column: Latin1_General_100_BIN2 (case-sensitive)"),
        Setting("batches", "pyodbc fast_executemany for the floor's executemany"),
        Setting(
            "prepared execution",
            "the driver's: pyodbc and mssql-python prepare a parameterised statement on its "
            "cursor (sp_prepexec) and unprepare it when the cursor closes (sp_unprepare, a "
            "round trip of its own); the floor keeps one cursor per run",
            "both ORMs open and close a cursor per statement: about 2 round trips per "
            "parameterised statement where the floor's repeats need 1",
        ),
        Setting("autocommit", "per ORM design; the floor runs in autocommit"),
    ),
}

# Settings that legitimately differ between backends (how each ORM runs transactions).
BY_DESIGN = frozenset({"autocommit"})


def read_settings(family: str, connection: Any) -> dict[str, str]:
    """The session settings of one bare DB-API connection, read from the driver and the server
    (untimed). Leaves the connection as it found it: no transaction left open."""
    if family == "postgresql":
        return _read_postgresql(connection)
    if family == "mysql":
        return _read_mysql(connection)
    if family == "sqlite":
        return _read_sqlite(connection)
    return {"autocommit": str(getattr(connection, "autocommit", "unknown"))}


def _read_postgresql(conn: Any) -> dict[str, str]:
    import psycopg

    was_idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    cursor = conn.cursor()
    values = {}
    for name, sql in (
        ("session time zone", "SHOW TimeZone"),
        ("isolation level", "SHOW default_transaction_isolation"),
        ("client encoding", "SHOW client_encoding"),
    ):
        cursor.execute(sql)
        values[name] = str(cursor.fetchone()[0])
    cursor.close()
    if was_idle and not conn.autocommit:
        conn.rollback()
    factory = conn.cursor_factory
    values["parameter binding"] = (
        "client-side" if issubclass(factory, psycopg.ClientCursor) else "server-side"
    )
    values["statement preparation"] = (
        "none (client-side binding)"
        if values["parameter binding"] == "client-side"
        else f"prepare_threshold={conn.prepare_threshold}"
    )
    level = conn.isolation_level
    values["driver isolation level"] = level.name if level is not None else "server default"
    values["autocommit"] = "on" if conn.autocommit else "off"
    return values


def _read_mysql(conn: Any) -> dict[str, str]:
    cursor = conn.cursor()
    cursor.execute(
        "SELECT @@session.time_zone, @@session.tx_isolation, @@character_set_connection, "
        "@@collation_connection, @@session.sql_mode"
    )
    time_zone, isolation, charset, collation, sql_mode = cursor.fetchone()
    # The client flag FOUND_ROWS cannot be read back; what it does can: an UPDATE that leaves
    # its row as it was counts 1 row with it (matched) and 0 without (changed). A temporary
    # table of the session's own, so nothing outside the harness is touched.
    cursor.execute("CREATE TEMPORARY TABLE ormbench_found_rows_probe (a INT)")
    try:
        cursor.execute("INSERT INTO ormbench_found_rows_probe VALUES (1)")
        matched = cursor.execute("UPDATE ormbench_found_rows_probe SET a = 1")
    finally:
        cursor.execute("DROP TEMPORARY TABLE ormbench_found_rows_probe")
    cursor.close()
    return {
        "session time zone": str(time_zone),
        "isolation level": str(isolation),
        "charset": str(charset),
        "collation": str(collation),
        "sql_mode": str(sql_mode),
        "affected rows": "rows matched" if matched == 1 else "rows changed",
        "autocommit": "on" if conn.get_autocommit() else "off",
    }


def _read_sqlite(conn: Any) -> dict[str, str]:
    was_in_transaction = conn.in_transaction
    cursor = conn.cursor()
    cursor.execute("SELECT 'a' LIKE 'A'")
    case_insensitive = cursor.fetchone()[0]
    cursor.execute("PRAGMA foreign_keys")
    foreign_keys = cursor.fetchone()[0]
    cursor.execute("PRAGMA journal_mode")
    journal = cursor.fetchone()[0]
    cursor.execute("PRAGMA busy_timeout")
    busy_ms = cursor.fetchone()[0]
    cursor.close()
    if conn.in_transaction and not was_in_transaction:
        conn.rollback()
    return {
        "transactions": "driver autocommit, explicit BEGIN"
        if conn.isolation_level is None
        else f"implicit BEGIN before writes (isolation_level={conn.isolation_level!r})",
        "LIKE": "case-insensitive" if case_insensitive else "case-sensitive",
        "foreign keys": "ON" if foreign_keys else "OFF",
        "journal mode": str(journal),
        "busy timeout": f"{busy_ms} ms",
    }
