"""aggregates: per parent, its children counted, their amounts summed and averaged, in one
GROUP BY query."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from backends.sqlalchemy_models import Child, Parent
from scenarios.base import Capabilities, Tables, Work, register
from scenarios.contract import WorkContract
from scenarios.family import MEAN_UNIT, FamilyScenario, aggregate_row, load, shape
from scenarios.idioms import DOCUMENTED, EQUAL
from scenarios.schema import CHILD_TABLE, PARENT_TABLE, NormalRow


@register
class Aggregates(FamilyScenario):
    """One query, its own transaction: for every parent, in id order, the number of its
    children and the sum and the average of their amounts (parent LEFT OUTER JOIN child,
    GROUP BY parent). A parent without children counts 0 and its sum and average are NULL,
    as SQL's SUM and AVG over no rows give (not 0: the data has such parents). Sums compare at
    the column's two decimals, averages within one unit of the sixth: what AVG of
    DECIMAL(10, 2) returns on MariaDB and SQL Server, where PostgreSQL returns more, and
    SQLite, like mssql-django (which averages CONVERT(float, amount)), a float; SQL Server
    rounds the sixth decimal and Babelfish truncates it. P = rows / 10 parents, about rows
    children, loaded once, untimed."""

    name = "aggregates"
    default = True  # in the default run (README, "Scenarios")

    def prepare(self, tables: Tables) -> Work:
        family = load(tables, self.rows, self.seed)
        return Work(None, family.child_table(), family.aggregate_rows())

    def contract(self, capabilities: Capabilities) -> WorkContract:
        return WorkContract(
            statements={"SELECT": 1},
            transactions=1,
            autocommit=True,
            select_rows=shape(self.rows, self.seed).parents,
            columns=4,  # parent id, count, sum, average
            write_transactions=0,
        )

    def returned(self, result: Any) -> list[NormalRow]:
        return [aggregate_row(*row) for row in result]

    def same_row(self, returned: NormalRow, expected: NormalRow) -> bool:
        """Id, count and sum exactly; the average within one unit of its sixth decimal, the
        last digit of AVG(DECIMAL(10, 2)) on SQL Server (DECIMAL(38, 6)): SQL Server and
        MariaDB round it, Babelfish truncates it (5/3 gives 1.666666)."""
        *exact, mean = returned
        *want, expected_mean = expected
        if exact != want or (mean is None) != (expected_mean is None):
            return False
        return mean is None or abs(Decimal(mean) - Decimal(expected_mean)) <= MEAN_UNIT


def _per_parent() -> Any:
    return (
        select(Parent.id, func.count(Child.id), func.sum(Child.amount), func.avg(Child.amount))
        .outerjoin(Parent.children)
        .group_by(Parent.id)
        .order_by(Parent.id)
    )


@Aggregates.idiom("sqlalchemy")
def sqlalchemy_aggregates(orm: Any, _: None) -> list[Any]:
    """`select(Parent.id, func.count(Child.id), func.sum(Child.amount),
    func.avg(Child.amount))` with `.outerjoin(Parent.children)`, `.group_by(Parent.id)` and
    `.order_by(Parent.id)`, via `Session.execute().all()` in one transaction, which
    `Session.close()` ends."""
    session = orm.session
    rows = session.execute(_per_parent()).all()
    session.close()
    return rows


@Aggregates.idiom("sqlalchemy", EQUAL)
def sqlalchemy_aggregates_equal(orm: Any, _: None) -> list[Any]:
    """The same query on the AUTOCOMMIT Engine: one SELECT that is its own transaction, as
    Django's autocommit sends it."""
    session = orm.autocommit
    rows = session.execute(_per_parent()).all()
    session.close()
    return rows


def _django_per_parent(models: Any) -> Any:
    from django.db.models import Avg, Count, Sum

    return (
        models.Parent.objects.annotate(
            n=Count("children"), total=Sum("children__amount"), mean=Avg("children__amount")
        )
        .order_by("id")
        .values_list("id", "n", "total", "mean")
    )


@Aggregates.idiom("django")
def django_aggregates(orm: Any, _: None) -> list[Any]:
    """`Parent.objects.annotate(n=Count("children"), total=Sum("children__amount"),
    mean=Avg("children__amount")).order_by("id").values_list("id", "n", "total", "mean")`
    (Django groups by every Parent column, id and name), evaluated with `list()`, in
    autocommit (Django's default): one SELECT that is its own transaction."""
    return list(_django_per_parent(orm.models))


@Aggregates.idiom("dbapi")
def dbapi_aggregates(db: Any, _: None) -> list[Any]:
    """`SELECT p.id, COUNT(c.id), SUM(c.amount), AVG(c.amount) FROM parent p LEFT OUTER JOIN
    child c ON c.parent_id = p.id GROUP BY p.id ORDER BY p.id` in autocommit, `fetchall()`."""
    cursor = db.conn.cursor()
    cursor.execute(
        f"SELECT p.id, COUNT(c.id), SUM(c.amount), AVG(c.amount) FROM {PARENT_TABLE} p "
        f"LEFT OUTER JOIN {CHILD_TABLE} c ON c.parent_id = p.id GROUP BY p.id ORDER BY p.id"
    )
    rows = cursor.fetchall()
    cursor.close()
    return list(rows)


@Aggregates.compiles("sqlalchemy")
def sqlalchemy_aggregates_tsql(tools: Any) -> dict[str, list[Any]]:
    what = "select(Parent.id, func.count(), func.sum(), func.avg()).group_by(Parent.id)"
    return {
        DOCUMENTED: [tools.single(_per_parent(), what)],
        EQUAL: [tools.single(_per_parent(), "the same select(), AUTOCOMMIT Engine")],
    }


@Aggregates.compiles("django")
def django_aggregates_tsql(tools: Any) -> dict[str, list[Any]]:
    from backends import django_models

    query = _django_per_parent(django_models)
    return {DOCUMENTED: [tools.select_sql(query, "Parent.objects.annotate(n=Count(...), ...)")]}
