"""The untimed passes after the timed rounds: one traced run per unit (the DB-API trace, the wire
through a loopback relay, the server's counters, the checks and the work contract), and the
peak-memory run under tracemalloc."""

from __future__ import annotations

import gc
import tracemalloc
from contextlib import suppress
from dataclasses import replace
from typing import Any

from backends import Backend
from harness.measuring.checks import (
    Proven,
    RoundCheck,
    backend_sessions,
    check_run,
    database_transactions,
    held_to_contract,
    work_counter,
)
from harness.measuring.plan import FLOOR, Unit
from harness.targets.database import HarnessDatabase
from harness.targets.errors import describe_error
from harness.targets.urls import Target
from harness.wire.counters import WorkCounter
from harness.wire.relay import Relay, Wire
from harness.wire.result_shape import result_shape
from harness.wire.trace import SQL_SAMPLE_LIMIT, Tracer
from reports.model import SqlSample, TraceCounts
from scenarios import Capabilities, Outcome, Scenario, Work
from scenarios.idioms import DOCUMENTED, EQUAL

DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mssql": 1433}


def _trace_counts(tracer: Tracer, operations: int) -> TraceCounts:
    tracer.settle()
    return TraceCounts(
        operations=operations,
        statements=tracer.statements,
        transaction_control=tracer.transaction_control,
        commits=tracer.commits,
        rollbacks=tracer.rollbacks,
        rows_sent=tracer.rows_sent,
        rows_fetched=tracer.rows_fetched,
        by_kind=dict(tracer.by_kind),
        sql=[SqlSample(s, n) for s, n in list(tracer.sql.items())[:SQL_SAMPLE_LIMIT]],
        transactions=tracer.transactions,
        autocommit_statements=tracer.autocommit_statements,
        left_open=tracer.in_transaction,
        rows_written=dict(tracer.rows_written),
        select_rows=tracer.select_rows,
        narrowest_select=tracer.narrowest_select,
        update_columns={str(k): v for k, v in tracer.update_columns.items()},
        noop_transaction_calls=tracer.noop_transaction_calls,
    )


def open_relay(target: Target) -> Relay | None:
    """A started relay to the target's server for one trace pass, or None where the database
    is not reached over TCP (SQLite; a Unix socket)."""
    if target.family == "sqlite":
        return None
    host = target.url.host or "localhost"
    if host.startswith("/"):
        return None
    return Relay(host, target.url.port or DEFAULT_PORTS[target.family], target.family).start()


def no_wire_reason(target: Target) -> str:
    if target.family == "sqlite":
        return "embedded: no wire, the driver-level trace only"
    return "reached through a Unix socket: no relay"


def with_wire(counts: TraceCounts, wire: Wire) -> TraceCounts:
    note = ""
    if wire.encrypted:
        note = f"TLS on {wire.encrypted} connection(s): messages not parsed after the switch"
    return replace(
        counts,
        round_trips=wire.round_trips,
        bytes_sent=wire.bytes_sent,
        bytes_received=wire.bytes_received,
        messages_sent=None if wire.encrypted else wire.messages_sent,
        messages_received=None if wire.encrypted else wire.messages_received,
        wire_statements=None if wire.encrypted else wire.statements,
        wire_note=note,
    )


