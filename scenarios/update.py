"""update: n rows loaded, changed and saved one at a time, each its own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from backends.sqlalchemy_models import Item
from scenarios.base import Capabilities, Scenario, Tables, Work, register
from scenarios.contract import WorkContract, load_then_write
from scenarios.data import iter_rows
from scenarios.idioms import EQUAL
from scenarios.schema import ITEM_TABLE, Digest, normal_mapping

Changes = Sequence[tuple[int, int]]  # (id, new quantity)


@register
class Update(Scenario):
    """n rows, one at a time: load the row (every column), change its quantity, save only
    that column; each row its own transaction, load and save in the same one. Fresh n rows
    before every round."""

    name = "update"
    destructive = True
    writes_every_row = True

    def prepare(self, tables: Tables) -> Work:
        tables.reset()
        ids = tables.load(iter_rows(self.rows, self.seed))
        quantities, table = self.expected_once("changed", self.changed)
        return Work(list(zip(ids, quantities, strict=True)), table)

    def changed(self) -> tuple[list[int], tuple[int, str]]:
        """Every row's new quantity, in load order, and the table's digest after the run."""
        quantities: list[int] = []
        table = Digest()
        for row in iter_rows(self.rows, self.seed):
            quantities.append(row["quantity"] + 1)
            table.add(normal_mapping({**row, "quantity": quantities[-1]}))
        return quantities, table.value()

    def contract(self, capabilities: Capabilities) -> WorkContract:
        return load_then_write(self.rows, "UPDATE", update_columns=1)


@Update.idiom("sqlalchemy")
def sqlalchemy_update(orm: Any, changes: Changes) -> None:
    """Per row: `Session.get()`, set `quantity`, `Session.commit()` (load and save in one
    transaction; the unit of work sends only the changed column)."""
    session = orm.session
    for pk, quantity in changes:
        session.get(Item, pk).quantity = quantity
        session.commit()


@Update.idiom("django")
def django_update(orm: Any, changes: Changes) -> None:
    """Per row, inside `transaction.atomic()`: `objects.get()`, set `quantity`, `save()`
    (plain `save()` writes every column, as Django does unless `update_fields` is given)."""
    objects = orm.models.Item.objects
    for pk, quantity in changes:
        with orm.atomic():
            item = objects.get(pk=pk)
            item.quantity = quantity
            item.save()


@Update.idiom("django", EQUAL)
def django_update_equal(orm: Any, changes: Changes) -> None:
    """Per row, inside `transaction.atomic()`: `objects.get()`, set `quantity`,
    `save(update_fields=["quantity"])`: the UPDATE sets the changed column only."""
    objects = orm.models.Item.objects
    for pk, quantity in changes:
        with orm.atomic():
            item = objects.get(pk=pk)
            item.quantity = quantity
            item.save(update_fields=["quantity"])


@Update.idiom("dbapi")
def dbapi_update(db: Any, changes: Changes) -> None:
    """Per row: BEGIN; `SELECT` the row; `UPDATE ... SET quantity`; COMMIT."""
    p = db.placeholder
    sql_get, sql_update = (
        db.sql_get,
        f"UPDATE {ITEM_TABLE} SET quantity = {p} WHERE id = {p}",
    )
    begin, commit = db.sql_begin, db.sql_commit
    cursor = db.conn.cursor()
    for pk, quantity in changes:
        cursor.execute(begin)
        cursor.execute(sql_get, (pk,))
        cursor.fetchone()
        cursor.execute(sql_update, (quantity, pk))
        cursor.execute(commit)
    cursor.close()
