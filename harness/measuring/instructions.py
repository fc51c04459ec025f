"""Counting the CPU instructions of each timed operation (`ormbench run --measure instructions`).

A database's counting pass runs in a worker process under valgrind's callgrind, started with
instrumentation off (`--instr-atstart=no`), so the imports, the schema and the first data load
run at valgrind's plain speed. Around each operation, callgrind's client requests (through the
small native module pytest-codspeed ships for the same purpose): zero the counters (and switch
instrumentation on, the first time); after it, dump the counters to a file. The worker reads
the dump's total (its `totals:` line) and deletes the file. Between the two, callgrind collects
only inside the operation's call: the harness calls it through `sys.call_tracing` (which, with
no tracer set, only calls it), and callgrind's `--toggle-collect` on the C function under it
switches collection on for the call's duration alone. The count therefore covers the
operation's call and nothing else: not the round's set-up, not its checks, not the trace pass,
not the client requests (an empty operation counts 448 instructions, the call itself).

What a count covers: every instruction this process executed on the thread that ran the
operation — the ORM, the driver (its C code too), and on SQLite the database engine, which runs
in the process. On a server only the client side is counted: the server's work and the network
are not. Counts are reproducible because the interpreter is made so:

- PYTHONHASHSEED=0: string hashes, hence dict and set orders, are the same every run (with
  random seeds, 300 SQLAlchemy `Session.get` on SQLite counted 149.7M-151.6M over five runs);
- PYTHONMALLOC=malloc: CPython's own small-object allocator made the same five runs bimodal
  (155.4M three times, 148.9M twice: its arenas' state differs from process to process), where
  the C library's allocator gives the same count to the instruction in all five. The counts
  include that allocator's work, a few percent more than pymalloc's (162.5M);
- address-space randomisation off (`setarch -R`, where the system allows it): valgrind lays
  out the process after the kernel's randomised mappings, addresses decide the order of
  dictionaries keyed by objects, and the same run of 50 SQLAlchemy `Session.get` on SQLite
  counted 0.4% apart from one process to the next, Django's 1% apart; without randomisation
  they agreed within 0.05%;
- a type-attribute cache miss's walk of the MRO (CPython's `find_name_in_mro`) is not
  counted (a second `--toggle-collect`). CPython 3.11 caches attribute lookups on types in a
  4,096-entry table indexed by the type's version tag and the *address* of the attribute's
  name, so which lookups miss depends on where the names happen to lie in memory: any string
  of another length earlier in the process (a longer output path, another environment, a
  plug-in backend's module) moved them, and the same code counted up to 3.5% apart in two
  processes (SQLAlchemy's filter on SQLite; the MRO walks were 6.3% of its count in one and
  9.4% in the other). Without them the two agreed within 0.3%, the rest being the C
  library allocator's state. These walks are 0% of the raw DB-API floor's count, about 2% of
  Django's and 4-6% of SQLAlchemy's on SQLite, so counts (and the SQLAlchemy/Django ratio of
  counts) leave out that much of the interpreter's work; the hit path of the cache is counted;
- the garbage collector: a full collection before each operation and none during it
  (harness.measuring.rounds.open_round, for timed and counted rounds alike, as pytest-codspeed
  does around an instrumented benchmark), so counts exclude garbage collection;
- callgrind counts the calling thread alone (`--separate-threads=yes`), so the event queue's
  feeder thread never reaches a count, and a counting pass starts no watchdog thread (see
  harness.measuring.database.run_database).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from harness.targets.errors import ConfigurationError, OrmbenchError

TIME = "time"
INSTRUCTIONS = "instructions"
MEASURES = (TIME, INSTRUCTIONS)

# The worker finds its dump folder here (set by the wrapper that starts it under valgrind).
DUMP_FOLDER_VARIABLE = "ORMBENCH_CALLGRIND_DIR"

# The C function under sys.call_tracing, the one the counted call is entered through, and the
# one CPython walks a type's MRO with after its type-attribute cache missed.
CALL_SYMBOL = "_PyEval_CallTracing"
MRO_WALK_SYMBOL = "find_name_in_mro"

VALGRIND_OPTIONS = (
    "--tool=callgrind",
    "--instr-atstart=no",  # nothing is instrumented until an operation starts
    "--separate-threads=yes",  # a dump per thread: the operation's thread is read alone
    # Collection only inside the operation's call, entered through sys.call_tracing
    # (harness.measuring.rounds.counted_call), and never inside a type-attribute cache miss's
    # walk of the MRO (see the module's docstring). Each toggle flips collection on entering
    # the function and back on leaving it; with a toggle given, collection starts off.
    f"--toggle-collect={CALL_SYMBOL}",
    f"--toggle-collect={MRO_WALK_SYMBOL}",
    "--quiet",
)

# What one count covers, said in the report beside the counts.
COVERAGE = (
    "Instructions per operation are counted under valgrind (callgrind) around each timed "
    "operation only: the ORM, the driver and, on SQLite, the database engine, which runs in "
    "the process. On a database server only the client side is counted; the server's work "
    "and the network are not. A count does not replace time: it isolates what each ORM costs "
    "on the CPU, and it does not move when the machine is busy."
)


def parse_measures(text: str) -> tuple[str, ...]:
    """ "time", "instructions" or "time,instructions" -> the measures, in MEASURES order.
    Time is always measured: counts go beside the times, never in their place."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in MEASURES]
    if unknown or not names:
        raise ConfigurationError(
            f"--measure {text!r}: unknown measure {', '.join(unknown) or '(none)'}",
            "give time, instructions or time,instructions",
        )
    return tuple(m for m in MEASURES if m in names or m == TIME)


