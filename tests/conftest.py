"""Shared fixtures: real databases only. PostgreSQL and MariaDB tests run in a database each
test session creates and drops. Where a server is absent they skip locally, and fail in CI
(CI=true), where both servers must be up."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_ADMIN_URL = os.environ.get("ORMBENCH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
MARIADB_ADMIN_URL = os.environ.get("ORMBENCH_TEST_MARIADB", "mysql://root@127.0.0.1:3306/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ROOT = Path(__file__).resolve().parent.parent  # the checkout under test
RAM_FOLDER = Path("/dev/shm")

# pytest's temporary folders (tmp_path, where the tests' SQLite files live) on a RAM-backed
# folder where the machine has one, as ormbench's own embedded default is: on a disk every
# per-row commit waits for fsync, which made the suite several times slower. A TMPDIR the
# user set is kept.
if "TMPDIR" not in os.environ and RAM_FOLDER.is_dir() and os.access(RAM_FOLDER, os.W_OK):
    tempfile.tempdir = str(RAM_FOLDER)


def _unavailable(what: str, exc: BaseException) -> None:
    message = f"{what} is not reachable: {exc}"
    if IN_CI:
        pytest.fail(f"{message} (CI must run these tests; start the server)", pytrace=False)
    pytest.skip(message)


def _scratch_database(admin_url: str, what: str) -> Iterator[str]:
    """Create a database of our own on the server, yield its URL, drop it afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from harness.targets.urls import parse_target

    target = parse_target(admin_url, connect_timeout=5)
    name = f"ormbench_test_{uuid.uuid4().hex[:10]}"
    engine = create_engine(
        target.sqlalchemy_url(),
        isolation_level="AUTOCOMMIT",
        connect_args=target.sqlalchemy_connect_args(),
    )
    try:
        with engine.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
            if target.family == "postgresql":
                # Commits in this database do not wait for the WAL to reach the disk (the
                # data is thrown away anyway): per-row commits took 2-3 ms each otherwise.
                conn.execute(text(f"ALTER DATABASE {name} SET synchronous_commit = off"))
    except Exception as exc:
        engine.dispose()
        _unavailable(what, exc)
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _drop_scratch_database(engine, target.family, name)


def _drop_scratch_database(engine, family: str, name: str) -> None:
    """Drop a scratch database, ending the sessions that still use it (ours: it is ours).

    A worker's session can outlive its process for a moment on the server's side, and SQL
    Server then refuses the drop ("currently in use"): its sessions in that database are
    killed and the drop tried again. PostgreSQL's `WITH (FORCE)` does the same in one
    statement; MariaDB drops regardless.
    """
    from sqlalchemy import exc, text

    statement = f"DROP DATABASE {name}" + (" WITH (FORCE)" if family == "postgresql" else "")
    try:
        for attempt in range(10):
            with engine.connect() as conn:
                try:
                    conn.execute(text(statement))
                    return
                except exc.DBAPIError:
                    if family != "mssql" or attempt == 9:
                        raise
                sessions = conn.execute(
                    text(
                        "SELECT session_id FROM sys.dm_exec_sessions "
                        "WHERE database_id = DB_ID(:name) AND session_id <> @@SPID"
                    ),
                    {"name": name},
                ).scalars()
                for session in list(sessions):
                    with contextlib.suppress(exc.DBAPIError):  # it may have ended meanwhile
                        conn.execute(text(f"KILL {int(session)}"))
            time.sleep(0.5)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    yield from _scratch_database(PG_ADMIN_URL, "PostgreSQL")


@pytest.fixture(scope="session")
def mariadb_url() -> Iterator[str]:
    yield from _scratch_database(MARIADB_ADMIN_URL, "MariaDB")


# A server that speaks SQL Server's protocol: the URLs from the environment (a user's own SQL
# Server, e.g. the compose service), else the one `../shared/tds/start` runs beside the checkout
# (Babelfish for PostgreSQL: TDS and T-SQL on 127.0.0.1:1433; it registers ODBC Driver 18 from
# this Python's `[mssql]` extra). One URL per driver: every SQL Server test runs with both.
MSSQL_DRIVERS = ("pyodbc", "mssqlpython")
MSSQL_URL_VARIABLES = {"pyodbc": "ORMBENCH_TEST_MSSQL", "mssqlpython": "ORMBENCH_TEST_MSSQL_PYTHON"}
TDS_START = ROOT.parent / "shared" / "tds" / "start"


@pytest.fixture(scope="session")
def mssql_admin_urls() -> dict[str, str]:
    """Driver -> URL of a SQL Server-protocol server to make scratch databases on."""
    urls = {d: os.environ[v] for d, v in MSSQL_URL_VARIABLES.items() if os.environ.get(v)}
    if len(urls) < len(MSSQL_DRIVERS) and TDS_START.exists():
        # Idempotent: a server already listening is left alone, only the driver registered.
        started = subprocess.run(
            ["bash", str(TDS_START), "--python", sys.executable],
            capture_output=True,
            text=True,
            timeout=600,
        )
        for line in started.stdout.splitlines():
            driver = line.partition("://")[0].removeprefix("mssql+")
            if driver in MSSQL_DRIVERS:
                urls.setdefault(driver, line.strip())
    return urls


