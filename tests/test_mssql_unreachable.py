"""The real SQL Server driver stack against a server that is not there: `ormbench run` ends
within the connect timeout with one clear line that names the server and the fix, exit 2."""

from __future__ import annotations

import socket
import time

import pytest

from harness.targets.urls import MSSQL_DEFAULT_ODBC_DRIVER

PASSWORD = "Secret_pw1"
SLACK_S = 10.0  # interpreter start-up, the worker process, imports: not the driver's wait


def closed_port() -> int:
    """A local port nothing listens on: bound once by us, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def odbc_driver_registered() -> bool:
    import pyodbc

    return MSSQL_DEFAULT_ODBC_DRIVER in pyodbc.drivers()


def run_unreachable(cli, scheme: str, *options: str, query: str = "") -> tuple[object, float, int]:
    port = closed_port()
    url = f"{scheme}://sa:{PASSWORD}@127.0.0.1:{port}/ormbench{query}"
    started = time.monotonic()
    result = cli("run", "--quiet", "--db", url, *options)
    return result, time.monotonic() - started, port


def assert_one_clear_line(result, port: int) -> str:
    assert result.code == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    (line,) = lines
    assert line.startswith(f"ormbench: error: cannot connect to mssql at 127.0.0.1:{port}: ")
    assert "docker compose up -d mssql" in line
    assert "Traceback" not in result.stderr
    assert PASSWORD not in result.stderr + result.stdout
    return line


@pytest.mark.parametrize("timeout", [2, 4])
def test_mssql_python_ends_within_the_connect_timeout(cli, timeout: int) -> None:
    result, elapsed, port = run_unreachable(
        cli, "mssql+mssqlpython", "--connect-timeout", str(timeout)
    )
    assert_one_clear_line(result, port)
    assert elapsed < timeout + SLACK_S


def test_mssql_python_default_connect_timeout_is_ten_seconds(cli) -> None:
    result, elapsed, port = run_unreachable(cli, "mssql+mssqlpython")
    assert_one_clear_line(result, port)
    assert elapsed < 10 + SLACK_S


def test_pyodbc_names_the_missing_odbc_driver_or_the_server(cli) -> None:
    result, elapsed, port = run_unreachable(cli, "mssql", "--connect-timeout", "3")
    line = assert_one_clear_line(result, port)
    assert elapsed < 3 + SLACK_S
    if odbc_driver_registered():
        assert "not registered" not in line
    else:
        # pyodbc never reaches the server: say what is missing, how to install it, and the
        # driver that needs no ODBC set-up.
        assert f"the ODBC driver '{MSSQL_DEFAULT_ODBC_DRIVER}' is not registered" in line
        assert "ACCEPT_EULA=Y apt-get install -y msodbcsql18" in line
        assert "mssql+mssqlpython://" in line


def test_pyodbc_names_the_odbc_driver_the_url_asks_for(cli) -> None:
    driver = "ODBC Driver 17 for SQL Server"
    result, _elapsed, port = run_unreachable(
        cli, "mssql+pyodbc", "--connect-timeout", "3", query="?driver=ODBC+Driver+17+for+SQL+Server"
    )
    line = assert_one_clear_line(result, port)
    import pyodbc

    if driver not in pyodbc.drivers():
        assert f"the ODBC driver '{driver}' is not registered with unixODBC" in line


BACKEND_CONNECT = """
import json, sys, time
from backends import load_backend
from harness.targets.urls import parse_target
target = parse_target(sys.argv[1], connect_timeout=float(sys.argv[2]))
report = {}
for name in ("sqlalchemy", "django", "dbapi"):
    started = time.monotonic()
    try:
        load_backend(name)(target)
        report[name] = {"error": None}
    except Exception as exc:
        report[name] = {"error": f"{type(exc).__name__}: {exc}"}
    report[name]["seconds"] = time.monotonic() - started
print(json.dumps(report))
"""


@pytest.mark.parametrize("scheme", ["mssql", "mssql+mssqlpython"])
def test_each_backend_connects_through_the_driver_and_gives_up_in_time(scheme: str) -> None:
    """Every backend opens its own connection (SQLAlchemy, mssql-django, plain DB-API) with the
    same driver; against a closed port each fails on its own within the connect timeout."""
    import json
    import subprocess
    import sys

    timeout = 2
    url = f"{scheme}://sa:{PASSWORD}@127.0.0.1:{closed_port()}/ormbench"
    proc = subprocess.run(
        [sys.executable, "-c", BACKEND_CONNECT, url, str(timeout)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    for name, outcome in report.items():
        assert outcome["error"], name  # nothing listens there
        assert outcome["seconds"] < timeout + 5, (name, outcome)
        if scheme == "mssql" and not odbc_driver_registered():
            assert "Can't open lib 'ODBC Driver 18 for SQL Server'" in outcome["error"], name
        else:
            assert "TCP Provider" in outcome["error"] or "timeout" in outcome["error"].lower()
