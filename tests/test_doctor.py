"""`ormbench doctor` on this machine: versions, drivers, ODBC drivers, and real connections to
SQLite, the machine's PostgreSQL and MariaDB, and a port where nothing listens."""

from __future__ import annotations

import re
import socket
import time
from importlib import metadata
from pathlib import Path

from harness.targets.urls import MSSQL_DEFAULT_ODBC_DRIVER


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_doctor_without_databases_lists_versions_and_drivers(cli) -> None:
    result = cli("doctor")
    assert result.code == 0, result.stderr
    out = result.stdout
    for name in ("SQLAlchemy", "Django", "mssql-django"):
        assert re.search(rf"ok +{name} +{re.escape(metadata.version(name))}", out), name
    for name in ("sqlite3", "psycopg", "mysqlclient", "pyodbc", "mssql-python"):
        assert re.search(rf"ok +{name} ", out), name
    assert "pyodbc.drivers()" in out
    import pyodbc

    if MSSQL_DEFAULT_ODBC_DRIVER not in pyodbc.drivers():
        # Missing ODBC Driver 18: say so, with the command that installs it.
        assert re.search(rf"MISS +{MSSQL_DEFAULT_ODBC_DRIVER}", out)
        assert "ACCEPT_EULA=Y apt-get install -y msodbcsql18" in out


def test_doctor_connects_to_every_database(
    cli, tmp_path: Path, postgres_url: str, mariadb_url: str
) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'doctor.sqlite3'}"
    result = cli("doctor", "--db", sqlite_url, "--db", postgres_url, "--db", mariadb_url)
    assert result.code == 0, result.stdout + result.stderr
    databases = result.stdout.split("Databases\n", 1)[1].splitlines()
    assert len(databases) == 3
    assert re.match(r"  ok   sqlite\+pysqlite:///.*: connected in \d+\.\d\d s; 3\.", databases[0])
    assert re.match(
        r"  ok   postgresql\+psycopg://.*: connected in .*; PostgreSQL \d+", databases[1]
    )
    assert re.match(
        r"  ok   mysql\+mysqldb://.*: connected in .*MariaDB.*mysqlclient", databases[2]
    )


def test_doctor_fails_on_an_unreachable_database_and_hides_the_password(cli) -> None:
    port = closed_port()
    url = f"postgresql://bench:Secret_pw1@127.0.0.1:{port}/bench"
    started = time.monotonic()
    result = cli("doctor", "--db", url, "--connect-timeout", "3")
    assert time.monotonic() - started < 3 + 10
    assert result.code == 2
    assert "Secret_pw1" not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    (line,) = [line for line in result.stdout.splitlines() if "FAIL" in line]
    assert f"cannot connect to postgresql at 127.0.0.1:{port}" in line


def test_doctor_reports_a_bad_url_without_a_traceback(cli) -> None:
    result = cli("doctor", "--db", "oracle://scott:tiger@db/x")
    assert result.code == 2
    assert "unknown database dialect 'oracle'" in result.stdout
    assert "tiger" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_doctor_names_sql_server_and_its_fix(cli) -> None:
    port = closed_port()
    url = f"mssql+mssqlpython://sa:Secret_pw1@127.0.0.1:{port}/ormbench"
    result = cli("doctor", "--db", url, "--connect-timeout", "2")
    assert result.code == 2
    (line,) = [line for line in result.stdout.splitlines() if "FAIL" in line]
    assert "docker compose up -d mssql" in line
    assert "Secret_pw1" not in result.stdout
