"""How a run reports its progress on stderr: rich's live display on a terminal (database,
scenario, round k of n, and the run's ETA), plain lines where the output is kept (a CI log, a
file, a pipe), nothing with --quiet. The rounds are counted in the worker process and reach
the parent as "progress" events (harness.measuring.scenario), and each scenario's untimed
trace-and-verify pass after them as a "traced" event, a step of the display too, so that the
time left counts it; the run's collector passes them on here. A scenario whose first round
shows that it will take long at that pace says so then, with the estimate, in either form."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import PurePath
from types import TracebackType
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Column
from sqlalchemy.engine import make_url

MIN_BAR = 10  # characters: the least a progress bar still reads as one
LONG_SCENARIO_S = 600.0  # say so when one scenario alone will take longer than this


class ProgressSink(Protocol):
    """Where `execute` reports: a line (a database starts, a warning), the run's size in
    rounds once, and each finished round."""

    def __call__(self, line: str) -> None: ...

    def planned(self, rounds: int) -> None: ...

    def round(self, label: str, scenario: str, done: int, total: int) -> None: ...

    def traced(self, label: str, scenario: str) -> None: ...


class Lines:
    """Plain lines, one per event worth keeping in a log: a scenario's rounds are one line
    when they finish, not one per round."""

    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console
        self.clock = clock
        self.last_step = clock()  # when the last step (or line) came: a round starts there

    def __call__(self, line: str) -> None:
        self.console.print(line, markup=False, highlight=False)
        self.last_step = self.clock()

    def planned(self, rounds: int) -> None:
        """Plain lines carry no ETA."""

    def traced(self, label: str, scenario: str) -> None:
        """A scenario's trace-and-verify pass ended: its line came with its last round."""
        self.last_step = self.clock()

    def round(self, label: str, scenario: str, done: int, total: int) -> None:
        now = self.clock()
        if done == 1 and total > 1:
            self._note_if_long(label, scenario, now - self.last_step, total)
        if done == total:
            self(f"{label}: {scenario} done ({total} round{'' if total == 1 else 's'})")
        self.last_step = now

    def _note_if_long(self, label: str, scenario: str, first: float, total: int) -> None:
        """The up-front note (harness.cli.measuring) is a lower bound made before anything
        ran; the first round measures the pace. When its other rounds and the trace pass
        (about a round's work) will take long at that pace, say so now, not an hour in."""
        left = first * total  # total - 1 rounds, and the trace pass
        if first + left < LONG_SCENARIO_S:
            return
        self(
            f"note: {short_label(label)}: {scenario}'s first round took {duration(first)}; "
            f"at that pace the scenario takes about {duration(left)} more; fewer --rows or "
            "--rounds, or leaving it out of --scenarios, shortens it"
        )

    def __enter__(self) -> Lines:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None


class Live(Lines):
    """rich's progress display: one bar for the whole run, labelled with the database, the
    scenario and its round, and the time left at the run's pace so far. The lines a log would
    get still print, above the bar; the bar goes away when the run ends (`transient`), before
    the report."""

    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(console, clock)
        # The label and counts keep their natural width; the bar takes what is left (at
        # least MIN_BAR), so on a narrow terminal the bar shrinks, never the words.
        self.progress = Progress(
            TextColumn("{task.description}", table_column=Column(no_wrap=True)),
            TextColumn("{task.fields[round]}", table_column=Column(no_wrap=True)),
            BarColumn(bar_width=None, table_column=Column(ratio=1, min_width=MIN_BAR)),
            TextColumn("{task.completed}/{task.total} steps"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            expand=True,
        )
        self.task = self.progress.add_task("starting", total=None, round="")

    def __call__(self, line: str) -> None:
        self.progress.console.print(line, markup=False, highlight=False)
        self.last_step = self.clock()

    def planned(self, rounds: int) -> None:
        """The display starts once the run's size is known (its steps: every scenario's
        rounds and its trace-and-verify pass), so its count never reads "0/None"."""
        self.progress.update(self.task, total=rounds)
        self.progress.start()

    def traced(self, label: str, scenario: str) -> None:
        """The untimed trace and memory passes after a scenario's rounds: one step, so that
        the time left counts them as it counts the rounds' own checks."""
        self._show(label, scenario, "trace and checks")
        super().traced(label, scenario)

    def round(self, label: str, scenario: str, done: int, total: int) -> None:
        self._show(label, scenario, f"round {done} of {total}")
        super().round(label, scenario, done, total)

    def _show(self, label: str, scenario: str, counted: str) -> None:
        described = f"{short_label(label)} · {scenario}"
        if len(described) + len(counted) + self._fixed_width() > self.progress.console.width:
            # Too narrow for both: the scenario alone (its database's "starting" line is
            # printed above the bar).
            described = scenario
        self.progress.update(self.task, advance=1, description=described, round=counted)

    def _fixed_width(self) -> int:
        """What the rest of the line takes: the bar at its least, "k/n rounds", the time left
        and the gaps between the columns."""
        total = self.progress.tasks[0].total or 0
        return MIN_BAR + len(f"{total}/{total} steps") + len("-:--:--") + 4

    def __enter__(self) -> Live:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.progress.stop()


def duration(seconds: float) -> str:
    """A long span as a person says it: "45 s", "12 min", "1.5 h"."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def short_label(label: str) -> str:
    """A database's label short enough for one line beside a bar: the dialect, and the host
    and database, or an embedded file's name ("sqlite ormbench.sqlite3")."""
    try:
        url = make_url(label)
    except Exception:  # not a URL after all: the label as it is
        return label
    if url.host:
        return f"{url.get_backend_name()} {url.host}/{url.database or ''}"
    if url.get_backend_name() == "sqlite":
        return f"sqlite {PurePath(url.database or '').name or 'in memory'}"
    return label


def progress_for(console: Console, quiet: bool) -> Lines | None:
    """The live display where `console` is an interactive terminal (rich decides, honouring
    TTY_COMPATIBLE, TTY_INTERACTIVE, FORCE_COLOR and TERM=dumb), plain lines elsewhere, none
    when `quiet`."""
    if quiet:
        return None
    return Live(console) if console.is_interactive else Lines(console)
