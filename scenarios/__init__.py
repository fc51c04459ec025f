"""The workloads: the data each needs, the operation it times, and what "done" means.

A scenario is one small registered class; its docstring is its label in reports and says what is
timed and where the transaction boundaries are. It never holds ORM code: it calls the backend
contract (`backends.base.Backend`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from scenarios.contract import WorkContract, load_then_write
from scenarios.data import FILTER_PREFIX, Row, make_rows
from scenarios.schema import NormalRow, digest, normal_mapping

if TYPE_CHECKING:
    from backends.base import Backend


class Tables(Protocol):
    """What a scenario needs from the harness to set up state (untimed)."""

    def reset(self) -> None: ...
    def load(self, rows: list[Row]) -> list[int]: ...


@dataclass(frozen=True)
class Capabilities:
    """What the database under test can do that changes a scenario's contract."""

    bulk_batch_rows: int  # rows per multi-row INSERT in the equal-work idioms and the floor
    insert_returning: bool  # one INSERT of many rows can return their ids


@dataclass(frozen=True)
class Work:
    """One prepared round: the operation's argument and what the database must hold after it."""

    argument: Any
    expected_table: tuple[int, str]  # digest of the table after the operation
    expected_result: list[NormalRow] | None = None  # what a read must return, id first
    # The operation returns the rows it created: they must equal the table's, id first.
    returns_created: bool = False
    table_with_ids: list[NormalRow] = field(default_factory=list)  # filled in after a run


@dataclass(frozen=True)
class Outcome:
    status: str  # "passed" | "failed" | "error"
    reason: str = ""


class Scenario(ABC):
    """A workload. Subclasses set `name`, `destructive` and implement prepare/run."""

    name: ClassVar[str]
    destructive: ClassVar[bool]  # True: fresh state before every round
    # Every row in the table after a run was written by that run: the database's own record
    # of which transaction wrote each row (PostgreSQL's xmin) counts the run's transactions.
    writes_every_row: ClassVar[bool] = False

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
    def contract(self, capabilities: Capabilities) -> WorkContract:
        """The work one run must do (DESIGN.md, "Work contracts")."""

    def run(self, backend: Backend, argument: Any, idiom: str = "documented") -> Any:
        return backend.idiom(self.name, idiom)(argument)

    def verify(
        self,
        work: Work,
        table: tuple[int, str],
        result: list[NormalRow] | None,
        created: list[NormalRow] | None = None,
    ) -> Outcome:
        """Did the backend do exactly the work? Compare the table digest and any returned rows
        (`created`: the table's rows with their ids, for an operation that returns what it
        created)."""
        returned_created = work.returns_created and result is not None and created is not None
        if returned_created and sorted(result) != sorted(created):
            return Outcome("failed", "the objects it returned differ from the rows it created")
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
    """Insert n rows one at a time through ORM objects, each row its own transaction (an
    INSERT that commits itself is the least that meets it). Fresh empty table before every
    round."""

    name = "create"
    destructive = True
    writes_every_row = True

    def prepare(self, tables: Tables) -> Work:
        tables.reset()
        rows = make_rows(self.rows, self.seed)
        return Work(rows, table_of(rows))

    def contract(self, capabilities: Capabilities) -> WorkContract:
        n = self.rows
        return WorkContract(
            statements={"INSERT": n},
            transactions=n,
            autocommit=True,
            rows_written={"INSERT": n},
            write_transactions=n,
        )


@register
class BulkCreate(Scenario):
    """Insert n rows with the ORM's bulk API in one transaction, in multi-row INSERTs; where
    the database can return the new ids in bulk, the operation returns the n objects with
    their ids. Fresh empty table before every round."""

    name = "bulk_create"
    destructive = True
    writes_every_row = True

    def operations(self) -> int:
        return 1

    def prepare(self, tables: Tables) -> Work:
        tables.reset()
        rows = make_rows(self.rows, self.seed)
        return Work(rows, table_of(rows), returns_created=True)

    def contract(self, capabilities: Capabilities) -> WorkContract:
        n = self.rows
        batches = math.ceil(n / capabilities.bulk_batch_rows)
        return WorkContract(
            statements={"INSERT": batches},
            transactions=1,
            autocommit=False,
            rows_written={"INSERT": n},
            returns_objects=capabilities.insert_returning,
            write_transactions=1,
            exact_statements=capabilities.insert_returning,
        )


