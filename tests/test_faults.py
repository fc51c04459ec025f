"""Faults in the middle of a run: the server stops (our own PostgreSQL, `pg_ctl stop -m
immediate`), Ctrl-C, the worker process dies. Every time the run ends promptly, keeps what
completed, marks what failed with the reason, writes the report marked incomplete, and
leaves no harness table behind where the server is still there to drop it from."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from private_postgres import PASSWORD, private_postgres  # noqa: F401 (fixture)
from user_tables import HARNESS_TABLES, create_user_tables, drop_tables, fingerprint

TESTS = str(Path(__file__).parent)
CONNECT_TIMEOUT = 3
SLACK = 20  # process start-up, imports, the report: generous, since CI machines are slow


def _sigint_as_on_a_terminal() -> None:
    """A shell that starts pytest in the background (`pytest … &`) has it ignore SIGINT, and
    children inherit that; Python turns SIGINT into KeyboardInterrupt only where it is not
    ignored. Ctrl-C must reach `ormbench run` as it does from a user's terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class RunningCli:
    """`ormbench run` in a child process whose progress lines (stderr) we can wait for."""

    def __init__(self, *args: str, cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "run", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": TESTS},
            preexec_fn=_sigint_as_on_a_terminal,
        )
        self.stderr_lines: list[str] = []
        self.stdout = ""
        self._seen = threading.Condition()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        threading.Thread(target=self._read_stdout, daemon=True).start()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._seen:
                self.stderr_lines.append(line)
                self._seen.notify_all()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        self.stdout = self.proc.stdout.read()

    def wait_for_line(self, fragment: str, timeout: float = 120) -> None:
        with self._seen:
            found = self._seen.wait_for(
                lambda: (
                    any(fragment in line for line in self.stderr_lines)
                    or self.proc.poll() is not None
                ),
                timeout=timeout,
            )
        assert found and any(fragment in line for line in self.stderr_lines), self.stderr

    def wait(self, timeout: float) -> int:
        code = self.proc.wait(timeout=timeout)
        time.sleep(0.2)  # let the reader threads take the last lines
        return code

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)


def _results(folder: Path) -> dict:
    return json.loads((folder / "results.json").read_text())


def _every_byte_written(run: RunningCli, folder: Path) -> str:
    files = [p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()]
    return "\n".join([run.stdout, run.stderr, *files])


SCENARIOS = "create,bulk_create,get,filter,update,delete"


def test_server_stopped_mid_run(private_postgres, tmp_path: Path) -> None:  # noqa: F811
    """The server dies during the second or third scenario: create's cells are kept, the
    scenario that was running is an error with the driver's reason, the rest are marked not
    run, the report says incomplete, exit 2, and no scenario waits for its own timeout."""
    url = private_postgres.url()
    create_user_tables(url, "customers")
    before = fingerprint(url)
    run = RunningCli(
        "--db", url, "--scenarios", SCENARIOS, "--rows", "300", "--rounds", "3",
        "--connect-timeout", str(CONNECT_TIMEOUT), "--output", "out", cwd=tmp_path,
    )  # fmt: skip
    try:
        # "X done" comes after X's timed rounds, before its verification: once bulk_create's
        # rounds are done, create's cells are complete.
        run.wait_for_line("bulk_create done")
        private_postgres.stop_immediately()
        stopped = time.monotonic()
        code = run.wait(timeout=CONNECT_TIMEOUT * 4 + SLACK)
        took = time.monotonic() - stopped
    finally:
        run.proc.kill()
        private_postgres.start()
    print(f"server stopped mid-run: run ended {took:.1f} s later, exit {code}")
    assert code == 2, run.stderr
    assert "Traceback" not in run.stderr
    result = _results(tmp_path / "out")
    assert result["complete"] is False
    by_scenario: dict[str, set[str]] = {}
    for cell in result["cells"]:
        by_scenario.setdefault(cell["scenario"], set()).add(cell["verification"]["status"])
    assert by_scenario["create"] == {"passed"}  # completed cells are kept
    assert set(by_scenario) == set(SCENARIOS.split(","))  # every planned cell is accounted for
    failed = [c for c in result["cells"] if c["verification"]["status"] == "error"]
    assert failed and all(c["verification"]["reason"] for c in failed)
    assert any("not run: the database went away" in c["verification"]["reason"] for c in failed)
    (database,) = result["databases"]
    assert "lost the database during" in database["error"]
    # The server was gone, so its tables could not be dropped: the report says so and how.
    assert "drop them by hand" in database["error"]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Incomplete run" in report
    assert PASSWORD not in _every_byte_written(run, tmp_path / "out")

    # Back up: the leftover is recognised as ormbench's own, and a new run refuses to touch
    # it, naming the run and the statements that remove it.
    refused = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--db", url, "--rows", "5",
         "--output", "out2"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert "belong to another ormbench run" in refused.stderr
    assert "DROP TABLE ormbench_item; DROP TABLE ormbench_owner;" in refused.stderr
    after = fingerprint(url)
    assert {k: v for k, v in after.items() if k not in HARNESS_TABLES} == before
    drop_tables(url, "ormbench_item", "ormbench_owner", "customers")


