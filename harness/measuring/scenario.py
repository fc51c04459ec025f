"""One scenario on one database: warm-up and timed rounds over every unit, interleaved and checked
after every run; then the trace pass and the memory pass; then its cells."""

from __future__ import annotations

from backends import Backend
from harness.judging.stats import iqr, median
from harness.measuring.checks import (
    check_run,
    count_differences,
    mark_faster_than_floor,
    same_counts,
    work_counter,
)
from harness.measuring.plan import (
    FLOOR,
    Emit,
    Plan,
    Unit,
    interleaved_order,
    plan_units,
    unsupported_reason,
)
from harness.measuring.rounds import settle_sqlite_file, timed_call
from harness.measuring.trace_pass import measure_peak_memory, trace_unit
from harness.targets.database import HarnessDatabase
from harness.targets.errors import describe_error
from harness.targets.urls import Target
from reports.model import Cell, TraceCounts, Verification
from scenarios import Outcome, Scenario
from scenarios.idioms import DOCUMENTED, EQUAL


def run_scenario(
    target: Target,
    plan: Plan,
    scenario: Scenario,
    db: HarnessDatabase,
    backends: dict[str, Backend],
    emit: Emit,
) -> list[Cell]:
    """Warm-up and timed rounds over every unit, interleaved; after every run, untimed, the
    returned rows, the table and the database's count of writing transactions are checked.
    A unit that fails a check or raises stops being timed; the others go on."""
    capabilities = db.capabilities()
    units = plan_units(scenario, backends, plan.idioms)
    timings: dict[Unit, list[float]] = {u: [] for u in units}
    cpu_times: dict[Unit, list[float]] = {u: [] for u in units}
    broken: dict[Unit, Outcome] = {}
    seen_writes: dict[Unit, set[int]] = {u: set() for u in units}
    seen_statements: dict[Unit, list[tuple[int, dict[str, int]]]] = {u: [] for u in units}
    checked: dict[Unit, int] = {u: 0 for u in units}
    error: str | None = None
    total = plan.warmup + plan.rounds
    counters = {name: work_counter(backend, db) for name, backend in backends.items()}
    try:
        for counter in counters.values():
            counter.settle()  # what earlier passes left pending must not reach a round's count
        settle_sqlite_file(target, scenario, db, backends, units)
        work = None if scenario.destructive else scenario.prepare(db)
        for index in range(total):
            for unit in interleaved_order(units, index):
                if unit in broken:
                    continue
                if scenario.destructive:
                    work = scenario.prepare(db)
                backend = backends[unit.backend]
                file_counter = db.write_counter()
                counter = counters[unit.backend]
                try:
                    # The database's count of the round's reads and writes, read around it
                    # untimed (harness.wire.counters).
                    before = counter.before()
                    elapsed, cpu, result = timed_call(
                        backend, scenario, work.argument, unit.run_idiom
                    )
                    moved = counter.moved(before)
                except Exception as exc:  # this backend broke: its cells say why, others go on
                    broken[unit] = Outcome("error", describe_error(exc, target))
                    counter.settle()
                    continue
                check = check_run(scenario, work, backend, result, db, file_counter)
                if moved is not None:
                    seen_statements[unit].append((index + 1, moved))
                if check.outcome.status != "passed":
                    broken[unit] = Outcome(
                        check.outcome.status, f"round {index + 1}: {check.outcome.reason}"
                    )
                    continue
                checked[unit] += 1
                if check.write_transactions is not None:
                    seen_writes[unit].add(check.write_transactions)
                if index >= plan.warmup:
                    timings[unit].append(elapsed)
                    cpu_times[unit].append(cpu)
            emit("progress", (scenario.name, index + 1, total))
    except Exception as exc:
        error = describe_error(exc, target)
    traced: dict[Unit, tuple[TraceCounts | None, Outcome]] = {}
    for unit in units:
        if error is not None:
            traced[unit] = (None, Outcome("error", error))
            continue
        trace, outcome, check = trace_unit(
            target,
            type(backends[unit.backend]),
            unit,
            scenario,
            db,
            capabilities,
            tuple(backends.values()),
        )
        if unit in broken:
            outcome = broken[unit]
        elif outcome.status == "passed" and check is not None:
            # Every timed round must have done the work the traced run did.
            traced_writes = check.write_transactions
            odd = {w for w in seen_writes[unit] if w != traced_writes}
            if traced_writes is not None and odd:
                outcome = Outcome(
                    "failed",
                    f"timed rounds did other work than the traced run: the database counted "
                    f"{sorted(odd)[0]} writing transactions in a timed round, "
                    f"{traced_writes} in the traced one",
                )
            traced_counts = check.statements
            for round_number, moved in seen_statements[unit]:
                if traced_counts is not None and not same_counts(moved, traced_counts):
                    outcome = Outcome(
                        "failed",
                        f"timed round {round_number} did other work than the traced run: the "
                        f"database counted {count_differences(moved, traced_counts)}",
                    )
                    break
        traced[unit] = (trace, outcome)
    # After every timed round and trace pass: the memory figures never share a round with a
    # clock read, and tracemalloc's own cost never reaches a timing.
    wanted = plan.memory or scenario.measures_memory
    measured = [u for u in units if wanted and error is None and traced[u][1].status == "passed"]
    peaks: dict[Unit, int | None] = dict.fromkeys(units)
    if measured:
        try:
            # A read leaves the table as it found it (checked after each run): load it once.
            shared = None if scenario.destructive else scenario.prepare(db)
        except Exception:  # the database went away: the cells already say so, or will
            measured = []
        for unit in measured:
            peaks[unit] = measure_peak_memory(backends[unit.backend], unit, scenario, db, shared)
    contract_text = scenario.contract(capabilities).describe() if error is None else ""
    cells = []
    for name, backend in backends.items():
        cell_idioms = (FLOOR,) if backend.is_floor else plan.idioms
        reason = unsupported_reason(scenario, backend)
        for idiom in cell_idioms:
            if reason is not None:
                cells.append(
                    not_run_cell(target, plan, scenario, name, reason, idiom, "unsupported")
                )
                continue
            unit = Unit(name, idiom)
            same = None
            if unit not in timings:
                unit, same = Unit(name, DOCUMENTED), DOCUMENTED
            rounds = timings[unit]
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
                        rounds_checked=checked[unit],
                        contract=contract_text if held else "",
                    ),
                    idiom=idiom,
                    same_code_as=same,
                    idiom_doc=type(backend).idiom_doc(type(scenario), unit.run_idiom),
                    peak_alloc_bytes=peaks[unit],
                    cpu_rounds_s=cpu_times[unit],
                )
            )
    return mark_faster_than_floor(cells)


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
