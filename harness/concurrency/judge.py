"""From repetitions to cells and verdicts: each unit's throughput over its repetitions, and
SQLAlchemy against Django at every thread count and idiom, repetition by repetition, in the
words and with the statistics of `ormbench run` (harness.judging.stats and .verdicts): the median
of the per-repetition throughput ratios with its 95% sign-test interval, "X faster" only when
the interval lies wholly outside the practical-difference margin, "no practical difference"
when wholly inside, "inconclusive" otherwise; Holm's correction over a database's verdicts."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

from harness.concurrency.measurement import Measured
from harness.concurrency.plan import Unit, latency, unit_for
from harness.judging.stats import (
    Decision,
    Interval,
    holm,
    iqr,
    median,
    paired_decision,
    paired_ratio,
)
from harness.judging.verdicts import TITLES, rounds_for_claims
from reports.concurrency import (
    BackendTrace,
    CellVerification,
    ConcurrencyCell,
    ConcurrencyComparison,
    sent_text,
)
from scenarios.idioms import DOCUMENTED, EQUAL


def build_cell(
    database: str, unit: Unit, threads: int, runs: list[Measured], observed: Measured | None
) -> ConcurrencyCell:
    """A unit's repetitions pooled: median and IQR of throughput, latencies over every
    operation, and the first repetition that did not pass (or the observed pass's)."""
    repetitions = [m.repetition for m in runs]
    rates = [r.ops_per_s for r in repetitions if r.ops_per_s]
    per_thread = [n for r in repetitions for n in r.per_thread]
    errors: Counter[str] = Counter()
    for r in repetitions:
        errors.update(r.errors)
    checked = repetitions + ([observed.repetition] if observed else [])
    failed = next((r for r in checked if r.verification.status != "passed"), None)
    verification = CellVerification("passed")
    if failed is not None:
        which = "the observed pass" if failed.index < 0 else f"repetition {failed.index + 1}"
        verification = CellVerification(
            failed.verification.status, f"{which}: {failed.verification.reason}"
        )
    own = next((m.connections for m in reversed(runs) if m.connections), None)
    connections = observed.connections if observed and observed.connections else own
    if connections is not None and observed is None:  # own connections: reconnects, summed
        reconnects = sum(m.connections.opened_during for m in runs if m.connections)
        connections = replace(connections, opened_during=reconnects)
    read_s = [s for m in runs for s in m.read_s]
    write_s = [s for m in runs for s in m.write_s]
    return ConcurrencyCell(
        database=database,
        backend=unit.backend,
        idiom=unit.idiom,
        threads=threads,
        repetitions=repetitions,
        ops_per_s=median(rates) if rates else None,
        ops_per_s_iqr=iqr(rates) if rates else None,
        operations=sum(r.operations for r in repetitions),
        per_thread_low=min(per_thread) if per_thread else None,
        per_thread_high=max(per_thread) if per_thread else None,
        reads=sum(r.reads for r in repetitions),
        writes=sum(r.writes for r in repetitions),
        latency=latency(read_s + write_s),
        read_latency=latency(read_s),
        write_latency=latency(write_s),
        errors=dict(errors.most_common()),
        lock_errors=sum(r.lock_errors for r in repetitions),
        increments=sum(r.increments for r in repetitions),
        connections=connections,
        verification=verification,
        observed=observed.repetition if observed else None,
    )


def _paired(a: ConcurrencyCell, b: ConcurrencyCell) -> tuple[list[float], list[float]]:
    """Both units' throughput in the repetitions where both have one, paired by repetition."""
    rates_b = {r.index: r.ops_per_s for r in b.repetitions if r.ops_per_s}
    pairs = [(r.ops_per_s, rates_b[r.index]) for r in a.repetitions if r.ops_per_s]
    pairs = [(x, y) for x, y in pairs if y is not None and x is not None]
    return [x for x, _ in pairs], [y for _, y in pairs]


def _pairs_to_compare(
    cells: list[ConcurrencyCell],
) -> list[tuple[str, ConcurrencyCell, ConcurrencyCell]]:
    """(idiom, SQLAlchemy's cell, Django's cell) per thread count; an equal-work comparison
    only where one side has an equal-work unit of its own (else it repeats the documented)."""
    by_key = {(c.backend, c.idiom, c.threads): c for c in cells}
    units = list(dict.fromkeys(Unit(c.backend, c.idiom) for c in cells))
    found = []
    for threads in dict.fromkeys(c.threads for c in cells):
        for idiom in (DOCUMENTED, EQUAL):
            sa, dj = unit_for(units, "sqlalchemy", idiom), unit_for(units, "django", idiom)
            if sa is None or dj is None:
                continue
            if idiom == EQUAL and sa.idiom == DOCUMENTED and dj.idiom == DOCUMENTED:
                continue
            a = by_key.get((sa.backend, sa.idiom, threads))
            b = by_key.get((dj.backend, dj.idiom, threads))
            if a is not None and b is not None:
                found.append((idiom, a, b))
    return found


def build_comparisons(
    cells: list[ConcurrencyCell], traces: list[BackendTrace], margin: float
) -> list[ConcurrencyComparison]:
    """SQLAlchemy against Django for one database; its verdicts are one Holm family."""
    pending = []
    for idiom, a, b in _pairs_to_compare(cells):
        sa_rates, dj_rates = _paired(a, b)
        interval = paired_ratio(sa_rates, dj_rates) if sa_rates else None
        # Times per operation, so that "a faster" means SQLAlchemy faster, as in `run`.
        decision = paired_decision(
            [1 / x for x in sa_rates], [1 / y for y in dj_rates], margin / 100
        )
        testable = a.verification.status == b.verification.status == "passed"
        testable = testable and interval is not None and math.isfinite(interval.high)
        pending.append((idiom, a, b, interval, decision, testable, len(sa_rates)))
    tested = [i for i, p in enumerate(pending) if p[5]]
    rejected = holm([pending[i][4].p if pending[i][4].claim else 1.0 for i in tested])
    holds = {i for i, ok in zip(tested, rejected, strict=True) if ok}
    comparisons = []
    for index, (idiom, a, b, interval, decision, _, n) in enumerate(pending):
        verdict = _verdict(a, b, interval, decision, index in holds, margin)
        if verdict == "inconclusive" and n < rounds_for_claims(len(tested)):
            verdict += (
                f" ({n} repetitions cannot support a claim among {len(tested)} verdicts; "
                f"--repetitions {rounds_for_claims(len(tested))} or more can)"
            )
        comparisons.append(
            ConcurrencyComparison(
                database=a.database,
                threads=a.threads,
                idiom=idiom,
                repetitions=n,
                ratio=_finite(interval.estimate) if interval else None,
                ci_low=interval.low if _bounded(interval) else None,
                ci_high=interval.high if _bounded(interval) else None,
                verdict=verdict,
                differs=what_differs(a, b, traces),
            )
        )
    return comparisons


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _bounded(interval: Interval | None) -> bool:
    """An interval that says something (too few repetitions give (0, inf))."""
    return interval is not None and interval.low > 0 and math.isfinite(interval.high)


def _verdict(
    a: ConcurrencyCell,
    b: ConcurrencyCell,
    interval: Interval | None,
    decision: Decision,
    holds: bool,
    margin: float,
) -> str:
    if not (a.verification.status == b.verification.status == "passed"):
        return "no verdict: verification did not pass"
    if interval is None:
        return "no verdict: no repetitions"
    if interval.low == -math.inf or interval.high == math.inf:
        return "no verdict: a 95% interval needs 6 or more repetitions"
    if not decision.claim or not holds:
        return "inconclusive"
    if decision.claim == "equivalent":
        return f"no practical difference (within ±{margin:g}%)"
    if decision.claim == "a faster":
        return f"{TITLES['sqlalchemy']} {interval.estimate:.2f}x faster"
    return f"{TITLES['django']} {1 / interval.estimate:.2f}x faster"


def what_differs(a: ConcurrencyCell, b: ConcurrencyCell, traces: list[BackendTrace]) -> str:
    """One line: how SQLAlchemy's unit and Django's differ in what they send per operation
    and in the connections they give the threads ("" when they do not)."""
    by_unit = {(t.backend, t.idiom): t for t in traces}
    ta, tb = by_unit.get((a.backend, a.idiom)), by_unit.get((b.backend, b.idiom))
    name_a, name_b = TITLES[a.backend], TITLES[b.backend]
    parts = []
    if ta is not None and tb is not None and not (ta.error or tb.error):
        for kind in ("read", "write"):
            sent_a, sent_b = getattr(ta, kind), getattr(tb, kind)
            if sent_a is not None and sent_b is not None and sent_a.sent != sent_b.sent:
                parts.append(
                    f"{name_a}'s {kind} sends {sent_text(sent_a)}, {name_b}'s {sent_text(sent_b)}"
                )
    ca, cb = a.connections, b.connections
    if ca is not None and ca.limit < a.threads:
        parts.append(
            f"{name_a}'s pool holds at most {ca.limit} connections for {a.threads} threads: "
            "a thread waits for one"
        )
    elif a.idiom == EQUAL and ca is not None and cb is not None and ca.limit != cb.limit:
        parts.append(
            f"{name_a}'s two Engines may hold {ca.limit} connections (one per thread in "
            f"each), {name_b}'s threads {cb.limit}"
        )
    return "; ".join(parts)
