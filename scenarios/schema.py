"""The one table every scenario works on, and the backend-neutral form of its rows.

The harness creates the table from this definition, so every backend meets the same schema;
each backend maps it in its own idiom. `normal_row` is how rows are compared and digested.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
)

TABLE_PREFIX = "ormbench_"
ITEM_TABLE = "ormbench_item"
OWNER_TABLE = "ormbench_owner"
PARENT_TABLE = "ormbench_parent"
CHILD_TABLE = "ormbench_child"

metadata = MetaData()

MYSQL_NAME_COLLATION = "utf8mb4_bin"
MSSQL_NAME_COLLATION = "Latin1_General_100_BIN2"
CASE_SENSITIVE_NAME = (
    String(100)
    .with_variant(String(100, collation=MYSQL_NAME_COLLATION), "mysql", "mariadb")
    .with_variant(String(100, collation=MSSQL_NAME_COLLATION), "mssql")
)

item_table = Table(
    ITEM_TABLE,
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # Text compares case-sensitively on every database, as the scenarios define it (a
    # case-sensitive prefix match): PostgreSQL's and SQLite's default collations already do;
    # MySQL's and SQL Server's defaults ignore case, so the name column gets a binary one.
    Column("name", CASE_SENSITIVE_NAME, nullable=False),
    Column("email", String(200), nullable=False, unique=True),
    Column("quantity", Integer, nullable=False),
    Column("price", Numeric(10, 2), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# A parent/child pair for the relationship scenarios: each parent has a few children.
parent_table = Table(
    PARENT_TABLE,
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
)
child_table = Table(
    CHILD_TABLE,
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("parent_id", Integer, ForeignKey(f"{PARENT_TABLE}.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("amount", Numeric(10, 2), nullable=False),
)

# The columns in the order rows are read, written and compared (id first, when it is kept).
DATA_COLUMNS: tuple[str, ...] = ("name", "email", "quantity", "price", "active", "created_at")
ALL_COLUMNS: tuple[str, ...] = ("id", *DATA_COLUMNS)

NormalRow = tuple[Any, ...]


def normal_value(column: Column[Any], value: Any) -> Any:
    """One value as a plain, comparable one, by the column's type: decimals at the column's
    scale, booleans as bool, datetimes as ISO text to the second, integers as int, the rest as
    text. Every driver and ORM that read the same stored value agree on the result."""
    kind = column.type
    if value is None:
        return None
    if isinstance(kind, Boolean):
        return bool(int(value))
    if isinstance(kind, Integer):
        return int(value)
    if isinstance(kind, Numeric) and not isinstance(kind, Float):
        scale = kind.scale if kind.scale is not None else 2
        return str(Decimal(str(value)).quantize(Decimal(1).scaleb(-scale)))
    if isinstance(kind, DateTime):
        if isinstance(value, str):  # SQLite keeps datetimes as text, each ORM its own way
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")
    return str(value)


def normal_row(
    values: Sequence[Any], columns: Sequence[str] = DATA_COLUMNS, table: Table = item_table
) -> NormalRow:
    """One row of `table` as plain, comparable values, whatever driver or ORM produced it."""
    return tuple(normal_value(table.c[c], v) for c, v in zip(columns, values, strict=True))


def normal_mapping(row: Mapping[str, Any], columns: Sequence[str] = DATA_COLUMNS) -> NormalRow:
    return normal_row([row[c] for c in columns], columns)


def digest(rows: Iterable[NormalRow]) -> tuple[int, str]:
    """Row count and an order-independent SHA-256 of normalised rows."""
    lines = sorted(repr(r) for r in rows)
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode())
        h.update(b"\n")
    return len(lines), h.hexdigest()
