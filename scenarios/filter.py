"""filter: one case-sensitive prefix query, ordered by id, materialised as ORM objects."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backends.sqlalchemy_models import Item
from scenarios.base import Capabilities, Tables, Work, register, with_id
from scenarios.contract import WorkContract
from scenarios.data import FILTER_PREFIX
from scenarios.idioms import EQUAL
from scenarios.reads import ReadScenario


@register
class Filter(ReadScenario):
    """One query, its own transaction: rows whose name starts with a prefix, case-sensitively
    (about one in eight of n match; as many again differ only in letter case and must not),
    ordered by id, materialised as ORM objects with every column loaded. The n rows are
    loaded once, untimed."""

    name = "filter"

    def operations(self) -> int:
        return 1

    def prepare(self, tables: Tables) -> Work:
        loaded = self.load(tables, lambda _, row: row["name"].startswith(FILTER_PREFIX))
        matching = sorted(loaded.kept, key=lambda pair: pair[0])
        self.matching = len(matching)
        return Work(FILTER_PREFIX, loaded.table, [with_id(pk, r) for pk, r in matching])

    def contract(self, capabilities: Capabilities) -> WorkContract:
        return WorkContract(
            statements={"SELECT": 1},
            transactions=1,
            autocommit=True,
            select_rows=getattr(self, "matching", None),
            returns_objects=True,
            write_transactions=0,
        )


@Filter.idiom("sqlalchemy")
def sqlalchemy_filter(orm: Any, prefix: str) -> list[Any]:
    """`select(Item).where(Item.name.startswith(prefix)).order_by(Item.id)` via
    `Session.scalars().all()` in one transaction, which `Session.close()` ends."""
    session = orm.session
    stmt = select(Item).where(Item.name.startswith(prefix)).order_by(Item.id)
    objects = list(session.scalars(stmt).all())
    session.close()
    return objects


@Filter.idiom("sqlalchemy", EQUAL)
def sqlalchemy_filter_equal(orm: Any, prefix: str) -> list[Any]:
    """The same query on the AUTOCOMMIT Engine: one SELECT that is its own transaction,
    as Django's autocommit sends it."""
    session = orm.autocommit
    stmt = select(Item).where(Item.name.startswith(prefix)).order_by(Item.id)
    objects = list(session.scalars(stmt).all())
    session.close()
    return objects


@Filter.idiom("django")
def django_filter(orm: Any, prefix: str) -> list[Any]:
    """`Item.objects.filter(name__startswith=prefix).order_by("id")`, evaluated with
    `list()`, in autocommit (Django's default): one SELECT that is its own transaction."""
    return list(orm.models.Item.objects.filter(name__startswith=prefix).order_by("id"))


@Filter.idiom("dbapi")
def dbapi_filter(db: Any, prefix: str) -> list[Any]:
    """`SELECT ... WHERE name LIKE 'prefix%' ORDER BY id` in autocommit, `fetchall()`."""
    cursor = db.conn.cursor()
    cursor.execute(f"{db.sql_select} WHERE name LIKE {db.placeholder} ORDER BY id", (prefix + "%",))
    rows = cursor.fetchall()
    cursor.close()
    return list(rows)
