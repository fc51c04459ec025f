"""pagination: deep pages of the item table in id order, by LIMIT/OFFSET and by keyset (seek),
each page its own request."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select

from backends.sqlalchemy_models import Item
from scenarios.base import Capabilities, Tables, Work, register, with_id
from scenarios.contract import WorkContract
from scenarios.idioms import DOCUMENTED, EQUAL
from scenarios.reads import ReadScenario
from scenarios.schema import NormalRow

PAGE_SIZE = 50  # rows per page (fewer on a table too small for PAGES pages of it)
PAGES = 10  # pages visited: the last ones of the table


@dataclass(frozen=True)
class PageWalk:
    """The pages one run reads: `pages` consecutive pages of `size` rows from page `first`
    (0-based, in id order). `after_id` is the id of the row just before the first of them:
    the "next page" cursor the page before would have handed out."""

    size: int
    first: int
    pages: int
    after_id: int

    def offsets(self) -> list[int]:
        return [(self.first + page) * self.size for page in range(self.pages)]


Pages = list[list[Any]]  # what a run returns: each page's objects (or the floor's rows), in order


class DeepPages(ReadScenario):
    """What both ways of paging share: the n rows loaded once (untimed), the pages visited,
    the work contract and the check of every page's rows."""

    def page_walk(self) -> PageWalk:
        """The last PAGES full pages of PAGE_SIZE rows; on a small table pages of n / 20 rows
        (at least one), so that the visited pages are the back half of it or deeper."""
        size = max(1, min(PAGE_SIZE, self.rows // (2 * PAGES)))
        full_pages = self.rows // size
        pages = max(1, min(PAGES, full_pages // 2))
        return PageWalk(size, full_pages - pages, pages, after_id=0)

    def operations(self) -> int:
        return self.page_walk().pages

    def prepare(self, tables: Tables) -> Work:
        walk = self.page_walk()
        offsets = list(walk.offsets())
        pages = {offset + k: page for page, offset in enumerate(offsets) for k in range(walk.size)}
        loaded = self.load(tables, lambda index, _: index in pages)
        ids = loaded.ids
        start = walk.first * walk.size
        # Ids are positive: 0 is before every row when the first page is the table's first.
        walk = PageWalk(walk.size, walk.first, walk.pages, ids[start - 1] if start else 0)
        kept = dict(loaded.kept)
        expected = [
            (page, *with_id(pk, kept[pk]))
            for page, offset in enumerate(offsets)
            for pk in ids[offset : offset + walk.size]
        ]
        return Work(walk, loaded.table, expected)

    def contract(self, capabilities: Capabilities) -> WorkContract:
        walk = self.page_walk()
        return WorkContract(
            statements={"SELECT": walk.pages},
            transactions=walk.pages,
            autocommit=True,
            select_rows=walk.pages * walk.size,
            returns_objects=True,
            write_transactions=0,
        )

    def returned(self, result: Pages) -> list[NormalRow]:
        """Every page's rows in order, each with its page's number first, then id first: a
        row on the wrong page fails as surely as a wrong row."""
        rows_of = super().returned
        return [(page, *row) for page, items in enumerate(result) for row in rows_of(items)]


@register
class PaginateOffset(DeepPages):
    """Read the last ten full pages of 50 rows (n / 20 under 1,000 rows) of the n-row table
    in id order with LIMIT/OFFSET (`ORDER BY id`, skip the rows before the page): each page
    its own request, a SELECT that is its own transaction, its rows materialised as ORM
    objects with every column loaded. Every OFFSET skips at least half the table, so each
    page costs more as n grows. The n rows are loaded once, untimed."""

    name = "paginate_offset"
    default = False


@register
class PaginateKeyset(DeepPages):
    """Read the same last ten full pages of 50 rows (n / 20 under 1,000 rows) in id order by
    keyset (seek) pagination: each page the rows after the previous page's last id (`WHERE
    id > last ORDER BY id` with a LIMIT, no OFFSET), the first page's from the id a "next"
    link would carry. Each page its own request, a SELECT that is its own transaction, its
    rows materialised as ORM objects with every column loaded; the primary-key index finds
    each page wherever it lies. The n rows are loaded once, untimed."""

    name = "paginate_keyset"
    default = False


# --- paginate_offset ------------------------------------------------------------------------


@PaginateOffset.idiom("sqlalchemy")
def sqlalchemy_paginate_offset(orm: Any, walk: PageWalk) -> Pages:
    """Per page, `select(Item).order_by(Item.id).limit(size).offset(k)` via
    `Session.scalars().all()`, then `Session.close()`: each page a Session's transaction
    (BEGIN, SELECT, ROLLBACK), as a web request's."""
    session = orm.session
    pages = []
    for offset in walk.offsets():
        stmt = select(Item).order_by(Item.id).limit(walk.size).offset(offset)
        pages.append(list(session.scalars(stmt).all()))
        session.close()
    return pages


@PaginateOffset.idiom("sqlalchemy", EQUAL)
def sqlalchemy_paginate_offset_equal(orm: Any, walk: PageWalk) -> Pages:
    """The same query per page on the AUTOCOMMIT Engine, in one Session closed after the last
    page: every SELECT its own transaction, on one connection with no check-in (and its reset)
    between pages, as Django's autocommit sends it."""
    session = orm.autocommit
    pages = []
    for offset in walk.offsets():
        stmt = select(Item).order_by(Item.id).limit(walk.size).offset(offset)
        pages.append(list(session.scalars(stmt).all()))
    session.close()
    return pages


@PaginateOffset.idiom("django")
def django_paginate_offset(orm: Any, walk: PageWalk) -> Pages:
    """Per page, `Item.objects.order_by("id")[off:off + size]`, evaluated with `list()` in
    autocommit (Django's default for a request): every SELECT its own transaction."""
    objects = orm.models.Item.objects
    return [list(objects.order_by("id")[off : off + walk.size]) for off in walk.offsets()]


@PaginateOffset.idiom("dbapi")
def dbapi_paginate_offset(db: Any, walk: PageWalk) -> Pages:
    """Per page, `SELECT ... ORDER BY id LIMIT ? OFFSET ?` (SQL Server: `OFFSET ? ROWS FETCH
    NEXT ? ROWS ONLY`) in autocommit, `fetchall()`."""
    p = db.placeholder
    mssql = db.target.family == "mssql"
    if mssql:
        sql = f"{db.sql_select} ORDER BY id OFFSET {p} ROWS FETCH NEXT {p} ROWS ONLY"
    else:
        sql = f"{db.sql_select} ORDER BY id LIMIT {p} OFFSET {p}"
    cursor = db.conn.cursor()
    pages = []
    for offset in walk.offsets():
        cursor.execute(sql, (offset, walk.size) if mssql else (walk.size, offset))
        pages.append(list(cursor.fetchall()))
    cursor.close()
    return pages


# --- paginate_keyset ------------------------------------------------------------------------


@PaginateKeyset.idiom("sqlalchemy")
def sqlalchemy_paginate_keyset(orm: Any, walk: PageWalk) -> Pages:
    """Per page, `select(Item).where(Item.id > last_id).order_by(Item.id).limit(size)` via
    `Session.scalars().all()`, then `Session.close()`: each page a Session's transaction
    (BEGIN, SELECT, ROLLBACK), as a web request's; the next page starts after its last id."""
    session = orm.session
    pages, last_id = [], walk.after_id
    for _ in range(walk.pages):
        stmt = select(Item).where(Item.id > last_id).order_by(Item.id).limit(walk.size)
        page = list(session.scalars(stmt).all())
        session.close()
        pages.append(page)
        last_id = page[-1].id
    return pages


@PaginateKeyset.idiom("sqlalchemy", EQUAL)
def sqlalchemy_paginate_keyset_equal(orm: Any, walk: PageWalk) -> Pages:
    """The same query per page on the AUTOCOMMIT Engine, in one Session closed after the last
    page: every SELECT its own transaction, on one connection with no check-in (and its reset)
    between pages, as Django's autocommit sends it."""
    session = orm.autocommit
    pages, last_id = [], walk.after_id
    for _ in range(walk.pages):
        stmt = select(Item).where(Item.id > last_id).order_by(Item.id).limit(walk.size)
        page = list(session.scalars(stmt).all())
        pages.append(page)
        last_id = page[-1].id
    session.close()
    return pages


@PaginateKeyset.idiom("django")
def django_paginate_keyset(orm: Any, walk: PageWalk) -> Pages:
    """Per page, `Item.objects.filter(id__gt=last).order_by("id")[:size]`, evaluated with
    `list()` in autocommit (Django's default for a request): every SELECT its own
    transaction; the next page starts after its last id."""
    objects = orm.models.Item.objects
    pages, last_id = [], walk.after_id
    for _ in range(walk.pages):
        page = list(objects.filter(id__gt=last_id).order_by("id")[: walk.size])
        pages.append(page)
        last_id = page[-1].id
    return pages


@PaginateKeyset.idiom("dbapi")
def dbapi_paginate_keyset(db: Any, walk: PageWalk) -> Pages:
    """Per page, `SELECT ... WHERE id > ? ORDER BY id LIMIT ?` (SQL Server: `SELECT TOP 50
    ...`, the page size written in, as both ORMs send it) in autocommit, `fetchall()`; the
    next page starts after its last id."""
    p = db.placeholder
    if db.target.family == "mssql":
        columns = db.sql_select.removeprefix("SELECT ")
        sql, tail = f"SELECT TOP {int(walk.size)} {columns} WHERE id > {p} ORDER BY id", ()
    else:
        sql, tail = f"{db.sql_select} WHERE id > {p} ORDER BY id LIMIT {p}", (walk.size,)
    cursor = db.conn.cursor()
    pages, last_id = [], walk.after_id
    for _ in range(walk.pages):
        cursor.execute(sql, (last_id, *tail))
        page = list(cursor.fetchall())
        pages.append(page)
        last_id = page[-1][0]
    cursor.close()
    return pages


# --- SQL Server, compiled offline (harness.tools.tsql) --------------------------------------------


def _sqlalchemy_as_sent(tools: Any, stmt: Any, what: str) -> Any:
    """`stmt` compiled as the engine sends it: TOP's row count is a literal, rendered only at
    execution (a "post-compile" parameter), so render it here too."""
    compiled = stmt.compile(dialect=tools.dialect, compile_kwargs={"render_postcompile": True})
    return replace(
        tools.single(stmt, what),
        sql=" ".join(str(compiled).split()),
        parameters=len(compiled.positiontup or ()),
    )


def _sqlalchemy_pages(tools: Any, stmt: Any, what: str, pages: int) -> dict[str, list[Any]]:
    """One page's statement, sent once per page: in a Session transaction as documented, on
    the AUTOCOMMIT Engine as the equal work."""
    page = _sqlalchemy_as_sent(tools, stmt, f"{what}, a page")
    return {
        DOCUMENTED: [replace(page, times=pages)],
        EQUAL: [replace(page, what=f"{what}, AUTOCOMMIT Engine", times=pages)],
    }


@PaginateOffset.compiles("sqlalchemy")
def sqlalchemy_paginate_offset_tsql(tools: Any) -> dict[str, list[Any]]:
    walk = PaginateOffset(tools.rows, 42).page_walk()
    stmt = select(Item).order_by(Item.id).limit(walk.size).offset(walk.offsets()[0])
    what = "select(Item).order_by(Item.id).limit(size).offset(k) via Session.scalars()"
    return _sqlalchemy_pages(tools, stmt, what, walk.pages)


@PaginateKeyset.compiles("sqlalchemy")
def sqlalchemy_paginate_keyset_tsql(tools: Any) -> dict[str, list[Any]]:
    walk = PaginateKeyset(tools.rows, 42).page_walk()
    stmt = select(Item).where(Item.id > 1).order_by(Item.id).limit(walk.size)
    what = (
        "select(Item).where(Item.id > last_id).order_by(Item.id).limit(size) via Session.scalars()"
    )
    return _sqlalchemy_pages(tools, stmt, what, walk.pages)


@PaginateOffset.compiles("django")
def django_paginate_offset_tsql(tools: Any) -> dict[str, list[Any]]:
    from backends.django_models import Item as DjangoItem

    walk = PaginateOffset(tools.rows, 42).page_walk()
    # Django renders a slice's bounds as literals, not parameters: every page is a statement
    # text of its own (SQL Server compiles and caches each one apart).
    pages = [
        DjangoItem.objects.order_by("id")[offset : offset + walk.size] for offset in walk.offsets()
    ]
    what = 'Item.objects.order_by("id")[off:off + size], page at OFFSET {}: literal bounds'
    return {
        DOCUMENTED: [
            tools.select_sql(page, what.format(offset))
            for page, offset in zip(pages, walk.offsets(), strict=True)
        ]
    }


@PaginateKeyset.compiles("django")
def django_paginate_keyset_tsql(tools: Any) -> dict[str, list[Any]]:
    from backends.django_models import Item as DjangoItem

    walk = PaginateKeyset(tools.rows, 42).page_walk()
    page = DjangoItem.objects.filter(id__gt=1).order_by("id")[: walk.size]
    what = 'Item.objects.filter(id__gt=last).order_by("id")[:size], a page'
    return {DOCUMENTED: [replace(tools.select_sql(page, what), times=walk.pages)]}
