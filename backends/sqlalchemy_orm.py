"""SQLAlchemy 2.x ORM: Engines on the connection policy, and fresh Sessions every round. The
mapping is in backends.sqlalchemy_models; the idioms are in the scenario modules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from backends.base import Backend
from backends.sqlalchemy_models import Base, Item
from harness.targets.connection import BULK_BATCH_ROWS, read_settings
from harness.targets.urls import Target
from harness.wire.trace import TracedConnection, Tracer

# The connection policy's isolation level, in SQLAlchemy's words (harness.targets.connection).
ISOLATION = {"postgresql": "READ COMMITTED", "mysql": "REPEATABLE READ", "mssql": "READ COMMITTED"}

__all__ = ["Base", "Item", "SqlAlchemyOrm", "policy_engine"]


def policy_engine(
    target: Target, creator: Callable[[], Any], autocommit: bool = False, **options: Any
) -> Engine:
    """An Engine on the connection policy: DB-API connections from `creator` (which wraps
    `Target.dbapi_connect`), the policy's isolation level (or AUTOCOMMIT, without the
    return-to-pool ROLLBACK), and on SQLite the explicit BEGIN. `options` go to
    `create_engine` (e.g. a pool class that observes the default one)."""
    family = target.family
    level = "AUTOCOMMIT" if autocommit else ISOLATION.get(family)
    if autocommit:
        # SQLAlchemy's documented switch for connections in autocommit: no ROLLBACK when a
        # connection goes back to the pool, as there is no transaction to end. Without it
        # mysqlclient sends one to the server every time (psycopg and sqlite3 do nothing),
        # a round trip the contract's one self-committing statement does not have.
        options.setdefault("skip_autocommit_rollback", True)
    engine = create_engine(
        target.sqlalchemy_url(), creator=creator, isolation_level=level, **options
    )
    if family == "sqlite" and not autocommit:
        # SQLAlchemy's documented pysqlite recipe: the driver stays in autocommit and the
        # Engine sends BEGIN itself, so reads run inside the transaction too.
        @event.listens_for(engine, "begin")
        def begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

    return engine


class SqlAlchemyOrm(Backend):
    """SQLAlchemy 2.x ORM through an Engine with its default connection pool; connections come
    from the policy's `Target.dbapi_connect` (`creator=`), so the driver settings are the
    floor's. A second Engine with `isolation_level="AUTOCOMMIT"` serves the equal-work idioms
    whose contract is a statement that commits itself."""

    name = "sqlalchemy"
    title = "SQLAlchemy ORM"

    def __init__(self, target: Target, tracer: Tracer | None = None) -> None:
        super().__init__(target, tracer)
        self._traced = False
        self.engine = self._engine(autocommit=False)
        self.autocommit_engine = self._engine(autocommit=True)
        for engine in (self.engine, self.autocommit_engine):
            with engine.connect():  # open the pooled connection now, outside any timing
                pass
        if tracer is not None:
            # Each dialect has run its one-time set-up on a bare connection (psycopg's type
            # look-ups insist on a real one); later connections are traced.
            self._traced = True
            for engine in (self.engine, self.autocommit_engine):
                engine.dispose()
                with engine.connect():
                    pass
        self.batch_rows = BULK_BATCH_ROWS.get(target.family, 1000)
        self.begin_round()

    def _connect(self) -> Any:
        bare = self.target.dbapi_connect()
        return TracedConnection(bare, self.tracer) if self._traced and self.tracer else bare

    def _engine(self, autocommit: bool) -> Engine:
        return policy_engine(self.target, self._connect, autocommit)

    def begin_round(self) -> None:
        self.session = Session(self.engine)
        # expire_on_commit=False: what an equal-work idiom returns stays loaded after COMMIT.
        self.kept = Session(self.engine, expire_on_commit=False)
        self.autocommit = Session(self.autocommit_engine, expire_on_commit=False)

    def end_round(self) -> None:
        for session in (self.session, self.kept, self.autocommit):
            session.close()

    def close(self) -> None:
        self.end_round()
        self.engine.dispose()
        self.autocommit_engine.dispose()

    def connection_settings(self) -> dict[str, str]:
        raw = self.engine.raw_connection()
        try:
            bare = raw.driver_connection
            return read_settings(self.target.family, getattr(bare, "wrapped", bare))
        finally:
            raw.close()

    def on_each_connection(self, call: Callable[[Any], Any]) -> list[Any]:
        results = []
        for engine in (self.engine, self.autocommit_engine):
            raw = engine.raw_connection()
            try:
                bare = raw.driver_connection
                results.append(call(getattr(bare, "wrapped", bare)))
            finally:
                raw.close()
        return results

    @contextmanager
    def statements_forbidden(self) -> Iterator[None]:
        # Closed sessions detach their objects: reading an attribute that is not loaded
        # raises DetachedInstanceError instead of sending a SELECT.
        self.end_round()
        yield
