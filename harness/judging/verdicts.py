"""From cells to comparisons: the ORM-vs-ORM ratio with its interval and verdict, and each
ORM as a multiple of the raw DB-API floor. Ratios come from paired rounds (DESIGN.md)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from backends import FLOOR, ORM_PAIR
from harness.judging.stats import Decision, Interval, holm, median, paired_decision, paired_ratio
from reports.format import plural
from reports.model import Cell, Comparison, TraceCounts
from scenarios.idioms import DOCUMENTED

if TYPE_CHECKING:
    from backends.base import Backend
    from scenarios.base import Scenario

TITLES = {"sqlalchemy": "SQLAlchemy", "django": "Django", "dbapi": "raw DB-API"}


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _pair(a: Cell, b: Cell) -> Interval | None:
    n = min(len(a.rounds_s), len(b.rounds_s))
    if n == 0:
        return None
    return paired_ratio(a.rounds_s[:n], b.rounds_s[:n])


DEFAULT_MARGIN = 5.0  # percent: differences inside +-5% are of no practical interest


def orm_verdict(
    a: Cell,
    b: Cell,
    interval: Interval | None,
    decision: Decision | None = None,
    holds: bool = True,
    margin: float = DEFAULT_MARGIN,
) -> str:
    """Three outcomes (README, "How to read it"): "SQLAlchemy 1.8x faster" when the interval
    lies wholly outside the practical-difference band, "no practical difference" when wholly
    inside it, "inconclusive" otherwise, or when the claim does not survive the correction
    for the database's family of comparisons (`holds`)."""
    unsupported = next((c for c in (a, b) if c.verification.status == "unsupported"), None)
    if unsupported is not None:
        return f"unsupported: {unsupported.verification.reason}"
    if not (a.verified and b.verified):
        return "no verdict: verification did not pass"
    if interval is None:
        return "no verdict: no timed rounds"
    if interval.low == -math.inf or interval.high == math.inf:
        return "no verdict: a 95% interval needs 6 or more rounds"
    if decision is None:
        decision = paired_decision(a.rounds_s, b.rounds_s, margin / 100)
    if not decision.claim or not holds:
        return "inconclusive"
    if decision.claim == "equivalent":
        return f"no practical difference (within ±{margin:g}%)"
    if decision.claim == "a faster":
        return f"{TITLES.get(a.backend, a.backend)} {1 / interval.estimate:.2f}x faster"
    return f"{TITLES.get(b.backend, b.backend)} {interval.estimate:.2f}x faster"


def build_comparisons(cells: Iterable[Cell], margin: float = DEFAULT_MARGIN) -> list[Comparison]:
    """Per database, scenario and idiom: SQLAlchemy against Django, and each ORM cell against
    the floor of the same rounds. ORM verdicts of one database form one family: Holm's
    procedure holds the chance of any wrong claim among them at 5% (a comparison that two
    idioms share, running the same code, counts once). In a size sweep each size is compared
    on its own (cells of one size, rounds of one size), and the verdicts of every size of a
    database are still one family: the report makes all those claims at once."""
    by_key: dict[tuple[str, str, int], dict[tuple[str, str], Cell]] = {}
    for cell in cells:
        group = by_key.setdefault((cell.database, cell.scenario, cell.rows), {})
        group[(cell.backend, cell.idiom)] = cell
    pending: list[tuple[str, Cell, Cell, Interval | None, str]] = []
    for group in by_key.values():
        floor = next((c for (b, _), c in group.items() if b == FLOOR), None)
        idioms = list(dict.fromkeys(i for (b, i) in group if b != FLOOR))
        left, right = ORM_PAIR
        for idiom in idioms:
            if (left, idiom) in group and (right, idiom) in group:
                a, b = group[(left, idiom)], group[(right, idiom)]
                pending.append(("orm", a, b, _pair(a, b), idiom))
            if floor is not None:
                for orm in ORM_PAIR:
                    if (orm, idiom) in group:
                        a = group[(orm, idiom)]
                        pending.append(("floor", a, floor, _pair(a, floor), idiom))
    holds, family_size = _family_claims(pending, margin)
    comparisons = []
    for index, (kind, a, b, interval, idiom) in enumerate(pending):
        differs = ""
        if kind == "orm":
            decision = holds.get(index)
            verdict = orm_verdict(
                a, b, interval, decision or Decision("", 1.0), decision is not None, margin
            )
            if verdict == "inconclusive":
                family = family_size.get(a.database, 1)
                verdict += _too_few_rounds(a, b, family) or _not_held(a, b, family, margin)
            differs = what_differs(a, b)
        elif interval is None or not (a.verified and b.verified):
            verdict = "no verdict"
        else:
            verdict = f"{interval.estimate:.2f}x the floor"
        counted = instructions_ratio(a, b)
        comparisons.append(
            Comparison(
                database=a.database,
                scenario=a.scenario,
                kind=kind,
                numerator=a.backend,
                denominator=b.backend,
                ratio=_finite(interval.estimate) if interval else None,
                ci_low=_finite(interval.low) if interval else None,
                ci_high=_finite(interval.high) if interval else None,
                verdict=verdict,
                idiom=idiom,
                differs=differs,
                rows=a.rows,
                instructions_ratio=counted[0] if counted else None,
                instructions_low=counted[1] if counted else None,
                instructions_high=counted[2] if counted else None,
                instructions_verdict=instructions_verdict(a, b, counted, kind, margin),
            )
        )
    return comparisons


