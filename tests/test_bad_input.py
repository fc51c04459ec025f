"""Bad input ends in one clear line on stderr and exit 2, never a traceback, and promptly:
a server that does not answer is given up within the connect timeout."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from private_postgres import private_postgres  # noqa: F401 (fixture, used by name)
from sqlalchemy import text
from sqlalchemy.engine import make_url
from user_tables import engine_for

CONNECT_TIMEOUT = 2
SLACK = 15  # process start-up and imports; generous, since CI machines are slow
# Set to a file path to collect command, line, exit code and seconds of every case.
LOG = os.environ.get("ORMBENCH_BAD_INPUT_LOG")


@pytest.fixture(scope="module")
def silent_port() -> Iterator[int]:
    """A port where a server accepts TCP connections and never says a word, as a hung or
    firewalled host does: only the connect timeout ends the wait."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)  # the kernel completes handshakes; nobody ever answers
        yield listener.getsockname()[1]


@pytest.fixture(scope="module")
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when this returns: connections are refused


@pytest.fixture(scope="module")
def no_create_postgres(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL role that may log in but not create tables (PostgreSQL 15+ gives PUBLIC no
    CREATE on schema public; revoked explicitly for older servers)."""
    name = f"ormb_nocreate_{uuid.uuid4().hex[:8]}"
    engine = engine_for(postgres_url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE {name} LOGIN PASSWORD 'x'"))
        conn.execute(text("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
    yield make_url(postgres_url).set(username=name).render_as_string(hide_password=False)
    with engine.begin() as conn:
        conn.execute(text(f"DROP ROLE {name}"))
    engine.dispose()


@pytest.fixture(scope="module")
def no_create_mariadb(mariadb_url: str) -> Iterator[str]:
    """A MariaDB user with a password that may read the database but not create tables."""
    name = f"ormb_ro_{uuid.uuid4().hex[:8]}"
    database = make_url(mariadb_url).database
    engine = engine_for(mariadb_url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE USER '{name}'@'%' IDENTIFIED BY 'Ro-pass-1'"))
        conn.execute(text(f"GRANT SELECT ON {database}.* TO '{name}'@'%'"))
    yield f"mysql://{name}:Ro-pass-1@127.0.0.1:3306/{database}"
    with engine.begin() as conn:
        conn.execute(text(f"DROP USER '{name}'@'%'"))
    engine.dispose()


@pytest.fixture(scope="module")
def password_mariadb(mariadb_url: str) -> Iterator[tuple[str, str]]:
    """A MariaDB user with a password (our shared PostgreSQL trusts every local login, so a
    wrong password fails for real only here and on the private PostgreSQL)."""
    name = f"ormb_pw_{uuid.uuid4().hex[:8]}"
    database = make_url(mariadb_url).database
    engine = engine_for(mariadb_url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE USER '{name}'@'%' IDENTIFIED BY 'Right-pass-1'"))
        conn.execute(text(f"GRANT ALL ON {database}.* TO '{name}'@'%'"))
    yield name, database
    with engine.begin() as conn:
        conn.execute(text(f"DROP USER '{name}'@'%'"))
    engine.dispose()


@pytest.fixture
def block_mysqldb(tmp_path: Path) -> dict[str, str]:
    """An interpreter where `import MySQLdb` fails, as on a machine without mysqlclient: a
    sitecustomize on PYTHONPATH puts None in sys.modules, which Python's import system turns
    into ImportError (the worker processes inherit PYTHONPATH too)."""
    folder = tmp_path / "no-mysqlclient"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text('import sys\nsys.modules["MySQLdb"] = None\n')
    return {"PYTHONPATH": str(folder)}


Case = Callable[[pytest.FixtureRequest, Path], tuple[list[str], dict[str, str]]]


def _db(url: str, *extra: str) -> list[str]:
    return ["--db", url, "--connect-timeout", str(CONNECT_TIMEOUT), *extra]


def _pg_db(request: pytest.FixtureRequest, database: str) -> str:
    url = make_url(request.getfixturevalue("postgres_url")).set(database=database)
    return url.render_as_string(hide_password=False)


def _maria_db(request: pytest.FixtureRequest, database: str) -> str:
    url = make_url(request.getfixturevalue("mariadb_url")).set(database=database)
    return url.render_as_string(hide_password=False)


def _under_a_file(folder: Path) -> str:
    # We run as root, for whom permission bits do not stop a write: a folder whose parent
    # is a regular file cannot be created by anyone.
    (folder / "a-file").write_text("")
    return str(folder / "a-file" / "out")


# name -> (arguments after `run`, extra environment), and a fragment the line must hold.
CASES: dict[str, tuple[Case, str]] = {
    "malformed URL": (
        lambda r, t: (["--db", "postgresql://u:pw@host:notaport/db"], {}),
        "is not a database URL",
    ),
    "not a URL": (lambda r, t: (["--db", "bench.db"], {}), "is not a database URL"),
    "unknown dialect": (
        lambda r, t: (["--db", "oracle://scott:tiger@db.example/orcl"], {}),
        "unknown database dialect 'oracle'",
    ),
    "unknown driver": (
        lambda r, t: (["--db", "postgresql+asyncpg://u@127.0.0.1/db"], {}),
        "use postgresql+psycopg",
    ),
    "missing driver": (
        lambda r, t: (_db("mysql://root@127.0.0.1:3306/test"), r.getfixturevalue("block_mysqldb")),
        "install it with: apt-get install libmariadb-dev pkg-config && pip install",
    ),
    "wrong password (MariaDB)": (
        lambda r, t: (
            _db(
                "mysql://{}:Wrong-pass@127.0.0.1:3306/{}".format(
                    *r.getfixturevalue("password_mariadb")
                )
            ),
            {},
        ),
        "Access denied",
    ),
    "wrong password (private PostgreSQL)": (
        lambda r, t: (_db(r.getfixturevalue("private_postgres").url(password="wrong")), {}),
        "password authentication failed",
    ),
    "closed port (PostgreSQL)": (
        lambda r, t: (
            _db(f"postgresql://postgres@127.0.0.1:{r.getfixturevalue('closed_port')}/x"),
            {},
        ),
        "Connection refused",
    ),
    "closed port (MariaDB)": (
        lambda r, t: (_db(f"mysql://root@127.0.0.1:{r.getfixturevalue('closed_port')}/x"), {}),
        "Can't connect",
    ),
    "silent host (PostgreSQL)": (
        lambda r, t: (
            _db(f"postgresql://postgres@127.0.0.1:{r.getfixturevalue('silent_port')}/x"),
            {},
        ),
        "timeout expired",
    ),
    "silent host (MariaDB)": (
        lambda r, t: (_db(f"mysql://root@127.0.0.1:{r.getfixturevalue('silent_port')}/x"), {}),
        "Lost connection",
    ),
    "database does not exist (PostgreSQL)": (
        lambda r, t: (_db(_pg_db(r, "ormbench_no_such_db")), {}),
        "does not exist",
    ),
    "database does not exist (MariaDB)": (
        lambda r, t: (_db(_maria_db(r, "ormbench_no_such_db")), {}),
        "Unknown database",
    ),
    "unknown scenario": (
        lambda r, t: (["--scenarios", "create,merge_all"], {}),
        "unknown scenario 'merge_all' — choose from: create, bulk_create, get",
    ),
    "unknown backend": (
        lambda r, t: (["--backends", "sqlalchemy,peewee"], {}),
        "unknown backend 'peewee' — choose from: sqlalchemy, django, dbapi",
    ),
    "--rows 0": (lambda r, t: (["--rows", "0"], {}), "'--rows'"),
    "--rows -5": (lambda r, t: (["--rows", "-5"], {}), "'--rows'"),
    "--rows ten": (lambda r, t: (["--rows", "ten"], {}), "'ten' is not a valid integer"),
    "--connect-timeout 0": (lambda r, t: (["--connect-timeout", "0"], {}), "'--connect-timeout'"),
    "output under a file": (
        lambda r, t: (["--output", _under_a_file(t)], {}),
        "cannot write to output folder",
    ),
    "output on a read-only file system": (
        lambda r, t: (["--output", "/proc/ormbench-out"], {}),
        "cannot write to output folder",
    ),
    "no right to create tables (PostgreSQL)": (
        lambda r, t: (_db(r.getfixturevalue("no_create_postgres")), {}),
        "cannot create the harness tables",
    ),
    "no right to create tables (MariaDB)": (
        lambda r, t: (_db(r.getfixturevalue("no_create_mariadb")), {}),
        "cannot create the harness tables",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_and_exit_2(name: str, request, tmp_path: Path, cli) -> None:
    build, fragment = CASES[name]
    args, env = build(request, tmp_path)
    command = ["run", *args, "--rows", "5", "--rounds", "1", "--scenarios", "create"]
    if "--rows" in args or "--scenarios" in args:  # the case's own value must be the last
        command = ["run", "--rows", "5", "--rounds", "1", "--scenarios", "create", *args]
    started = time.monotonic()
    result = cli(*command, env=env)
    took = time.monotonic() - started
    errors = [line for line in result.stderr.splitlines() if line.startswith("ormbench: error:")]
    if LOG:
        with open(LOG, "a", encoding="utf-8") as log:
            entry = {"case": name, "command": "ormbench " + " ".join(command),
                     "line": errors[0] if errors else result.stderr, "exit": result.code,
                     "seconds": round(took, 2)}  # fmt: skip
            log.write(json.dumps(entry) + "\n")
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert len(errors) == 1, result.stderr
    assert fragment in errors[0], errors[0]
    # Anything else on stderr is a progress line ("…: starting") or the note before the run
    # that 1 round supports no verdict, never part of the error.
    besides = ("database: ", "note: ")
    assert all(line.endswith(": starting") or line.startswith(besides) or line in errors
               for line in result.stderr.splitlines()), result.stderr  # fmt: skip
    assert took < CONNECT_TIMEOUT + SLACK
