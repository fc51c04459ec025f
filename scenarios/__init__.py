"""The workloads: the data each needs, the operation it times, and what "done" means.

A scenario is one small registered class; its docstring is its label in reports and says what is
timed and where the transaction boundaries are. It never holds ORM code: it calls the backend
contract (`backends.base.Backend`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from scenarios.data import FILTER_PREFIX, Row, make_rows
from scenarios.schema import NormalRow, digest, normal_mapping

if TYPE_CHECKING:
    from backends.base import Backend


class Tables(Protocol):
    """What a scenario needs from the harness to set up state (untimed)."""

    def reset(self) -> None: ...
    def load(self, rows: list[Row]) -> list[int]: ...


@dataclass(frozen=True)
class Work:
    """One prepared round: the operation's argument and what the database must hold after it."""

    argument: Any
    expected_table: tuple[int, str]  # digest of the table after the operation
    expected_result: list[NormalRow] | None = None  # what a read must return, id first


@dataclass(frozen=True)
class Outcome:
    status: str  # "passed" | "failed" | "error"
    reason: str = ""


class Scenario(ABC):
    """A workload. Subclasses set `name`, `destructive` and implement prepare/run."""

    name: ClassVar[str]
    destructive: ClassVar[bool]  # True: fresh state before every round

    def __init__(self, rows: int, seed: int) -> None:
        self.rows = rows
        self.seed = seed

    @classmethod
    def description(cls) -> str:
        return " ".join((cls.__doc__ or "").split())

    def operations(self) -> int:
        """How many operations one run performs (statements are reported per operation)."""
        return self.rows

    @abstractmethod
    def prepare(self, tables: Tables) -> Work: ...

    @abstractmethod
    def run(self, backend: Backend, argument: Any) -> Any: ...

    def verify(self, work: Work, table: tuple[int, str], result: list[NormalRow] | None) -> Outcome:
        """Did the backend do exactly the work? Compare the table digest and any returned rows."""
        if table != work.expected_table:
            count, _ = table
            expected_count, _ = work.expected_table
            if count != expected_count:
                why = f"table holds {count} rows, expected {expected_count}"
            else:
                why = f"table holds {count} rows as expected but their values differ"
            return Outcome("failed", why)
        if work.expected_result is not None:
            if result is None:
                return Outcome("failed", "the operation returned nothing")
            if len(result) != len(work.expected_result):
                return Outcome(
                    "failed", f"returned {len(result)} rows, expected {len(work.expected_result)}"
                )
            if result != work.expected_result:
                bad = next(
                    i
                    for i, (a, b) in enumerate(zip(result, work.expected_result, strict=True))
                    if a != b
                )
                return Outcome("failed", f"returned row {bad} differs from the expected one")
        return Outcome("passed")


REGISTRY: dict[str, type[Scenario]] = {}


def register(cls: type[Scenario]) -> type[Scenario]:
    REGISTRY[cls.name] = cls
    return cls


def table_of(rows: list[Row]) -> tuple[int, str]:
    return digest(normal_mapping(r) for r in rows)


def with_id(pk: int, row: Row) -> NormalRow:
    return (pk, *normal_mapping(row))


@register
class Create(Scenario):
    """Insert n rows one at a time through ORM objects, each row committed in its own
    transaction. Fresh empty table before every round."""

    name = "create"
    destructive = True

    def prepare(self, tables: Tables) -> Work:
        tables.reset()
        rows = make_rows(self.rows, self.seed)
        return Work(rows, table_of(rows))

    def run(self, backend: Backend, argument: Any) -> Any:
        return backend.create(argument)


@register
class BulkCreate(Scenario):
    """Insert n rows with the ORM's bulk API in one transaction. Fresh empty table before
    every round."""

    name = "bulk_create"
    destructive = True

    def operations(self) -> int:
        return 1

    def prepare(self, tables: Tables) -> Work:
        tables.reset()
        rows = make_rows(self.rows, self.seed)
        return Work(rows, table_of(rows))

    def run(self, backend: Backend, argument: Any) -> Any:
        return backend.bulk_create(argument)


class _ReadScenario(Scenario):
    destructive = False

    def _load(self, tables: Tables) -> tuple[list[Row], list[int]]:
        tables.reset()
        rows = make_rows(self.rows, self.seed)
        return rows, tables.load(rows)


@register
class Get(_ReadScenario):
    """n primary-key lookups, each materialising one ORM object, all in one transaction.
    The n rows are loaded once, untimed; keys are visited in a shuffled order."""

    name = "get"

    def prepare(self, tables: Tables) -> Work:
        import random

        rows, ids = self._load(tables)
        by_id = dict(zip(ids, rows, strict=True))
        order = list(ids)
        random.Random(self.seed).shuffle(order)
        return Work(order, table_of(rows), [with_id(pk, by_id[pk]) for pk in order])

    def run(self, backend: Backend, argument: Any) -> Any:
        return backend.get(argument)


@register
class Filter(_ReadScenario):
    """One query in one transaction: rows whose name starts with a prefix (about one in eight
    of n), ordered by id, materialised as ORM objects. The n rows are loaded once, untimed."""

    name = "filter"

    def operations(self) -> int:
        return 1

    def prepare(self, tables: Tables) -> Work:
        rows, ids = self._load(tables)
        matching = sorted(
            (pk, r) for pk, r in zip(ids, rows, strict=True) if r["name"].startswith(FILTER_PREFIX)
        )
        return Work(FILTER_PREFIX, table_of(rows), [with_id(pk, r) for pk, r in matching])

    def run(self, backend: Backend, argument: Any) -> Any:
        return backend.filter(argument)


@register
class Update(Scenario):
    """n rows, one at a time: load the row, change its quantity, save; each row committed in
    its own transaction (load and save in the same one). Fresh n rows before every round."""

    name = "update"
    destructive = True

    def prepare(self, tables: Tables) -> Work:
        tables.reset()
        rows = make_rows(self.rows, self.seed)
        ids = tables.load(rows)
        changed = [{**r, "quantity": r["quantity"] + 1} for r in rows]
        return Work(
            [(pk, r["quantity"]) for pk, r in zip(ids, changed, strict=True)], table_of(changed)
        )

    def run(self, backend: Backend, argument: Any) -> Any:
        return backend.update(argument)


@register
class Delete(Scenario):
    """n rows deleted one at a time through the ORM (load, delete), each committed in its own
    transaction. Fresh 2n rows before every round; every other row is deleted."""

    name = "delete"
    destructive = True

    def prepare(self, tables: Tables) -> Work:
        tables.reset()
        rows = make_rows(2 * self.rows, self.seed)
        ids = tables.load(rows)
        doomed = ids[0::2]
        return Work(doomed, table_of(rows[1::2]))

    def run(self, backend: Backend, argument: Any) -> Any:
        return backend.delete(argument)


def resolve(names: list[str] | None) -> list[type[Scenario]]:
    from harness.errors import ConfigurationError

    if not names:
        return list(REGISTRY.values())
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise ConfigurationError(
            f"unknown scenario '{unknown[0]}'", f"choose from: {', '.join(REGISTRY)}"
        )
    return [REGISTRY[n] for n in names]
