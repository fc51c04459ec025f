"""A test-only backend that is deliberately slower, to prove `ormbench compare` flags it.
It does exactly SQLAlchemy's work, then waits half as long again, so every operation takes
1.5x its real time; it stands in for SQLAlchemy by name (`--backends slowed_backends:...`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from backends.base import RowData
from backends.sqlalchemy_orm import SqlAlchemyOrm

SLOWDOWN = 0.5  # extra time as a fraction of the operation's own


def _slowed(operation: Callable[..., Any], *args: Any) -> Any:
    start = time.perf_counter()
    result = operation(*args)
    time.sleep((time.perf_counter() - start) * SLOWDOWN)
    return result


class SlowedSqlAlchemy(SqlAlchemyOrm):
    """SQLAlchemy ORM, each operation followed by a sleep of half its duration."""

    def create(self, rows: Sequence[RowData]) -> None:
        _slowed(super().create, rows)

    def bulk_create(self, rows: Sequence[RowData]) -> None:
        _slowed(super().bulk_create, rows)

    def get(self, ids: Sequence[int]) -> list[Any]:
        return _slowed(super().get, ids)

    def filter(self, prefix: str) -> list[Any]:
        return _slowed(super().filter, prefix)

    def update(self, changes: Sequence[tuple[int, int]]) -> None:
        _slowed(super().update, changes)

    def delete(self, ids: Sequence[int]) -> None:
        _slowed(super().delete, ids)
