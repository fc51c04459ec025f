"""set-based writes: one UPDATE, or one DELETE, of every row that matches a condition."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import delete, update

from backends.sqlalchemy_models import Item
from scenarios.base import Capabilities, Scenario, Tables, Work, register, table_of
from scenarios.contract import WorkContract
from scenarios.data import iter_rows
from scenarios.idioms import DOCUMENTED, EQUAL
from scenarios.schema import ITEM_TABLE


class SetBased(Scenario):
    """What both set-based writes share: fresh n rows before every round (about half of them
    active), one operation per run."""

    destructive = True

    def operations(self) -> int:
        return 1

    def fresh_rows(self, tables: Tables) -> None:
        tables.reset()
        tables.load(iter_rows(self.rows, self.seed))

    def count(self, active: bool) -> int:
        """Rows of the generated data whose `active` is `active`."""
        actives = self.expected_once(
            "active", lambda: sum(r["active"] for r in iter_rows(self.rows, self.seed))
        )
        return actives if active else self.rows - actives


@register
class BulkUpdate(SetBased):
    """One UPDATE of every active row (about half of n), adding one to its quantity in the
    database (`SET quantity = quantity + 1`): no row loaded, one statement that is its own
    transaction. Fresh n rows before every round."""

    name = "bulk_update"
    default = True  # in the default run (README, "Scenarios")

    def prepare(self, tables: Tables) -> Work:
        self.fresh_rows(tables)
        changed = (
            {**r, "quantity": r["quantity"] + 1} if r["active"] else r
            for r in iter_rows(self.rows, self.seed)
        )
        return Work(None, self.expected_once("table", lambda: table_of(changed)))

    def contract(self, capabilities: Capabilities) -> WorkContract:
        return WorkContract(
            statements={"UPDATE": 1},
            transactions=1,
            autocommit=True,
            rows_written={"UPDATE": self.count(True)},
            update_columns=1,
            write_transactions=1,
        )


@register
class BulkDelete(SetBased):
    """One DELETE of every inactive row (about half of n): no row loaded, one statement in one
    explicit transaction (BEGIN, DELETE, COMMIT), the one Django's `QuerySet.delete()` always
    opens around its work (no public call deletes without it) and SQLAlchemy's Session sends
    too. Fresh n rows before every round."""

    name = "bulk_delete"
    default = False

    def prepare(self, tables: Tables) -> Work:
        self.fresh_rows(tables)
        kept = (r for r in iter_rows(self.rows, self.seed) if r["active"])
        return Work(None, self.expected_once("table", lambda: table_of(kept)))

    def contract(self, capabilities: Capabilities) -> WorkContract:
        return WorkContract(
            statements={"DELETE": 1},
            transactions=1,
            autocommit=False,
            rows_written={"DELETE": self.count(False)},
            write_transactions=1,
        )


# `Item.active == True` (not `.is_(True)`): on SQL Server `is_()` renders `active IS 1`, which
# T-SQL refuses; `==` renders `active = 1` there and `active = true` elsewhere.
ACTIVE = Item.active == True  # noqa: E712
INACTIVE = Item.active == False  # noqa: E712


# --- bulk_update ----------------------------------------------------------------------------


@BulkUpdate.idiom("sqlalchemy")
def sqlalchemy_bulk_update(orm: Any, _: None) -> None:
    """`Session.execute(update(Item).where(Item.active == True).values(quantity=Item.quantity
    + 1))` (ORM-enabled UPDATE, `synchronize_session` left at its default), then
    `Session.commit()`: BEGIN, UPDATE, COMMIT."""
    session = orm.session
    session.execute(update(Item).where(ACTIVE).values(quantity=Item.quantity + 1))
    session.commit()


@BulkUpdate.idiom("sqlalchemy", EQUAL)
def sqlalchemy_bulk_update_equal(orm: Any, _: None) -> None:
    """The same UPDATE via `Session.execute()` on the AUTOCOMMIT Engine, then
    `Session.close()`: the statement commits itself, as Django's autocommit sends it.
    `Session.commit()` would still call the driver's commit(), which mysqlclient sends as a
    COMMIT the others do not; close() ends the Session with nothing sent (the Engine's
    skip_autocommit_rollback)."""
    session = orm.autocommit
    session.execute(update(Item).where(ACTIVE).values(quantity=Item.quantity + 1))
    session.close()


@BulkUpdate.idiom("django")
def django_bulk_update(orm: Any, _: None) -> None:
    """`Item.objects.filter(active=True).update(quantity=F("quantity") + 1)` in autocommit:
    one UPDATE that commits itself."""
    from django.db.models import F

    orm.models.Item.objects.filter(active=True).update(quantity=F("quantity") + 1)


@BulkUpdate.idiom("dbapi")
def dbapi_bulk_update(db: Any, _: None) -> None:
    """`UPDATE ... SET quantity = quantity + 1 WHERE active = ?` in autocommit."""
    cursor = db.conn.cursor()
    sql = f"UPDATE {ITEM_TABLE} SET quantity = quantity + 1 WHERE active = {db.placeholder}"
    cursor.execute(sql, (True,))
    cursor.close()


# --- bulk_delete ----------------------------------------------------------------------------


@BulkDelete.idiom("sqlalchemy")
def sqlalchemy_bulk_delete(orm: Any, _: None) -> None:
    """`Session.execute(delete(Item).where(Item.active == False))` (ORM-enabled DELETE,
    `synchronize_session` left at its default), then `Session.commit()`: BEGIN, DELETE,
    COMMIT."""
    session = orm.session
    session.execute(delete(Item).where(INACTIVE))
    session.commit()


@BulkDelete.idiom("django")
def django_bulk_delete(orm: Any, _: None) -> None:
    """`Item.objects.filter(active=False).delete()`: with no signals and no relations to
    collect, Django's fast path, one DELETE inside the `atomic()` that `delete()` opens."""
    orm.models.Item.objects.filter(active=False).delete()