def instructions_ratio(a: Cell, b: Cell) -> tuple[float, float, float] | None:
    """Instructions per operation of `a` over `b`, round by round (the rounds interleave the
    backends, so round i of each ran at the same point of the run): the median of the
    per-round ratios, and the lowest and the highest of them. Counts are not samples of a noisy
    clock: their whole range is the uncertainty, and it needs no interval beyond it. None where
    either cell was not counted."""
    if not (a.instructions_rounds and b.instructions_rounds) or a.operations != b.operations:
        return None
    ratios = [
        x / y for x, y in zip(a.instructions_rounds, b.instructions_rounds, strict=False) if y > 0
    ]
    if not ratios:
        return None
    return median(ratios), min(ratios), max(ratios)


def instructions_verdict(
    a: Cell,
    b: Cell,
    counted: tuple[float, float, float] | None,
    kind: str = "orm",
    margin: float = DEFAULT_MARGIN,
) -> str:
    """ "SQLAlchemy 1.56x fewer instructions" when the counts' whole range lies outside the
    practical-difference band, "no practical difference" when wholly inside, "too close to
    call" otherwise; for the floor, the multiple. "" where not counted."""
    if counted is None:
        return ""
    if not (a.verified and b.verified):
        return "no verdict: verification did not pass"
    ratio, low, high = counted
    if kind != "orm":
        return f"{ratio:.2f}x the floor's instructions"
    band = 1 + margin / 100
    if high < 1 / band:
        return f"{TITLES.get(a.backend, a.backend)} {1 / ratio:.2f}x fewer instructions"
    if low > band:
        return f"{TITLES.get(b.backend, b.backend)} {ratio:.2f}x fewer instructions"
    if low >= 1 / band and high <= band:
        return f"no practical difference (within ±{margin:g}%)"
    return f"too close to call: the counts' range crosses ±{margin:g}%"


def _family_claims(
    pending: list[tuple[str, Cell, Cell, Interval | None, str]], margin: float
) -> tuple[dict[int, Decision], dict[str, int]]:
    """index of an ORM comparison -> its decision where the claim survives Holm's procedure
    across its database's family (absent: it does not); and each family's size."""
    families: dict[str, dict[tuple[str, ...], list[int]]] = {}
    decisions: dict[tuple[str, ...], Decision] = {}
    for index, (kind, a, b, interval, _idiom) in enumerate(pending):
        testable = interval is not None and math.isfinite(interval.low) and a.verified
        if kind != "orm" or not (testable and b.verified):
            continue
        # Two idioms that run the same code on both sides are one comparison, not two.
        key = (a.scenario, str(a.rows), a.backend, a.same_code_as or a.idiom)
        key += (b.same_code_as or b.idiom,)
        families.setdefault(a.database, {}).setdefault(key, []).append(index)
        if key not in decisions:
            n = min(len(a.rounds_s), len(b.rounds_s))
            decisions[key] = paired_decision(a.rounds_s[:n], b.rounds_s[:n], margin / 100)
    surviving: dict[int, Decision] = {}
    for family in families.values():
        keys = list(family)
        rejected = holm([decisions[k].p if decisions[k].claim else 1.0 for k in keys])
        for key, holds in zip(keys, rejected, strict=True):
            if holds:
                for index in family[key]:
                    surviving[index] = decisions[key]
    return surviving, {database: len(family) for database, family in families.items()}


def rounds_for_claims(family: int) -> int:
    """The fewest rounds at which a verdict can survive Holm's correction among `family`
    verdicts: with n rounds the strongest sign-test evidence (every round's ratio on one side)
    has p = 2 / 2^n, and Holm's first step asks for 0.05 / family. With exactly this many, a
    claim needs every round on its side; each further round allows about one stray round."""
    need = 0.05 / max(family, 1)
    return max(1, math.ceil(math.log2(2 / need) - 1e-9))


