"""SQLAlchemy 2.x ORM: a Session per round, `select()`, and the ORM bulk INSERT statement."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import create_engine, event, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import DeclarativeBase, Mapped, Session

from backends.base import Backend, RowData
from harness.connection import BULK_BATCH_ROWS, read_session_counters, read_settings
from harness.targets import Target
from harness.trace import TracedConnection, Tracer
from scenarios.schema import ALL_COLUMNS, NormalRow, item_table, normal_row

# SQLite has no DECIMAL type; SQLAlchemy warns once that it stores prices as floats. The
# verification compares prices at two decimals, so the warning says nothing new here.
warnings.filterwarnings(
    "ignore", message=r".*does \*not\* support Decimal objects", category=SAWarning
)

# The connection policy's isolation level, in SQLAlchemy's words (harness.connection).
ISOLATION = {"postgresql": "READ COMMITTED", "mysql": "REPEATABLE READ", "mssql": "READ COMMITTED"}


class Base(DeclarativeBase):
    pass


class Item(Base):
    # Declarative with an imperative Table: the harness owns the DDL, the ORM maps it.
    __table__ = item_table

    id: Mapped[int]
    name: Mapped[str]
    email: Mapped[str]
    quantity: Mapped[int]
    price: Mapped[Decimal]
    active: Mapped[bool]
    created_at: Mapped[datetime]


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
        family = self.target.family
        level = "AUTOCOMMIT" if autocommit else ISOLATION.get(family)
        engine = create_engine(
            self.target.sqlalchemy_url(), creator=self._connect, isolation_level=level
        )
        if family == "sqlite" and not autocommit:
            # SQLAlchemy's documented pysqlite recipe: the driver stays in autocommit and the
            # Engine sends BEGIN itself, so reads run inside the transaction too.
            @event.listens_for(engine, "begin")
            def begin(conn: Any) -> None:
                conn.exec_driver_sql("BEGIN")

        return engine

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

    def session_counters(self) -> dict[str, int] | None:
        if self.target.family != "mysql":
            return None
        total: dict[str, int] = {}
        for engine in (self.engine, self.autocommit_engine):
            raw = engine.raw_connection()
            try:
                bare = raw.driver_connection
                counters = read_session_counters(self.target.family, bare) or {}
            finally:
                raw.close()
            for name, value in counters.items():
                total[name] = total.get(name, 0) + value
        return total

    @contextmanager
    def statements_forbidden(self) -> Iterator[None]:
        # Closed sessions detach their objects: reading an attribute that is not loaded
        # raises DetachedInstanceError instead of sending a SELECT.
        self.end_round()
        yield

    def create(self, rows: Sequence[RowData]) -> None:
        """`Session.add()` then `Session.commit()` per row: each row its own transaction
        (BEGIN, INSERT, COMMIT)."""
        session = self.session
        for row in rows:
            session.add(Item(**row))
            session.commit()

    def create_equal(self, rows: Sequence[RowData]) -> None:
        """`Session.add()` then `Session.flush()` per row on the AUTOCOMMIT Engine: the database
        commits each INSERT by itself, as Django's autocommit does, with no BEGIN or COMMIT."""
        session = self.autocommit
        for row in rows:
            session.add(Item(**row))
            session.flush()

    def bulk_create(self, rows: Sequence[RowData]) -> None:
        """ORM bulk INSERT, `Session.execute(insert(Item), rows)`, then one `commit()`: no
        objects built, no ids fetched."""
        self.session.execute(insert(Item), [dict(r) for r in rows])
        self.session.commit()

    def bulk_create_equal(self, rows: Sequence[RowData]) -> list[Any] | None:
        """`Session.scalars(insert(Item).returning(Item), rows)` in batches of the family's
        bulk size, then `commit()`: n objects with their ids, like Django's `bulk_create()`.
        Without RETURNING (MySQL) the ids cannot come back in bulk, as for Django."""
        session = self.kept
        options = {"insertmanyvalues_page_size": self.batch_rows}
        data = [dict(r) for r in rows]
        if not self.engine.dialect.insert_executemany_returning:
            session.execute(insert(Item), data, execution_options=options)
            session.commit()
            return None
        objects = session.scalars(
            insert(Item).returning(Item), data, execution_options=options
        ).all()
        session.commit()
        return list(objects)

    def get(self, ids: Sequence[int]) -> list[Any]:
        """`Session.get()` per primary key in one transaction, which `Session.close()` ends
        (the tutorial's `with Session(engine) as session:` read)."""
        session = self.session
        objects = [session.get(Item, pk) for pk in ids]
        session.close()
        return objects

    def filter(self, prefix: str) -> list[Any]:
        """`select(Item).where(Item.name.startswith(prefix)).order_by(Item.id)` via
        `Session.scalars().all()` in one transaction, which `Session.close()` ends."""
        session = self.session
        stmt = select(Item).where(Item.name.startswith(prefix)).order_by(Item.id)
        objects = list(session.scalars(stmt).all())
        session.close()
        return objects

    def filter_equal(self, prefix: str) -> list[Any]:
        """The same query on the AUTOCOMMIT Engine: one SELECT that is its own transaction,
        as Django's autocommit sends it."""
        session = self.autocommit
        stmt = select(Item).where(Item.name.startswith(prefix)).order_by(Item.id)
        objects = list(session.scalars(stmt).all())
        session.close()
        return objects

    def update(self, changes: Sequence[tuple[int, int]]) -> None:
        """Per row: `Session.get()`, set `quantity`, `Session.commit()` (load and save in one
        transaction; the unit of work sends only the changed column)."""
        session = self.session
        for pk, quantity in changes:
            session.get(Item, pk).quantity = quantity
            session.commit()

    def delete(self, ids: Sequence[int]) -> None:
        """Per row: `Session.get()`, `Session.delete()`, `Session.commit()`: a transaction each."""
        session = self.session
        for pk in ids:
            session.delete(session.get(Item, pk))
            session.commit()

    def normal_rows(self, result: list[Any]) -> list[NormalRow]:
        return [normal_row([getattr(o, c) for c in ALL_COLUMNS], ALL_COLUMNS) for o in result]
