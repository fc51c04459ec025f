"""The checks of every run, untimed: what the operation returned and the table state, the database's
own count of the run's writing transactions, reads and writes (held to the traced run's), and
the equal-work cell that beat the floor."""

from __future__ import annotations

import weakref
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from hashlib import sha256
from typing import Any

from backends import Backend
from harness.judging.stats import quartiles
from harness.measuring.plan import FLOOR
from harness.targets.database import HarnessDatabase
from harness.wire.counters import WorkCounter, flush_statistics, read_database_transactions
from reports.model import Cell, TraceCounts
from scenarios import Capabilities, Outcome, Scenario, Work
from scenarios.base import Created
from scenarios.idioms import EQUAL


def backend_sessions(backend: Backend) -> int:
    return len(backend.on_each_connection(lambda _conn: None))


def database_transactions(
    backend: Backend,
    db: HarnessDatabase,
    others: tuple[Backend, ...] = (),
    flush_others: bool = True,
) -> dict[str, int] | None:
    """PostgreSQL's count of the database's transactions, every pending count flushed first;
    None where the server keeps none cheaply
    (harness.targets.connection.read_database_transactions). Before the run (`flush_others`),
    every other session of the run flushes too: the harness's own and the timed backends',
    whose counts would otherwise reach the view during the traced run, up to a second late.
    Sessions outside the run (autovacuum) can still add to it."""
    family = backend.target.family
    if family != "postgresql":
        return None
    if flush_others:
        with harness_connections(db) as held:
            for conn in held:
                flush_statistics(family, conn)
        for other in others:
            other.on_each_connection(lambda conn: flush_statistics(family, conn))
    sessions = backend_sessions(backend)
    seen: list[Any] = []

    def flush_then_read(conn: Any) -> dict[str, int] | None:
        seen.append(conn)
        if not flush_statistics(family, conn):
            return None
        # The last session reads, once every session has flushed.
        return read_database_transactions(family, conn) if len(seen) == sessions else None

    readings = backend.on_each_connection(flush_then_read)
    return readings[-1] if readings else None


@contextmanager
def harness_connections(db: HarnessDatabase) -> Iterator[list[Any]]:
    """Every idle connection of the harness's own pool (at least one), bare, held together:
    each can then hand over its pending statistics (PostgreSQL) before a reading."""
    pool = db.engine.pool
    idle = pool.checkedin() if hasattr(pool, "checkedin") else 1
    held = [db.engine.raw_connection() for _ in range(max(1, idle))]
    try:
        yield [raw.driver_connection for raw in held]
    finally:
        for raw in held:
            raw.close()


def work_counter(backend: Backend, db: HarnessDatabase) -> WorkCounter:
    """The database's count of `backend`'s work, read around each of its runs
    (harness.wire.counters): its sessions' counters, or on PostgreSQL the harness tables'."""
    return WorkCounter(
        backend.target.family,
        backend.on_each_connection,
        lambda: harness_connections(db),
        [table.name for table in db.tables],
    )


@dataclass
class RoundCheck:
    """What one run did, read untimed after it: the outcome, and the database's own count of
    the transactions that wrote (None where the database gives none cheaply)."""

    outcome: Outcome
    write_transactions: int | None = None
    # The database's own count of the run's reads and writes (harness.wire.counters), moved
    statements: dict[str, int] | None = None


