"""upsert: n rows, half new and half already there by their unique email: insert the new ones,
update the existing ones' quantity and price, in multi-row statements, one transaction."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from backends.sqlalchemy_models import Item
from scenarios.base import Capabilities, Scenario, Tables, Work, register, table_of, with_id
from scenarios.contract import WorkContract
from scenarios.data import Row, make_rows
from scenarios.idioms import EQUAL

# What an upsert writes to a row that is already there; the rest of the incoming row is not.
UPDATED_COLUMNS = ("quantity", "price")

SQL_SERVER_WHY = {
    "sqlalchemy": "SQLAlchemy's mssql dialect has no upsert (MERGE) construct",
    "django": "mssql-django 2.0 does not support bulk_create(update_conflicts=True) "
    "(its features say supports_update_conflicts = False)",
    "dbapi": "no ORM can run it on SQL Server, so a hand-written MERGE would have nothing "
    "to be compared with",
}


@register
class Upsert(Scenario):
    """n rows in one transaction, in multi-row INSERT ... ON CONFLICT (email) DO UPDATE (MySQL:
    ON DUPLICATE KEY UPDATE) statements: half of them new, inserted; half already in the table
    under the same email, whose quantity and price are updated in place, keeping their ids
    (the incoming rows also carry another name and active flag, which must not be written).
    Fresh n/2 existing rows before every round."""

    name = "upsert"
    destructive = True
    # Every row in the table afterwards was inserted or updated by the run (PostgreSQL gives
    # an updated row a new version, whose xmin is the upserting transaction).
    writes_every_row = True
    default = False

    def operations(self) -> int:
        return 1

    @property
    def existing(self) -> int:
        """How many of the n rows are in the table before the upsert."""
        return self.rows // 2

    def prepare(self, tables: Tables) -> Work:
        tables.reset()
        rows = make_rows(self.rows, self.seed)
        there, new = rows[: self.existing], rows[self.existing :]
        ids = tables.load(there)
        rng = random.Random(f"upsert:{self.seed}")
        changed = [
            {
                **row,
                "name": row["name"] + "-renamed",
                "active": not row["active"],
                "quantity": row["quantity"] + 1 + rng.randrange(1000),
                "price": row["price"] + Decimal(rng.randrange(1, 10_000)) / 100,
            }
            for row in there
        ]
        incoming = changed + new
        rng.shuffle(incoming)  # existing and new rows mixed in every statement
        after = [
            {**old, **{c: row[c] for c in UPDATED_COLUMNS}}
            for old, row in zip(there, changed, strict=True)
        ]
        kept = [with_id(pk, row) for pk, row in zip(ids, after, strict=True)]
        return Work(incoming, table_of(after + new), kept_rows=kept)

    def contract(self, capabilities: Capabilities) -> WorkContract:
        n = self.rows
        # Rows as the database reports them: PostgreSQL and SQLite count each inserted or
        # updated row once. MySQL's affected-rows count is 1 per inserted row and 2 per
        # updated one (its documented ON DUPLICATE KEY UPDATE semantics), except that with
        # RETURNING (MariaDB) the driver's row count is the rows returned: one per row.
        doubled = capabilities.family == "mysql" and not capabilities.insert_returning
        written = n + self.existing if doubled else n
        return WorkContract(
            statements={"INSERT": math.ceil(n / capabilities.bulk_batch_rows)},
            transactions=1,
            autocommit=False,
            rows_written={"INSERT": written},
            # Django's bulk_create() fetches every row's id where the database can return
            # rows from a bulk insert, and cannot be told not to: equal work fetches them too.
            rows_fetched=n if capabilities.insert_returning else 0,
            write_transactions=1,
            # Without RETURNING (MySQL), the driver's executemany packs the rows into
            # statements of its own size: at most the contract's count.
            exact_statements=capabilities.insert_returning,
        )

    def unsupported(self, backend: str, family: str) -> str | None:
        if family == "mssql":
            return SQL_SERVER_WHY.get(backend, "no upsert on SQL Server here")
        return None


def _sqlalchemy_upsert(family: str) -> Any:
    """The dialect's INSERT that updates quantity and price on a duplicate email."""
    if family == "mysql":
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        stmt = mysql_insert(Item)
        return stmt.on_duplicate_key_update(
            quantity=stmt.inserted.quantity, price=stmt.inserted.price
        )
    if family == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(Item)
    return stmt.on_conflict_do_update(
        index_elements=[Item.email],
        set_={"quantity": stmt.excluded.quantity, "price": stmt.excluded.price},
    )


