"""Statistics: distribution-free intervals and the verdict rule."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from harness.judging.stats import independent_ratio, iqr, median_interval, paired_ratio
from harness.judging.verdicts import orm_verdict
from reports.model import Cell, Verification


def test_median_interval_uses_order_statistics_with_95_percent_coverage() -> None:
    interval = median_interval([float(v) for v in range(10)])
    # n=10: [x(2), x(9)] covers the median with probability 97.9%, [x(3), x(8)] only 89%.
    assert (interval.low, interval.high) == (1.0, 8.0)


@pytest.mark.parametrize("n", [1, 2, 5])
def test_no_interval_below_six_values(n: int) -> None:
    interval = median_interval([1.0] * n)
    assert interval.low == -math.inf and interval.high == math.inf


def test_paired_ratio_is_the_median_of_per_round_ratios() -> None:
    a = [2.0, 2.2, 1.8, 2.0, 2.1, 1.9, 2.0, 2.0, 2.0, 2.0]
    b = [1.0] * 10
    interval = paired_ratio(a, b)
    assert interval.estimate == pytest.approx(2.0)
    assert interval.excludes(1.0)
    assert 1.8 <= interval.low <= 2.0 <= interval.high <= 2.2


def test_paired_ratio_cancels_drift_that_hits_both_backends() -> None:
    drift = [1.0, 1.5, 0.7, 2.0, 1.1, 0.9, 1.3, 1.0]
    a = [1.2 * d for d in drift]
    interval = paired_ratio(a, drift)
    assert interval.low == pytest.approx(1.2) and interval.high == pytest.approx(1.2)


def test_independent_ratio_is_reproducible_and_brackets_the_estimate() -> None:
    current = [1.0, 1.1, 0.9, 1.05, 0.95, 1.0, 1.02, 0.98]
    baseline = [0.5, 0.55, 0.45, 0.52, 0.48, 0.5, 0.51, 0.49]
    first = independent_ratio(current, baseline)
    assert first == independent_ratio(current, baseline)
    assert first.low <= first.estimate <= first.high
    assert first.excludes(1.0)


def test_iqr() -> None:
    assert iqr([1.0, 2.0, 3.0, 4.0, 5.0]) == pytest.approx(2.0)
    assert iqr([3.0]) == 0.0


def _cell(backend: str, rounds: list[float], status: str = "passed") -> Cell:
    return Cell(
        database="db",
        scenario="s",
        backend=backend,
        rows=1,
        operations=1,
        rounds_s=rounds,
        median_s=None,
        iqr_s=None,
        ops_per_s=None,
        rows_per_s=None,
        trace=None,
        verification=Verification(status),
    )


def test_verdict_names_a_winner_only_outside_the_practical_difference_band() -> None:
    sa = _cell("sqlalchemy", [1.0] * 8)
    fast_django = _cell("django", [2.0, 2.1, 1.9, 2.0, 2.0, 2.2, 1.8, 2.0])
    assert orm_verdict(sa, fast_django, paired_ratio(sa.rounds_s, fast_django.rounds_s)) == (
        "SQLAlchemy 2.00x faster"
    )
    noisy = _cell("django", [0.8, 1.2, 0.9, 1.1, 1.0, 1.3, 0.7, 1.0])
    assert orm_verdict(sa, noisy, paired_ratio(sa.rounds_s, noisy.rounds_s)) == "inconclusive"
    # 3% apart, every round: a real difference, but inside the 5% band.
    close = _cell("django", [1.03, 1.031, 1.029, 1.03, 1.032, 1.03, 1.028, 1.03])
    assert orm_verdict(sa, close, paired_ratio(sa.rounds_s, close.rounds_s)) == (
        "no practical difference (within ±5%)"
    )
    # Interval wholly above 1 but reaching into the band: no winner named.
    edge = _cell("django", [1.03, 1.08, 1.02, 1.09, 1.04, 1.07, 1.03, 1.1])
    assert orm_verdict(sa, edge, paired_ratio(sa.rounds_s, edge.rounds_s)) == "inconclusive"


def test_equal_backends_yield_no_practical_difference_and_holm_guards_the_family() -> None:
    import random

    from harness.judging.verdicts import build_comparisons

    rng = random.Random(7)
    cells = []
    for scenario in ("a", "b", "c", "d", "e", "f"):
        base = [1.0 + rng.random() * 0.2 for _ in range(10)]  # machine drift, shared
        for backend in ("sqlalchemy", "django"):
            rounds = [t * (1 + rng.gauss(0, 0.005)) for t in base]
            cells.append(replace(_cell(backend, rounds), scenario=scenario))
    verdicts = {c.verdict for c in build_comparisons(cells) if c.kind == "orm"}
    assert verdicts == {"no practical difference (within ±5%)"}


def test_holm_rejects_step_down() -> None:
    from harness.judging.stats import holm

    assert holm([0.001, 0.03, 0.04]) == [True, False, False]  # 0.03 > 0.05/2: stop
    assert holm([0.001, 0.01, 0.04]) == [True, True, True]
    assert holm([0.06, 0.001]) == [False, True]


def test_no_verdict_from_a_cell_that_failed_verification() -> None:
    sa = _cell("sqlalchemy", [1.0] * 8)
    broken = _cell("django", [9.0] * 8, status="failed")
    verdict = orm_verdict(sa, broken, paired_ratio(sa.rounds_s, broken.rounds_s))
    assert verdict.startswith("no verdict")


def test_overhead_probe_times_only_the_harness() -> None:
    from harness.tools.overhead import measure

    timings = measure(50)
    assert len(timings) == 50 and all(t >= 0 for t in timings)


def test_too_few_rounds_for_the_family_says_how_many_would_do() -> None:
    from harness.judging.verdicts import build_comparisons

    def family(rounds: int) -> set[str]:
        cells = []
        for scenario in ("a", "b", "c", "d", "e", "f"):
            cells.append(replace(_cell("sqlalchemy", [1.0] * rounds), scenario=scenario))
            cells.append(replace(_cell("django", [2.0] * rounds), scenario=scenario))
        return {c.verdict for c in build_comparisons(cells) if c.kind == "orm"}

    # A 2x difference in every round: 6 rounds cannot reach Holm's 0.05/6, 8 can.
    assert family(6) == {
        "inconclusive (6 rounds cannot support a claim among 6 verdicts; --rounds 8 or more can)"
    }
    assert family(8) == {"SQLAlchemy 2.00x faster"}


def test_a_claim_that_holds_alone_but_not_among_the_family_says_so() -> None:
    from harness.judging.verdicts import build_comparisons

    cells = []
    for scenario in ("a", "b", "c", "d", "e", "f"):
        cells.append(replace(_cell("sqlalchemy", [1.0] * 10), scenario=scenario))
        cells.append(replace(_cell("django", [0.5, 1.5] * 5), scenario=scenario))
    # SQLAlchemy twice as fast in 9 rounds of 10: a sign test's p of 0.021 on its own, short
    # of Holm's 0.05/6 among six verdicts whose others claim nothing.
    cells[0] = replace(cells[0], rounds_s=[0.5] * 9 + [1.5])
    cells[1] = replace(cells[1], rounds_s=[1.0] * 10)
    (verdict,) = [
        c.verdict for c in build_comparisons(cells) if c.scenario == "a" and c.kind == "orm"
    ]
    assert verdict == (
        "inconclusive (clear on its own, not among 6 verdicts; more --rounds can settle it)"
    )
