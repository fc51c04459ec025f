"""relationships: every parent with its children, three ways: N+1 lazy loads, one JOIN, and an
IN-list query per batch of parents (each its own scenario, contract and verdict)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload, with_parent

from backends.sqlalchemy_models import Child, Parent
from scenarios.base import Capabilities, Tables, Work, register
from scenarios.contract import WorkContract
from scenarios.family import (
    CHILD_COLUMNS,
    PARENT_COLUMNS,
    FamilyScenario,
    fields,
    joined_row,
    load,
    parent_count,
    shape,
)
from scenarios.idioms import DOCUMENTED, EQUAL
from scenarios.schema import CHILD_TABLE, PARENT_TABLE, NormalRow

# Parents per IN list: SQLAlchemy's selectinload batch (its default chunksize). Every database
# takes 500 parameters in one statement (SQLite's oldest limit is 999, SQL Server's 2,100).
IN_LIST_PARENTS = 500
# What the offline SQL Server listing shows by default: the default run (--rows 1000).
LISTED_PARENTS = parent_count(1000)

Pair = tuple[Any, list[Any]]  # (parent, its children, loaded)


class Relationships(FamilyScenario):
    """What the three relationship scenarios share: the family loaded once (untimed), one
    operation (load every parent ordered by id with its children ordered by id, fully loaded,
    and return them), one transaction around it, and the result as rows (parent id, parent
    name, child id, child name, child amount) with one row of NULL child columns for a parent
    without children."""

    default = False

    def prepare(self, tables: Tables) -> Work:
        family = load(tables, self.rows, self.seed)
        return Work(None, family.child_table(), family.joined_rows())

    def returned(self, result: Any) -> list[NormalRow]:
        """(parent, children) pairs, or the rows of a JOIN as they are."""
        rows: list[NormalRow] = []
        for item in result:
            if len(item) != 2:
                rows.append(joined_row(*item))
                continue
            parent, children = item
            parent_id, name = fields(parent, PARENT_COLUMNS, ("id", "name"))
            if not children:
                rows.append(joined_row(parent_id, name, None, None, None))
            for child in children:
                rows.append(joined_row(parent_id, name, *fields(child, CHILD_COLUMNS, _CHILD)))
        return rows

    def one_transaction(self, selects: int, rows: int, columns: int) -> WorkContract:
        """`selects` SELECTs fetching `rows` rows, inside one explicit transaction (BEGIN …
        COMMIT): the three variants share it, so they differ only in their SELECTs."""
        return WorkContract(
            statements={"SELECT": selects},
            transactions=1,
            autocommit=False,
            select_rows=rows,
            columns=columns,
            write_transactions=0,
        )


_CHILD = ("id", "name", "amount")
_SQL_PARENTS = f"SELECT id, name FROM {PARENT_TABLE} ORDER BY id"
_SQL_CHILDREN = f"SELECT {', '.join(CHILD_COLUMNS)} FROM {CHILD_TABLE}"


def _pairs(parents: list[Any], children: list[Any]) -> list[Pair]:
    """The floor's rows grouped: each parent row with its child rows, in the order fetched."""
    by_parent: dict[int, list[Any]] = {parent[0]: [] for parent in parents}
    for child in children:
        by_parent[child[1]].append(child)
    return [(parent, by_parent[parent[0]]) for parent in parents]


# --- N+1 ------------------------------------------------------------------------------------


@register
class RelationshipsNaive(Relationships):
    """The N+1 as naive code writes it: one query for the parents, then one per parent for its
    children, on first access. P = rows / 10 parents, about rows children; some parents have
    none. One transaction."""

    name = "relationships_naive"

    def contract(self, capabilities: Capabilities) -> WorkContract:
        data = shape(self.rows, self.seed)
        # The narrowest fetched row is a parent's: id and name.
        return self.one_transaction(1 + data.parents, data.parents + data.children, 2)


@RelationshipsNaive.idiom("sqlalchemy")
def sqlalchemy_naive(orm: Any, _: None) -> list[Pair]:
    """`Session.scalars(select(Parent).order_by(Parent.id)).all()`, then `parent.children` per
    parent: the default lazy="select" loads each collection with its own SELECT (ordered by
    the relationship's order_by, Child.id). One transaction, which `Session.close()` ends."""
    session = orm.session
    parents = session.scalars(select(Parent).order_by(Parent.id)).all()
    loaded = [(parent, parent.children) for parent in parents]
    session.close()
    return loaded


@RelationshipsNaive.idiom("django")
def django_naive(orm: Any, _: None) -> list[Pair]:
    """`Parent.objects.order_by("id")`, then `list(parent.children.order_by("id"))` per parent
    (the related manager queries every time; Child has no default ordering, so the order is
    asked for), in autocommit (Django's default): each query its own transaction."""
    return _django_naive(orm.models.Parent)