@Upsert.idiom("sqlalchemy")
def sqlalchemy_upsert(orm: Any, rows: Sequence[Row]) -> None:
    """ORM bulk upsert: `Session.execute(insert(Item).on_conflict_do_update(...), rows)` with
    the dialect's `insert` (PostgreSQL, SQLite; MySQL: `.on_duplicate_key_update(...)`), then
    one `commit()`. Without RETURNING the rows go to the driver's `executemany()`: psycopg
    pipelines one single-row statement per row, mysqlclient rewrites them into multi-row
    INSERTs, sqlite3 runs the statement once per row. No ids fetched."""
    orm.session.execute(_sqlalchemy_upsert(orm.target.family), [dict(r) for r in rows])
    orm.session.commit()


@Upsert.idiom("sqlalchemy", EQUAL)
def sqlalchemy_upsert_equal(orm: Any, rows: Sequence[Row]) -> list[int]:
    """The same upsert with `.returning(Item.id)` where the database can return rows from a
    bulk INSERT, as Django's `bulk_create()` does: insertmanyvalues sends multi-row INSERTs of
    the family's bulk size (`insertmanyvalues_page_size`); then `commit()`."""
    session = orm.kept
    stmt = _sqlalchemy_upsert(orm.target.family)
    options = {"insertmanyvalues_page_size": orm.batch_rows}
    data = [dict(r) for r in rows]
    if not orm.engine.dialect.insert_executemany_returning:
        session.execute(stmt, data, execution_options=options)
        session.commit()
        return []
    ids = list(session.scalars(stmt.returning(Item.id), data, execution_options=options))
    session.commit()
    return ids


def _django_upsert(orm: Any, rows: Sequence[Row], batch_size: int | None) -> list[Any]:
    Item = orm.models.Item
    # MySQL decides the conflict by any unique key: Django refuses unique_fields there.
    by_email = orm.connection.features.supports_update_conflicts_with_target
    with orm.atomic():
        return Item.objects.bulk_create(
            [Item(**row) for row in rows],
            batch_size=batch_size,
            update_conflicts=True,
            unique_fields=["email"] if by_email else None,
            update_fields=list(UPDATED_COLUMNS),
        )


@Upsert.idiom("django")
def django_upsert(orm: Any, rows: Sequence[Row]) -> list[Any]:
    """`Item.objects.bulk_create(objs, update_conflicts=True, unique_fields=["email"],
    update_fields=["quantity", "price"])` (MySQL: without `unique_fields`, which it refuses)
    inside `transaction.atomic()`, in the batches Django chooses; where the database can
    return rows from a bulk INSERT, every row's id comes back."""
    return _django_upsert(orm, rows, orm.packet_batch)


@Upsert.idiom("django", EQUAL)
def django_upsert_equal(orm: Any, rows: Sequence[Row]) -> list[Any]:
    """The same `bulk_create(..., update_conflicts=True, ...)` with `batch_size` the family's
    bulk size, the one SQLAlchemy's equal-work idiom uses."""
    return _django_upsert(orm, rows, orm.batch_rows)


@Upsert.idiom("dbapi")
def dbapi_upsert(db: Any, rows: Sequence[Row]) -> list[int]:
    """BEGIN; per batch of the family's bulk size, a multi-row `INSERT ... VALUES (...), ...
    ON CONFLICT (email) DO UPDATE SET quantity = excluded.quantity, price = excluded.price`
    (MySQL: `ON DUPLICATE KEY UPDATE quantity = VALUES(quantity), ...`), `RETURNING id` where
    the database can; COMMIT."""
    mysql = db.target.family == "mysql"
    if mysql:
        conflict = " ON DUPLICATE KEY UPDATE " + ", ".join(
            f"{c} = VALUES({c})" for c in UPDATED_COLUMNS
        )
    else:
        conflict = " ON CONFLICT (email) DO UPDATE SET " + ", ".join(
            f"{c} = excluded.{c}" for c in UPDATED_COLUMNS
        )
    returning = db.sql_returning if db.returning else ""
    params = db.params
    cursor = db.conn.cursor()
    cursor.execute(db.sql_begin)
    ids: list[int] = []
    step = db.batch_rows
    for start in range(0, len(rows), step):
        batch = rows[start : start + step]
        values = ", ".join([db.values] * len(batch))
        cursor.execute(
            f"{db.sql_insert_head} VALUES {values}{conflict}{returning}",
            [v for r in batch for v in params(r)],
        )
        if returning:
            ids += [r[0] for r in cursor.fetchall()]
    cursor.execute(db.sql_commit)
    cursor.close()
    return ids
