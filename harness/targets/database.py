"""The harness's own connection to a database: the tables it owns, loading data, the
backend-neutral digest of table state, and the server's facts for the report."""

from __future__ import annotations

import platform
import uuid
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from itertools import chain, islice
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Engine

from harness.targets.connection import BULK_BATCH_ROWS, POLICIES
from harness.targets.errors import (
    ConnectionFailed,
    UnsafeTable,
    driver_message,
    redact,
    setup_failed,
    setup_step,
)
from harness.targets.reading import TableReading
from harness.targets.urls import (
    MSSQL_DEFAULT_ODBC_DRIVER,
    Target,
    msodbcsql_install_command,
    odbc_driver_missing,
)
from reports.model import DatabaseInfo
from scenarios import Capabilities
from scenarios.data import Row
from scenarios.schema import (
    OWNER_TABLE,
    TABLE_PREFIX,
    item_table,
)

# Rows per batch in which the harness generates and loads data (`load`): the memory it holds
# is bounded by a batch, not by the table (harness.targets.reading reads back the same way).
LOAD_BATCH_ROWS = 10_000

_owner_metadata = MetaData()
owner_table = Table(
    OWNER_TABLE,
    _owner_metadata,
    Column("run_id", String(64), primary_key=True),
    Column("created_at", DateTime, nullable=False),
)


def tables_of(scenarios: Sequence[Any]) -> tuple[Table, ...]:
    """The tables `scenarios` work on, each once, parents before the tables that refer to
    them (creation order; dropped in reverse)."""
    found: dict[str, Table] = {}
    for scenario in scenarios:
        for table in scenario.tables:
            for parent in sorted(table.foreign_keys, key=lambda fk: fk.target_fullname):
                found.setdefault(parent.column.table.name, parent.column.table)
            found.setdefault(table.name, table)
    bad = [name for name in found if not name.startswith(TABLE_PREFIX)]
    if bad:
        from harness.targets.errors import ConfigurationError

        raise ConfigurationError(
            f"scenario table '{bad[0]}' does not start with '{TABLE_PREFIX}'",
            f"name every table a scenario uses {TABLE_PREFIX}…: ormbench touches only its own",
        )
    return tuple(found.values())


@dataclass(frozen=True)
class ServerFacts:
    server_version: str
    edition: str | None
    driver: str
    driver_version: str


def connect_error(target: Target, exc: BaseException) -> ConnectionFailed:
    """A driver's connection error as one line that names the server and never the password."""
    detail = driver_message(exc, target)
    where = target.url.host or target.database
    if target.url.port:
        where = f"{where}:{target.url.port}"
    hint = "check the URL, that the server is running and that the user may connect"
    if target.family == "mssql":
        hint = "start SQL Server with `docker compose up -d mssql`, or check the URL"
        if "TCP Provider" in detail or "Login timeout expired" in detail:
            # Microsoft's drivers report "nothing listens there" as a bare socket error code.
            seconds = f"{target.connect_timeout:g}"
            detail = f"no SQL Server answered within {seconds} s ({detail})"
        if odbc_driver_missing(exc):
            # pyodbc never reached the server: the missing driver is the first thing to fix.
            driver = target.options.get("driver", MSSQL_DEFAULT_ODBC_DRIVER)
            detail = f"the ODBC driver '{driver}' is not registered with unixODBC"
            hint = (
                f"install it: {msodbcsql_install_command()}; or use the mssql-python driver, "
                "which needs no ODBC set-up: mssql+mssqlpython://…; "
                "then start SQL Server with `docker compose up -d mssql`"
            )
    return ConnectionFailed(f"cannot connect to {target.family} at {where}: {detail}", hint)


