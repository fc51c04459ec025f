"""The harness's own connection to a database: the tables it owns, loading data, the
backend-neutral digest of table state, and the server's facts for the report."""

from __future__ import annotations

import platform
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, String, Table, create_engine, inspect, text
from sqlalchemy.engine import Engine

from harness.errors import ConnectionFailed, UnsafeTable
from harness.targets import Target
from scenarios.data import Row
from scenarios.schema import (
    DATA_COLUMNS,
    ITEM_TABLE,
    OWNER_TABLE,
    NormalRow,
    digest,
    item_table,
    normal_row,
)

_owner_metadata = MetaData()
owner_table = Table(
    OWNER_TABLE,
    _owner_metadata,
    Column("run_id", String(64), primary_key=True),
    Column("created_at", DateTime, nullable=False),
)
OWNED = (OWNER_TABLE, ITEM_TABLE)  # creation order; dropped in reverse


@dataclass(frozen=True)
class ServerFacts:
    server_version: str
    edition: str | None
    driver: str
    driver_version: str


def connect_error(target: Target, exc: BaseException) -> ConnectionFailed:
    """A driver's connection error as one line that names the server and never the password."""
    detail = " ".join(str(exc).split()) or type(exc).__name__
    if target.password:
        detail = detail.replace(target.password, "***")
    detail = detail[:300]
    where = target.url.host or target.database
    if target.url.port:
        where = f"{where}:{target.url.port}"
    hint = "check the URL, that the server is running and that the user may connect"
    if target.family == "mssql":
        hint = "start SQL Server with `docker compose up -d mssql`, or check the URL"
    return ConnectionFailed(f"cannot connect to {target.family} at {where}: {detail}", hint)


class HarnessDatabase:
    """Owns `ormbench_*` tables on one database and reads its state without any ORM."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.run_id = uuid.uuid4().hex
        self.created: list[str] = []
        self.engine: Engine = create_engine(
            target.sqlalchemy_url(), connect_args=target.sqlalchemy_connect_args()
        )
        try:
            with self.engine.connect():
                pass
        except Exception as exc:  # the driver's own error type varies by driver
            self.engine.dispose()
            raise connect_error(target, exc) from None

    # --- tables ---------------------------------------------------------------------------

    def create_tables(self) -> None:
        """Create the harness tables, refusing to start if any of their names is taken."""
        existing = set(inspect(self.engine).get_table_names())
        taken = [name for name in OWNED if name in existing]
        if taken:
            raise UnsafeTable(
                f"table {taken[0]} already exists in {self.target.label} and this run did not "
                "create it; nothing was changed",
                "ormbench only touches tables it creates: drop or rename that table, "
                "or point --db at another database",
            )
        with self.engine.begin() as conn:
            owner_table.create(conn)
            self.created.append(OWNER_TABLE)
            conn.execute(
                owner_table.insert(),
                {"run_id": self.run_id, "created_at": datetime.now(UTC).replace(tzinfo=None)},
            )
        with self.engine.begin() as conn:
            item_table.create(conn)
            self.created.append(ITEM_TABLE)

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

    def reset(self) -> None:
        """Empty the item table (untimed, before each round of a destructive scenario)."""
        statement = (
            f"DELETE FROM {ITEM_TABLE}"
            if self.target.family == "sqlite"
            else f"TRUNCATE TABLE {ITEM_TABLE}"
        )
        with self.engine.begin() as conn:
            conn.execute(text(statement))

    def load(self, rows: list[Row]) -> list[int]:
        """Insert rows through SQLAlchemy Core (not any timed code path); return their ids in
        the order of `rows` (emails are unique and sort in generation order)."""
        with self.engine.begin() as conn:
            conn.execute(item_table.insert(), rows)
            ids = conn.execute(text(f"SELECT id FROM {ITEM_TABLE} ORDER BY email")).scalars().all()
        return list(ids)

    # --- reading ----------------------------------------------------------------------------

    def table_rows(self) -> list[NormalRow]:
        """Every row of the item table through the bare DB-API cursor, normalised."""
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(f"SELECT {', '.join(DATA_COLUMNS)} FROM {ITEM_TABLE}")
            rows = [normal_row(r) for r in cursor.fetchall()]
            cursor.close()
            raw.commit()
        finally:
            raw.close()
        return rows

    def table_digest(self) -> tuple[int, str]:
        return digest(self.table_rows())

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

    def close(self) -> None:
        self.engine.dispose()


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