def hooks_module() -> Any:
    """pytest-codspeed's native module: callgrind's client requests, callable from Python."""
    from pytest_codspeed.instruments.hooks import dist_instrument_hooks

    return dist_instrument_hooks


def check_available() -> None:
    """One clear line when counting cannot run here: no valgrind, or no client requests."""
    if shutil.which("valgrind") is None:
        raise ConfigurationError(
            "--measure instructions needs valgrind, which is not installed",
            "install it from your distribution's packages, e.g. apt-get install valgrind",
        )
    try:
        module = hooks_module()
        for name in ("instrument_hooks_init", "instrument_hooks_start_benchmark"):
            getattr(module, name)
    except (ImportError, AttributeError):
        raise ConfigurationError(
            "--measure instructions needs pytest-codspeed 5 or later (callgrind's client "
            "requests), which is not installed",
            "pip install 'ormbench[instructions]'",
        ) from None


@contextmanager
def valgrind_python() -> Iterator[str]:
    """A launcher for a worker process under callgrind: an executable script that runs this
    Python under valgrind with the given arguments, its dumps in a temporary folder that
    goes away afterwards. For multiprocessing's set_executable."""
    with TemporaryDirectory(prefix="ormbench-callgrind-") as folder:
        out = Path(folder) / "callgrind.%p.out"
        command = shlex.join(
            ["valgrind", *VALGRIND_OPTIONS, f"--callgrind-out-file={out}", sys.executable]
        )
        script = Path(folder) / "python-under-callgrind"
        script.write_text(
            "#!/bin/sh\n"
            f"export PYTHONHASHSEED=0 PYTHONMALLOC=malloc "
            f"{DUMP_FOLDER_VARIABLE}={shlex.quote(folder)}\n"
            # Without address-space randomisation where the system allows it (a container's
            # default seccomp profile may not): see the module's docstring.
            'if setarch "$(uname -m)" -R true 2>/dev/null; then\n'
            f'  exec setarch "$(uname -m)" -R {command} "$@"\n'
            "fi\n"
            f'exec {command} "$@"\n'
        )
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        yield str(script)


# The sum of the dump's costs. Not its "summary:" line: with several threads, callgrind 3.19
# sometimes writes there the difference from the previous dump, which can be negative.
_TOTALS = re.compile(rb"^totals: (\d+)", re.MULTILINE)


class InstructionCounter:
    """In the worker under callgrind: `start()` just before an operation, the operation called
    through `sys.call_tracing` (so that callgrind collects inside it: VALGRIND_OPTIONS), and
    `stop()` just after it returns the instructions collected in between on this thread."""

    def __init__(self) -> None:
        folder = os.environ.get(DUMP_FOLDER_VARIABLE)
        module = hooks_module()
        hooks = module.instrument_hooks_init()
        if folder is None or hooks is None or not module.instrument_hooks_is_instrumented(hooks):
            raise OrmbenchError(
                "the counting worker is not running under valgrind's callgrind",
                "this is a bug in ormbench; please report it",
            )
        self._folder = Path(folder)
        self._module = module
        self._hooks = hooks
        self._pid = os.getpid()
        self._dumps = f"callgrind.{self._pid}.out.*"
        # Bound once: the fewer Python steps between the requests and the operation, the less
        # of the harness is in a count.
        self.start = lambda: module.instrument_hooks_start_benchmark(hooks)  # zero, then on

    def stop(self) -> int:
        # Instrumentation stays on once the first operation switched it on: switching it off
        # and on again makes valgrind translate all the code anew each time, and a counting
        # pass then took 176 s where this takes 124 s (3 scenarios, 50 rows, 6 rounds).
        self._module.instrument_hooks_set_executed_benchmark(self._hooks, self._pid, b"round")
        return self._read_dump()

    def _read_dump(self) -> int:
        # One file per thread, "<out>.<dump>-<thread>": the operation ran on the main thread,
        # valgrind's thread 1; the others (watchdog, queue feeder) are discarded.
        dumps = sorted(self._folder.glob(self._dumps))
        mine = [p for p in dumps if p.name.endswith("-01")]
        try:
            if len(mine) != 1:
                raise OrmbenchError(
                    f"expected one callgrind dump for the operation's thread, found {len(mine)}",
                    "this is a bug in ormbench; please report it",
                )
            found = _TOTALS.search(mine[0].read_bytes())
            if found is None:
                raise OrmbenchError(
                    f"callgrind's dump {mine[0].name} has no totals line",
                    "this is a bug in ormbench; please report it",
                )
            count = int(found.group(1))
            if count == 0:
                raise OrmbenchError(
                    f"callgrind collected nothing inside the operation ({CALL_SYMBOL} not found "
                    "in this Python, or the operation was not called through sys.call_tracing)",
                    "count with CPython 3.11 or later; if that is what runs, please report it",
                )
            return count
        finally:
            for path in dumps:
                path.unlink(missing_ok=True)
