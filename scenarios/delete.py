"""delete: n rows loaded and deleted one at a time through the ORM, each its own transaction."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Any

from backends.sqlalchemy_models import Item
from scenarios.base import Capabilities, Scenario, Tables, Work, register, table_of
from scenarios.contract import WorkContract, load_then_write
from scenarios.data import Row, iter_rows
from scenarios.schema import ITEM_TABLE


@register
class Delete(Scenario):
    """n rows deleted one at a time through the ORM (load every column, delete), each row its
    own transaction. Fresh 2n rows before every round; every other row is deleted."""

    name = "delete"
    destructive = True

    def prepare(self, tables: Tables) -> Work:
        tables.reset()
        ids = tables.load(iter_rows(2 * self.rows, self.seed))
        kept = self.expected_once("kept", lambda: table_of(islice(self.all_rows(), 1, None, 2)))
        return Work(ids[0::2], kept)

    def all_rows(self) -> Iterator[Row]:
        return iter_rows(2 * self.rows, self.seed)

    def contract(self, capabilities: Capabilities) -> WorkContract:
        return load_then_write(self.rows, "DELETE")


@Delete.idiom("sqlalchemy")
def sqlalchemy_delete(orm: Any, ids: Sequence[int]) -> None:
    """Per row: `Session.get()`, `Session.delete()`, `Session.commit()`: a transaction each."""
    session = orm.session
    for pk in ids:
        session.delete(session.get(Item, pk))
        session.commit()


@Delete.idiom("django")
def django_delete(orm: Any, ids: Sequence[int]) -> None:
    """Per row, inside `transaction.atomic()`: `objects.get()` then `Model.delete()`."""
    objects = orm.models.Item.objects
    for pk in ids:
        with orm.atomic():
            objects.get(pk=pk).delete()


@Delete.idiom("dbapi")
def dbapi_delete(db: Any, ids: Sequence[int]) -> None:
    """Per row: BEGIN; `SELECT` the row; `DELETE`; COMMIT."""
    sql_get = db.sql_get
    sql_delete = f"DELETE FROM {ITEM_TABLE} WHERE id = {db.placeholder}"
    begin, commit = db.sql_begin, db.sql_commit
    cursor = db.conn.cursor()
    for pk in ids:
        cursor.execute(begin)
        cursor.execute(sql_get, (pk,))
        cursor.fetchone()
        cursor.execute(sql_delete, (pk,))
        cursor.execute(commit)
    cursor.close()
