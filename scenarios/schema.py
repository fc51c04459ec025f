"""The one table every scenario works on, and the backend-neutral form of its rows.

The harness creates the table from this definition, so every backend meets the same schema;
each backend maps it in its own idiom. `normal_row` is how rows are compared and digested.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache, partial
from hashlib import sha256
from operator import call
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
    text; NULL stays None. Every driver and ORM that read the same stored value agree on the
    result."""
    return _normaliser(column)(value)


def _normaliser(column: Column[Any]) -> Callable[[Any], Any]:
    """The function `normal_value` applies to a value of `column`'s type (chosen once per
    column: the digests call it for every value of every row)."""
    kind = column.type
    if isinstance(kind, Boolean):
        return _normal_bool
    if isinstance(kind, Integer):
        return _normal_int
    if isinstance(kind, Numeric) and not isinstance(kind, Float):
        scale = kind.scale if kind.scale is not None else 2
        return partial(_normal_decimal, Decimal(1).scaleb(-scale))
    if isinstance(kind, DateTime):
        return _normal_datetime
    return _normal_text


def _normal_bool(value: Any) -> bool | None:
    return None if value is None else bool(int(value))


def _normal_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _normal_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _normal_decimal(unit: Decimal, value: Any) -> str | None:
    if value is None:
        return None
    # Decimal(str(d)) is d itself: only other types (SQLite's floats, text) go through text.
    exact = value if type(value) is Decimal else Decimal(str(value))
    return str(exact.quantize(unit))


def _normal_datetime(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite keeps datetimes as text, each ORM its own way
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    return value.isoformat(sep=" ", timespec="seconds")


@cache
def _row_normalisers(table: Table, columns: tuple[str, ...]) -> tuple[Callable[[Any], Any], ...]:
    return tuple(_normaliser(table.c[c]) for c in columns)


def row_normaliser(
    columns: Sequence[str] = DATA_COLUMNS, table: Table = item_table
) -> Callable[[Sequence[Any]], NormalRow]:
    """`normal_row` for many rows of the same columns: the per-column functions looked up once
    and applied by `map` (the digests normalise every row of a table this way)."""
    steps = _row_normalisers(table, tuple(columns))
    width = len(steps)

    def normal(values: Sequence[Any]) -> NormalRow:
        if len(values) != width:
            raise ValueError(f"a row of {len(values)} values for {width} columns")
        return tuple(map(call, steps, values))

    return normal


def normal_row(
    values: Sequence[Any], columns: Sequence[str] = DATA_COLUMNS, table: Table = item_table
) -> NormalRow:
    """One row of `table` as plain, comparable values, whatever driver or ORM produced it."""
    return row_normaliser(columns, table)(values)


def normal_mapping(row: Mapping[str, Any], columns: Sequence[str] = DATA_COLUMNS) -> NormalRow:
    return normal_row([row[c] for c in columns], columns)


# The digest's sum is kept modulo 2^256: a multiset hash (equal multisets of rows, equal sums;
# unlike XOR, a row twice does not cancel out), computed in one pass in any order, in memory
# that does not grow with the rows.
_MODULUS = 1 << 256


class Digest:
    """The order-independent digest of a multiset of normalised rows, built one row at a
    time: the row count and the sum of the rows' SHA-256 (of their repr) modulo 2^256. Equal
    multisets give equal digests whatever the order they are added in; a changed, added or
    missing row changes it (up to a SHA-256 collision)."""

    __slots__ = ("count", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0

    def add(self, row: NormalRow) -> None:
        self.count += 1
        self.total += row_hash(row)

    def update(self, rows: Iterable[NormalRow]) -> Digest:
        count, total = 0, 0
        for row in rows:
            count += 1
            total += int.from_bytes(sha256(repr(row).encode()).digest(), "big")
        self.count += count
        self.total += total
        return self

    def value(self) -> tuple[int, str]:
        return self.count, f"{self.total % _MODULUS:064x}"


def row_hash(row: NormalRow) -> int:
    """One row's term of a `Digest`."""
    return int.from_bytes(sha256(repr(row).encode()).digest(), "big")


def digest(rows: Iterable[NormalRow]) -> tuple[int, str]:
    """Row count and an order-independent SHA-256-based hash of normalised rows (`Digest`)."""
    return Digest().update(rows).value()