def test_server_frozen_mid_run(private_postgres, tmp_path: Path) -> None:  # noqa: F811
    """The server hangs (SIGSTOP): the backends' statements wait on sockets that never answer
    and no driver timeout fires. The watchdog finds no connection possible, the run ends
    within a few connect timeouts, keeps create's cells, says incomplete and exits 2."""
    url = private_postgres.url()
    run = RunningCli(
        "--db", url, "--scenarios", SCENARIOS, "--rows", "100", "--rounds", "3",
        "--connect-timeout", "1", "--output", "out", cwd=tmp_path,
    )  # fmt: skip
    try:
        run.wait_for_line("bulk_create done")
        private_postgres.freeze()
        frozen = time.monotonic()
        # The watchdog waits 5 s without progress, then tries to connect for 5 s more.
        code = run.wait(timeout=10 + 4 + SLACK)
        took = time.monotonic() - frozen
    finally:
        run.proc.kill()
        private_postgres.thaw()
    print(f"server frozen mid-run: run ended {took:.1f} s later, exit {code}")
    assert code == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert "stopped answering" in run.stderr
    result = _results(tmp_path / "out")
    assert result["complete"] is False
    assert {c["verification"]["status"] for c in result["cells"] if c["scenario"] == "create"} == {
        "passed"
    }
    assert "Incomplete run" in (tmp_path / "out" / "report.md").read_text()
    assert PASSWORD not in _every_byte_written(run, tmp_path / "out")
    # Left behind while the server was frozen; ours (the marker says so), dropped by hand.
    drop_tables(url, "ormbench_item", "ormbench_owner")


@pytest.mark.parametrize(
    ("database", "stop"),
    [("sqlite", signal.SIGINT), ("postgresql", signal.SIGINT), ("sqlite", signal.SIGTERM)],
    ids=["sqlite", "postgresql", "sqlite-sigterm"],
)
def test_ctrl_c_mid_run(database: str, stop: signal.Signals, request, tmp_path: Path) -> None:
    """SIGINT to `ormbench run` once a scenario has finished, or SIGTERM (a cancelled CI job):
    tables dropped, partial report marked incomplete, exit 130."""
    url = (
        request.getfixturevalue("postgres_url")
        if database == "postgresql"
        else f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    )
    create_user_tables(url, "customers")
    before = fingerprint(url)
    run = RunningCli(
        "--db", url, "--scenarios", SCENARIOS, "--rows", "200", "--rounds", "4",
        "--output", "out", cwd=tmp_path,
    )  # fmt: skip
    try:
        run.wait_for_line("bulk_create done")  # create's cells are complete by now
        run.proc.send_signal(stop)
        sent = time.monotonic()
        code = run.wait(timeout=60)
        took = time.monotonic() - sent
    finally:
        run.proc.kill()
    print(f"{stop.name} on {database}: run ended {took:.1f} s later, exit {code}")
    try:
        assert code == 130, run.stderr
        assert "Traceback" not in run.stderr
        result = _results(tmp_path / "out")
        assert result["complete"] is False
        assert result["incomplete_reason"] == "interrupted (Ctrl-C or SIGTERM)"
        kept = {c["scenario"]: c["verification"]["status"] for c in result["cells"]}
        assert kept["create"] == "passed"
        assert "Incomplete run" in (tmp_path / "out" / "report.md").read_text()
        assert fingerprint(url) == before  # harness tables gone, user table untouched
    finally:
        drop_tables(url, "customers", *HARNESS_TABLES)


def test_worker_killed_mid_run(tmp_path: Path) -> None:
    """The worker process dies (as by a crash or `kill -9`): it cannot clean up, so the
    parent drops the tables its marker says that run created; the cells so far are kept."""
    url = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    create_user_tables(url, "customers", "ormbench_notes")
    before = fingerprint(url)
    run = RunningCli(
        "--db", url, "--scenarios", "create,filter,update", "--rows", "20", "--rounds", "2",
        "--backends", "sqlalchemy,faulty_backends:CrashingDjango", "--output", "out",
        cwd=tmp_path,
    )  # fmt: skip
    code = run.wait(timeout=120)
    assert code == 2, run.stderr
    assert "died (exit code 70)" in run.stderr
    result = _results(tmp_path / "out")
    assert {c["scenario"] for c in result["cells"]} == {"create"}
    assert fingerprint(url) == before


def test_worker_drop_blocked_by_its_own_lock(tmp_path: Path) -> None:
    """A connection of the worker's that an interrupt caught mid-transaction keeps SQLite's
    write lock, so the worker's own drop of the harness tables times out: the parent drops
    them once the worker is gone (with its locks), and the run says nothing is left."""
    url = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    create_user_tables(url, "customers")
    before = fingerprint(url)
    run = RunningCli(
        "--db", url, "--scenarios", "create", "--rows", "5", "--rounds", "1",
        "--backends", "sqlalchemy,faulty_backends:LockHoldingDjango", "--output", "out",
        cwd=tmp_path,
    )  # fmt: skip
    code = run.wait(timeout=120)
    assert code == 0, run.stderr
    assert "drop them by hand" not in run.stderr
    assert fingerprint(url) == before  # harness tables gone, user table untouched