@BulkDelete.idiom("dbapi")
def dbapi_bulk_delete(db: Any, _: None) -> None:
    """BEGIN; `DELETE FROM ... WHERE active = ?`; COMMIT."""
    cursor = db.conn.cursor()
    cursor.execute(db.sql_begin)
    cursor.execute(f"DELETE FROM {ITEM_TABLE} WHERE active = {db.placeholder}", (False,))
    cursor.execute(db.sql_commit)
    cursor.close()


# --- SQL Server, compiled offline (harness.tools.tsql) --------------------------------------------


@BulkUpdate.compiles("sqlalchemy")
def sqlalchemy_bulk_update_tsql(tools: Any) -> dict[str, list[Any]]:
    stmt = update(Item).where(ACTIVE).values(quantity=Item.quantity + 1)
    what = "Session.execute(update(Item).where(Item.active == True).values(quantity=...))"
    statement = tools.single(stmt, f"{what} + Session.commit()")
    return {
        DOCUMENTED: [statement],
        EQUAL: [replace(statement, what=f"{what}, AUTOCOMMIT Engine")],
    }


@BulkDelete.compiles("sqlalchemy")
def sqlalchemy_bulk_delete_tsql(tools: Any) -> dict[str, list[Any]]:
    what = "Session.execute(delete(Item).where(Item.active == False)) + Session.commit()"
    return {DOCUMENTED: [tools.single(delete(Item).where(INACTIVE), what)]}


@BulkUpdate.compiles("django")
def django_bulk_update_tsql(tools: Any) -> dict[str, list[Any]]:
    from django.db.models import F
    from django.db.models.sql import UpdateQuery

    from backends.django_models import Item as DjangoItem

    # What QuerySet.update() does: the filter's query as an UpdateQuery with the new values.
    query = DjangoItem.objects.filter(active=True).query.chain(UpdateQuery)
    query.add_update_values({"quantity": F("quantity") + 1})
    sql, params = query.get_compiler(using="default").as_sql()
    what = 'Item.objects.filter(active=True).update(quantity=F("quantity") + 1)'
    return {DOCUMENTED: [tools.statement(sql, params, what)]}


@BulkDelete.compiles("django")
def django_bulk_delete_tsql(tools: Any) -> dict[str, list[Any]]:
    from django.db.models.sql import DeleteQuery

    from backends.django_models import Item as DjangoItem

    # What the fast path of QuerySet.delete() sends (QuerySet._raw_delete): the filter's
    # query as a DeleteQuery.
    query = DjangoItem.objects.filter(active=False).query.clone()
    query.__class__ = DeleteQuery
    sql, params = query.get_compiler(using="default").as_sql()
    what = "Item.objects.filter(active=False).delete(), inside the atomic() it opens"
    return {DOCUMENTED: [tools.statement(sql, params, what)]}
