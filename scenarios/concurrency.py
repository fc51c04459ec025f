"""concurrency: the operations `ormbench concurrency` mixes under load, per backend side by side.

Two operations on the item table, each complete in itself, so that many threads can run them at
once (harness.concurrency runs them; it is not a timed scenario of `ormbench run`):

- read: one primary-key lookup that materialises the row (every column);
- write: one transaction that loads one row with a row lock (SELECT ... FOR UPDATE, so that
  concurrent writers to a row queue instead of losing each other's increments), adds an
  increment to its quantity and saves that column only.

Two idioms per ORM, as in `ormbench run`. *As documented*: each ORM's own defaults, what a
team gets: SQLAlchemy's Session per operation on one Engine with its default QueuePool that
every thread shares (its read runs in a transaction that closing the Session rolls back),
Django's persistent connection per thread in autocommit. *Equal work*: the same statements and
transactions for every backend: a read is one SELECT that commits itself, a write one
transaction (SELECT ... FOR UPDATE, UPDATE, COMMIT), and a connection for every thread (the
harness sizes SQLAlchemy's pools to the threads). Django's documented code already does that
work, so its equal-work idiom is its documented one. The floor: one DB-API connection per thread.
A function's docstring is its label in the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from backends.sqlalchemy_models import Item
from scenarios.base import DOCUMENTED, EQUAL
from scenarios.schema import ALL_COLUMNS, ITEM_TABLE

Read = Callable[[Any, int], Any]  # (the thread's backend handle, id) -> the object or row read
Write = Callable[[Any, int, int], None]  # (handle, id, increment)


@dataclass
class Workload:
    read: Read | None = None
    write: Write | None = None


# backend name -> idiom -> its read and write, filled by `reads()` and `writes()` below. A
# backend without an equal-work entry does the equal work with its documented code.
WORKLOADS: dict[str, dict[str, Workload]] = {}


def reads(backend: str, idiom: str = DOCUMENTED) -> Callable[[Read], Read]:
    def add(function: Read) -> Read:
        WORKLOADS.setdefault(backend, {}).setdefault(idiom, Workload()).read = function
        return function

    return add


def writes(backend: str, idiom: str = DOCUMENTED) -> Callable[[Write], Write]:
    def add(function: Write) -> Write:
        WORKLOADS.setdefault(backend, {}).setdefault(idiom, Workload()).write = function
        return function

    return add


def workload(backend: str, idiom: str) -> Workload:
    """The backend's read and write for an idiom: its own equal-work code where it has some,
    else its documented code."""
    idioms = WORKLOADS[backend]
    return idioms.get(idiom) or idioms[DOCUMENTED]


def has_own(backend: str, idiom: str) -> bool:
    return idiom in WORKLOADS.get(backend, {})


def label(function: Callable[..., Any] | None) -> str:
    return " ".join(((function.__doc__ if function else None) or "").split())


def key_of(result: Any) -> Any:
    """The primary key of what a read returned: an ORM object's `id`, a driver row's first
    value."""
    return result.id if hasattr(result, "id") else result[0]


# --- SQLAlchemy: a Session per operation, on the Engine all threads share -----------------------


@reads("sqlalchemy")
def sqlalchemy_read(orm: Any, pk: int) -> Any:
    """`with Session(engine) as session: session.get(Item, pk)` on the Engine every thread
    shares: the Session checks a connection out of the pool, reads in a transaction that
    closing the Session rolls back, and returns the connection to the pool."""
    with Session(orm.engine) as session:
        return session.get(Item, pk)


@writes("sqlalchemy")
def sqlalchemy_write(orm: Any, pk: int, increment: int) -> None:
    """`with Session(engine) as session, session.begin():` `session.get(Item, pk,
    with_for_update=True)`, add the increment to `quantity`; the block commits (one
    transaction: SELECT ... FOR UPDATE, UPDATE of quantity, COMMIT) and the connection goes
    back to the pool."""
    with Session(orm.engine) as session, session.begin():
        item = session.get(Item, pk, with_for_update=True)
        item.quantity += increment


@reads("sqlalchemy", EQUAL)
def sqlalchemy_read_equal(orm: Any, pk: int) -> Any:
    """`with Session(autocommit_engine) as session: session.get(Item, pk)` on an Engine with
    `isolation_level="AUTOCOMMIT"`: one SELECT that commits itself, as Django's autocommit
    sends it, no BEGIN or ROLLBACK."""
    with Session(orm.autocommit_engine) as session:
        return session.get(Item, pk)


@writes("sqlalchemy", EQUAL)
def sqlalchemy_write_equal(orm: Any, pk: int, increment: int) -> None:
    """The documented write (one transaction: SELECT ... FOR UPDATE, UPDATE of quantity,
    COMMIT) on the transactional Engine, whose pool holds a connection for every thread."""
    sqlalchemy_write(orm, pk, increment)


# --- Django: the thread's own persistent connection ---------------------------------------------


@reads("django")
def django_read(orm: Any, pk: int) -> Any:
    """`Item.objects.get(pk=pk)` on the thread's own persistent connection, in autocommit
    (the SELECT is a transaction of its own)."""
    return orm.models.Item.objects.get(pk=pk)


@writes("django")
def django_write(orm: Any, pk: int, increment: int) -> None:
    """Inside `transaction.atomic()`: `Item.objects.select_for_update().get(pk=pk)`, add the
    increment to `quantity`, `save(update_fields=["quantity"])` (one transaction: SELECT ...
    FOR UPDATE, UPDATE of quantity, COMMIT) on the thread's own persistent connection."""
    with orm.atomic():
        item = orm.models.Item.objects.select_for_update().get(pk=pk)
        item.quantity += increment
        item.save(update_fields=["quantity"])


# --- raw DB-API: the floor, one connection per thread in autocommit ------------------------------


@reads("dbapi")
def dbapi_read(db: Any, pk: int) -> Any:
    """`SELECT ... WHERE id = ?` and `fetchone()` on the thread's own connection, in
    autocommit."""
    cursor = db.conn.cursor()
    cursor.execute(db.sql_get, (pk,))
    row = cursor.fetchone()
    cursor.close()
    return row


def locking_get(db: Any) -> str:
    """The floor's SELECT that locks the row it reads, as each ORM writes it here: FOR UPDATE;
    SQL Server's lock hints; nothing on SQLite, whose writers lock the whole database."""
    family = db.target.family
    if family == "sqlite":
        return db.sql_get
    if family == "mssql":
        return f"{db.sql_select} WITH (UPDLOCK, ROWLOCK) WHERE id = {db.placeholder}"
    return f"{db.sql_get} FOR UPDATE"


_QUANTITY = ALL_COLUMNS.index("quantity")


@writes("dbapi")
def dbapi_write(db: Any, pk: int, increment: int) -> None:
    """BEGIN; `SELECT ... WHERE id = ? FOR UPDATE` (no FOR UPDATE on SQLite, as both ORMs
    send it there); `UPDATE ... SET quantity = ?`; COMMIT. ROLLBACK on an error."""
    p = db.placeholder
    cursor = db.conn.cursor()
    try:
        cursor.execute(db.sql_begin)
        cursor.execute(locking_get(db), (pk,))
        quantity = cursor.fetchone()[_QUANTITY]
        cursor.execute(
            f"UPDATE {ITEM_TABLE} SET quantity = {p} WHERE id = {p}", (quantity + increment, pk)
        )
        cursor.execute(db.sql_commit)
    except Exception:
        db.conn.rollback()
        raise
    finally:
        cursor.close()
