"""One scenario on one database: warm-up and timed rounds over every unit, interleaved and checked
after every run; then the trace pass and the memory pass; then its cells."""

from __future__ import annotations

from dataclasses import dataclass, field

from backends import Backend
from harness.judging.stats import iqr, median
from harness.measuring.checks import (
    Proven,
    check_run,
    mark_faster_than_floor,
    timed_rounds_differ,
    work_counter,
)
from harness.measuring.instructions import InstructionCounter
from harness.measuring.plan import (
    FLOOR,
    Emit,
    Plan,
    Unit,
    interleaved_order,
    plan_units,
    unsupported_reason,
)
from harness.measuring.rounds import counted_call, settle_sqlite_file, timed_call
from harness.measuring.trace_pass import TracedBackends, measure_peak_memory, trace_unit
from harness.targets.database import HarnessDatabase
from harness.targets.errors import describe_error
from harness.targets.urls import Target
from harness.wire.counters import WorkCounter
from reports.model import Cell, TraceCounts, Verification
from scenarios import Capabilities, Outcome, Scenario, Work
from scenarios.idioms import DOCUMENTED, EQUAL

Traced = dict[Unit, tuple[TraceCounts | None, Outcome]]


@dataclass
class RoundsSeen:
    """What the warm-up and timed rounds saw of each unit."""

    units: list[Unit]
    timings: dict[Unit, list[float]] = field(default_factory=dict)  # timed rounds only
    cpu_times: dict[Unit, list[float]] = field(default_factory=dict)
    broken: dict[Unit, Outcome] = field(default_factory=dict)  # stopped being timed, and why
    writes: dict[Unit, set[int]] = field(default_factory=dict)  # the writing transactions
    # (round number, the database's count of the round's reads and writes)
    statements: dict[Unit, list[tuple[int, dict[str, int]]]] = field(default_factory=dict)
    checked: dict[Unit, int] = field(default_factory=dict)  # rounds that passed the checks
    counts: dict[Unit, list[int]] = field(default_factory=dict)  # a counting pass's rounds
    error: str | None = None  # the scenario itself failed (not one backend)
    # A read scenario's table as the rounds left it, checked after each: loaded once for all
    # the passes, unless a run failed (it may have changed it), when each pass loads afresh.
    loaded: Work | None = None
    # The states the runs were proved to leave, by fingerprint (checks.Proven): shared by
    # the rounds of every unit, the trace pass and the memory pass.
    proven: Proven = field(default_factory=Proven)

    def __post_init__(self) -> None:
        for unit in self.units:
            self.timings[unit] = []
            self.cpu_times[unit] = []
            self.writes[unit] = set()
            self.statements[unit] = []
            self.checked[unit] = 0
            self.counts[unit] = []


def run_scenario(
    target: Target,
    plan: Plan,
    scenario: Scenario,
    db: HarnessDatabase,
    backends: dict[str, Backend],
    emit: Emit,
    kept: TracedBackends | None = None,
) -> list[Cell]:
    """Warm-up and timed rounds over every unit, interleaved; after every run, untimed, the
    returned rows, the table and the database's count of writing transactions are checked.
    A unit that fails a check or raises stops being timed; the others go on. `kept`: the
    trace pass's backends, kept from one scenario to the next (trace_pass.TracedBackends)."""
    capabilities = db.capabilities()
    units = plan_units(scenario, backends, plan.idioms)
    seen = time_rounds(target, plan, scenario, db, backends, units, emit)
    traced = trace_units(target, scenario, db, backends, capabilities, seen, kept)
    # After every timed round and trace pass: the memory figures never share a round with a
    # clock read, and tracemalloc's own cost never reaches a timing.
    peaks = peak_memory(plan, scenario, db, backends, seen, traced)
    if not plan.counting:  # (a counting pass says its progress once per scenario, below)
        emit("traced", scenario.name)  # the trace and memory passes: a step of the progress
    cells = []
    for name, backend in backends.items():
        cells += _cells_of(target, plan, scenario, capabilities, name, backend, seen, traced, peaks)
    return mark_faster_than_floor(cells)


