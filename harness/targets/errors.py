"""Errors a user can cause, and the exit codes the CLI turns them into."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, quote_plus

EXIT_OK = 0
EXIT_VERIFICATION_FAILED = 1
EXIT_REGRESSION = 1  # `ormbench compare`: a cell got slower beyond the threshold
EXIT_USAGE = 2
# `ormbench compare`: the raw DB-API floor moved beyond the threshold, so the database or the
# machine changed speed and the two runs do not compare (unless --accept-floor-move).
EXIT_NOT_COMPARABLE = 3
# `ormbench compare --must-catch`: some cell's noise hides a slowdown of the size asked for
EXIT_BLIND = 4
# `ormbench compare`: no ORM cell could be judged (different plans, too few rounds, nothing in
# common), so the gate saw nothing and must not pass
EXIT_NOTHING_COMPARED = 5
EXIT_INTERRUPTED = 130
# RunResult.incomplete_reason of a run ended by Ctrl-C; exit_code() matches it exactly, since
# a server's own message may say "interrupted" too.
INTERRUPTED_REASON = "interrupted (Ctrl-C or SIGTERM)"


def redact(text: str, target: Any) -> str:
    """`text` with the target's password replaced by ***, as given and as written in a URL
    (percent-encoded), for messages that quote a driver's error."""
    password = getattr(target, "password", None)
    if not password:
        return text
    for form in {password, quote(password, safe=""), quote_plus(password)}:
        text = text.replace(form, "***")
    return text


def driver_message(exc: BaseException, target: Any, limit: int = 300) -> str:
    """A driver's error as one line: SQLAlchemy's wrapper removed ("(Background on this
    error…)"), the password redacted before the text is cut to `limit`."""
    driver_error = getattr(exc, "orig", None) or exc
    text = " ".join(str(driver_error).split()) or type(driver_error).__name__
    return redact(text, target)[:limit]


class OrmbenchError(Exception):
    """A problem the user can fix: printed as one line (message, then hint), never a traceback."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class ConfigurationError(OrmbenchError):
    """Bad options, URLs or names given on the command line."""


class ConnectionFailed(OrmbenchError):
    """A database could not be reached, or refused the credentials or the database name."""


class UnsafeTable(OrmbenchError):
    """A table with a harness name exists that this harness did not create."""


class SetupFailed(ConnectionFailed):
    """The database accepted the connection (the login worked), and a later step of setting
    it up failed: the message names that step, so it does not read as "cannot connect"."""


def setup_failed(
    target: Any, step: str, exc: BaseException, hint: str | None = None
) -> SetupFailed:
    """`exc`, raised during `step` after a successful login, as one line: the database, the
    step, the error's type and its first line, the password redacted."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).strip().splitlines() or [""])[0]
    detail = redact(f"{type(cause).__name__}: {' '.join(first.split())}".rstrip(": "), target)
    return SetupFailed(
        f"connected to {target.label}, but {step} failed: {detail[:300]}",
        hint or "the database accepted the connection: what failed is this step, not the login",
    )


@contextmanager
def setup_step(target: Any, step: str, hint: str | None = None) -> Iterator[None]:
    """Run a step of setting up a database whose login already worked; any error but ours
    becomes SetupFailed naming `step`."""
    try:
        yield
    except OrmbenchError:
        raise
    except Exception as exc:  # the driver's own error type varies by driver
        raise setup_failed(target, step, exc, hint) from None


def describe_error(exc: BaseException, target: Any) -> str:
    """An exception as one line for a cell or an event, the target's password redacted."""
    return redact(f"{type(exc).__name__}: {' '.join(str(exc).split())}", target)[:400]
