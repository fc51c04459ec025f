"""The common contract: one method per operation, implemented once per way of talking to the
database. A backend never decides sizes, data or expectations; scenarios never hold ORM code.

Two idioms per ORM (DESIGN.md, fairness rules): the method named after the operation is the
idiom the ORM's documentation teaches, with its defaults ("as documented"); a method with the
suffix `_equal` is the idiom that does the scenario's contracted work, the same statements,
transactions and fetched rows as the other ORM and the floor ("equal work"). Where the
documented idiom already does that work there is no `_equal` method, and one measurement
serves both. The raw DB-API floor has one idiom: the contracted work, as cheaply as the driver
allows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

from harness.targets import Target
from harness.trace import Tracer
from scenarios.schema import NormalRow

RowData = Mapping[str, Any]

DOCUMENTED = "documented"
EQUAL = "equal"
IDIOMS = (DOCUMENTED, EQUAL)
IDIOM_TITLES = {DOCUMENTED: "as documented", EQUAL: "equal work"}
OPERATIONS = ("create", "bulk_create", "get", "filter", "update", "delete")


class StatementWhileVerifying(Exception):
    """A statement was sent while the harness read back what an operation returned: the
    objects were not fully loaded when the timed region ended."""


class Backend(ABC):
    """One way of talking to the database. Methods appear in the same order in every module.

    Lifecycle: `__init__` connects (persistent connection, outside any timing); `begin_round`
    and `end_round` bracket each timed operation, untimed, so that no ORM cache carries over;
    `close` releases the connection. With a `tracer`, the backend's DB-API connection reports
    every statement, commit and rollback to it (trace pass only).
    """

    name: ClassVar[str]
    title: ClassVar[str]
    is_floor: ClassVar[bool] = False

    def __init__(self, target: Target, tracer: Tracer | None = None) -> None:
        self.target = target
        self.tracer = tracer

    # --- idioms ---------------------------------------------------------------------------

    @classmethod
    def has_own_idiom(cls, operation: str, idiom: str) -> bool:
        """Does `idiom` of `operation` run code of its own (else it shares the documented)?"""
        return idiom == DOCUMENTED or hasattr(cls, f"{operation}_equal")

    def idiom(self, operation: str, idiom: str) -> Callable[[Any], Any]:
        if idiom == EQUAL and hasattr(self, f"{operation}_equal"):
            return getattr(self, f"{operation}_equal")
        return getattr(self, operation)

    @classmethod
    def idiom_doc(cls, operation: str, idiom: str) -> str:
        name = (
            f"{operation}_equal"
            if idiom == EQUAL and cls.has_own_idiom(operation, EQUAL)
            else operation
        )
        return " ".join((getattr(cls, name).__doc__ or "").split())

    # --- lifecycle ------------------------------------------------------------------------

    def begin_round(self) -> None:
        """Start a round with empty caches (e.g. a fresh ORM session)."""

    def end_round(self) -> None:
        """Release what the round held."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def connection_settings(self) -> dict[str, str]:
        """The session settings of this backend's connection, read back (untimed)."""

    def session_counters(self) -> dict[str, int] | None:
        """The server's per-session statement counters of this backend's connection(s), summed
        (untimed; None where the server keeps none: harness.connection)."""
        return None

    @contextmanager
    def statements_forbidden(self) -> Iterator[None]:
        """While inside, any statement this backend sends raises StatementWhileVerifying
        (used, untimed, while the harness reads what an operation returned)."""
        yield

    # --- operations (as documented) ---------------------------------------------------------

    @abstractmethod
    def create(self, rows: Sequence[RowData]) -> None: ...

    @abstractmethod
    def bulk_create(self, rows: Sequence[RowData]) -> Any: ...

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
