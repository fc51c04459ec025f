"""The `ormbench` command line, on top of the harness. User errors become one line on stderr and
an exit code (README, "Exit codes"); a traceback means a bug in ormbench.

One module per group of commands: measuring (`run`), concurrent (`concurrency`), gating
(`report`, `merge`, `compare`), tools (`doctor`, `list`); common holds what they share."""

from __future__ import annotations

import signal
import sys

import click
from rich.console import Console

from harness.cli.concurrent import concurrency
from harness.cli.gating import compare, merge, report
from harness.cli.measuring import run
from harness.cli.tools import doctor, list_command
from harness.targets.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, OrmbenchError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ormbench")
def cli() -> None:
    """Compare SQLAlchemy's ORM and Django's ORM on the same database, with proof that both
    did the same work."""


for command in (run, concurrency, report, merge, compare, doctor, list_command):
    cli.add_command(command)


def _stop_on_sigterm(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    # SIGTERM (a CI job cancelled, `kill`) ends a run as Ctrl-C does: the worker drops its
    # tables and the partial report is written, marked incomplete.
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        code = cli.main(args=argv, prog_name="ormbench", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort:
        code = EXIT_INTERRUPTED
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "ormbench"
        err.print(f"ormbench: error: {exc.format_message()} (see '{command} --help')", markup=False)
        code = EXIT_USAGE
    except OrmbenchError as exc:
        err.print(f"ormbench: error: {exc}", markup=False)
        code = exc.exit_code
    sys.exit(code if isinstance(code, int) else EXIT_OK)