@RelationshipsNaive.idiom("django", EQUAL)
def django_naive_equal(orm: Any, _: None) -> list[Pair]:
    """The same queries inside one `transaction.atomic()`: the contract's one transaction."""
    with orm.atomic():
        return _django_naive(orm.models.Parent)


def _django_naive(parent_model: Any) -> list[Pair]:
    return [
        (parent, list(parent.children.order_by("id")))
        for parent in parent_model.objects.order_by("id")
    ]


@RelationshipsNaive.idiom("dbapi")
def dbapi_naive(db: Any, _: None) -> list[Pair]:
    """BEGIN; `SELECT id, name FROM parent ORDER BY id`; per parent `SELECT ... FROM child
    WHERE parent_id = ? ORDER BY id`; COMMIT."""
    sql = f"{_SQL_CHILDREN} WHERE parent_id = {db.placeholder} ORDER BY id"
    cursor = db.conn.cursor()
    cursor.execute(db.sql_begin)
    cursor.execute(_SQL_PARENTS)
    parents = cursor.fetchall()
    loaded = []
    for parent in parents:
        cursor.execute(sql, (parent[0],))
        loaded.append((parent, cursor.fetchall()))
    cursor.execute(db.sql_commit)
    cursor.close()
    return loaded


@RelationshipsNaive.compiles("sqlalchemy")
def sqlalchemy_naive_tsql(tools: Any) -> dict[str, list[Any]]:
    lazy = select(Child).where(with_parent(Parent(id=1), Parent.children)).order_by(Child.id)
    return {
        DOCUMENTED: [
            tools.single(select(Parent).order_by(Parent.id), "Session.scalars(select(Parent))"),
            replace(
                tools.single(lazy, "parent.children, lazy load"), times=parent_count(tools.rows)
            ),
        ]
    }


@RelationshipsNaive.compiles("django")
def django_naive_tsql(tools: Any) -> dict[str, list[Any]]:
    from backends.django_models import Parent as DjangoParent

    per_parent = DjangoParent(id=1).children.order_by("id")
    statements = [
        tools.select_sql(DjangoParent.objects.order_by("id"), "Parent.objects.order_by('id')"),
        replace(
            tools.select_sql(per_parent, "parent.children.order_by('id')"),
            times=parent_count(tools.rows),
        ),
    ]
    return {DOCUMENTED: statements, EQUAL: statements}


# --- one JOIN -------------------------------------------------------------------------------


@register
class RelationshipsJoined(Relationships):
    """Every parent with its children in one query: parent LEFT OUTER JOIN child, ordered by
    parent id and child id (a parent without children is one row of NULL child columns). As
    documented, each ORM's way to load parents with their children as objects: SQLAlchemy's
    joinedload (one JOIN), Django's prefetch_related (two queries: its documentation sends a
    reverse foreign key there, select_related following forward ones only). The equal work
    fetches the JOIN's rows as they are, tuples on both sides: Django has no JOINed load of a
    reverse foreign key into objects, so rows are what both ORMs can give from one query. One
    transaction."""

    name = "relationships_joined"

    def contract(self, capabilities: Capabilities) -> WorkContract:
        data = shape(self.rows, self.seed)
        # One row per child, one per childless parent: parent id and name, child id, name and
        # amount (SQLAlchemy's joinedload also fetches the child's parent_id).
        return self.one_transaction(1, data.children + data.childless, 5)


def _joined_columns() -> Any:
    return (
        select(Parent.id, Parent.name, Child.id, Child.name, Child.amount)
        .outerjoin(Parent.children)
        .order_by(Parent.id, Child.id)
    )


@RelationshipsJoined.idiom("sqlalchemy")
def sqlalchemy_joined(orm: Any, _: None) -> list[Pair]:
    """`select(Parent).options(joinedload(Parent.children)).order_by(Parent.id)` via
    `Session.scalars().unique().all()`: one LEFT OUTER JOIN, the objects built from it (a
    parent repeats once per child, so the result must be made unique). One transaction, which
    `Session.close()` ends."""
    session = orm.session
    stmt = select(Parent).options(joinedload(Parent.children)).order_by(Parent.id)
    parents = session.scalars(stmt).unique().all()
    loaded = [(parent, parent.children) for parent in parents]
    session.close()
    return loaded


@RelationshipsJoined.idiom("sqlalchemy", EQUAL)
def sqlalchemy_joined_equal(orm: Any, _: None) -> list[Any]:
    """The rows Django's equal-work `values_list()` fetches: `select(Parent.id, Parent.name,
    Child.id, Child.name, Child.amount).outerjoin(Parent.children).order_by(Parent.id,
    Child.id)` via `Session.execute().all()`, rows instead of objects. One transaction, which
    `Session.close()` ends."""
    session = orm.session
    rows = session.execute(_joined_columns()).all()
    session.close()
    return rows


