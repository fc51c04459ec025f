"""The gate on instruction counts, on result files built from known counts: `compare` and
`compare --history` judge a cell counted on both sides on its instructions per operation, not
on its times (which here are pure noise), with the verdicts README's table gives."""

from __future__ import annotations

from dataclasses import replace

from harness.gating.compare import (
    FLOOR_MOVED,
    INCONCLUSIVE,
    INSTRUCTIONS,
    REGRESSION,
    WITHIN,
    compare,
)
from harness.gating.history import judge_history
from tests.test_compare import cell, result, rounds

# One counted pass: the first timed round runs a little more code than the others.
COUNTS = [1_030_000, 1_000_000, 1_001_000, 999_000, 1_000_500, 1_000_200]


def counted(scenario: str, backend: str, scale: float, seed: int):
    timed = cell(scenario, backend, rounds(0.1, 0.3, seed, n=len(COUNTS)))  # noisy times
    return replace(timed, instructions_rounds=[round(c * scale) for c in COUNTS])


def run(sqlalchemy: float = 1.0, django: float = 1.0, floor: float = 1.0, seed: int = 0):
    return result(
        [
            counted("get", "sqlalchemy", sqlalchemy, seed + 1),
            counted("get", "django", django, seed + 2),
            counted("get", "dbapi", floor, seed + 3),
        ]
    )


def verdicts(comparison) -> dict[str, str]:
    assert all(c.measure == INSTRUCTIONS for c in comparison.changes)
    return {c.backend: c.status for c in comparison.changes}


def test_three_percent_more_instructions_is_a_regression_whatever_the_times_do():
    judged = compare(run(seed=0), run(sqlalchemy=1.03, seed=10), threshold=0.10)
    assert verdicts(judged) == {"sqlalchemy": REGRESSION, "django": WITHIN, "dbapi": WITHIN}
    assert judged.counted


def test_no_change_is_within_threshold():
    assert set(verdicts(compare(run(seed=0), run(seed=10), threshold=0.10)).values()) == {WITHIN}


def test_a_change_some_rounds_contradict_is_inconclusive_not_a_regression():
    # +2.5% in five rounds of six, beyond the 2% threshold; the first round 2% fewer
    current = run(sqlalchemy=1.025)
    moved = next(c for c in current.cells if c.backend == "sqlalchemy")
    first_lower = replace(moved, instructions_rounds=[1_010_000, *moved.instructions_rounds[1:]])
    current = replace(current, cells=[first_lower, *current.cells[1:]])
    assert verdicts(compare(run(), current, threshold=0.10))["sqlalchemy"] == INCONCLUSIVE


def test_rounds_pair_by_their_place_in_the_run():
    """+3% in every round is caught although the first round's own excess (+3%) is as large:
    round i is compared with round i."""
    judged = compare(run(), run(sqlalchemy=1.03), threshold=0.10)
    change = next(c for c in judged.changes if c.backend == "sqlalchemy")
    assert change.status == REGRESSION
    assert abs(change.ci_low - 1.03) < 1e-3 and abs(change.ci_high - 1.03) < 1e-3


def test_the_floor_moving_is_said_so():
    assert verdicts(compare(run(), run(floor=1.05), threshold=0.10))["dbapi"] == FLOOR_MOVED


def test_a_cell_counted_on_one_side_only_is_judged_on_time():
    timed_only = result([cell("get", "sqlalchemy", rounds(0.1, 0.01, 5))])
    judged = compare(timed_only, run(), threshold=0.10)
    assert next(c for c in judged.changes if c.backend == "sqlalchemy").measure == "time"


def test_history_gates_on_counts():
    history = [(f"run{i}", run(seed=20 * i)) for i in range(6)]
    regressed = judge_history(history, run(sqlalchemy=1.03), 0.10, "now", "dir")
    assert verdicts(regressed)["sqlalchemy"] == REGRESSION
    unchanged = judge_history(history, run(seed=99), 0.10, "now", "dir")
    assert set(verdicts(unchanged).values()) == {WITHIN}
