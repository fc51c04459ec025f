"""The SQLAlchemy ORM mapping of the harness's tables (declarative classes over the tables the
harness creates from scenarios.schema)."""

from __future__ import annotations

import warnings
from datetime import datetime
from decimal import Decimal

from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import DeclarativeBase, Mapped, relationship

from scenarios.schema import child_table, item_table, parent_table

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


class Parent(Base):
    __table__ = parent_table

    id: Mapped[int]
    name: Mapped[str]
    # The default lazy="select": each parent's children load on first access (N+1).
    children: Mapped[list[Child]] = relationship(back_populates="parent", order_by="Child.id")


class Child(Base):
    __table__ = child_table

    id: Mapped[int]
    parent_id: Mapped[int]
    name: Mapped[str]
    amount: Mapped[Decimal]
    parent: Mapped[Parent] = relationship(back_populates="children")