class HarnessDatabase(TableReading):
    """Owns `ormbench_*` tables on one database and reads its state without any ORM."""

    def __init__(self, target: Target, tables: Sequence[Table] = (item_table,)) -> None:
        self.target = target
        self.tables = tuple(tables)
        self.owned = (OWNER_TABLE, *(t.name for t in self.tables))  # creation order
        self.run_id = uuid.uuid4().hex
        self.created: list[str] = []
        self._wal: bool | None = None
        self._innodb: dict[str, bool] = {}  # whether each checked table is InnoDB (MariaDB)
        self._no_marker = False  # the server refused change_marker's read once
        # pool_pre_ping: after the server restarts or drops us, the harness's next untimed
        # step reconnects or fails with a connection error, instead of a stale-socket one.
        self.engine: Engine = create_engine(
            target.sqlalchemy_url(),
            connect_args=target.sqlalchemy_connect_args(),
            pool_pre_ping=True,
        )
        # Login first, then SQLAlchemy's own set-up of the new connection (the dialect reads
        # the server's version and settings): a failure of the second is not "cannot connect".
        logged_in: list[bool] = []
        event.listen(
            self.engine, "connect", lambda *_: logged_in.append(True), insert=True, once=True
        )
        try:
            with self.engine.connect():
                pass
        except Exception as exc:  # the driver's own error type varies by driver
            self.engine.dispose()
            if not logged_in:
                raise connect_error(target, exc) from None
            raise setup_failed(
                target,
                "SQLAlchemy's set-up of the new connection (its dialect reads the server's "
                "version and settings)",
                exc,
                "the login worked; the dialect could not read or understand the server's "
                "answer: `ormbench doctor` shows the driver and SQLAlchemy versions",
            ) from None

    # --- tables ---------------------------------------------------------------------------

    def create_tables(self) -> None:
        """Create the harness tables, refusing to start if any of their names is taken.

        The owner marker (this run's id) is created first and in the same transaction as the
        item table: where DDL is transactional (PostgreSQL, SQLite, SQL Server) a crash leaves
        nothing behind; where it is not (MySQL/MariaDB) a leftover always carries the marker,
        so the next run can say it is ormbench's own and not a user's table.
        """
        with setup_step(self.target, "checking for existing harness tables"):
            self._refuse_taken_names()
        try:
            with self.engine.begin() as conn:
                owner_table.create(conn)
                self.created.append(OWNER_TABLE)
                conn.execute(
                    owner_table.insert(),
                    {"run_id": self.run_id, "created_at": datetime.now(UTC).replace(tzinfo=None)},
                )
                for table in self.tables:
                    table.create(conn)
                    self.created.append(table.name)
        except Exception as exc:  # the driver's own error type varies by driver
            try:
                # Where DDL is transactional the rollback removed what was created; elsewhere
                # it stays, marked, and drop_tables() removes it.
                still = {n.lower() for n in inspect(self.engine).get_table_names()}
                self.created = [n for n in self.created if n in still]
                # Another process may have taken a name between the check and CREATE TABLE
                # (two runs started at once): that is the same refusal, not a crash.
                self._refuse_taken_names()
            except UnsafeTable:
                raise
            except Exception:  # the server is gone: the CREATE statement's error says why
                pass
            raise self._cannot_create(exc) from None

    def _refuse_taken_names(self) -> None:
        """UnsafeTable if a table or view under a harness name exists that this run did not
        create. Names compare case-insensitively: SQLite, SQL Server and MySQL on some systems
        treat `ORMBENCH_ITEM` as the same table."""
        found = inspect(self.engine)
        existing = {n.lower(): n for n in [*found.get_table_names(), *found.get_view_names()]}
        taken = [existing[n] for n in self.owned if n in existing and n not in self.created]
        if not taken:
            return
        where = self.target.label
        leftover = self._leftover_marker() if OWNER_TABLE in existing else None
        if leftover is not None:
            run_id, created_at = leftover
            raise UnsafeTable(
                f"{', '.join(taken)} in {where} belong to another ormbench run (run id "
                f"{run_id}, started {created_at}) that is still running or did not finish; "
                "nothing was changed",
                "if no ormbench run uses this database, drop them by hand: "
                + " ".join(f"DROP TABLE {n};" for n in reversed(self.owned) if n in existing),
            )
        raise UnsafeTable(
            f"table {taken[0]} already exists in {where} and this run did not create it; "
            "nothing was changed",
            "ormbench only touches tables it creates: drop or rename that table, "
            "or point --db at another database",
        )

    def _leftover_marker(self) -> tuple[str, str] | None:
        """(run id, time) if the existing owner table has the shape and rows ormbench writes."""
        try:
            with self.engine.connect() as conn:
                row = conn.execute(owner_table.select().limit(1)).first()
        except Exception:  # a user's table of that name, with other columns
            return None
        return (str(row.run_id), str(row.created_at)) if row is not None else None

    def _cannot_create(self, exc: BaseException) -> ConnectionFailed:
        # The driver's first line says why; PostgreSQL's next ones quote the DDL.
        reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        detail = redact(" ".join(reason.split()), self.target)
        return ConnectionFailed(
            f"cannot create the harness tables in {self.target.label}: {detail[:300]}",
            "ormbench needs a user that may CREATE TABLE there (it creates and drops only "
            "its own ormbench_* tables)",
        )

    def drop_tables(self) -> None:
        """Drop what this run created, and only while the owner marker still holds its run id."""
        if not self.created:
            return
        with self.engine.begin() as conn:
            marker = conn.execute(owner_table.select().where(owner_table.c.run_id == self.run_id))
            if marker.first() is None:
                return  # someone else's table now stands under our names: leave it alone
            for name in reversed(self.created):
                Table(name, MetaData()).drop(conn)
        self.created.clear()

    def drop_tables_or_explain(self) -> str | None:
        """`drop_tables()` after a run that may have lost its server: never raises, so the
        run's own error is not hidden; says what is left behind and how to remove it."""
        try:
            self.drop_tables()
        except Exception as exc:  # the server may be gone: report, do not mask the run's error
            detail = driver_message(exc, self.target, limit=200)
            left = " ".join(f"DROP TABLE {n};" for n in reversed(self.created))
            return (
                f"could not drop the harness tables in {self.target.label} ({detail}); "
                "once the server answers and no ormbench run uses them, drop them by hand: " + left
            )
        return None

    def adopt(self, run_id: str) -> None:
        """Take over the tables of a run whose worker died (crash, kill -9) so that
        `drop_tables()` removes them; the marker check still guards anyone else's."""
        self.run_id = run_id
        existing = {n.lower() for n in inspect(self.engine).get_table_names()}
        self.created = [n for n in self.owned if n in existing]

    def ping(self) -> None:
        """Raise ConnectionFailed unless the server answers now (within the connect timeout)."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            raise connect_error(self.target, exc) from None

    def reset(self, *tables: Table) -> None:
        """Empty `tables` (default: the item table), untimed, before a round that needs fresh
        state; the tables that refer to others first."""
        chosen = tables or (item_table,)
        related = any(t.foreign_keys for t in self.tables if t in chosen) or any(
            fk.column.table in chosen for t in self.tables for fk in t.foreign_keys
        )
        order = [t for t in reversed(self.tables) if t in chosen]
        with self.engine.begin() as conn:
            for table in order:
                # TRUNCATE is refused on a table another one refers to (and is not
                # transactional on MySQL): DELETE then, as always on SQLite.
                if self.target.family == "sqlite" or related:
                    conn.execute(text(f"DELETE FROM {table.name}"))
                elif self.target.family == "postgresql":
                    # The ids an ORM's inserts get start from 1 again, as on the other
                    # databases (TRUNCATE resets them on MariaDB and SQL Server, and SQLite
                    # numbers an emptied table from 1): a round's rows are then the same
                    # rows, ids too, as the previous round's (see `fingerprint`).
                    conn.execute(text(f"TRUNCATE TABLE {table.name} RESTART IDENTITY"))
                else:
                    conn.execute(text(f"TRUNCATE TABLE {table.name}"))

    def load(self, rows: Iterable[Row], table: Table = item_table) -> list[int]:
        """Insert `rows` through SQLAlchemy Core (not any timed code path), in one
        transaction; return their ids in the order of `rows`.

        `rows` may be any iterable, a generator too: it is consumed LOAD_BATCH_ROWS at a time,
        so the rows never need to exist as Python objects all at once. The harness numbers the
        rows itself, after the table's highest id (explicit ids are exact on every database,
        where the order of ids a multi-row INSERT assigns is not documented everywhere), and
        the table's own numbering then continues after them, so the ORMs' inserts get fresh
        ids. Each batch goes by the driver's bulk path: COPY on PostgreSQL, executemany
        elsewhere (one prepared statement on SQLite; mysqlclient rewrites it into multi-row
        INSERTs), multi-row INSERTs on SQL Server. Values pass through the columns' SQLAlchemy
        types, so they are stored exactly as an INSERT through Core stores them."""
        (key,) = table.primary_key.columns
        batches = _batches(iter(rows), LOAD_BATCH_ROWS)
        first = next(batches, None)
        if first is None:
            return []
        with self.engine.begin() as conn:
            before = conn.execute(select(func.coalesce(func.max(key), 0))).scalar_one()
            count = 0
            if self.target.family == "mssql":
                conn.exec_driver_sql(f"SET IDENTITY_INSERT {table.name} ON")
                try:
                    for batch in chain([first], batches):
                        self._insert_values(conn, table, key, before + count, batch)
                        count += len(batch)
                finally:
                    conn.exec_driver_sql(f"SET IDENTITY_INSERT {table.name} OFF")
                return list(range(before + 1, before + count + 1))
            columns = [key.name, *(c.name for c in table.columns if c is not key)]
            insert = _bulk_writer(conn, table, columns, self.target)
            for batch in chain([first], batches):
                numbered = enumerate(batch, start=before + count + 1)
                insert([(pk, *(row[c] for c in columns[1:])) for pk, row in numbered])
                count += len(batch)
            if self.target.family == "postgresql":
                # COPY and explicit ids leave the column's sequence where it was.
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{key.name}'), "
                    f"{before + count})"
                )
        return list(range(before + 1, before + count + 1))

    def _insert_values(
        self, conn: Any, table: Table, key: Column[Any], after: int, rows: list[Row]
    ) -> None:
        """SQL Server: rows under ids numbered from `after` + 1 (SET IDENTITY_INSERT), in
        multi-row INSERTs within the server's 2,100 parameters. SQL Server assigns identities
        in the order of an `INSERT ... SELECT ... ORDER BY`, which SQLAlchemy's ordered
        RETURNING sends, but Babelfish rejects that form ("syntax error at or near ORDER");
        explicit ids are exact on both, and the identity then continues after the highest
        one, so the ORMs' own inserts get fresh ids."""
        per_batch = max(1, 2000 // (len(table.columns)))
        for start in range(0, len(rows), per_batch):
            chunk = rows[start : start + per_batch]
            numbered = enumerate(chunk, start=after + start + 1)
            conn.execute(table.insert().values([{**row, key.name: pk} for pk, row in numbered]))

    def capabilities(self) -> Capabilities:
        dialect = self.engine.dialect
        return Capabilities(
            bulk_batch_rows=BULK_BATCH_ROWS.get(self.target.family, 1000),
            insert_returning=bool(dialect.insert_executemany_returning),
            family=self.target.family,
        )

    # --- evidence of the work, from the database itself -------------------------------------

    def write_counter(self) -> int | None:
        """A database-side count that grows by one with each transaction that writes, read
        without touching the backend's connection; None where there is none to read cheaply.
        SQLite: the file change counter in the database header (offset 24), which every
        committed write transaction increments in rollback-journal mode."""
        if self.target.family != "sqlite" or self._sqlite_wal():
            return None
        with open(self.target.database, "rb") as f:
            f.seek(24)
            return int.from_bytes(f.read(4), "big")

    def change_marker(self, table: Table = item_table) -> Hashable | None:
        """A value read before a table is fingerprinted that is the same again later only if
        nothing can have written to `table` in between; None where there is none to read
        cheaply (then the table is fingerprinted every time).
        - SQLite (rollback journal): the file change counter (`write_counter`).
        - PostgreSQL: `pg_current_wal_insert_lsn()`, which every change to a logged table
          moves (the harness's tables are logged). A read may move it too (page pruning),
          and so may anyone else on the server: the marker then differs, and the table is
          read again. Never a false "unchanged".
        - MariaDB/MySQL: InnoDB's `Innodb_lsn_current`, likewise, when the table is InnoDB.
        - SQL Server: none (its log sequence number is not readable by a plain user)."""
        family = self.target.family
        if family == "sqlite":
            return self.write_counter()
        if self._no_marker or family not in ("postgresql", "mysql"):
            return None
        try:
            with self.engine.connect() as conn:
                if family == "postgresql":
                    return str(conn.execute(text("SELECT pg_current_wal_insert_lsn()")).scalar())
                if table.name not in self._innodb:
                    engine = conn.execute(
                        text(
                            "SELECT ENGINE FROM information_schema.TABLES "
                            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :name"
                        ),
                        {"name": table.name},
                    ).scalar()
                    self._innodb[table.name] = str(engine).lower() == "innodb"
                if not self._innodb[table.name]:
                    return None
                row = conn.execute(text("SHOW GLOBAL STATUS LIKE 'Innodb_lsn_current'")).first()
                return None if row is None else str(row[1])
        except Exception:  # not allowed here (a standby, a restricted user): no marker
            self._no_marker = True
            return None

    def _sqlite_wal(self) -> bool:
        """In WAL mode commits go to the -wal file and the header counter stands still."""
        if self._wal is None:
            with self.engine.connect() as conn:
                mode = conn.execute(text("PRAGMA journal_mode")).scalar_one()
            self._wal = str(mode).lower() == "wal"
        return self._wal

    def write_transactions(
        self, before: int | None, rows_all_written: bool, table: Table = item_table
    ) -> int | None:
        """How many transactions wrote since `before` (from `write_counter()`). PostgreSQL:
        the distinct inserting transactions (xmin) of the table's rows, when the operation
        wrote every row (`rows_all_written`); a commit for all rows shows as one."""
        if self.target.family == "sqlite" and before is not None:
            after = self.write_counter()
            return None if after is None else after - before
        if self.target.family == "postgresql" and rows_all_written:
            with self.engine.connect() as conn:
                return int(
                    conn.execute(
                        text(f"SELECT count(DISTINCT xmin::text) FROM {table.name}")
                    ).scalar_one()
                )
        return None

    def server_facts(self) -> ServerFacts:
        family = self.target.family
        edition = None
        with self.engine.connect() as conn:
            if family == "sqlite":
                version = conn.execute(text("SELECT sqlite_version()")).scalar_one()
            elif family == "mssql":
                row = conn.execute(
                    text(
                        "SELECT CAST(SERVERPROPERTY('ProductVersion') AS NVARCHAR(128)), "
                        "CAST(SERVERPROPERTY('Edition') AS NVARCHAR(128))"
                    )
                ).one()
                version, edition = row
            else:
                version = conn.execute(text("SELECT version()")).scalar_one()
        module = self.target.driver.load()
        return ServerFacts(
            server_version=str(version),
            edition=edition,
            driver=self.target.driver.distribution,
            driver_version=_driver_version(module),
        )

    def database_info(self) -> DatabaseInfo:
        """The database's facts as the report shows them."""
        with setup_step(self.target, "reading the server version"):
            facts = self.server_facts()
        return DatabaseInfo(
            label=self.target.label,
            family=self.target.family,
            server_version=facts.server_version,
            edition=facts.edition,
            driver=facts.driver,
            driver_version=facts.driver_version,
            location=self.target.location,
            connection_policy=[asdict(s) for s in POLICIES.get(self.target.family, ())],
        )

    def close(self) -> None:
        self.engine.dispose()


def _batches(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    while batch := list(islice(rows, size)):
        yield batch


def _bulk_writer(
    conn: Any, table: Table, columns: list[str], target: Target
) -> Callable[[list[tuple[Any, ...]]], None]:
    """A function that inserts rows (values in `columns`' order) into `table` on `conn`'s
    open transaction by the driver's bulk path, each value first through its column type's
    bind processor, as Core does."""
    dialect = conn.dialect
    steps = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns]

    def bound(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        if not any(steps):
            return rows
        return [
            tuple(
                v if step is None or v is None else step(v)
                for step, v in zip(steps, r, strict=True)
            )
            for r in rows
        ]

    names = ", ".join(columns)
    if target.family == "postgresql":
        cursor = conn.connection.driver_connection.cursor()

        def copy(rows: list[tuple[Any, ...]]) -> None:
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as stream:
                for row in bound(rows):
                    stream.write_row(row)

        return copy
    marks = ", ".join([target.placeholder] * len(columns))
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"
    return lambda rows: conn.exec_driver_sql(sql, bound(rows))


def _driver_version(module: Any) -> str:
    if module.__name__ == "sqlite3":
        return f"{module.sqlite_version} (Python {platform.python_version()} stdlib)"
    if module.__name__ == "MySQLdb":
        return ".".join(str(p) for p in module.version_info[:3])
    for attr in ("__version__", "version"):
        value = getattr(module, attr, None)
        if isinstance(value, str):
            return value
    return "unknown"