def planned_verdicts(
    scenarios: Iterable[type[Scenario]],
    backends: Iterable[type[Backend]],
    idioms: Iterable[str],
    sizes: int = 1,
) -> int:
    """How many SQLAlchemy/Django verdicts one database of the plan makes at most (one Holm
    family): per scenario both ORMs run and idiom asked for, once per distinct pair of code
    (an equal-work idiom that is the documented code on both sides shares its comparison),
    times the sizes. A scenario a database cannot run (upsert on SQL Server) makes it fewer."""
    by_name = {cls.name: cls for cls in backends}
    left, right = (by_name.get(name) for name in ORM_PAIR)
    if left is None or right is None:
        return 0
    pairs: set[tuple[str, str, str]] = set()
    for scenario in scenarios:
        if not (left.supports(scenario) and right.supports(scenario)):
            continue
        for idiom in idioms:
            code = tuple(
                i if cls.has_own_idiom(scenario, i) else DOCUMENTED
                for cls, i in ((left, idiom), (right, idiom))
            )
            pairs.add((scenario.name, *code))
    return len(pairs) * sizes


def _too_few_rounds(a: Cell, b: Cell, family: int) -> str:
    """Why no claim was possible at all (rounds_for_claims)."""
    n = min(len(a.rounds_s), len(b.rounds_s))
    rounds = rounds_for_claims(family)
    if n >= rounds:
        return ""
    return (
        f" ({n} rounds cannot support a claim among {family} verdicts; "
        f"--rounds {rounds} or more can)"
    )


def _not_held(a: Cell, b: Cell, family: int, margin: float) -> str:
    """A claim this comparison would make on its own that does not survive the correction
    across the database's verdicts: said, so that an interval clear of the margin beside
    "inconclusive" reads as what it is."""
    if family < 2 or not (a.verified and b.verified):
        return ""
    if not paired_decision(a.rounds_s, b.rounds_s, margin / 100).claim:
        return ""
    return f" (clear on its own, not among {family} verdicts; more --rounds can settle it)"


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


def _returned(trace: TraceCounts) -> str:
    """What a run handed back, by kind and number: "1,100 ORM objects", "1,000 rows (tuples)"
    ("" where not counted)."""
    objects, rows = trace.result_objects, trace.result_rows
    if objects is None or rows is None:
        return ""
    parts = []
    if objects or not rows:
        parts.append(f"{objects:,} ORM object{'s' if objects != 1 else ''}")
    if rows:
        parts.append(f"{rows:,} row{'s' if rows != 1 else ''} (tuples)")
    return " and ".join(parts)


def what_differs(a: Cell, b: Cell) -> str:
    """One line: how the two cells' traced work differs ("" when it does not)."""
    if a.trace is None or b.trace is None:
        return ""
    ta, tb = a.trace, b.trace
    n = a.operations or 1
    # Per-row scenarios count one operation per row; others (pages, batches, queries) their own.
    unit = "per run" if n == 1 else "per row" if n == a.rows else "per operation"
    name_a, name_b = TITLES.get(a.backend, a.backend), TITLES.get(b.backend, b.backend)
    parts = []
    sa, sb = _sent(ta), _sent(tb)
    total_a, total_b = sum(sa.values()), sum(sb.values())
    if sa != sb:

        def show(kinds: dict[str, int]) -> str:
            return ", ".join(f"{k} {_per_op(v, n)}" for k, v in sorted(kinds.items()))

        parts.append(
            f"{name_a} sends {plural(_per_op(total_a, n), 'statement')} {unit} ({show(sa)}), "
            f"{name_b} {_per_op(total_b, n)} ({show(sb)})"
        )
    if ta.transactions != tb.transactions or ta.autocommit_statements != tb.autocommit_statements:

        def shape(t: TraceCounts) -> str:
            explicit = t.transactions - t.autocommit_statements
            if not explicit:
                return f"{own(t.autocommit_statements)}"
            if not t.autocommit_statements:
                return plural(explicit, "BEGIN…COMMIT transaction")
            return (
                f"{plural(explicit, 'BEGIN…COMMIT transaction')} and {own(t.autocommit_statements)}"
            )

        def own(count: int) -> str:
            verb = "commits itself" if count == 1 else "commit themselves"
            return f"{plural(count, 'statement')} that {verb}"

        parts.append(f"{name_a} runs {shape(ta)}, {name_b} {shape(tb)}")
    if ta.rows_fetched != tb.rows_fetched:
        parts.append(
            f"{name_a} fetches {plural(ta.rows_fetched, 'row')}, {name_b} {tb.rows_fetched}"
        )
    if ta.update_columns != tb.update_columns and (ta.update_columns or tb.update_columns):

        def cols(t: TraceCounts) -> str:
            return "/".join(sorted(t.update_columns)) or "0"

        unit_a = "column" if cols(ta) == "1" else "columns"
        parts.append(f"{name_a}'s UPDATE sets {cols(ta)} {unit_a}, {name_b}'s {cols(tb)}")
    returned_a, returned_b = _returned(ta), _returned(tb)
    if returned_a != returned_b and returned_a and returned_b:
        parts.append(f"{name_a} returns {returned_a}, {name_b} {returned_b}")
    if ta.verification_statements != tb.verification_statements:
        parts.append(
            f"reading the returned objects afterwards sends {ta.verification_statements} "
            f"statements for {name_a}, {tb.verification_statements} for {name_b}"
        )
    return "; ".join(parts)
