"""What every way of talking to the database provides: connecting, the round lifecycle, the
session settings read back, and running a scenario's idiom. The idioms themselves live in the
scenario modules (scenarios/), side by side; a backend never decides sizes, data or
expectations.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any, ClassVar

from harness.targets.urls import Target
from harness.wire.counters import read_session_counters, sum_counters
from harness.wire.trace import Tracer
from scenarios.idioms import DOCUMENTED, EQUAL, Idiom, IdiomSource

RowData = Mapping[str, Any]


class StatementWhileVerifying(Exception):
    """A statement was sent while the harness read back what an operation returned: the
    objects were not fully loaded when the timed region ended."""


class NoIdiom(Exception):
    """The scenario has no idiom for this backend."""


def replaces(scenario: str, idiom: str = DOCUMENTED) -> Callable[[Idiom], Idiom]:
    """Mark a method of a plug-in backend (a subclass standing in for one of ours, e.g. in
    tests) as its own `idiom` of `scenario`, in place of the one the scenario module holds."""

    def mark(method: Idiom) -> Idiom:
        method.ormbench_replaces = (scenario, idiom)  # type: ignore[attr-defined]
        return method

    return mark


class Backend(ABC):
    """One way of talking to the database.

    Lifecycle: `__init__` connects (persistent connection, outside any timing); `begin_round`
    and `end_round` bracket each timed operation, untimed, so that no ORM cache carries over;
    `close` releases the connection. With a `tracer`, the backend's DB-API connection reports
    every statement, commit and rollback to it (trace pass only).
    """

    name: ClassVar[str]
    title: ClassVar[str]
    is_floor: ClassVar[bool] = False
    # (scenario, idiom) -> method, from `replaces`; collected per subclass.
    replaced: ClassVar[dict[tuple[str, str], Idiom]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.replaced = dict(cls.replaced)
        for value in vars(cls).values():
            key = getattr(value, "ormbench_replaces", None)
            if key is not None:
                cls.replaced[key] = value

    def __init__(self, target: Target, tracer: Tracer | None = None) -> None:
        self.target = target
        self.tracer = tracer

    # --- idioms ---------------------------------------------------------------------------

    @classmethod
    def implementation(cls, scenario: type[IdiomSource], idiom: str) -> Idiom | None:
        """The function that runs `idiom` of `scenario` here: a plug-in's own, else the
        scenario module's for this backend's name."""
        own = cls.replaced.get((scenario.name, idiom))
        # A plug-in's documented idiom stands for equal work where ours has none apart.
        shared = (scenario.name, DOCUMENTED) in cls.replaced and not scenario.has_own(
            cls.name, EQUAL
        )
        if own is None and idiom == EQUAL and shared:
            own = cls.replaced[(scenario.name, DOCUMENTED)]
        return own or scenario.implementation(cls.name, idiom)

    @classmethod
    def has_own_idiom(cls, scenario: type[IdiomSource], idiom: str) -> bool:
        """Does `idiom` of `scenario` run code of its own here (else it shares the
        documented)?"""
        return (
            idiom == DOCUMENTED
            or (scenario.name, idiom) in cls.replaced
            or scenario.has_own(cls.name, idiom)
        )

    @classmethod
    def supports(cls, scenario: type[IdiomSource]) -> bool:
        return cls.implementation(scenario, DOCUMENTED) is not None

    @classmethod
    def idiom_doc(cls, scenario: type[IdiomSource], idiom: str) -> str:
        function = cls.implementation(scenario, idiom)
        return " ".join(((function.__doc__ if function else None) or "").split())

    def runner(self, scenario: IdiomSource, idiom: str) -> Callable[[Any], Any]:
        """`idiom` of `scenario` bound to this backend, looked up once, before any clock
        starts: the timed region holds the call alone. A plug-in that wraps every operation
        (e.g. a deliberately slowed backend) overrides this."""
        function = self.implementation(type(scenario), idiom)
        if function is None:
            raise NoIdiom(f"{scenario.name} has no idiom for {self.name}")
        return partial(function, self)

    def perform(self, scenario: IdiomSource, idiom: str, argument: Any) -> Any:
        """Run `idiom` of `scenario` once."""
        return self.runner(scenario, idiom)(argument)

    # --- lifecycle ------------------------------------------------------------------------

    def begin_round(self) -> None:
        """Start a round with empty caches (e.g. a fresh ORM session)."""

    def end_round(self) -> None:
        """Release what the round held."""

    def pause(self) -> None:
        """A trace-pass instance kept for the next scenario's trace pass
        (harness.measuring.trace_pass.TracedBackends): give back anything it shares with the
        backend the timed rounds use, keeping its own connections open. Idempotent."""

    def resume(self) -> None:
        """Before the next trace pass: take back what `pause` gave back."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def connection_settings(self) -> dict[str, str]:
        """The session settings of this backend's connection, read back (untimed)."""

    def session_counters(self) -> dict[str, int] | None:
        """The database's per-session counters of this backend's connection(s), summed
        (untimed; None where it keeps none per session: harness.wire.counters)."""
        family = self.target.family
        return sum_counters(self.on_each_connection(lambda c: read_session_counters(family, c)))

    def on_each_connection(self, call: Callable[[Any], Any]) -> list[Any]:
        """`call(connection)` on each of this backend's open DB-API connections, bare (not
        traced), in a fixed order, untimed: reading the server's counters from the backend's
        own sessions. [] where the backend does not say which connections it holds."""
        return []

    @contextmanager
    def statements_forbidden(self) -> Iterator[None]:
        """While inside, any statement this backend sends raises StatementWhileVerifying
        (used, untimed, while the harness reads what an operation returned)."""
        yield
