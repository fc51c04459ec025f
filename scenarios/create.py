"""create: n rows inserted one at a time through ORM objects, each its own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from backends.sqlalchemy_models import Item
from scenarios.base import Capabilities, Scenario, Tables, Work, register
from scenarios.contract import WorkContract
from scenarios.data import Row
from scenarios.idioms import EQUAL


@register
class Create(Scenario):
    """Insert n rows one at a time through ORM objects, each row its own transaction (an
    INSERT that commits itself is the least that meets it). Fresh empty table before every
    round."""

    name = "create"
    destructive = True
    writes_every_row = True

    def prepare(self, tables: Tables) -> Work:
        tables.reset()
        rows, table = self.generated()
        return Work(rows, table)

    def contract(self, capabilities: Capabilities) -> WorkContract:
        n = self.rows
        return WorkContract(
            statements={"INSERT": n},
            transactions=n,
            autocommit=True,
            rows_written={"INSERT": n},
            write_transactions=n,
        )


@Create.idiom("sqlalchemy")
def sqlalchemy_create(orm: Any, rows: Sequence[Row]) -> None:
    """`Session.add()` then `Session.commit()` per row: each row its own transaction
    (BEGIN, INSERT, COMMIT)."""
    session = orm.session
    for row in rows:
        session.add(Item(**row))
        session.commit()


@Create.idiom("sqlalchemy", EQUAL)
def sqlalchemy_create_equal(orm: Any, rows: Sequence[Row]) -> None:
    """`Session.add()` then `Session.flush()` per row on the AUTOCOMMIT Engine: the database
    commits each INSERT by itself, as Django's autocommit does, with no BEGIN or COMMIT."""
    session = orm.autocommit
    for row in rows:
        session.add(Item(**row))
        session.flush()


@Create.idiom("django")
def django_create(orm: Any, rows: Sequence[Row]) -> None:
    """`Item.objects.create()` per row in autocommit: each INSERT its own transaction."""
    objects = orm.models.Item.objects
    for row in rows:
        objects.create(**row)


@Create.idiom("dbapi")
def dbapi_create(db: Any, rows: Sequence[Row]) -> None:
    """`cursor.execute(INSERT ...)` per row in autocommit, the new id from `lastrowid`
    (`RETURNING id` on PostgreSQL, `OUTPUT INSERTED.id` on SQL Server, whose drivers have no
    `lastrowid`): each INSERT its own transaction."""
    returning = db.target.family in ("postgresql", "mssql")
    sql = f"{db.sql_insert_head}{db.sql_output} VALUES {db.values}"
    if db.target.family == "postgresql":
        sql += db.sql_returning
    params = db.params
    cursor = db.conn.cursor()
    for row in rows:
        cursor.execute(sql, params(row))
        _ = cursor.fetchone()[0] if returning else cursor.lastrowid
    cursor.close()
