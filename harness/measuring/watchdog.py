"""The watchdog of a worker on a server database: it ends the wait on a server that stopped
answering."""

from __future__ import annotations

import threading
import time

from harness.measuring.plan import Emit
from harness.targets.database import connect_error
from harness.targets.errors import ConnectionFailed
from harness.targets.urls import Target


class Watchdog(threading.Thread):
    """Ends the wait on a server that stopped answering (frozen, or its host gone without a
    word), which no driver option catches everywhere: a statement then blocks forever.

    Only after `quiet_for` seconds without progress does it try a fresh connection; a server
    that accepts one is alive and the work merely slow. If none is possible it reports the
    database lost, and the parent ends this worker and writes what completed.
    """

    def __init__(self, target: Target, emit: Emit) -> None:
        super().__init__(daemon=True, name="ormbench-watchdog")
        self.target = target
        self.emit = emit
        self.quiet_for = max(5.0, 3 * target.connect_timeout)
        self.last_progress = time.monotonic()
        self.stopped = threading.Event()
        self.scenario = ""

    def saw_progress(self, scenario: str) -> None:
        self.scenario = scenario
        self.last_progress = time.monotonic()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            if time.monotonic() - self.last_progress < self.quiet_for:
                continue
            try:
                self.target.dbapi_connect().close()
            except Exception as exc:  # the driver's own error type varies by driver
                if time.monotonic() - self.last_progress < 2 * self.quiet_for:
                    continue  # one failed attempt may be a blip; keep trying for a while
                lost = connect_error(self.target, exc)
                self.emit(
                    "error",
                    ConnectionFailed(
                        f"the database stopped answering during {self.scenario or 'the run'} "
                        f"(nothing for {time.monotonic() - self.last_progress:.0f} s): "
                        f"{lost.message}",
                        lost.hint,
                    ),
                )
                return
            self.last_progress = time.monotonic()  # it answers: the work is only slow
