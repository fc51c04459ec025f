"""What every scenario is made of: the scenario class (its data, its work contract and its
verification), the registry of scenarios, and the registry of each scenario's idioms.

A scenario is one module (`scenarios/<name>.py`) holding one registered class and, side by
side, each backend's idioms as small functions registered on it; a function's docstring is its
label in reports. Backends (`backends/`) keep what is per backend: connecting, the round
lifecycle, tracing and the ORM mappings; an idiom function gets the backend's instance and the
round's argument.
"""

from __future__ import annotations

import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from hashlib import sha256
from operator import attrgetter
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from scenarios.contract import WorkContract
from scenarios.data import Row, make_rows
from scenarios.idioms import DOCUMENTED, EQUAL, Idiom
from scenarios.schema import (
    ALL_COLUMNS,
    Digest,
    NormalRow,
    digest,
    item_table,
    normal_mapping,
    row_normaliser,
)

if TYPE_CHECKING:
    from sqlalchemy import Table

    from backends.base import Backend


class Tables(Protocol):
    """What a scenario needs from the harness to set up state (untimed): empty tables (the
    item table by default), and load rows into one, getting their ids back in order."""

    def reset(self, *tables: Table) -> None: ...
    def load(self, rows: Iterable[Row], table: Table = ...) -> list[int]: ...


# Objects per repr hashed at a time by `returned_fingerprint`.
_FINGERPRINT_BATCH = 10_000


@dataclass(frozen=True)
class Capabilities:
    """What the database under test can do that changes a scenario's contract."""

    bulk_batch_rows: int  # rows per multi-row INSERT in the equal-work idioms and the floor
    insert_returning: bool  # one INSERT of many rows can return their ids
    family: str = ""  # the database family (sqlite, postgresql, mysql, mssql)


@dataclass(frozen=True)
class Work:
    """One prepared round: the operation's argument and what the database must hold after it."""

    argument: Any
    expected_table: tuple[int, str]  # digest of the table after the operation
    expected_result: list[NormalRow] | None = None  # what a read must return, id first
    # The operation returns the rows it created: they must equal the table's, id first.
    returns_created: bool = False
    table_with_ids: list[NormalRow] = field(default_factory=list)  # filled in after a run
    # Rows (id first) that must be in the table afterwards under these very ids: rows the
    # operation updates in place, which a delete and re-insert would give new ids.
    kept_rows: list[NormalRow] = field(default_factory=list)


@dataclass(frozen=True)
class Created:
    """What a run's rows with their ids came to, read untimed after it: the digest (id first)
    of what the operation returned (None where it returned nothing to hold) and of the
    table's rows, and which of the work's `kept_rows` the table does not hold."""

    returned: tuple[int, str] | None
    table: tuple[int, str] | None
    missing: Collection[NormalRow] = ()


@dataclass(frozen=True)
class Outcome:
    status: str  # "passed" | "failed" | "error"
    reason: str = ""


