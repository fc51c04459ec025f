"""How much the harness adds to every timed round: `timed_run` around an operation that does
nothing. `python -m harness.tools.overhead [ROUNDS]` prints the median and the 99th percentile."""

from __future__ import annotations

import statistics
import sys
from typing import Any

from backends.base import Backend
from harness.measuring.rounds import timed_run
from harness.targets.urls import parse_target
from scenarios import Capabilities, Scenario, Tables, Work
from scenarios.contract import WorkContract


class NoopBackend(Backend):
    """A backend whose every operation returns at once."""

    name = "noop"
    title = "no-op"

    def close(self) -> None: ...
    def connection_settings(self) -> dict[str, str]:
        return {}


class NoopScenario(Scenario):
    """Runs an idiom that returns at once: the timed region holds only the harness."""

    name = "noop"
    destructive = False

    def prepare(self, tables: Tables) -> Work:
        return Work([], (0, ""))

    def contract(self, capabilities: Capabilities) -> WorkContract:
        return WorkContract(statements={}, transactions=0, autocommit=True)


@NoopScenario.idiom(NoopBackend.name)
def noop(backend: Backend, argument: Any) -> list[Any]:
    """Nothing."""
    return []


def measure(rounds: int = 20_000) -> list[float]:
    backend = NoopBackend(parse_target("sqlite:///never-opened.sqlite3"))  # no connection
    scenario = NoopScenario(rows=0, seed=0)
    return [timed_run(backend, scenario, []) for _ in range(rounds)]


def main(argv: list[str]) -> None:
    rounds = int(argv[0]) if argv else 20_000
    timings = sorted(measure(rounds))
    p99 = timings[int(0.99 * len(timings)) - 1]
    print(
        f"{rounds} no-op rounds: median {statistics.median(timings) * 1e6:.2f} µs, "
        f"p99 {p99 * 1e6:.2f} µs, max {timings[-1] * 1e6:.2f} µs per timed round"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