class _ReadScenario(Scenario):
    destructive = False

    def _load(self, tables: Tables) -> tuple[list[Row], list[int]]:
        tables.reset()
        rows = make_rows(self.rows, self.seed)
        return rows, tables.load(rows)


@register
class Get(_ReadScenario):
    """n primary-key lookups, each materialising one ORM object with every column loaded, all
    in one transaction. The n rows are loaded once, untimed; keys are visited in a shuffled
    order."""

    name = "get"

    def prepare(self, tables: Tables) -> Work:
        import random

        rows, ids = self._load(tables)
        by_id = dict(zip(ids, rows, strict=True))
        order = list(ids)
        random.Random(self.seed).shuffle(order)
        return Work(order, table_of(rows), [with_id(pk, by_id[pk]) for pk in order])

    def contract(self, capabilities: Capabilities) -> WorkContract:
        n = self.rows
        return WorkContract(
            statements={"SELECT": n},
            transactions=1,
            autocommit=False,
            select_rows=n,
            returns_objects=True,
            write_transactions=0,
        )


@register
class Filter(_ReadScenario):
    """One query, its own transaction: rows whose name starts with a prefix, case-sensitively
    (about one in eight of n match; as many again differ only in letter case and must not),
    ordered by id, materialised as ORM objects with every column loaded. The n rows are
    loaded once, untimed."""

    name = "filter"

    def operations(self) -> int:
        return 1

    def prepare(self, tables: Tables) -> Work:
        rows, ids = self._load(tables)
        matching = sorted(
            (pk, r) for pk, r in zip(ids, rows, strict=True) if r["name"].startswith(FILTER_PREFIX)
        )
        self.matching = len(matching)
        return Work(FILTER_PREFIX, table_of(rows), [with_id(pk, r) for pk, r in matching])

    def contract(self, capabilities: Capabilities) -> WorkContract:
        matching = getattr(self, "matching", None)
        return WorkContract(
            statements={"SELECT": 1},
            transactions=1,
            autocommit=True,
            select_rows=matching,
            returns_objects=True,
            write_transactions=0,
        )


@register
class Update(Scenario):
    """n rows, one at a time: load the row (every column), change its quantity, save only
    that column; each row its own transaction, load and save in the same one. Fresh n rows
    before every round."""

    name = "update"
    destructive = True
    writes_every_row = True

    def prepare(self, tables: Tables) -> Work:
        tables.reset()
        rows = make_rows(self.rows, self.seed)
        ids = tables.load(rows)
        changed = [{**r, "quantity": r["quantity"] + 1} for r in rows]
        return Work(
            [(pk, r["quantity"]) for pk, r in zip(ids, changed, strict=True)], table_of(changed)
        )

    def contract(self, capabilities: Capabilities) -> WorkContract:
        return load_then_write(self.rows, "UPDATE", update_columns=1)


@register
class Delete(Scenario):
    """n rows deleted one at a time through the ORM (load every column, delete), each row its
    own transaction. Fresh 2n rows before every round; every other row is deleted."""

    name = "delete"
    destructive = True

    def prepare(self, tables: Tables) -> Work:
        tables.reset()
        rows = make_rows(2 * self.rows, self.seed)
        ids = tables.load(rows)
        doomed = ids[0::2]
        return Work(doomed, table_of(rows[1::2]))

    def contract(self, capabilities: Capabilities) -> WorkContract:
        return load_then_write(self.rows, "DELETE")


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