def time_rounds(
    target: Target,
    plan: Plan,
    scenario: Scenario,
    db: HarnessDatabase,
    backends: dict[str, Backend],
    units: list[Unit],
    emit: Emit,
) -> RoundsSeen:
    """The warm-up and timed rounds, each unit checked after every run of it; an error of the
    scenario itself (not of one backend) ends them, said in `RoundsSeen.error`."""
    seen = RoundsSeen(units)
    total = plan.warmup + plan.rounds
    counters = {name: work_counter(backend, db) for name, backend in backends.items()}
    instrument = InstructionCounter() if plan.counting else None
    try:
        for counter in counters.values():
            counter.settle()  # what earlier passes left pending must not reach a round's count
        settle_sqlite_file(target, scenario, db, backends, units)
        work = None if scenario.destructive else scenario.prepare(db)
        for index in range(total):
            for unit in interleaved_order(units, index):
                if unit in seen.broken:
                    continue
                if scenario.destructive:
                    work = None  # the last round's state goes before the next is made
                    work = scenario.prepare(db)
                backend, counter = backends[unit.backend], counters[unit.backend]
                _one_round(
                    target,
                    scenario,
                    db,
                    backend,
                    counter,
                    unit,
                    work,
                    index,
                    plan,
                    seen,
                    instrument,
                )
            # A counting pass says so once per scenario: the event queue's thread sending a
            # progress line while the next round's first operation runs would take the
            # interpreter lock from it at moments the clock decides, and its count would move.
            if not plan.counting or index + 1 == total:
                emit("progress", (scenario.name, index + 1, total))
    except Exception as exc:
        seen.error = describe_error(exc, target)
    if seen.error is None and not seen.broken:
        seen.loaded = work
    return seen


def _one_round(
    target: Target,
    scenario: Scenario,
    db: HarnessDatabase,
    backend: Backend,
    counter: WorkCounter,
    unit: Unit,
    work: Work,
    index: int,
    plan: Plan,
    seen: RoundsSeen,
    instrument: InstructionCounter | None = None,
) -> None:
    """Round `index` of `unit`: timed (or, in a counting pass, its instructions counted by
    `instrument`), then checked untimed; noted in `seen`."""
    file_counter = db.write_counter()
    try:
        # The database's count of the round's reads and writes, read around it
        # untimed (harness.wire.counters).
        before = counter.before()
        count = 0
        if instrument is not None:
            elapsed = cpu = 0.0  # a counting pass runs under valgrind: not timed
            count, result = counted_call(
                backend, scenario, work.argument, unit.run_idiom, instrument
            )
        else:
            elapsed, cpu, result = timed_call(backend, scenario, work.argument, unit.run_idiom)
        moved = counter.moved(before)
    except Exception as exc:  # this backend broke: its cells say why, others go on
        seen.broken[unit] = Outcome("error", describe_error(exc, target))
        counter.settle()
        return
    check = check_run(scenario, work, backend, result, db, file_counter, seen.proven)
    del result  # what the round returned, before the next round makes its own
    if moved is not None:
        seen.statements[unit].append((index + 1, moved))
    if check.outcome.status != "passed":
        seen.broken[unit] = Outcome(
            check.outcome.status, f"round {index + 1}: {check.outcome.reason}"
        )
        return
    seen.checked[unit] += 1
    if check.write_transactions is not None:
        seen.writes[unit].add(check.write_transactions)
    if index >= plan.warmup:
        seen.timings[unit].append(elapsed)
        seen.cpu_times[unit].append(cpu)
        if instrument is not None:
            seen.counts[unit].append(count)


def trace_units(
    target: Target,
    scenario: Scenario,
    db: HarnessDatabase,
    backends: dict[str, Backend],
    capabilities: Capabilities,
    seen: RoundsSeen,
    kept: TracedBackends | None = None,
) -> Traced:
    """Each unit's trace pass, and its outcome: the rounds' own failure, else the trace
    pass's, else whether every timed round did the work the traced run did."""
    traced: Traced = {}
    for unit in seen.units:
        if seen.error is not None:
            traced[unit] = (None, Outcome("error", seen.error))
            continue
        trace, outcome, check = trace_unit(
            target,
            type(backends[unit.backend]),
            unit,
            scenario,
            db,
            capabilities,
            tuple(backends.values()),
            seen.loaded,
            seen.proven,
            kept,
        )
        if outcome.status != "passed":
            seen.loaded = None
        if unit in seen.broken:
            outcome = seen.broken[unit]
        elif outcome.status == "passed" and check is not None:
            differ = timed_rounds_differ(check, seen.writes[unit], seen.statements[unit])
            outcome = differ or outcome
        traced[unit] = (trace, outcome)
    return traced


