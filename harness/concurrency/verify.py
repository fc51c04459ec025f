"""What one thread did, and the check after every measurement that the table holds it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import text

from harness.concurrency.plan import lock_conflict
from harness.targets.database import HarnessDatabase
from reports.concurrency import CellVerification
from scenarios.schema import ITEM_TABLE


@dataclass
class ThreadTally:
    """What one thread did."""

    read_s: list[float] = field(default_factory=list)  # timed reads that completed
    write_s: list[float] = field(default_factory=list)
    increments: Counter[int] = field(default_factory=Counter)  # id -> committed increments
    errors: Counter[str] = field(default_factory=Counter)  # while the clock ran
    lock_errors: int = 0
    warmup_errors: Counter[str] = field(default_factory=Counter)
    wrong_rows: int = 0  # reads that returned another row than the one asked for
    finished_at: float | None = None
    failure: str | None = None  # the thread could not run its share (connecting, ...)


def verify(
    db: HarnessDatabase, initial: dict[int, int], tallies: list[ThreadTally]
) -> CellVerification:
    """The table against what the threads reported: each row's quantity is its loaded one
    plus the increments committed to it; every read returned its own row; no thread failed;
    no operation failed other than by losing a lock conflict."""
    failures = [t.failure for t in tallies if t.failure]
    if failures:  # the cause first, not the threads it stopped
        failures.sort(key=lambda why: why.startswith("stopped"))
        return CellVerification("error", failures[0])
    increments: Counter[int] = Counter()
    for tally in tallies:
        increments.update(tally.increments)
    with db.engine.connect() as conn:
        found = dict(conn.execute(text(f"SELECT id, quantity FROM {ITEM_TABLE}")).all())
    if len(found) != len(initial):
        return CellVerification(
            "failed", f"the table holds {len(found)} rows, {len(initial)} were loaded"
        )
    differ = [pk for pk, quantity in initial.items() if found.get(pk) != quantity + increments[pk]]
    if differ:
        pk = differ[0]
        return CellVerification(
            "failed",
            f"{len(differ)} rows hold other quantities than the increments reported: id {pk} "
            f"holds {found.get(pk)}, expected {initial[pk]} + {increments[pk]}",
        )
    wrong = sum(t.wrong_rows for t in tallies)
    if wrong:
        return CellVerification("failed", f"{wrong} reads returned another row than asked for")
    other: Counter[str] = Counter()
    for tally in tallies:
        other.update({m: n for m, n in tally.errors.items() if not lock_conflict(m)})
        other.update({m: n for m, n in tally.warmup_errors.items() if not lock_conflict(m)})
    if other:
        message, count = other.most_common(1)[0]
        total = sum(other.values())
        return CellVerification("error", f"{total} operations failed, e.g. {count}x: {message}")
    return CellVerification("passed")