def _django_joined(parent: Any) -> Any:
    return parent.objects.order_by("id", "children__id").values_list(
        "id", "name", "children__id", "children__name", "children__amount"
    )


@RelationshipsJoined.idiom("django")
def django_joined(orm: Any, _: None) -> list[Pair]:
    """`Parent.objects.order_by("id").prefetch_related(Prefetch("children",
    queryset=Child.objects.order_by("id")))`, in autocommit (Django's default): the parents,
    then their children in one IN-list query, as objects. Django's documented way to load a
    reverse foreign key: `select_related()` follows forward foreign keys only, and
    `Child.objects.select_related("parent")` would lose the parents without children."""
    parents = orm.models.Parent.objects.order_by("id")
    return [
        (parent, list(parent.children.all()))
        for parent in parents.prefetch_related(_django_children(orm.models))
    ]


@RelationshipsJoined.idiom("django", EQUAL)
def django_joined_equal(orm: Any, _: None) -> list[Any]:
    """`Parent.objects.order_by("id", "children__id").values_list("id", "name",
    "children__id", "children__name", "children__amount")`: one LEFT OUTER JOIN, rows
    instead of objects, inside one `transaction.atomic()` (the contract's one transaction)."""
    with orm.atomic():
        return list(_django_joined(orm.models.Parent))


@RelationshipsJoined.idiom("dbapi")
def dbapi_joined(db: Any, _: None) -> list[Any]:
    """BEGIN; `SELECT p.id, p.name, c.id, c.name, c.amount FROM parent p LEFT OUTER JOIN
    child c ON c.parent_id = p.id ORDER BY p.id, c.id`, `fetchall()`; COMMIT."""
    cursor = db.conn.cursor()
    cursor.execute(db.sql_begin)
    cursor.execute(
        f"SELECT p.id, p.name, c.id, c.name, c.amount FROM {PARENT_TABLE} p "
        f"LEFT OUTER JOIN {CHILD_TABLE} c ON c.parent_id = p.id ORDER BY p.id, c.id"
    )
    rows = cursor.fetchall()
    cursor.execute(db.sql_commit)
    cursor.close()
    return list(rows)


@RelationshipsJoined.compiles("sqlalchemy")
def sqlalchemy_joined_tsql(tools: Any) -> dict[str, list[Any]]:
    stmt = select(Parent).options(joinedload(Parent.children)).order_by(Parent.id)
    return {
        DOCUMENTED: [tools.single(stmt, "select(Parent).options(joinedload(Parent.children))")],
        EQUAL: [tools.single(_joined_columns(), "select(Parent.id, ..., Child.amount)")],
    }


@RelationshipsJoined.compiles("django")
def django_joined_tsql(tools: Any) -> dict[str, list[Any]]:
    from backends.django_models import Child as DjangoChild
    from backends.django_models import Parent as DjangoParent

    # What prefetch_related() runs: the Prefetch queryset filtered to the parents loaded.
    listed = min(parent_count(tools.rows), IN_LIST_PARENTS)
    batch = [DjangoParent(id=pk) for pk in range(1, listed + 1)]
    children = DjangoChild.objects.order_by("id").filter(parent__in=batch)
    rows = tools.select_sql(
        _django_joined(DjangoParent), "Parent.objects.values_list(..., 'children__amount')"
    )
    return {
        DOCUMENTED: [
            tools.select_sql(DjangoParent.objects.order_by("id"), "Parent.objects"),
            tools.select_sql(children, f"prefetch_related(Prefetch('children')): {len(batch)}"),
        ],
        EQUAL: [rows],
    }


# --- IN lists -------------------------------------------------------------------------------


@register
class RelationshipsPrefetch(Relationships):
    """Every parent with its children in two steps: one query for the parents, then the
    children of up to 500 parents per query (`WHERE parent_id IN (...)`, ordered by id), the
    batch SQLAlchemy's selectinload sends and every database accepts. One transaction."""

    name = "relationships_prefetch"
    default = True  # in the default run (README, "Scenarios")

    def contract(self, capabilities: Capabilities) -> WorkContract:
        data = shape(self.rows, self.seed)
        batches = math.ceil(data.parents / IN_LIST_PARENTS)
        # The narrowest fetched row is a parent's: id and name.
        return self.one_transaction(1 + batches, data.parents + data.children, 2)


def _django_children(orm_models: Any) -> Any:
    from django.db.models import Prefetch

    return Prefetch("children", queryset=orm_models.Child.objects.order_by("id"))


