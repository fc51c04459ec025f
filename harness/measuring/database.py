"""One database in its worker process: the harness tables, every backend's connection, each
scenario at each size in turn, and the clean-up, whatever happens."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from backends import Backend, load_backend
from harness.judging.projection import measure_local_rtt
from harness.measuring.plan import FLOOR, Emit, Plan
from harness.measuring.scenario import not_run_cell, run_scenario
from harness.measuring.trace_pass import TracedBackends
from harness.measuring.watchdog import Watchdog
from harness.targets.database import HarnessDatabase, connect_error, tables_of
from harness.targets.errors import ConnectionFailed, OrmbenchError, describe_error, setup_failed
from harness.targets.urls import Target
from scenarios import REGISTRY


@contextmanager
def open_backends(target: Target, names: tuple[str, ...]) -> Iterator[dict[str, Backend]]:
    opened: dict[str, Backend] = {}
    try:
        for name in names:
            try:
                backend = load_backend(name)(target)
                # Cells carry the backend's own name, so a plug-in ("module:Class") that
                # stands in for an ORM is judged in that ORM's place.
                opened[backend.name] = backend
            except OrmbenchError:
                raise
            except Exception as exc:
                raise _backend_error(target, name, exc) from None
        yield opened
    finally:
        for backend in opened.values():
            with suppress(Exception):  # closing a dead connection must not hide the real error
                backend.close()


def _backend_error(target: Target, name: str, exc: BaseException) -> OrmbenchError:
    """A backend that could not open its connection(s): "cannot connect" only when a plain
    login fails now too; when it works, the backend's own set-up is what failed (Django's
    connection settings, a dialect's first look at the server, a plug-in's constructor)."""
    try:
        target.dbapi_connect().close()
    except OrmbenchError as probe:  # the login worked and the connection settings failed
        return probe
    except Exception:  # the driver's own error type varies by driver
        return connect_error(target, exc)
    return setup_failed(target, f"setting up the {name} backend's connection", exc)


def run_database(target: Target, plan: Plan, emit: Emit) -> None:
    """Run the plan on one database in this process, emitting "database" and "cell" events.

    When a scenario ends in an error, the harness asks the server whether it is still there;
    if not, the remaining scenarios are marked "not run" at once instead of each waiting for
    its own connect timeout, and ConnectionFailed ends this database. The harness tables are
    dropped in every case; when that is impossible (server gone, or a lock held by a
    connection an interrupt caught mid-transaction) a "tables_left" event says what is left
    behind, without hiding the run's own error, and the parent tries again once this
    process is gone (harness.measuring.worker).
    """
    db = HarnessDatabase(target, tables_of(plan.scenario_classes()))
    watchdog: Watchdog | None = None
    try:
        emit("database", db.database_info())
        # Before creating: should this process die even half-way through the creation, the
        # parent drops what carries this run id (the marker guards everyone else's tables).
        emit("tables", db.run_id)
        db.create_tables()
        # An embedded database cannot stop answering. A counting pass has no watchdog: a
        # thread that wakes every second would take the interpreter lock from the counted
        # operation at times the clock decides, and counts would no longer repeat.
        if target.family != "sqlite" and not plan.counting:
            watchdog = Watchdog(target, emit)
            watchdog.start()
            inner = emit

            def emit(kind: str, payload: Any) -> None:
                if kind in ("progress", "traced", "cell"):
                    watchdog.saw_progress(_scenario_of(kind, payload))
                inner(kind, payload)

        with open_backends(target, plan.backends) as backends, TracedBackends(target) as kept:
            emit("settings", read_connection_settings(target, backends))
            if target.family != "sqlite":  # an embedded database has no wire to measure
                emit("rtt", local_round_trip(target))
            # Each scenario at every size in turn, smallest first (one size: as given).
            runs = [(name, rows) for name in plan.scenarios for rows in plan.row_sizes()]
            for index, (name, rows) in enumerate(runs):
                scenario = REGISTRY[name](rows, plan.seed)
                cells = run_scenario(
                    target, plan, scenario, db, backends, _sized(emit, plan, rows), kept
                )
                del scenario  # its generated data: a sweep's largest size need not share memory
                for cell in cells:
                    emit("cell", cell)
                if all(c.verification.status != "error" for c in cells):
                    continue
                try:
                    db.ping()
                except ConnectionFailed as lost:
                    reason = f"not run: the database went away during {name}"
                    _not_run(target, plan, runs[index + 1 :], backends, reason, emit)
                    raise ConnectionFailed(
                        f"lost the database during {name}: {lost.message}", lost.hint
                    ) from None
    finally:
        if watchdog is not None:
            watchdog.stopped.set()
        # The parent's SIGTERM (Ctrl-C) must not cut the clean-up short.
        with suppress(ValueError):  # not the main thread: no signal to hold off
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            left_behind = db.drop_tables_or_explain()
            if left_behind:
                emit("tables_left", left_behind)  # the parent tries again
        finally:
            db.close()


def _not_run(
    target: Target,
    plan: Plan,
    later: list[tuple[str, int]],
    backends: dict[str, Backend],
    reason: str,
    emit: Emit,
) -> None:
    """A "not run" cell for every unit of the scenarios (and sizes) `later` in the plan."""
    for name, rows in later:
        for backend_name, backend in backends.items():
            for idiom in (FLOOR,) if backend.is_floor else plan.idioms:
                scenario = REGISTRY[name](rows, plan.seed)
                emit("cell", not_run_cell(target, plan, scenario, backend_name, reason, idiom))


def local_round_trip(target: Target) -> float | None:
    """The local round-trip time for `--rtt` projections (harness.judging.projection), on a raw
    connection of its own, untimed; None if it cannot be measured."""
    try:
        connection = target.dbapi_connect(autocommit=True)
    except Exception:  # the backends' own connections report a failing server
        return None
    try:
        return measure_local_rtt(connection)
    except Exception:
        return None
    finally:
        with suppress(Exception):
            connection.close()


def _scenario_of(kind: str, payload: Any) -> str:
    """The scenario a progress, traced or cell event is about."""
    if kind == "progress":
        return payload[0]
    return payload if kind == "traced" else payload.scenario


def _sized(emit: Emit, plan: Plan, rows: int) -> Emit:
    """In a size sweep, progress names the size too ("get at 10,000 rows"); else `emit`."""
    if not plan.sizes:
        return emit

    def sized(kind: str, payload: Any) -> None:
        if kind == "progress":
            name, done, total = payload
            payload = (f"{name} at {rows:,} rows", done, total)
        elif kind == "traced":
            payload = f"{payload} at {rows:,} rows"
        emit(kind, payload)

    return sized


def read_connection_settings(target: Target, backends: dict[str, Backend]) -> dict[str, Any]:
    """Each backend's session settings, read back from its own connection (untimed)."""
    settings: dict[str, dict[str, str]] = {}
    for name, backend in backends.items():
        try:
            settings[name] = backend.connection_settings()
        except Exception as exc:  # a plug-in backend may not say; the report shows why
            settings[name] = {"unreadable": describe_error(exc, target)}
    return settings