class TracedBackends:
    """The trace pass's backends, kept from one scenario's trace pass to the next as the timed
    rounds keep theirs: one per backend class, each on its own tracer and, on a server, its
    own relay, so a backend logs in once per database instead of once per unit of every
    scenario (over TLS to SQL Server, those logins were most of a small run's time). Between
    trace passes each is paused (`Backend.pause`: Django's one connection goes back to the
    timed rounds); one whose pass raised is closed, and the next pass opens it anew."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._open: dict[type[Backend], tuple[Backend, Tracer, Relay | None]] = {}

    def open(self, backend_cls: type[Backend]) -> tuple[Backend, Tracer, Relay | None]:
        """`backend_cls`'s trace instance, its tracer and relay: the kept one, resumed, or
        a new one."""
        kept = self._open.get(backend_cls)
        if kept is not None:
            kept[0].resume()
            return kept
        tracer = Tracer()
        relay = open_relay(self.target)
        try:
            target = self.target.via_relay(relay.address) if relay is not None else self.target
            backend = backend_cls(target, tracer)
        except BaseException:
            if relay is not None:
                relay.close()
            raise
        self._open[backend_cls] = (backend, tracer, relay)
        return backend, tracer, relay

    def release(self, backend_cls: type[Backend], broken: bool) -> None:
        """After a trace pass: pause the instance for the next one, or, when the pass
        raised (or pausing does), close it with its relay."""
        kept = self._open.get(backend_cls)
        if kept is None:
            return
        backend, _tracer, relay = kept
        if not broken:
            try:
                backend.pause()
                return
            except Exception:  # closed below, like a broken one
                pass
        del self._open[backend_cls]
        with suppress(Exception):  # closing a dead connection must not hide the real error
            backend.close()
        if relay is not None:
            relay.close()

    def close(self) -> None:
        for backend_cls in list(self._open):
            self.release(backend_cls, broken=True)

    def __enter__(self) -> TracedBackends:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def trace_unit(
    target: Target,
    backend_cls: type[Backend],
    unit: Unit,
    scenario: Scenario,
    db: HarnessDatabase,
    capabilities: Capabilities,
    others: tuple[Backend, ...] = (),
    work: Work | None = None,
    proven: Proven | None = None,
    kept: TracedBackends | None = None,
) -> tuple[TraceCounts | None, Outcome, RoundCheck | None]:
    """Run the operation once more, untimed, on a traced connection; check the work, and for
    an equal-work cell or the floor, hold the trace to the scenario's work contract.
    `others`: the run's other open backends, whose sessions' pending statistics are flushed
    before the server's counters are read (PostgreSQL). `work`: a read scenario's prepared
    state, which every round has left as it found it (checked after each): used as it is
    instead of loading the table again. `proven`: the states the rounds were proved to
    leave (checks.Proven). `kept`: the run's trace instances, kept between passes; without
    it the backend is opened for this pass alone."""
    traced = kept if kept is not None else TracedBackends(target)
    try:
        # The harness's own steps fail here too when the server goes away: an error cell,
        # like the backend's, not a crash of the worker.
        if work is None or scenario.destructive:
            work = scenario.prepare(db)
        backend, tracer, relay = traced.open(backend_cls)
    except Exception as exc:
        if kept is None:
            traced.close()
        return None, Outcome("error", describe_error(exc, target)), None
    broken = True
    try:
        # Outside the transaction readings, whose own statements touch no harness table.
        counter = work_counter(backend, db)
        before = counter.before()
        transactions_before = database_transactions(backend, db, others)
        backend.begin_round()
        tracer.reset()  # count the operation, not the connection's set-up
        file_counter = db.write_counter()
        wire_before = relay.snapshot() if relay is not None else None
        result = scenario.run(backend, work.argument, unit.run_idiom)
        counts = _trace_counts(tracer, scenario.operations())
        if relay is not None and wire_before is not None:
            relay.quiet()
            counts = with_wire(counts, relay.snapshot() - wire_before)
        else:
            counts = replace(counts, wire_note=no_wire_reason(target))
        backend.end_round()
        server, moved = _server_counts(backend, db, transactions_before, counter, before)
        counts = replace(counts, server_counters=server)
        during = tracer.statements + tracer.transaction_control
        check = check_run(scenario, work, backend, result, db, file_counter, proven)
        shape = result_shape(result)
        if shape is not None:
            counts = replace(counts, result_objects=shape.objects, result_rows=shape.rows)
        check.statements = moved
        sent_while_reading = tracer.statements + tracer.transaction_control - during
        counts = replace(
            counts,
            verification_statements=sent_while_reading,
            write_transactions=check.write_transactions,
        )
        broken = False
    except Exception as exc:  # a backend that breaks is reported, not fatal to the run
        return None, Outcome("error", describe_error(exc, target)), None
    finally:
        if kept is None:
            traced.close()
        else:
            traced.release(backend_cls, broken)
    outcome = check.outcome
    if outcome.status == "passed" and unit.idiom in (EQUAL, FLOOR):
        outcome = held_to_contract(scenario, capabilities, counts, result, check)
    return counts, outcome, check


def _server_counts(
    backend: Backend,
    db: HarnessDatabase,
    transactions_before: dict[str, int] | None,
    counter: WorkCounter,
    before: Any,
) -> tuple[dict[str, int] | None, dict[str, int] | None]:
    """After the traced run: the server's counters it moved (PostgreSQL's transactions, the
    work counter's reads and writes), and the work counter's alone (None where not kept)."""
    server: dict[str, int] | None = None
    if transactions_before is not None:
        after = database_transactions(backend, db, flush_others=False)
        server = {name: value - transactions_before[name] for name, value in (after or {}).items()}
        # The reads' own transactions: one flush per backend session, one reading statement.
        server["xact_commit"] -= backend_sessions(backend) + 1
    moved = counter.moved(before)
    if moved is not None:
        server = {**moved, **(server or {})}
    return server, moved


def measure_peak_memory(
    backend: Backend,
    unit: Unit,
    scenario: Scenario,
    db: HarnessDatabase,
    work: Work | None = None,
    proven: Proven | None = None,
) -> int | None:
    """Peak Python allocation, in bytes, of one more run of the operation: untimed, after the
    timed rounds and the trace pass, on fresh state (`scenario.prepare`; a read scenario's
    `work`, prepared once for every backend, where given) and in a fresh round of the
    backend's own (warmed) instance, so that one-time set-up such as statement caches is not
    counted. `tracemalloc` traces the operation alone, with the garbage collector on, as in
    a program (the timed rounds turn it off only for steady timings), after a full collection.
    None when the run raises or does not pass the round's checks: a figure only for a run that
    did the work. Python's allocator only: a driver's C buffers do not show here."""
    try:
        if work is None or scenario.destructive:
            work = scenario.prepare(db)
        backend.begin_round()
        gc.collect()
        tracemalloc.start()
        try:
            result = scenario.run(backend, work.argument, unit.run_idiom)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            backend.end_round()
        check = check_run(scenario, work, backend, result, db, None, proven)
    except Exception:  # the timed rounds and the trace pass report a backend that breaks
        return None
    return peak if check.outcome.status == "passed" else None


def trace_and_verify(
    target: Target, backend_cls: type[Backend], scenario: Scenario, db: HarnessDatabase
) -> tuple[TraceCounts | None, Outcome]:
    """The trace-and-verify pass of a backend's documented idiom (the floor's one idiom)."""
    unit = Unit(backend_cls.name, FLOOR if backend_cls.is_floor else DOCUMENTED)
    trace, outcome, _check = trace_unit(target, backend_cls, unit, scenario, db, db.capabilities())
    return trace, outcome
