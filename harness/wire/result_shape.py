"""What an operation handed back, by kind: ORM objects built and plain rows (tuples, driver or
SQLAlchemy rows). Read once in the untimed trace pass, so that "what differs" can say when two
ORMs return different things from the same SQL (objects against tuples)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ResultShape:
    objects: int  # distinct ORM objects (SQLAlchemy mapped instances, Django model instances)
    rows: int  # plain rows: tuples, SQLAlchemy Rows, a driver's rows

    @property
    def kind(self) -> str:
        if self.objects and self.rows:
            return "objects and rows"
        if self.objects:
            return "objects"
        if self.rows:
            return "rows"
        return "nothing"


def is_orm_object(value: Any) -> bool:
    """A SQLAlchemy mapped instance (it carries its InstanceState) or a Django model instance
    (its ModelState and its model's _meta): an object the ORM built from a row."""
    if hasattr(value, "_sa_instance_state"):
        return True
    return hasattr(value, "_state") and hasattr(type(value), "_meta")


def result_shape(result: Any) -> ResultShape | None:
    """The ORM objects and rows a result holds, walking lists and the tuples that group them
    ((parent, children) pairs); None for a result that is neither (a count, a summary, None).
    An object counts once however often it appears: SQLAlchemy hands back the same parent
    for every row of its JOIN."""
    seen: set[int] = set()
    rows = 0
    found = False

    def walk(item: Any) -> None:
        nonlocal rows, found
        if is_orm_object(item):
            seen.add(id(item))
            found = True
        elif isinstance(item, list) or (isinstance(item, tuple) and _groups(item)):
            found = True
            for inner in item:
                walk(inner)
        elif _is_row(item):
            rows += 1
            found = True

    if not isinstance(result, list | tuple):
        return None
    for item in result:
        walk(item)
    return ResultShape(len(seen), rows) if found or not result else None


def _is_row(item: Any) -> bool:
    """A row of values: a tuple, SQLAlchemy's Row, sqlite3.Row, pyodbc's Row (sequences that
    are not text)."""
    sequence = hasattr(item, "__getitem__") and hasattr(item, "__len__")
    return sequence and not isinstance(item, str | bytes | dict)


def _groups(item: tuple[Any, ...]) -> bool:
    """A tuple that groups results (an object with its loaded children), not a row of values."""
    return any(is_orm_object(value) or isinstance(value, list) for value in item)
