"""The idiom vocabulary, in one place: which idioms a cell can measure and what an idiom is.
Scenarios register their idioms with it (scenarios.base) and backends run them
(backends.base); it imports from neither, so neither imports the other to share it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Protocol

DOCUMENTED = "documented"
EQUAL = "equal"
IDIOMS = (DOCUMENTED, EQUAL)
IDIOM_TITLES = {DOCUMENTED: "as documented", EQUAL: "equal work"}

# An idiom: the backend instance and the round's argument in, what the operation returns out.
Idiom = Callable[[Any, Any], Any]


class IdiomSource(Protocol):
    """What a backend reads of a scenario (scenarios.base.Scenario) to run one of its idioms."""

    name: ClassVar[str]

    @classmethod
    def implementation(cls, backend: str, idiom: str) -> Idiom | None: ...

    @classmethod
    def has_own(cls, backend: str, idiom: str) -> bool: ...
