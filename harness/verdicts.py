"""From cells to comparisons: the ORM-vs-ORM ratio with its interval and verdict, and each
ORM as a multiple of the raw DB-API floor. Ratios come from paired rounds (DESIGN.md)."""

from __future__ import annotations

import math
from collections.abc import Iterable

from backends import FLOOR, ORM_PAIR
from harness.stats import Interval, paired_ratio
from reports.model import Cell, Comparison, TraceCounts

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
    """Per database, scenario and idiom: SQLAlchemy against Django, and each ORM cell against
    the floor of the same rounds."""
    by_key: dict[tuple[str, str], dict[tuple[str, str], Cell]] = {}
    for cell in cells:
        by_key.setdefault((cell.database, cell.scenario), {})[(cell.backend, cell.idiom)] = cell
    comparisons = []
    for (database, scenario), group in by_key.items():
        floor = next((c for (b, _), c in group.items() if b == FLOOR), None)
        idioms = list(dict.fromkeys(i for (b, i) in group if b != FLOOR))
        left, right = ORM_PAIR
        for idiom in idioms:
            pairs: list[tuple[str, Cell, Cell]] = []
            if (left, idiom) in group and (right, idiom) in group:
                pairs.append(("orm", group[(left, idiom)], group[(right, idiom)]))
            if floor is not None:
                pairs += [
                    ("floor", group[(o, idiom)], floor) for o in ORM_PAIR if (o, idiom) in group
                ]
            for kind, a, b in pairs:
                interval = _pair(a, b)
                differs = ""
                if kind == "orm":
                    verdict = orm_verdict(a, b, interval)
                    differs = what_differs(a, b)
                elif interval is None or not (a.verified and b.verified):
                    verdict = "no verdict"
                else:
                    verdict = f"{interval.estimate:.2f}x the floor"
                comparisons.append(
                    Comparison(
                        database=database,
                        scenario=scenario,
                        kind=kind,
                        numerator=a.backend,
                        denominator=b.backend,
                        ratio=_finite(interval.estimate) if interval else None,
                        ci_low=_finite(interval.low) if interval else None,
                        ci_high=_finite(interval.high) if interval else None,
                        verdict=verdict,
                        idiom=idiom,
                        differs=differs,
                    )
                )
    return comparisons


def _per_op(value: float, operations: int) -> str:
    per = value / operations if operations else value
    return f"{per:.3g}"


def _sent(trace: TraceCounts) -> dict[str, int]:
    """What reached the server, by kind, transaction control included."""
    kinds = {k: v for k, v in trace.by_kind.items() if v}
    # commit()/rollback() calls the driver passed on are COMMIT/ROLLBACK on the wire.
    sent_calls = trace.commits + trace.rollbacks - trace.noop_transaction_calls
    if sent_calls > 0:
        kinds["COMMIT/ROLLBACK"] = kinds.get("COMMIT/ROLLBACK", 0) + sent_calls
    return kinds


def what_differs(a: Cell, b: Cell) -> str:
    """One line: how the two cells' traced work differs ("" when it does not)."""
    if a.trace is None or b.trace is None:
        return ""
    ta, tb = a.trace, b.trace
    n = a.operations or 1
    unit = "per row" if n > 1 else "per run"
    name_a, name_b = TITLES.get(a.backend, a.backend), TITLES.get(b.backend, b.backend)
    parts = []
    sa, sb = _sent(ta), _sent(tb)
    total_a, total_b = sum(sa.values()), sum(sb.values())
    if sa != sb:

        def show(kinds: dict[str, int]) -> str:
            return ", ".join(f"{k} {_per_op(v, n)}" for k, v in sorted(kinds.items()))

        parts.append(
            f"{name_a} sends {_per_op(total_a, n)} statements {unit} ({show(sa)}), "
            f"{name_b} {_per_op(total_b, n)} ({show(sb)})"
        )
    if ta.transactions != tb.transactions or ta.autocommit_statements != tb.autocommit_statements:

        def shape(t: TraceCounts) -> str:
            explicit = t.transactions - t.autocommit_statements
            if not explicit:
                return f"{t.autocommit_statements} statements that commit themselves"
            if not t.autocommit_statements:
                return f"{explicit} BEGIN…COMMIT transactions"
            return (
                f"{explicit} BEGIN…COMMIT transactions and {t.autocommit_statements} "
                "statements that commit themselves"
            )

        parts.append(f"{name_a} runs {shape(ta)}, {name_b} {shape(tb)}")
    if ta.rows_fetched != tb.rows_fetched:
        parts.append(f"{name_a} fetches {ta.rows_fetched} rows, {name_b} {tb.rows_fetched}")
    if ta.update_columns != tb.update_columns and (ta.update_columns or tb.update_columns):

        def cols(t: TraceCounts) -> str:
            return "/".join(sorted(t.update_columns)) or "0"

        unit_a = "column" if cols(ta) == "1" else "columns"
        parts.append(f"{name_a}'s UPDATE sets {cols(ta)} {unit_a}, {name_b}'s {cols(tb)}")
    if ta.verification_statements != tb.verification_statements:
        parts.append(
            f"reading the returned objects afterwards sends {ta.verification_statements} "
            f"statements for {name_a}, {tb.verification_statements} for {name_b}"
        )
    return "; ".join(parts)
