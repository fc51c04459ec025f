"""`ormbench doctor`: what this machine has for a benchmark (Python, the ORMs, each driver, the
ODBC drivers unixODBC knows), the command that installs what is missing, and for each `--db`
whether it connects, how fast, and to which server version. Never prints a password."""

from __future__ import annotations

import importlib
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from harness.targets.errors import OrmbenchError, driver_message
from harness.targets.urls import (
    MSSQL_DEFAULT_ODBC_DRIVER,
    MSSQL_PYTHON,
    MYSQLCLIENT,
    PSYCOPG,
    PYODBC,
    SQLITE,
    Driver,
    msodbcsql_install_command,
    parse_target,
)

LIBRARIES = (  # distribution, what it is for, how to install it
    ("SQLAlchemy", "the SQLAlchemy backend", "pip install 'sqlalchemy>=2.1'"),
    ("Django", "the Django backend", "pip install 'django>=5.2'"),
    ("mssql-django", "Django on SQL Server", "pip install 'ormbench[mssql]'"),
)
DRIVERS: tuple[tuple[Driver, str], ...] = (  # driver, the URLs that use it
    (SQLITE, "sqlite://"),
    (PSYCOPG, "postgresql://"),
    (MYSQLCLIENT, "mysql://, mariadb://"),
    (PYODBC, "mssql://, mssql+pyodbc://"),
    (MSSQL_PYTHON, "mssql+mssqlpython://"),
)


@dataclass(frozen=True)
class Line:
    """One finding: `ok` False means something is missing or failing; `fix` says what to do."""

    name: str
    status: str
    ok: bool = True
    fix: str | None = None


@dataclass(frozen=True)
class DatabaseCheck:
    label: str
    ok: bool
    detail: str
    seconds: float | None = None


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def software() -> list[Line]:
    """Python, the ORMs and mssql-django."""
    lines = [Line("Python", f"{platform.python_version()} ({sys.executable})")]
    for distribution, purpose, install in LIBRARIES:
        version = _version(distribution)
        if version is None:
            lines.append(
                Line(distribution, f"not installed (needed for {purpose})", False, install)
            )
        else:
            lines.append(Line(distribution, version))
    return lines


def drivers() -> list[Line]:
    """Each DB-API driver: its version, the client library under it, the URLs it serves."""
    lines = []
    for driver, urls in DRIVERS:
        try:
            module = importlib.import_module(driver.module)
        except ImportError:
            lines.append(
                Line(driver.distribution, f"not installed ({urls})", False, driver.install)
            )
            continue
        lines.append(Line(driver.distribution, f"{_driver_version(driver, module)} ({urls})"))
    return lines


def _driver_version(driver: Driver, module: Any) -> str:
    if driver == SQLITE:
        return f"SQLite {module.sqlite_version} (Python's sqlite3)"
    if driver == PSYCOPG:
        libpq = module.pq.version()
        return f"{module.__version__}, libpq {libpq // 10000}.{libpq % 10000}"
    if driver == MYSQLCLIENT:
        return ".".join(str(p) for p in module.version_info[:3])
    if driver == PYODBC:
        return str(module.version)
    return _version(driver.distribution) or "unknown"


def odbc() -> list[Line]:
    """The ODBC drivers unixODBC has registered, as pyodbc and `odbcinst -q -d` see them."""
    lines = []
    try:
        import pyodbc
    except ImportError:
        registered = None
        lines.append(Line("pyodbc.drivers()", "pyodbc is not installed", False, PYODBC.install))
    else:
        registered = pyodbc.drivers()
        lines.append(Line("pyodbc.drivers()", ", ".join(registered) or "none"))
    odbcinst = shutil.which("odbcinst")
    if odbcinst is None:
        # Debian's unixodbc (the README's install line) ships no odbcinst program; the
        # registry it would read is the one pyodbc.drivers() listed above, so nothing is
        # missing. Only without pyodbc is the program the way to look.
        if registered is None:
            lines.append(
                Line(
                    "odbcinst -q -d", "odbcinst is not installed", False, "apt-get install odbcinst"
                )
            )
        else:
            lines.append(
                Line("odbcinst -q -d", "not installed (optional: pyodbc.drivers() reads the same)")
            )
    else:
        proc = subprocess.run([odbcinst, "-q", "-d"], capture_output=True, text=True, timeout=10)
        found = [line.strip("[] ") for line in proc.stdout.splitlines() if line.strip()]
        lines.append(Line("odbcinst -q -d", ", ".join(found) or "none"))
    if registered is not None and MSSQL_DEFAULT_ODBC_DRIVER not in registered:
        lines.append(
            Line(
                MSSQL_DEFAULT_ODBC_DRIVER,
                "not registered: mssql:// with pyodbc cannot connect "
                "(mssql+mssqlpython:// needs no ODBC set-up)",
                False,
                msodbcsql_install_command(),
            )
        )
    return lines


def check_database(url: str, connect_timeout: float) -> DatabaseCheck:
    """Connect as a run would (the harness's own engine), time it, read the server's facts."""
    from harness.targets.database import HarnessDatabase

    try:
        target = parse_target(url, connect_timeout)
    except OrmbenchError as exc:
        return DatabaseCheck(_scrub(url), False, str(exc))
    started = time.perf_counter()
    try:
        db = HarnessDatabase(target)
    except OrmbenchError as exc:
        return DatabaseCheck(target.label, False, str(exc), time.perf_counter() - started)
    seconds = time.perf_counter() - started
    try:
        facts = db.server_facts()
    except Exception as exc:  # connected, but the server would not say what it is
        text = driver_message(exc, target)
        return DatabaseCheck(target.label, False, f"connected, but: {text}", seconds)
    finally:
        db.close()
    server = " ".join(facts.server_version.split())
    if facts.edition:
        server = f"{server}, {facts.edition}"
    detail = f"{server}; driver {facts.driver} {facts.driver_version}"
    return DatabaseCheck(target.label, True, detail, seconds)


def _scrub(url: str) -> str:
    # A URL that did not parse is shown only up to its scheme: it may hold a password.
    scheme, sep, _ = url.partition("://")
    return f"{scheme}://…" if sep else "(not a URL)"


def run_doctor(urls: list[str], connect_timeout: float, print_line: Any) -> int:
    """Print the findings; return 0 when every --db connects, 2 when one does not."""
    from harness.targets.errors import EXIT_OK, EXIT_USAGE

    sections = (("Software", software()), ("Drivers", drivers()), ("ODBC (SQL Server)", odbc()))
    for title, lines in sections:
        print_line(title)
        width = max(len(line.name) for line in lines)
        for line in lines:
            mark = "ok  " if line.ok else "MISS"
            print_line(f"  {mark} {line.name:<{width}}  {line.status}")
            if line.fix:
                print_line(f"       {'':<{width}}  install: {line.fix}")
    checks = [check_database(url, connect_timeout) for url in urls]
    if checks:
        print_line("Databases")
    for check in checks:
        if check.ok:
            print_line(f"  ok   {check.label}: connected in {check.seconds:.2f} s; {check.detail}")
        else:
            after = f" (after {check.seconds:.2f} s)" if check.seconds is not None else ""
            print_line(f"  FAIL {check.label}: {check.detail}{after}")
    return EXIT_OK if all(c.ok for c in checks) else EXIT_USAGE