class Proven:
    """The states a scenario's runs were proved to leave, by fingerprint: the work asked
    for, the table's rows as the driver reads them and what the operation returned as the
    ORM hands it over, none of it normalised (`HarnessDatabase.fingerprint`,
    `Scenario.returned_fingerprint`). The full check is a function of exactly these, so a
    run whose fingerprints equal those of a run that passed it has passed it too: it is
    proved without normalising every row again. A new state (the first round of a unit, a
    backend's other types, a table or a result that changed) gets the full check."""

    def __init__(self) -> None:
        self._states: set[tuple[str, str, str]] = set()
        self._work: weakref.ref[Work] | None = None
        self._work_key = ""
        # The last table fingerprint, and the database's change marker when it was taken.
        self._table: tuple[Hashable, str] | None = None

    def __contains__(self, state: tuple[str, str, str] | None) -> bool:
        return state is not None and state in self._states

    def add(self, state: tuple[str, str, str] | None) -> None:
        if state is not None:
            self._states.add(state)

    def state(
        self, scenario: Scenario, work: Work, result: Any, db: HarnessDatabase, backend: Backend
    ) -> tuple[str, str, str] | None:
        """A run's fingerprints, `result` read with statements forbidden (what it returned
        where the check holds it, else None); None where they cannot be taken."""
        returned = ""
        if result is not None:
            with backend.statements_forbidden():
                fingerprint = scenario.returned_fingerprint(result)
            if fingerprint is None:
                return None
            returned = fingerprint
        return self._key(work), self._table_fingerprint(scenario, db), returned

    def _table_fingerprint(self, scenario: Scenario, db: HarnessDatabase) -> str:
        """The checked table's fingerprint; the last one again while the database's change
        marker (`HarnessDatabase.change_marker`: SQLite's file change counter, PostgreSQL's
        and InnoDB's log position) has not moved since it was read, just before that
        fingerprint was taken: nothing wrote in between (a read scenario's rounds), so the
        table is the one fingerprinted."""
        marker = db.change_marker(scenario.checked_table)
        if marker is not None and self._table is not None and self._table[0] == marker:
            return self._table[1]
        fingerprint = db.fingerprint(scenario.checked_table)
        self._table = None if marker is None else (marker, fingerprint)
        return fingerprint

    def _key(self, work: Work) -> str:
        """What `work` asks for, hashed: computed once per prepared round."""
        if self._work is None or self._work() is not work:
            asked = (work.expected_table, work.returns_created, work.expected_result is None)
            hashed = sha256(repr(asked).encode())
            for rows in (work.expected_result or [], work.kept_rows):
                for start in range(0, len(rows), 10_000):
                    hashed.update(repr(rows[start : start + 10_000]).encode())
                hashed.update(b"|")
            self._work, self._work_key = weakref.ref(work), hashed.hexdigest()
        return self._work_key


def check_run(
    scenario: Scenario,
    work: Work,
    backend: Backend,
    result: Any,
    db: HarnessDatabase,
    counter_before: int | None,
    proven: Proven | None = None,
) -> RoundCheck:
    """Verify one run, untimed: what the operation returned (read with statements forbidden,
    so objects that were not fully loaded fail here), and the table state. With `proven`, a
    run that left a state proved before passes on its fingerprints; a new state gets the
    full check and, passed, joins `proven`."""
    write_transactions = db.write_transactions(
        counter_before, scenario.writes_every_row, scenario.checked_table
    )
    held = work.expected_result is not None or (work.returns_created and result is not None)
    state = None
    if proven is not None and (result is not None or not held):
        try:
            state = proven.state(scenario, work, result if held else None, db, backend)
        except Exception as exc:  # DetachedInstanceError, StatementWhileVerifying, ...
            return RoundCheck(Outcome("failed", _not_loaded(exc)), write_transactions)
        if state in proven:
            return RoundCheck(Outcome("passed"), write_transactions)
    outcome = _full_check(scenario, work, backend, result, db, held)
    if proven is not None and outcome.status == "passed":
        proven.add(state)
    return RoundCheck(outcome, write_transactions)


def _not_loaded(exc: BaseException) -> str:
    return (
        "reading the returned objects needed the database: they were not fully "
        f"loaded ({type(exc).__name__})"
    )


def _full_check(
    scenario: Scenario, work: Work, backend: Backend, result: Any, db: HarnessDatabase, held: bool
) -> Outcome:
    """What the operation returned, normalised, and the table's normalised state, held to
    what `work` asks for (`held`: the check holds what the operation returned)."""
    returned, returned_ids = None, None
    if held:
        if result is None:
            return Outcome("failed", "the operation returned nothing")
        try:
            with backend.statements_forbidden():
                if work.expected_result is not None:
                    returned = scenario.returned(result)
                else:  # what it created, held to the table's rows: their digests suffice
                    returned_ids = scenario.returned_digest(result)
        except Exception as exc:  # DetachedInstanceError, StatementWhileVerifying, ...
            return Outcome("failed", _not_loaded(exc))
    # One streamed read of the table serves every check: its digest, with the ids where the
    # returned rows or the kept ones are held to them.
    table = scenario.checked_table
    with_ids = returned_ids is not None or bool(work.kept_rows)
    state = db.scan_table(table, with_ids=with_ids, kept=work.kept_rows)
    created = Created(returned_ids, state.with_ids, state.missing) if with_ids else None
    return scenario.verify(work, state.digest, returned, created)