@RelationshipsPrefetch.idiom("sqlalchemy")
def sqlalchemy_prefetch(orm: Any, _: None) -> list[Pair]:
    """`select(Parent).options(selectinload(Parent.children)).order_by(Parent.id)` via
    `Session.scalars().all()`: the parents, then their children `WHERE parent_id IN (...)`,
    500 parents per query (selectinload's default chunksize). One transaction, which
    `Session.close()` ends."""
    session = orm.session
    stmt = select(Parent).options(selectinload(Parent.children)).order_by(Parent.id)
    parents = session.scalars(stmt).all()
    loaded = [(parent, parent.children) for parent in parents]
    session.close()
    return loaded


@RelationshipsPrefetch.idiom("django")
def django_prefetch(orm: Any, _: None) -> list[Pair]:
    """`Parent.objects.order_by("id").prefetch_related(Prefetch("children",
    queryset=Child.objects.order_by("id")))`: the parents, then all their children in one
    query with every parent id in one IN list, in autocommit (Django's default): each query
    its own transaction. Past the database's parameter limit the one list fails (SQLite: its
    build's limit, 250,000 or 32,766; PostgreSQL with server-side binding: 65,535);
    mssql-django sends a list over 2,048 through a temporary table instead."""
    parents = orm.models.Parent.objects.order_by("id")
    return [
        (parent, list(parent.children.all()))
        for parent in parents.prefetch_related(_django_children(orm.models))
    ]


@RelationshipsPrefetch.idiom("django", EQUAL)
def django_prefetch_equal(orm: Any, _: None) -> list[Pair]:
    """The parents via `list(Parent.objects.order_by("id"))`, then
    `prefetch_related_objects()` with the same Prefetch on each batch of 500: SQLAlchemy's IN
    lists, one query per 500 parents. Inside one `transaction.atomic()`."""
    from django.db.models import prefetch_related_objects

    with orm.atomic():
        parents = list(orm.models.Parent.objects.order_by("id"))
        for start in range(0, len(parents), IN_LIST_PARENTS):
            batch = parents[start : start + IN_LIST_PARENTS]
            prefetch_related_objects(batch, _django_children(orm.models))
        return [(parent, list(parent.children.all())) for parent in parents]


@RelationshipsPrefetch.idiom("dbapi")
def dbapi_prefetch(db: Any, _: None) -> list[Pair]:
    """BEGIN; `SELECT id, name FROM parent ORDER BY id`; per 500 parents `SELECT ... FROM
    child WHERE parent_id IN (?, ...) ORDER BY id`; COMMIT; the children grouped by parent."""
    cursor = db.conn.cursor()
    cursor.execute(db.sql_begin)
    cursor.execute(_SQL_PARENTS)
    parents = cursor.fetchall()
    children: list[Any] = []
    for start in range(0, len(parents), IN_LIST_PARENTS):
        ids = [parent[0] for parent in parents[start : start + IN_LIST_PARENTS]]
        marks = ", ".join([db.placeholder] * len(ids))
        cursor.execute(f"{_SQL_CHILDREN} WHERE parent_id IN ({marks}) ORDER BY id", ids)
        children += cursor.fetchall()
    cursor.execute(db.sql_commit)
    cursor.close()
    return _pairs(parents, children)


@RelationshipsPrefetch.compiles("sqlalchemy")
def sqlalchemy_prefetch_tsql(tools: Any) -> dict[str, list[Any]]:
    # selectinload's second query as it sends it for a batch of parents: the key it groups
    # the children by first, then the child's columns.
    ids = list(range(1, min(parent_count(tools.rows), IN_LIST_PARENTS) + 1))
    children = select(Child.parent_id, Child).where(Child.parent_id.in_(ids)).order_by(Child.id)
    return {
        DOCUMENTED: [
            tools.single(select(Parent).order_by(Parent.id), "Session.scalars(select(Parent))"),
            tools.single(children, f"selectinload(Parent.children): {len(ids)} parents"),
        ]
    }


@RelationshipsPrefetch.compiles("django")
def django_prefetch_tsql(tools: Any) -> dict[str, list[Any]]:
    from backends.django_models import Child as DjangoChild
    from backends.django_models import Parent as DjangoParent

    parents = tools.select_sql(DjangoParent.objects.order_by("id"), "Parent.objects")
    # What prefetch_related() runs: the Prefetch queryset filtered to the parents loaded.
    listed = min(parent_count(tools.rows), IN_LIST_PARENTS)
    batch = [DjangoParent(id=pk) for pk in range(1, listed + 1)]
    children = DjangoChild.objects.order_by("id").filter(parent__in=batch)
    return {
        DOCUMENTED: [
            parents,
            tools.select_sql(children, f"prefetch_related(Prefetch('children')): {len(batch)}"),
        ],
        EQUAL: [
            parents,
            tools.select_sql(
                children, f"prefetch_related_objects(batch of {len(batch)}, Prefetch(...))"
            ),
        ],
    }
