"""The SQLAlchemy ORM mapping of the harness's tables (declarative classes over the tables the
harness creates from scenarios.schema)."""

from __future__ import annotations

import warnings
from datetime import datetime
from decimal import Decimal

from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import DeclarativeBase, Mapped

from scenarios.schema import item_table

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