# SQLite's page count moves by a few pages with the file's free-list state alone (a page freed
# by the previous round's reset is reused or not), and by more on a large table: 185 of 588,757
# pages (0.03%) in a 100,000-row bulk_create. A read skipped or served from memory moves it by a
# page or more per row it did not read, well beyond this: 3 pages, or 0.1% of the traced count.
COUNT_SLACK = {"pages read": 3}
COUNT_SLACK_SHARE = {"pages read": 0.001}


def slack(name: str, traced: int) -> int:
    """How far a round's count may stray from the traced run's without meaning other work."""
    return max(COUNT_SLACK.get(name, 0), int(traced * COUNT_SLACK_SHARE.get(name, 0)))


def same_counts(moved: dict[str, int], traced: dict[str, int]) -> bool:
    """Did a round move the database's counters as the traced run did (within its slack)?"""
    return not count_differences(moved, traced)


def count_differences(moved: dict[str, int], traced: dict[str, int]) -> str:
    """The counters a round moved otherwise than the traced run: "name N (traced: M)"."""
    names = sorted(set(moved) | set(traced))
    return ", ".join(
        f"{name} {moved.get(name, 0)} (traced: {traced.get(name, 0)})"
        for name in names
        if abs(moved.get(name, 0) - traced.get(name, 0)) > slack(name, traced.get(name, 0))
    )


def mark_faster_than_floor(cells: list[Cell]) -> list[Cell]:
    """An equal-work cell measurably faster than the floor, which does the same contracted
    work with hand-written SQL on the same driver, is physically suspect: its cell says so
    (its third quartile below the floor's first). Every one of its rounds was held to the
    database's count of the traced run's reads and writes, so a cell that did less work
    when timed has failed already; one that passed is left to the reader, with the note."""
    floor = next((c for c in cells if c.idiom == FLOOR and c.verified and c.rounds_s), None)
    if floor is None:
        return cells
    floor_low = quartiles(floor.rounds_s)[0]
    marked = []
    for cell in cells:
        if cell.idiom == EQUAL and cell.verified and cell.rounds_s:
            high = quartiles(cell.rounds_s)[1]
            if high < floor_low and cell.median_s and floor.median_s:
                counted = cell.trace is not None and cell.trace.server_counters is not None
                note = (
                    f"suspect: faster than the floor doing the same contracted work "
                    f"({cell.median_s / floor.median_s:.2f}x its median; third quartile below "
                    "the floor's first); "
                    + (
                        "the database's count of every round matched the traced run"
                        if counted
                        else "the database here keeps no count to hold its rounds to"
                    )
                )
                cell = replace(cell, verification=replace(cell.verification, reason=note))
        marked.append(cell)
    return marked


def timed_rounds_differ(
    check: RoundCheck, writes: set[int], statements: list[tuple[int, dict[str, int]]]
) -> Outcome | None:
    """Did the timed rounds do other work than the traced run (`check`)? Every timed round
    must have done the work the traced run did: the database's count of its writing
    transactions (`writes`, as seen over the rounds) and of its reads and writes
    (`statements`: round number, counts). The failure, or None."""
    found = None
    traced_writes = check.write_transactions
    odd = {w for w in writes if w != traced_writes}
    if traced_writes is not None and odd:
        found = Outcome(
            "failed",
            f"timed rounds did other work than the traced run: the database counted "
            f"{sorted(odd)[0]} writing transactions in a timed round, "
            f"{traced_writes} in the traced one",
        )
    traced_counts = check.statements
    for round_number, moved in statements:
        if traced_counts is not None and not same_counts(moved, traced_counts):
            return Outcome(
                "failed",
                f"timed round {round_number} did other work than the traced run: the "
                f"database counted {count_differences(moved, traced_counts)}",
            )
    return found


def held_to_contract(
    scenario: Scenario,
    capabilities: Capabilities,
    counts: TraceCounts,
    result: Any,
    check: RoundCheck,
) -> Outcome:
    """The traced run of an equal-work cell or the floor, held to the scenario's work
    contract: the trace, the objects returned, the database's count of writing
    transactions. The check's own outcome where it holds."""
    contract = scenario.contract(capabilities)
    breaches = contract.breaches(counts, capabilities.family)
    if contract.returns_objects and result is None:
        breaches.append("returned no objects")
    expected = contract.write_transactions
    if expected is not None and check.write_transactions not in (None, expected):
        breaches.append(
            f"the database counted {check.write_transactions} writing transactions, "
            f"the contract has {expected}"
        )
    if breaches:
        return Outcome("failed", "breaks the work contract: " + "; ".join(breaches))
    return check.outcome
