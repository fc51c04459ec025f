"""The common contract: one method per operation, implemented once per way of talking to the
database. A backend never decides sizes, data or expectations; scenarios never hold ORM code."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from harness.targets import Target
from harness.trace import Tracer
from scenarios.schema import NormalRow

RowData = Mapping[str, Any]


class Backend(ABC):
    """One way of talking to the database. Methods appear in the same order in every module.

    Lifecycle: `__init__` connects (persistent connection, outside any timing); `begin_round`
    and `end_round` bracket each timed operation, untimed, so that no ORM cache carries over;
    `close` releases the connection. With a `tracer`, the backend's DB-API connection reports
    every statement, commit and rollback to it (trace pass only).
    """

    name: ClassVar[str]
    title: ClassVar[str]

    def __init__(self, target: Target, tracer: Tracer | None = None) -> None:
        self.target = target
        self.tracer = tracer

    def begin_round(self) -> None:
        """Start a round with empty caches (e.g. a fresh ORM session)."""

    def end_round(self) -> None:
        """Release what the round held."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def create(self, rows: Sequence[RowData]) -> None: ...

    @abstractmethod
    def bulk_create(self, rows: Sequence[RowData]) -> None: ...

    @abstractmethod
    def get(self, ids: Sequence[int]) -> list[Any]: ...

    @abstractmethod
    def filter(self, prefix: str) -> list[Any]: ...

    @abstractmethod
    def update(self, changes: Sequence[tuple[int, int]]) -> None: ...

    @abstractmethod
    def delete(self, ids: Sequence[int]) -> None: ...

    @abstractmethod
    def normal_rows(self, result: list[Any]) -> list[NormalRow]:
        """What a read returned, as normalised rows with their id first (untimed)."""
