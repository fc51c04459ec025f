"""bulk_create: n rows through the ORM's bulk API, in multi-row INSERTs, one transaction."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert

from backends.sqlalchemy_models import Item
from scenarios.base import Capabilities, Scenario, Tables, Work, register
from scenarios.contract import WorkContract
from scenarios.data import Row
from scenarios.idioms import EQUAL
from scenarios.schema import DATA_COLUMNS


@register
class BulkCreate(Scenario):
    """Insert n rows with the ORM's bulk API in one transaction, in multi-row INSERTs; where
    the database can return the new ids in bulk, the operation returns the n objects with
    their ids. Fresh empty table before every round."""

    name = "bulk_create"
    destructive = True
    writes_every_row = True

    def operations(self) -> int:
        return 1

    def prepare(self, tables: Tables) -> Work:
        tables.reset()
        rows, table = self.generated()
        return Work(rows, table, returns_created=True)

    def contract(self, capabilities: Capabilities) -> WorkContract:
        n = self.rows
        batches = math.ceil(n / capabilities.bulk_batch_rows)
        return WorkContract(
            statements={"INSERT": batches},
            transactions=1,
            autocommit=False,
            rows_written={"INSERT": n},
            returns_objects=capabilities.insert_returning,
            write_transactions=1,
            exact_statements=capabilities.insert_returning,
        )


@BulkCreate.idiom("sqlalchemy")
def sqlalchemy_bulk_create(orm: Any, rows: Sequence[Row]) -> None:
    """ORM bulk INSERT, `Session.execute(insert(Item), rows)`, then one `commit()`: no
    objects built, no ids fetched."""
    orm.session.execute(insert(Item), [dict(r) for r in rows])
    orm.session.commit()


@BulkCreate.idiom("sqlalchemy", EQUAL)
def sqlalchemy_bulk_create_equal(orm: Any, rows: Sequence[Row]) -> list[Any] | None:
    """`Session.scalars(insert(Item).returning(Item), rows)` in batches of the family's
    bulk size, then `commit()`: n objects with their ids, like Django's `bulk_create()`.
    Without RETURNING (MySQL) the ids cannot come back in bulk, as for Django."""
    session = orm.kept
    options = {"insertmanyvalues_page_size": orm.batch_rows}
    data = [dict(r) for r in rows]
    if not orm.engine.dialect.insert_executemany_returning:
        session.execute(insert(Item), data, execution_options=options)
        session.commit()
        return None
    objects = session.scalars(insert(Item).returning(Item), data, execution_options=options).all()
    session.commit()
    return list(objects)


@BulkCreate.idiom("django")
def django_bulk_create(orm: Any, rows: Sequence[Row]) -> list[Any]:
    """`Item.objects.bulk_create()` inside `transaction.atomic()`: one transaction, in the
    batches Django chooses (on MySQL, as many rows as fit the server's packet limit)."""
    Item = orm.models.Item
    with orm.atomic():
        return Item.objects.bulk_create([Item(**row) for row in rows], batch_size=orm.packet_batch)


@BulkCreate.idiom("django", EQUAL)
def django_bulk_create_equal(orm: Any, rows: Sequence[Row]) -> list[Any]:
    """`Item.objects.bulk_create(objs, batch_size=...)` inside `transaction.atomic()`, in
    the family's bulk batch size, the one SQLAlchemy's equal-work idiom uses."""
    Item = orm.models.Item
    with orm.atomic():
        return Item.objects.bulk_create([Item(**row) for row in rows], batch_size=orm.batch_rows)


@BulkCreate.idiom("dbapi")
def dbapi_bulk_create(db: Any, rows: Sequence[Row]) -> list[tuple[Any, ...]] | None:
    """BEGIN; multi-row `INSERT ... VALUES (...), (...) RETURNING id` in batches of the
    family's bulk size; COMMIT. Where the database cannot return ids, one `executemany`
    (mysqlclient rewrites it into multi-row INSERTs; pyodbc with `fast_executemany`)."""
    params = db.params
    cursor = db.conn.cursor()
    cursor.execute(db.sql_begin)
    if not db.returning:
        if db.target.family == "mssql":
            cursor.fast_executemany = True
        cursor.executemany(f"{db.sql_insert_head} VALUES {db.values}", [params(r) for r in rows])
        cursor.execute(db.sql_commit)
        cursor.close()
        return None
    created = []
    step = db.batch_rows
    for start in range(0, len(rows), step):
        batch = rows[start : start + step]
        sql = (
            f"{db.sql_insert_head}{db.sql_output} VALUES "
            f"{', '.join([db.values] * len(batch))}{db.sql_returning}"
        )
        cursor.execute(sql, [v for r in batch for v in params(r)])
        ids = [r[0] for r in cursor.fetchall()]
        created += [(pk, *(r[c] for c in DATA_COLUMNS)) for pk, r in zip(ids, batch, strict=True)]
    cursor.execute(db.sql_commit)
    cursor.close()
    return created
