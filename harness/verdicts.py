"""From cells to comparisons: the ORM-vs-ORM ratio with its interval and verdict, and each
ORM as a multiple of the raw DB-API floor. Ratios come from paired rounds (DESIGN.md)."""

from __future__ import annotations

import math
from collections.abc import Iterable

from backends import FLOOR, ORM_PAIR
from harness.stats import Interval, paired_ratio
from reports.model import Cell, Comparison

TITLES = {"sqlalchemy": "SQLAlchemy", "django": "Django", "dbapi": "raw DB-API"}


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _pair(a: Cell, b: Cell) -> Interval | None:
    n = min(len(a.rounds_s), len(b.rounds_s))
    if n == 0:
        return None
    return paired_ratio(a.rounds_s[:n], b.rounds_s[:n])


def orm_verdict(a: Cell, b: Cell, interval: Interval | None) -> str:
    """ "SQLAlchemy 1.8x faster" only when both cells verified and the interval excludes 1."""
    if not (a.verified and b.verified):
        return "no verdict: verification did not pass"
    if interval is None:
        return "no verdict: no timed rounds"
    if interval.low == -math.inf or interval.high == math.inf:
        return "no verdict: a 95% interval needs 6 or more rounds"
    if not interval.excludes(1.0):
        return "no clear difference"
    if interval.estimate < 1:
        return f"{TITLES.get(a.backend, a.backend)} {1 / interval.estimate:.2f}x faster"
    return f"{TITLES.get(b.backend, b.backend)} {interval.estimate:.2f}x faster"


def build_comparisons(cells: Iterable[Cell]) -> list[Comparison]:
    by_key: dict[tuple[str, str], dict[str, Cell]] = {}
    for cell in cells:
        by_key.setdefault((cell.database, cell.scenario), {})[cell.backend] = cell
    comparisons = []
    for (database, scenario), group in by_key.items():
        pairs: list[tuple[str, str, str]] = []
        left, right = ORM_PAIR
        if left in group and right in group:
            pairs.append(("orm", left, right))
        if FLOOR in group:
            pairs += [("floor", orm, FLOOR) for orm in ORM_PAIR if orm in group]
        for kind, num, den in pairs:
            a, b = group[num], group[den]
            interval = _pair(a, b)
            if kind == "orm":
                verdict = orm_verdict(a, b, interval)
            elif interval is None or not (a.verified and b.verified):
                verdict = "no verdict"
            else:
                verdict = f"{interval.estimate:.2f}x the floor"
            comparisons.append(
                Comparison(
                    database=database,
                    scenario=scenario,
                    kind=kind,
                    numerator=num,
                    denominator=den,
                    ratio=_finite(interval.estimate) if interval else None,
                    ci_low=_finite(interval.low) if interval else None,
                    ci_high=_finite(interval.high) if interval else None,
                    verdict=verdict,
                )
            )
    return comparisons
