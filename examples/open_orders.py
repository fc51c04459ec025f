"""A team's own scenario: "the latest open orders of a customer", the query behind an account
page, on the team's own table, through both ORMs and the raw DB-API floor.

Run it from the repository root (the folder that holds `examples/`):

    ormbench run --scenarios examples.open_orders:OpenOrders

A scenario module of your own has the same parts, top to bottom:
- the table, as a SQLAlchemy `Table` whose name starts with `ormbench_` (the harness creates it
  before the run and drops it after; it touches no other table), and each ORM's model of it;
- the scenario class: its data (`prepare`, untimed), the work one run must do (`contract`), and
  what the harness checks after every round (the `Work` that `prepare` returns);
- one small function per backend and idiom, registered with `@OpenOrders.idiom(...)`; the
  docstring is the label the report shows.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Column, DateTime, Integer, MetaData, Numeric, String, Table, select
from sqlalchemy.orm import DeclarativeBase, Mapped

from scenarios import Capabilities, Scenario, Tables, Work
from scenarios.contract import WorkContract
from scenarios.schema import digest, normal_row

ORDERS = "ormbench_example_order"
LATEST = 10  # orders per page
STATUSES = ("open", "open", "open", "shipped", "cancelled")

orders_table = Table(
    ORDERS,
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", Integer, nullable=False, index=True),
    Column("status", String(20), nullable=False),
    Column("total", Numeric(12, 2), nullable=False),
    Column("placed_at", DateTime, nullable=False),
)
COLUMNS = tuple(c.name for c in orders_table.columns)


# --- the ORMs' models of the table -----------------------------------------------------------


class Base(DeclarativeBase):
    pass


class Order(Base):
    __table__ = orders_table

    id: Mapped[int]
    customer_id: Mapped[int]
    status: Mapped[str]
    total: Mapped[Decimal]
    placed_at: Mapped[datetime]


@cache
def django_order() -> Any:
    """Django's model, defined on first use: Django is configured only in the worker process
    that runs the database, after this module is imported."""
    from django.db import models

    class DjangoOrder(models.Model):
        id = models.AutoField(primary_key=True)
        customer_id = models.IntegerField()
        status = models.CharField(max_length=20)
        total = models.DecimalField(max_digits=12, decimal_places=2)
        placed_at = models.DateTimeField()

        class Meta:
            app_label = "ormbench"
            db_table = ORDERS
            managed = False  # the harness creates and drops the table

    return DjangoOrder


# --- the scenario ---------------------------------------------------------------------------


class OpenOrders(Scenario):
    """For each of 50 customers, the 10 latest open orders (status 'open', newest first, ties
    by id), every column loaded, all lookups in one transaction. The table holds n orders over
    n/20 customers, loaded once, untimed."""

    name = "open_orders"
    destructive = False
    tables = (orders_table,)
    checked_table = orders_table

    def operations(self) -> int:
        return len(self.customers)

    def prepare(self, tables: Tables) -> Work:
        rng = random.Random(self.seed)
        customers = max(1, self.rows // 20)
        start = datetime(2024, 1, 1)
        rows = [
            {
                "customer_id": rng.randrange(customers),
                "status": rng.choice(STATUSES),
                "total": Decimal(rng.randrange(100, 100_000)) / 100,
                # Whole seconds, some equal: the id breaks ties.
                "placed_at": start + timedelta(hours=rng.randrange(24 * 365)),
            }
            for _ in range(self.rows)
        ]
        tables.reset(orders_table)
        ids = tables.load(rows, orders_table)
        stored = [(pk, *(r[c] for c in COLUMNS[1:])) for pk, r in zip(ids, rows, strict=True)]
        self.customers = sorted(rng.sample(range(customers), min(50, customers)))
        expected = []
        for customer in self.customers:
            mine = [r for r in stored if r[1] == customer and r[2] == "open"]
            mine.sort(key=lambda r: (r[4], r[0]), reverse=True)
            expected += [normal_row(r, COLUMNS, orders_table) for r in mine[:LATEST]]
        self.fetched = len(expected)
        table = digest(normal_row(r[1:], COLUMNS[1:], orders_table) for r in stored)
        return Work(self.customers, table, expected)

    def contract(self, capabilities: Capabilities) -> WorkContract:
        customers = getattr(self, "customers", [])
        return WorkContract(
            statements={"SELECT": len(customers)},
            transactions=1,
            autocommit=False,
            select_rows=getattr(self, "fetched", None),
            returns_objects=True,
            write_transactions=0,
            columns=len(COLUMNS),
        )


@OpenOrders.idiom("sqlalchemy")
def sqlalchemy_open_orders(orm: Any, customers: Sequence[int]) -> list[Any]:
    """`select(Order).where(customer, status).order_by(placed_at desc, id desc).limit(10)`
    via `Session.scalars()` per customer, one transaction that `Session.close()` ends."""
    session = orm.session
    found: list[Any] = []
    for customer in customers:
        stmt = (
            select(Order)
            .where(Order.customer_id == customer, Order.status == "open")
            .order_by(Order.placed_at.desc(), Order.id.desc())
            .limit(LATEST)
        )
        found += session.scalars(stmt).all()
    session.close()
    return found


@OpenOrders.idiom("django")
def django_open_orders(orm: Any, customers: Sequence[int]) -> list[Any]:
    """`Order.objects.filter(customer_id=…, status="open").order_by("-placed_at", "-id")[:10]`
    per customer, inside one `transaction.atomic()`."""
    objects = django_order().objects
    found: list[Any] = []
    with orm.atomic():
        for customer in customers:
            query = objects.filter(customer_id=customer, status="open")
            found += query.order_by("-placed_at", "-id")[:LATEST]
    return found


@OpenOrders.idiom("dbapi")
def dbapi_open_orders(db: Any, customers: Sequence[int]) -> list[Any]:
    """BEGIN; per customer `SELECT … WHERE customer_id = ? AND status = 'open' ORDER BY
    placed_at DESC, id DESC` with the database's row limit; COMMIT."""
    p = db.placeholder
    where = f"customer_id = {p} AND status = {p} ORDER BY placed_at DESC, id DESC"
    if db.target.family == "mssql":
        sql = f"SELECT TOP {LATEST} {', '.join(COLUMNS)} FROM {ORDERS} WHERE {where}"
    else:
        sql = f"SELECT {', '.join(COLUMNS)} FROM {ORDERS} WHERE {where} LIMIT {LATEST}"
    cursor = db.conn.cursor()
    cursor.execute(db.sql_begin)
    found: list[Any] = []
    for customer in customers:
        cursor.execute(sql, (customer, "open"))
        found += cursor.fetchall()
    cursor.execute(db.sql_commit)
    cursor.close()
    return found
