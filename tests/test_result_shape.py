"""What "what differs" says about what each ORM handed back: objects built against rows."""

from __future__ import annotations

from harness.judging.verdicts import what_differs
from harness.wire.result_shape import result_shape
from reports.model import Cell, TraceCounts, Verification


class Mapped:
    """Stands for a SQLAlchemy mapped instance: it carries its instance state."""

    def __init__(self) -> None:
        self._sa_instance_state = object()


def test_objects_count_once_and_rows_count_each() -> None:
    parent, children = Mapped(), [Mapped(), Mapped()]
    shape = result_shape([(parent, children), (parent, children)])
    assert (shape.objects, shape.rows, shape.kind) == (3, 0, "objects")
    shape = result_shape([(1, "a", None), (2, "b", 3)])
    assert (shape.objects, shape.rows, shape.kind) == (0, 2, "rows")
    assert result_shape(None) is None


def trace(objects: int, rows: int) -> TraceCounts:
    return TraceCounts(
        operations=1, statements=1, transaction_control=0, commits=0, rollbacks=0, rows_sent=0,
        rows_fetched=rows or objects, by_kind={"SELECT": 1}, sql=[], transactions=1,
        autocommit_statements=1, result_objects=objects, result_rows=rows,
    )  # fmt: skip


def cell(backend: str, counts: TraceCounts) -> Cell:
    return Cell(
        database="db", scenario="s", backend=backend, rows=10, operations=1, rounds_s=[1.0],
        median_s=1.0, iqr_s=0.0, ops_per_s=1.0, rows_per_s=1.0, trace=counts,
        verification=Verification("passed"),
    )  # fmt: skip


def test_what_differs_names_the_result_kind_and_the_objects_built() -> None:
    line = what_differs(cell("sqlalchemy", trace(1100, 0)), cell("django", trace(0, 1100)))
    assert line == "SQLAlchemy returns 1,100 ORM objects, Django 1,100 rows (tuples)"
    assert what_differs(cell("sqlalchemy", trace(5, 0)), cell("django", trace(5, 0))) == ""
