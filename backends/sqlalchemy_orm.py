"""SQLAlchemy 2.x ORM: a Session per round, `select()`, and the ORM bulk INSERT statement."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import create_engine, event, insert, select
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import DeclarativeBase, Mapped, Session

from backends.base import Backend, RowData
from harness.targets import Target
from harness.trace import TracedConnection, Tracer
from scenarios.schema import ALL_COLUMNS, NormalRow, item_table, normal_row

# SQLite has no DECIMAL type; SQLAlchemy warns once that it stores prices as floats. The
# verification compares prices at two decimals, so the warning says nothing new here.
warnings.filterwarnings(
    "ignore", message=r".*does \*not\* support Decimal objects", category=SAWarning
)


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
    """SQLAlchemy 2.x ORM through an Engine with its default connection pool."""

    name = "sqlalchemy"
    title = "SQLAlchemy ORM"

    def __init__(self, target: Target, tracer: Tracer | None = None) -> None:
        super().__init__(target, tracer)
        self.engine = create_engine(
            target.sqlalchemy_url(), connect_args=target.sqlalchemy_connect_args()
        )
        with self.engine.connect():  # open the pooled connection now, outside any timing
            pass
        if tracer is not None:
            # The dialect has run its one-time set-up on a bare connection (psycopg's type
            # look-ups insist on a real one); later connections are traced.
            self.engine.dispose()

            @event.listens_for(self.engine, "do_connect")
            def traced_connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
                return TracedConnection(dialect.loaded_dbapi.connect(*cargs, **cparams), tracer)

            with self.engine.connect():
                pass
        self.session = Session(self.engine)

    def begin_round(self) -> None:
        self.session = Session(self.engine)

    def end_round(self) -> None:
        self.session.close()

    def close(self) -> None:
        self.session.close()
        self.engine.dispose()

    def create(self, rows: Sequence[RowData]) -> None:
        """`Session.add()` then `Session.commit()` per row: each row its own transaction."""
        session = self.session
        for row in rows:
            session.add(Item(**row))
            session.commit()

    def bulk_create(self, rows: Sequence[RowData]) -> None:
        """ORM bulk INSERT, `Session.execute(insert(Item), rows)`, then one `commit()`."""
        self.session.execute(insert(Item), [dict(r) for r in rows])
        self.session.commit()

    def get(self, ids: Sequence[int]) -> list[Any]:
        """`Session.get()` per primary key, all inside one `Session.begin()` transaction."""
        session = self.session
        with session.begin():
            return [session.get(Item, pk) for pk in ids]

    def filter(self, prefix: str) -> list[Any]:
        """`select(Item).where(Item.name.startswith(prefix)).order_by(Item.id)` via
        `Session.scalars().all()`, inside one `Session.begin()` transaction."""
        session = self.session
        with session.begin():
            stmt = select(Item).where(Item.name.startswith(prefix)).order_by(Item.id)
            return list(session.scalars(stmt).all())

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
        # Objects are expired by the commit that ended the read; attribute access reloads them.
        return [normal_row([getattr(o, c) for c in ALL_COLUMNS], ALL_COLUMNS) for o in result]