@pytest.fixture(scope="session", params=MSSQL_DRIVERS)
def mssql_url(request: pytest.FixtureRequest, mssql_admin_urls: dict[str, str]) -> Iterator[str]:
    """A scratch database on the SQL Server-protocol server, through each driver in turn."""
    driver = request.param
    admin = mssql_admin_urls.get(driver)
    if admin is None:
        _unavailable(
            f"SQL Server through {driver}",
            RuntimeError(
                f"set {MSSQL_URL_VARIABLES[driver]}, or put shared/tds beside the checkout"
            ),
        )
    yield from _scratch_database(admin, f"SQL Server through {driver}")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bench.sqlite3'}"


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


def inherited_environment() -> dict[str, str]:
    """This process's environment for a child `ormbench`, less the terminal size pytest-xdist
    gives its workers (COLUMNS=80): a user's output that is not a terminal has no such size,
    and a test that wants one passes it."""
    return {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 600, env: dict[str, str] | None = None
) -> CliResult:
    """`ormbench ARGS` in a child process, exactly as a user runs it. This checkout comes
    first on its path, before any PYTHONPATH given (for test backends), so that the child runs
    the code under test whatever distribution of ormbench the environment has installed
    (e.g. when the tests run from a git worktree)."""
    env = dict(env or {})
    given = env.get("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), given) if p)
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**inherited_environment(), **env},
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli(tmp_path: Path):
    """Run `ormbench` with the current folder set to a fresh temporary one."""

    def invoke(*args: str, **kwargs) -> CliResult:
        kwargs.setdefault("cwd", tmp_path)
        return run_cli(*args, **kwargs)

    return invoke


TESTS = Path(__file__).parent
DATABASES = ("sqlite_url", "postgres_url", "mariadb_url")


@pytest.fixture(params=DATABASES)
def any_url(request: pytest.FixtureRequest) -> str:
    """Each real database in turn: SQLite, PostgreSQL, MariaDB."""
    return request.getfixturevalue(request.param)


def run_in(folder: Path, url: str, *args: str, rows: int, rounds: int, warmup: int = 0):
    """`ormbench run --db URL` in `folder` (the test backends importable), and its results
    (None when it wrote none)."""
    result = run_cli(
        "run", "--db", url, "--rows", str(rows), "--rounds", str(rounds),
        "--warmup", str(warmup), *args, cwd=folder, env={"PYTHONPATH": str(TESTS)},
    )  # fmt: skip
    path = folder / "ormbench-report/results.json"
    return result, json.loads(path.read_text()) if path.exists() else None


# One run of every built-in scenario on each database, shared by the tests that only read its
# results (test_fairness, test_real_databases, test_relationships, test_pagination,
# test_set_based): one run each per pytest process (worker) instead of one per test. Their
# assertions are written for these sizes (200 rows: ten pages of ten, twenty parents of which
# two have no children).
MATRIX_ROWS, MATRIX_ROUNDS = 200, 3


@pytest.fixture(scope="session")
def shared_folder(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A folder every pytest-xdist worker of this session sees (the parent of the workers' own
    temporary folders); this process's own under `-n 0`."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


@pytest.fixture(scope="session")
def matrix_cache() -> dict[str, dict]:
    return {}


@pytest.fixture(params=DATABASES)
def matrix_run(request: pytest.FixtureRequest, shared_folder: Path, matrix_cache: dict) -> dict:
    """results.json of `ormbench run --scenarios all` (no warm-up) on each real database in turn;
    tests narrow it with `scenarios_of`, and must not change it. One run per database for the
    whole session: the first worker to ask runs it under a lock while the other waits, then
    reads the same file (a session fixture with parameters would run it again each time the
    order of tests switches databases, and once per worker)."""
    from filelock import FileLock

    which = request.param
    if which not in matrix_cache:
        folder = shared_folder / f"matrix-{which}"
        results = folder / "ormbench-report" / "results.json"
        with FileLock(str(shared_folder / f"matrix-{which}.lock")):
            if not results.exists():
                folder.mkdir(exist_ok=True)
                if which == "sqlite_url":
                    url = f"sqlite:///{folder / 'bench.sqlite3'}"
                else:
                    url = request.getfixturevalue(which)
                result, _ = run_in(
                    folder, url, "--scenarios", "all", rows=MATRIX_ROWS, rounds=MATRIX_ROUNDS
                )
                assert result.code == 0, result.stderr + result.stdout
        matrix_cache[which] = json.loads(results.read_text())
    return matrix_cache[which]


def scenarios_of(data: dict, scenarios: tuple[str, ...]) -> dict:
    """A run's results with only these scenarios' cells and comparisons."""
    keep = set(scenarios)
    return {
        **data,
        "cells": [c for c in data["cells"] if c["scenario"] in keep],
        "comparisons": [c for c in data["comparisons"] if c["scenario"] in keep],
    }