class Scenario(ABC):
    """A workload. Subclasses set `name`, `destructive` and implement prepare/contract; the
    module that defines one registers each backend's idioms on it with `Scenario.idiom`."""

    name: ClassVar[str]
    destructive: ClassVar[bool]  # True: fresh state before every round
    # Every row in the table after a run was written by that run: the database's own record
    # of which transaction wrote each row (PostgreSQL's xmin) counts the run's transactions.
    writes_every_row: ClassVar[bool] = False
    # Runs when no --scenarios is given (the rest are chosen by name or with --scenarios all).
    default: ClassVar[bool] = True
    # Its cells always get the untimed peak-memory pass (others only with --memory).
    measures_memory: ClassVar[bool] = False
    # The tables it works on (the harness creates and drops them; names start "ormbench_"),
    # and the one whose rows are digested after every round (Work.expected_table).
    tables: ClassVar[tuple[Table, ...]] = (item_table,)
    checked_table: ClassVar[Table] = item_table
    # (backend name, idiom) -> function, filled by `idiom()`; each subclass has its own.
    idioms: ClassVar[dict[tuple[str, str], Idiom]] = {}
    # ORM -> the function that compiles its idioms' statements for SQL Server offline
    # (`compiles()`; harness.tools.tsql_compile calls it with its tools, and it returns idiom ->
    # statements).
    offline: ClassVar[dict[str, Callable[[Any], dict[str, list[Any]]]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.idioms = {}
        cls.offline = {}

    def __init__(self, rows: int, seed: int) -> None:
        self.rows = rows
        self.seed = seed

    @classmethod
    def description(cls) -> str:
        return " ".join((cls.__doc__ or "").split())

    # --- idioms ---------------------------------------------------------------------------

    @classmethod
    def idiom(cls, backend: str, idiom: str = DOCUMENTED) -> Callable[[Idiom], Idiom]:
        """Register the decorated function as `backend`'s `idiom` of this scenario: DOCUMENTED
        (what the ORM's documentation teaches; the floor's one idiom) or EQUAL (the contracted
        work, where the documented code does other work)."""

        def add(function: Idiom) -> Idiom:
            cls.idioms[(backend, idiom)] = function
            return function

        return add

    @classmethod
    def compiles(cls, orm: str) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
        """Register the decorated function as `orm`'s offline SQL Server compiler for this
        scenario: given harness.tools.tsql_compile's tools, it returns {DOCUMENTED: [...],
        EQUAL: [...]} (EQUAL where the ORM has an equal-work idiom of its own)."""

        def add(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
            cls.offline[orm] = function
            return function

        return add

    @classmethod
    def implementation(cls, backend: str, idiom: str) -> Idiom | None:
        """`backend`'s function for `idiom`: its equal-work idiom falls back to the documented
        one, which then does the contracted work itself."""
        found = cls.idioms.get((backend, idiom))
        if found is None and idiom == EQUAL:
            found = cls.idioms.get((backend, DOCUMENTED))
        return found

    @classmethod
    def has_own(cls, backend: str, idiom: str) -> bool:
        """Does `idiom` run code of its own for `backend` (else it shares the documented)?"""
        return (backend, idiom) in cls.idioms

    @classmethod
    def backends(cls) -> set[str]:
        """The backends this scenario has idioms for."""
        return {backend for backend, _ in cls.idioms}

    @classmethod
    def idiom_doc(cls, backend: str, idiom: str) -> str:
        function = cls.implementation(backend, idiom)
        return " ".join(((function.__doc__ if function else None) or "").split())

    # --- one run ----------------------------------------------------------------------------

    def operations(self) -> int:
        """How many operations one run performs (statements are reported per operation)."""
        return self.rows

    def generated(self) -> tuple[list[Row], tuple[int, str]]:
        """The n rows from the seed and their table digest, made once per scenario and handed
        to every round (untimed): each round gets them as they were made, since the expected
        digest is of the rows as made, a round that changed them fails the next round's
        check."""
        made = getattr(self, "_generated", None)
        if made is None:
            rows = make_rows(self.rows, self.seed)
            made = self._generated = (rows, table_of(rows))
        return made

    def expected_once(self, key: str, compute: Callable[[], Any]) -> Any:
        """`compute()`'s value, computed on the first call for `key` and kept: what a
        destructive scenario expects of every round is the same in each."""
        cache = self.__dict__.setdefault("_expected", {})
        if key not in cache:
            cache[key] = compute()
        return cache[key]

    @abstractmethod
    def prepare(self, tables: Tables) -> Work: ...

    @abstractmethod
    def contract(self, capabilities: Capabilities) -> WorkContract:
        """The work one run must do (DESIGN.md, "Work contracts")."""

    def run(self, backend: Backend, argument: Any, idiom: str = DOCUMENTED) -> Any:
        return backend.perform(self, idiom, argument)

    def unsupported(self, backend: str, family: str) -> str | None:
        """Why `backend` cannot run this scenario on `family`, or None: its cells then say
        "unsupported" with this reason instead of being timed."""
        return None

    def returned(self, result: Any) -> list[NormalRow]:
        """What a run returned as normalised rows of `checked_table`, every column in table
        order (untimed, read with statements forbidden): ORM objects by attribute, the floor's
        rows as they are. A scenario that returns something else overrides this."""
        return list(self._normalised(result))

    def returned_digest(self, result: Any) -> tuple[int, str]:
        """The digest of what a run returned (`returned`'s rows, id first), computed one row
        at a time where `returned` is this class's own: no list of every row."""
        if type(self).returned is Scenario.returned:
            return Digest().update(self._normalised(result)).value()
        return digest(self.returned(result))

    def returned_fingerprint(self, result: Any) -> str | None:
        """What a run returned, each object's columns as the ORM or the driver hands them
        over (no normalisation), hashed like `HarnessDatabase.fingerprint`: equal
        fingerprints, equal returned values. None where it cannot be read so: a result that
        cannot be read twice (the full check reads it again when the fingerprint is new), or
        a scenario that reads its result its own way (`returned` overridden)."""
        if type(self).returned is not Scenario.returned or not isinstance(result, list | tuple):
            return None
        table = self.checked_table
        columns = ALL_COLUMNS if table is item_table else tuple(c.name for c in table.columns)
        hashed, read = sha256(), attrgetter(*columns)
        for start in range(0, len(result), _FINGERPRINT_BATCH):
            batch = result[start : start + _FINGERPRINT_BATCH]
            if batch and isinstance(batch[0], tuple | list):  # a driver's rows (the floor's)
                values = [tuple(row) for row in batch]
            else:
                values = list(map(read, batch))
            hashed.update(repr(values).encode())
        return f"{len(result)}:{hashed.hexdigest()}"

    def _normalised(self, result: Any) -> Iterator[NormalRow]:
        table = self.checked_table
        columns = ALL_COLUMNS if table is item_table else tuple(c.name for c in table.columns)
        normal = row_normaliser(columns, table)
        return (normal(_values(item, columns)) for item in result)

    def verify(
        self,
        work: Work,
        table: tuple[int, str],
        result: list[NormalRow] | None,
        created: Created | None = None,
    ) -> Outcome:
        """Did the backend do exactly the work? Compare the table digest and any returned rows
        (`created`: for an operation that returns what it created, the digests of what it
        returned and of the table's rows, id first; for one that must keep rows under their
        ids, which of them the table no longer holds)."""
        if (
            work.returns_created
            and created is not None
            and created.returned is not None
            and created.returned != created.table
        ):
            return Outcome("failed", "the objects it returned differ from the rows it created")
        if table != work.expected_table:
            count, _ = table
            expected_count, _ = work.expected_table
            if count != expected_count:
                why = f"table holds {count} rows, expected {expected_count}"
            else:
                why = f"table holds {count} rows as expected but their values differ"
            return Outcome("failed", why)
        if work.kept_rows and created is not None:
            lost = [row for row in work.kept_rows if row in created.missing]
            if lost:
                return Outcome(
                    "failed",
                    f"{len(lost)} of {len(work.kept_rows)} rows that had to stay under their ids "
                    f"did not (id {lost[0][0]} among them): written anew instead of updated",
                )
        if work.expected_result is not None:
            if result is None:
                return Outcome("failed", "the operation returned nothing")
            if len(result) != len(work.expected_result):
                return Outcome(
                    "failed", f"returned {len(result)} rows, expected {len(work.expected_result)}"
                )
            pairs = zip(result, work.expected_result, strict=True)
            bad = next((i for i, (a, b) in enumerate(pairs) if not self.same_row(a, b)), None)
            if bad is not None:
                return Outcome("failed", f"returned row {bad} differs from the expected one")
        return Outcome("passed")

    def same_row(self, returned: NormalRow, expected: NormalRow) -> bool:
        """Is a returned row the expected one? Exactly, unless a scenario's values may
        differ within their type's precision (aggregates' averages)."""
        return returned == expected


REGISTRY: dict[str, type[Scenario]] = {}


def register(cls: type[Scenario]) -> type[Scenario]:
    REGISTRY[cls.name] = cls
    return cls


def table_of(rows: Iterable[Row]) -> tuple[int, str]:
    return digest(normal_mapping(r) for r in rows)


def with_id(pk: int, row: Row) -> NormalRow:
    return (pk, *normal_mapping(row))


def _values(item: Any, columns: tuple[str, ...]) -> Any:
    """An ORM object's columns; a driver's row as it is (pyodbc's Row reads by name too)."""
    if isinstance(item, tuple | list):
        return item
    return [getattr(item, column) for column in columns]


def resolve(names: list[str] | None) -> list[type[Scenario]]:
    """The scenarios `--scenarios` names: registered names, "all", or a user's scenario as
    "package.module:Class" (imported, and registered under its own name). None: the default
    set."""
    from harness.targets.errors import ConfigurationError

    if not names:
        return [cls for cls in REGISTRY.values() if cls.default]
    chosen: list[type[Scenario]] = []
    for name in names:
        if name == "all":
            chosen += REGISTRY.values()
        elif ":" in name:
            chosen.append(load_user_scenario(name))
        elif name in REGISTRY:
            chosen.append(REGISTRY[name])
        else:
            raise ConfigurationError(
                f"unknown scenario '{name}'",
                f"choose from: {', '.join(REGISTRY)}, all, or package.module:Class",
            )
    return list(dict.fromkeys(chosen))


def load_user_scenario(spec: str) -> type[Scenario]:
    """A user's scenario class from "package.module:Class", registered under its name."""
    from importlib import import_module

    from harness.targets.errors import ConfigurationError

    module, _, attribute = spec.partition(":")
    if os.getcwd() not in sys.path:  # the console script's path does not hold it
        sys.path.insert(0, os.getcwd())
    try:
        cls = getattr(import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(
            f"cannot load scenario '{spec}' ({exc})",
            "give package.module:Class for a Scenario subclass importable from the current "
            "folder or PYTHONPATH",
        ) from None
    if not (isinstance(cls, type) and issubclass(cls, Scenario) and hasattr(cls, "name")):
        raise ConfigurationError(
            f"'{spec}' is not a Scenario subclass with a name",
            "a user scenario subclasses scenarios.Scenario (see examples/)",
        )
    known = REGISTRY.get(cls.name)
    if known is not None and known is not cls:
        raise ConfigurationError(
            f"scenario '{spec}' takes the name '{cls.name}' of another scenario",
            "give the user scenario a name of its own",
        )
    REGISTRY[cls.name] = cls
    return cls
