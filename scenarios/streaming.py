"""streaming: every row of a large table read in id order, one object at a time, without holding
them all; the operation returns a small summary of what it saw, not the rows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import select

from backends.sqlalchemy_models import Item
from scenarios.base import Capabilities, Tables, Work, register
from scenarios.contract import WorkContract
from scenarios.data import Row
from scenarios.idioms import DOCUMENTED, EQUAL
from scenarios.reads import ReadScenario
from scenarios.schema import NormalRow

CHUNK_ROWS = 2000  # rows per fetch: Django's chunk_size, SQLAlchemy's yield_per, fetchmany()


class Summary(NamedTuple):
    """What a pass over the table saw: every row touched, none kept."""

    rows: int
    quantity_sum: int
    first_id: int | None
    last_id: int | None
    ascending: bool  # every id greater than the one before


def summarise(seen: Iterable[tuple[int, int]]) -> Summary:
    """Count the (id, quantity) pairs, sum the quantities, note the first and last id, and
    check the order."""
    rows = total = 0
    first = last = None
    ascending = True
    for pk, quantity in seen:
        if last is not None and pk <= last:
            ascending = False
        if first is None:
            first = pk
        last = pk
        rows += 1
        total += quantity
    return Summary(rows, total, first, last, ascending)


@register
class Streaming(ReadScenario):
    """One query over the whole table in id order, its own transaction, read in chunks of 2,000
    rows through a server-side cursor where the driver has one (psycopg: a named cursor;
    mysqlclient: SSCursor; sqlite3 and pyodbc step through the result as it is fetched):
    every row materialised as an ORM object with every column, touched (count, sum of
    quantity, first and last id) and let go. Returns that summary, not the rows. The n rows
    are loaded once, untimed."""

    name = "streaming"
    measures_memory = True  # memory is what streaming is for
    default = False

    def operations(self) -> int:
        return 1

    def prepare(self, tables: Tables) -> Work:
        quantity = [0]  # summed as the rows stream past; none is kept

        def add_quantity(_: int, row: Row) -> bool:
            quantity[0] += row["quantity"]
            return False

        loaded = self.load(tables, add_quantity)
        ids = loaded.ids
        expected = Summary(
            len(ids), quantity[0], min(ids, default=None), max(ids, default=None), True
        )
        return Work(CHUNK_ROWS, loaded.table, [tuple(expected)])

    def contract(self, capabilities: Capabilities) -> WorkContract:
        return WorkContract(
            statements={"SELECT": 1},
            transactions=1,
            autocommit=False,
            select_rows=self.rows,
            write_transactions=0,
        )

    def returned(self, result: Any) -> list[NormalRow]:
        return [tuple(result)]


@Streaming.idiom("sqlalchemy")
def sqlalchemy_streaming(orm: Any, chunk: int) -> Summary:
    """`Session.execute(select(Item).order_by(Item.id).execution_options(yield_per=...))`,
    iterated with `.scalars()`, in one transaction that `Session.close()` ends. `yield_per`
    turns on `stream_results`: a named cursor on psycopg, SSCursor on mysqlclient; where the
    dialect has none (SQLite, SQL Server) the rows are fetched in chunks of the same size."""
    session = orm.session
    stmt = select(Item).order_by(Item.id).execution_options(yield_per=chunk)
    summary = summarise((i.id, i.quantity) for i in session.execute(stmt).scalars())
    session.close()
    return summary


@Streaming.idiom("django")
def django_streaming(orm: Any, chunk: int) -> Summary:
    """`Item.objects.order_by("id").iterator(chunk_size=...)` in autocommit. On PostgreSQL
    Django reads through a named cursor declared WITH HOLD (the server keeps the whole result
    once the DECLARE's own transaction commits); on MySQL/MariaDB mysqlclient's default
    cursor holds the whole result on the client, which Django then hands out in chunks."""
    items = orm.models.Item.objects.order_by("id").iterator(chunk_size=chunk)
    return summarise((i.id, i.quantity) for i in items)


@Streaming.idiom("django", EQUAL)
def django_streaming_equal(orm: Any, chunk: int) -> Summary:
    """The same `iterator(chunk_size=...)` inside `transaction.atomic()`: one explicit
    transaction, as the others read in; on PostgreSQL a named cursor without HOLD, which the
    server fills as it is fetched."""
    with orm.atomic():
        items = orm.models.Item.objects.order_by("id").iterator(chunk_size=chunk)
        return summarise((i.id, i.quantity) for i in items)


def _streaming_cursor(db: Any) -> Any:
    """The driver's server-side cursor where it has one."""
    family = db.target.family
    if family == "postgresql":
        return db.conn.cursor(name="ormbench_streaming")
    if family == "mysql":
        from MySQLdb.cursors import SSCursor

        return db.conn.cursor(SSCursor)
    return db.conn.cursor()


@Streaming.idiom("dbapi")
def dbapi_streaming(db: Any, chunk: int) -> Summary:
    """BEGIN; `SELECT ... ORDER BY id` on a server-side cursor (psycopg named cursor,
    mysqlclient SSCursor; sqlite3's and pyodbc's own cursor elsewhere), `fetchmany()` until
    done; COMMIT."""
    control = db.conn.cursor()
    control.execute(db.sql_begin)
    cursor = _streaming_cursor(db)
    cursor.execute(f"{db.sql_select} ORDER BY id")

    def seen() -> Iterable[tuple[int, int]]:
        while batch := cursor.fetchmany(chunk):
            for row in batch:  # ALL_COLUMNS: id first, quantity fourth
                yield row[0], row[3]

    summary = summarise(seen())
    cursor.close()
    control.execute(db.sql_commit)
    control.close()
    return summary


# --- SQL Server, compiled offline (harness.tools.tsql) --------------------------------------------


@Streaming.compiles("sqlalchemy")
def sqlalchemy_streaming_tsql(tools: Any) -> dict[str, list[Any]]:
    """The SELECT `yield_per` streams; pyodbc and mssql-python have no server-side cursor in
    SQLAlchemy's dialect, so the rows are fetched 2,000 at a time from the result stream."""
    stmt = select(Item).order_by(Item.id)
    what = (
        f"Session.execute(select(Item).order_by(Item.id).execution_options("
        f"yield_per={CHUNK_ROWS})): fetchmany({CHUNK_ROWS}) on the driver's forward-only cursor"
    )
    return {DOCUMENTED: [tools.single(stmt, what)]}


@Streaming.compiles("django")
def django_streaming_tsql(tools: Any) -> dict[str, list[Any]]:
    """The SELECT `iterator()` sends. mssql-django turns Django's chunked reads on only for
    the Microsoft ODBC driver with MARS (its default under pyodbc); with mssql-python they are
    off, and `iterator()` reads the whole result before the first object."""
    from backends.django_models import Item as DjangoItem

    connection = tools.connection
    options = connection.settings_dict["OPTIONS"]
    extra = connection._parse_extra_params(options.get("extra_params"))
    chunked = (
        options.get("python_driver") != "mssql_python"
        and extra.get("mars_connection", "yes").strip().lower() == "yes"
    )
    how = (
        f"fetchmany({CHUNK_ROWS}) as it goes"
        if chunked
        else "the whole result read first (mssql-django: no chunked reads without MARS)"
    )
    call = f"Item.objects.order_by('id').iterator(chunk_size={CHUNK_ROWS})"
    queryset = DjangoItem.objects.order_by("id")
    return {
        DOCUMENTED: [tools.select_sql(queryset, f"{call} in autocommit: {how}")],
        EQUAL: [tools.select_sql(queryset, f"{call} inside transaction.atomic(): {how}")],
    }
