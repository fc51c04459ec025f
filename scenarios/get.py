"""get: n primary-key lookups in one transaction, each materialising one ORM object."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from backends.sqlalchemy_models import Item
from scenarios.base import Capabilities, Tables, Work, register, with_id
from scenarios.contract import WorkContract
from scenarios.idioms import EQUAL
from scenarios.reads import ReadScenario


@register
class Get(ReadScenario):
    """n primary-key lookups, each materialising one ORM object with every column loaded, all
    in one transaction. The n rows are loaded once, untimed; keys are visited in a shuffled
    order."""

    name = "get"

    def prepare(self, tables: Tables) -> Work:
        loaded = self.load(tables, lambda _, row: True)  # every row is looked up
        by_id = dict(loaded.kept)
        order = list(loaded.ids)
        random.Random(self.seed).shuffle(order)
        return Work(order, loaded.table, [with_id(pk, by_id.pop(pk)) for pk in order])

    def contract(self, capabilities: Capabilities) -> WorkContract:
        n = self.rows
        return WorkContract(
            statements={"SELECT": n},
            transactions=1,
            autocommit=False,
            select_rows=n,
            returns_objects=True,
            write_transactions=0,
        )


@Get.idiom("sqlalchemy")
def sqlalchemy_get(orm: Any, ids: Sequence[int]) -> list[Any]:
    """`Session.get()` per primary key in one transaction, which `Session.close()` ends
    (the tutorial's `with Session(engine) as session:` read)."""
    session = orm.session
    objects = [session.get(Item, pk) for pk in ids]
    session.close()
    return objects


@Get.idiom("django")
def django_get(orm: Any, ids: Sequence[int]) -> list[Any]:
    """`Item.objects.get(pk=...)` per primary key in autocommit, Django's default: each
    lookup is its own transaction."""
    objects = orm.models.Item.objects
    return [objects.get(pk=pk) for pk in ids]


@Get.idiom("django", EQUAL)
def django_get_equal(orm: Any, ids: Sequence[int]) -> list[Any]:
    """The same lookups inside one `transaction.atomic()`: the contract's one transaction."""
    objects = orm.models.Item.objects
    with orm.atomic():
        return [objects.get(pk=pk) for pk in ids]


@Get.idiom("dbapi")
def dbapi_get(db: Any, ids: Sequence[int]) -> list[Any]:
    """BEGIN; `SELECT ... WHERE id = ?` and `fetchone()` per key; COMMIT."""
    sql = db.sql_get
    cursor = db.conn.cursor()
    cursor.execute(db.sql_begin)
    rows = []
    for pk in ids:
        cursor.execute(sql, (pk,))
        rows.append(cursor.fetchone())
    cursor.execute(db.sql_commit)
    cursor.close()
    return rows
