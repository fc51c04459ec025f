"""Each database runs in a worker process of its own, since Django's settings are per process: the
worker streams its events (cells, progress, warnings) back as they happen, so a failure keeps
what finished; on Ctrl-C it is asked to stop and drops its tables, and the tables of a worker
that died are dropped from the parent."""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.spawn
import queue
import signal
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from sqlalchemy import Table

from harness.measuring.database import run_database
from harness.measuring.instructions import valgrind_python
from harness.measuring.plan import Emit, Plan
from harness.targets.database import HarnessDatabase, tables_of
from harness.targets.errors import OrmbenchError, describe_error, driver_message
from harness.targets.urls import Target


def _end_worker(
    process: Any,
    target: Target,
    tables: tuple[Table, ...],
    owned: list[str],
    left: list[str],
    emit: Emit,
) -> None:
    """Wait for the worker to exit, killing it if it will not. A worker that exits normally
    has dropped its tables, or said it could not (`left`): a connection of its own that an
    interrupt caught mid-transaction can hold a lock the drop waits on. In that case, and
    for a worker that died or was killed, the tables are dropped from here, once the worker
    is gone and holds no locks on them."""
    process.join(timeout=5)
    if process.is_alive():
        process.kill()
        process.join(timeout=5)
    if owned and (process.exitcode != 0 or left):
        _drop_for_dead_worker(target, tables, owned[0], emit, left[0] if left else None)


def _drop_for_dead_worker(
    target: Target,
    tables: tuple[Table, ...],
    run_id: str,
    emit: Emit,
    explained: str | None = None,
) -> None:
    """Drop the tables of a worker that could not (marker-checked: only that run's); if that
    fails too, a "warning" says what is left behind and how to remove it (`explained`: the
    worker's own account of what it left, which names the tables)."""
    try:
        db = HarnessDatabase(target, tables)
    except OrmbenchError as exc:
        emit("warning", explained or f"could not drop the harness tables ({exc.message})")
        return
    try:
        try:
            db.adopt(run_id)
        except Exception as exc:  # the server went away since: say what is left
            detail = driver_message(exc, target, limit=200)
            emit("warning", explained or f"could not drop the harness tables ({detail})")
            return
        if left_behind := db.drop_tables_or_explain():
            emit("warning", left_behind)
    finally:
        db.close()


class Interrupted(BaseException):
    """The parent asked the worker to stop (Ctrl-C): clean up, report what finished."""


def _stop_on_sigterm(_signum: int, _frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: let the clean-up finish
    raise Interrupted


def worker_main(
    run: Callable[[Target, Any, Emit], None], target: Target, plan: Any, events: Any
) -> None:
    """The body of a database's worker process: `run(target, plan, emit)` with its events put
    on `events`, ending in "done", "interrupted" or "error" (also for `harness.concurrency`)."""
    # Ctrl-C reaches the whole process group; the parent alone decides, and asks the worker
    # to stop with SIGTERM, so the worker's clean-up (dropping its tables) is not cut short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    # A connection abandoned by an interrupt or a dead server fails its reset when the
    # collector finalises it, and SQLAlchemy's pool logs that with a traceback on stderr.
    # The cause already reaches the user as the cell's or the database's error line.
    pool_log = logging.getLogger("sqlalchemy.pool")
    pool_log.addHandler(logging.NullHandler())
    pool_log.propagate = False
    try:
        run(target, plan, lambda kind, payload: events.put((kind, payload)))
        events.put(("done", None))
    except Interrupted:
        events.put(("interrupted", None))
    except OrmbenchError as exc:
        events.put(("error", exc))
    except BaseException as exc:
        events.put(
            (
                "error",
                OrmbenchError(
                    describe_error(exc, target), "this is a bug in ormbench; please report it"
                ),
            )
        )


def _worker(target: Target, plan: Plan, events: Any) -> None:
    worker_main(run_database, target, plan, events)


def _drain(
    process: Any, events: Any, emit: Emit, target: Target, deadline: float | None = None
) -> Any:
    """Pass events on until the worker ends; return the final (kind, payload). Past
    `deadline` (time.monotonic()), raise queue.Empty."""
    while True:
        try:
            kind, payload = events.get(timeout=0.5)
        except queue.Empty:
            if deadline is not None and time.monotonic() > deadline:
                raise
            if not process.is_alive():
                return "error", OrmbenchError(
                    f"the worker for {target.label} died (exit code {process.exitcode})",
                    "this is a bug in ormbench; please report it",
                )
            continue
        if kind in ("done", "error", "interrupted"):
            return kind, payload
        emit(kind, payload)


def run_in_worker(target: Target, plan: Plan, emit: Emit) -> None:
    """Run one database in a fresh process; re-raise its error here. Events reach `emit` as
    they happen, so cells finished before a failure are kept. On Ctrl-C the worker is asked
    to stop, drops its tables, and KeyboardInterrupt is raised here. A counting pass
    (`plan.counting`) runs its worker under valgrind's callgrind
    (harness.measuring.instructions)."""
    tables = tables_of(plan.scenario_classes())
    if not plan.counting:
        run_worker(_worker, tables, target, plan, emit)
        return
    with valgrind_python() as executable:
        run_worker(_worker, tables, target, plan, emit, executable)


def run_worker(
    worker: Callable[[Target, Any, Any], None],
    tables: tuple[Table, ...],
    target: Target,
    plan: Any,
    emit: Emit,
    executable: str | None = None,
) -> None:
    """`worker(target, plan, events)` in a fresh process (see run_in_worker); `tables` are
    the ones it creates, dropped from here should it die before it can. `executable`: the
    program that starts the worker's Python (a launcher under valgrind), else this Python."""
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    process = context.Process(target=worker, args=(target, plan, events), daemon=True)
    if executable is None:
        process.start()
    else:
        # multiprocessing has one executable for the whole process: set it for this start.
        usual = multiprocessing.spawn.get_executable()
        context.set_executable(executable)
        try:
            process.start()
        finally:
            context.set_executable(usual)
    owned: list[str] = []  # the run id of tables the worker created
    left: list[str] = []  # why the worker could not drop them, if it could not

    def watch(kind: str, payload: Any) -> None:
        if kind == "tables":
            owned.append(payload)
        elif kind == "tables_left":
            left.append(payload)
        else:
            emit(kind, payload)

    try:
        kind, payload = _drain(process, events, watch, target)
    except KeyboardInterrupt:
        process.terminate()
        # Dropping the tables takes a moment; a worker stuck on a dead server gets as long
        # as one connection attempt and a little more, then is killed.
        grace = target.connect_timeout + 15
        with suppress(queue.Empty):
            _drain(process, events, watch, target, deadline=time.monotonic() + grace)
        _end_worker(process, target, tables, owned, left, emit)
        raise
    _end_worker(process, target, tables, owned, left, emit)
    if kind == "error":
        raise payload
    if kind == "interrupted":
        raise KeyboardInterrupt