def peak_memory(
    plan: Plan,
    scenario: Scenario,
    db: HarnessDatabase,
    backends: dict[str, Backend],
    seen: RoundsSeen,
    traced: Traced,
) -> dict[Unit, int | None]:
    """Each unit's peak Python allocation where the plan or the scenario asks for it and the
    unit passed; None elsewhere."""
    wanted = (plan.memory or scenario.measures_memory) and not plan.counting
    measured = [
        u for u in seen.units if wanted and seen.error is None and traced[u][1].status == "passed"
    ]
    peaks: dict[Unit, int | None] = dict.fromkeys(seen.units)
    if measured:
        try:
            # A read leaves the table as it found it (checked after each run): the rounds' own.
            shared = None if scenario.destructive else seen.loaded or scenario.prepare(db)
        except Exception:  # the database went away: the cells already say so, or will
            measured = []
        for unit in measured:
            peaks[unit] = measure_peak_memory(
                backends[unit.backend], unit, scenario, db, shared, seen.proven
            )
    return peaks


def _cells_of(
    target: Target,
    plan: Plan,
    scenario: Scenario,
    capabilities: Capabilities,
    name: str,
    backend: Backend,
    seen: RoundsSeen,
    traced: Traced,
    peaks: dict[Unit, int | None],
) -> list[Cell]:
    """One backend's cells: one per idiom asked for (the floor's one), measured or not run."""
    contract_text = scenario.contract(capabilities).describe() if seen.error is None else ""
    reason = unsupported_reason(scenario, backend)
    cells = []
    for idiom in (FLOOR,) if backend.is_floor else plan.idioms:
        if reason is not None:
            cells.append(not_run_cell(target, plan, scenario, name, reason, idiom, "unsupported"))
            continue
        unit = Unit(name, idiom)
        same = None
        if unit not in seen.timings:
            unit, same = Unit(name, DOCUMENTED), DOCUMENTED
        rounds = seen.timings[unit]
        trace, outcome = traced[unit]
        if same is not None and outcome.status == "passed" and trace is not None:
            # The documented code, held to the contract now that it stands for equal work.
            breaches = scenario.contract(capabilities).breaches(trace, capabilities.family)
            if breaches:
                outcome = Outcome("failed", "breaks the work contract: " + "; ".join(breaches))
        held = idiom in (EQUAL, FLOOR)
        mid = median(rounds) if rounds else None
        cells.append(
            Cell(
                database=target.label,
                scenario=scenario.name,
                backend=name,
                rows=scenario.rows,
                operations=scenario.operations(),
                rounds_s=rounds,
                median_s=mid,
                iqr_s=iqr(rounds) if rounds else None,
                ops_per_s=scenario.operations() / mid if mid else None,
                rows_per_s=scenario.rows / mid if mid else None,
                trace=trace,
                verification=Verification(
                    outcome.status,
                    outcome.reason,
                    rounds_checked=seen.checked[unit],
                    contract=contract_text if held else "",
                ),
                idiom=idiom,
                same_code_as=same,
                idiom_doc=type(backend).idiom_doc(type(scenario), unit.run_idiom),
                peak_alloc_bytes=peaks[unit],
                cpu_rounds_s=seen.cpu_times[unit],
                instructions_rounds=seen.counts[unit],
            )
        )
    return cells


def not_run_cell(
    target: Target,
    plan: Plan,
    scenario: Scenario,
    backend: str,
    why: str,
    idiom: str,
    status: str = "error",
) -> Cell:
    return Cell(
        database=target.label,
        scenario=scenario.name,
        backend=backend,
        rows=scenario.rows,
        operations=scenario.operations(),
        rounds_s=[],
        median_s=None,
        iqr_s=None,
        ops_per_s=None,
        rows_per_s=None,
        trace=None,
        verification=Verification(status, why),
        idiom=idiom,
    )
