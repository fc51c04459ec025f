"""Database targets: one URL turned into a SQLAlchemy URL, a Django DATABASES entry and a DB-API
connection that all use the same driver (DESIGN.md, fairness rules)."""

from __future__ import annotations

import importlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from harness.errors import ConfigurationError

DEFAULT_CONNECT_TIMEOUT = 10.0
MSSQL_DEFAULT_ODBC_DRIVER = "ODBC Driver 18 for SQL Server"
# Query options SQL Server users need, passed through to the ODBC connection string.
MSSQL_PASSTHROUGH = (
    "TrustServerCertificate",
    "Encrypt",
    "MultiSubnetFailover",
    "ApplicationIntent",
)


@dataclass(frozen=True)
class Driver:
    """The one DB-API driver every backend uses on a database family."""

    module: str  # importable DB-API module
    sqlalchemy_driver: str  # the "+driver" part of a SQLAlchemy URL
    django_engine: str
    distribution: str  # the PyPI distribution that provides `module`
    install: str  # the command that installs it

    def load(self) -> Any:
        try:
            return importlib.import_module(self.module)
        except ImportError as exc:
            raise ConfigurationError(
                f"the {self.distribution} driver is not installed ({exc})",
                f"install it with: {self.install}",
            ) from None


SQLITE = Driver("sqlite3", "pysqlite", "django.db.backends.sqlite3", "sqlite3", "(part of Python)")
PSYCOPG = Driver(
    "psycopg",
    "psycopg",
    "django.db.backends.postgresql",
    "psycopg",
    "pip install 'ormbench[postgresql]'",
)
MYSQLCLIENT = Driver(
    "MySQLdb",
    "mysqldb",
    "django.db.backends.mysql",
    "mysqlclient",
    "apt-get install libmariadb-dev pkg-config && pip install 'ormbench[mysql]'",
)
PYODBC = Driver(
    "pyodbc",
    "pyodbc",
    "mssql",
    "pyodbc",
    "apt-get install unixodbc && pip install 'ormbench[mssql]'",
)
MSSQL_PYTHON = Driver(
    "mssql_python", "mssqlpython", "mssql", "mssql-python", "pip install 'ormbench[mssql]'"
)

# dialect name in the URL -> (family, {driver name in the URL: Driver}); None is the default.
_DIALECTS: dict[str, tuple[str, dict[str | None, Driver]]] = {
    "sqlite": ("sqlite", {None: SQLITE, "pysqlite": SQLITE}),
    "postgresql": ("postgresql", {None: PSYCOPG, "psycopg": PSYCOPG}),
    "postgres": ("postgresql", {None: PSYCOPG, "psycopg": PSYCOPG}),
    "mysql": ("mysql", {None: MYSQLCLIENT, "mysqldb": MYSQLCLIENT}),
    "mariadb": ("mysql", {None: MYSQLCLIENT, "mysqldb": MYSQLCLIENT}),
    "mssql": ("mssql", {None: PYODBC, "pyodbc": PYODBC, "mssqlpython": MSSQL_PYTHON}),
}

PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


@dataclass(frozen=True)
class Target:
    """One database to benchmark on. `label` is safe to print: it never holds the password."""

    url: URL  # the SQLAlchemy URL, driver made explicit
    family: str  # sqlite | postgresql | mysql | mssql
    driver: Driver
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    location: str | None = None  # where an embedded database lives, for the report
    options: dict[str, str] = field(default_factory=dict)  # pass-through (SQL Server)

    @property
    def label(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @property
    def password(self) -> str | None:
        return self.url.password if self.url.password else None

    @property
    def database(self) -> str:
        return self.url.database or ""

    @property
    def placeholder(self) -> str:
        return PLACEHOLDERS[self.driver.load().paramstyle]

    # --- SQLAlchemy -------------------------------------------------------------------------

    def sqlalchemy_connect_args(self) -> dict[str, Any]:
        timeout = self.connect_timeout
        if self.family == "postgresql":
            return {"connect_timeout": max(1, round(timeout))}
        if self.family == "mysql":
            return {"connect_timeout": max(1, round(timeout)), "charset": "utf8mb4"}
        if self.family == "mssql" and self.driver is PYODBC:
            return {"timeout": max(1, round(timeout))}
        return {}

    def sqlalchemy_url(self) -> URL:
        if self.family == "mssql" and self.driver is PYODBC:
            # pyodbc gets the full ODBC string, so SQLAlchemy and Django send the same one.
            return URL.create("mssql+pyodbc", query={"odbc_connect": self.odbc_connection_string()})
        if self.family == "mssql":
            return URL.create(
                "mssql+mssqlpython", query={"odbc_connect": self.odbc_connection_string()}
            )
        return self.url

    # --- Django -----------------------------------------------------------------------------

    def django_database(self) -> dict[str, Any]:
        url = self.url
        entry: dict[str, Any] = {
            "ENGINE": self.driver.django_engine,
            "NAME": url.database or "",
            "USER": url.username or "",
            "PASSWORD": url.password or "",
            "HOST": url.host or "",
            "PORT": str(url.port or ""),
            "CONN_MAX_AGE": None,  # persistent: one connection for the whole run
            "OPTIONS": {},
        }
        timeout = max(1, round(self.connect_timeout))
        if self.family == "postgresql":
            entry["OPTIONS"] = {"connect_timeout": timeout}
        elif self.family == "mysql":
            entry["OPTIONS"] = {"connect_timeout": timeout, "charset": "utf8mb4"}
        elif self.family == "mssql":
            options: dict[str, Any] = {
                "driver": self.options.get("driver", MSSQL_DEFAULT_ODBC_DRIVER),
                "connection_timeout": timeout,
                "connection_retries": 1,
                "extra_params": ";".join(
                    f"{k}={v}" for k, v in self.options.items() if k in MSSQL_PASSTHROUGH
                ),
            }
            if self.driver is MSSQL_PYTHON:
                options["python_driver"] = "mssql_python"
            entry["OPTIONS"] = options
        return entry

    # --- DB-API -----------------------------------------------------------------------------

    def odbc_connection_string(self) -> str:
        url = self.url
        server = url.host or "localhost"
        if url.port:
            server = f"{server},{url.port}"
        parts = {
            "DRIVER": "{" + self.options.get("driver", MSSQL_DEFAULT_ODBC_DRIVER) + "}",
            "SERVER": server,
            "DATABASE": url.database or "",
            "UID": url.username or "",
            "PWD": url.password or "",
        }
        parts.update({k: v for k, v in self.options.items() if k in MSSQL_PASSTHROUGH})
        if self.driver is MSSQL_PYTHON:
            del parts["DRIVER"]  # mssql-python brings its own driver
            parts["Connect Timeout"] = str(max(1, round(self.connect_timeout)))
        return ";".join(f"{k}={_odbc_value(v)}" for k, v in parts.items() if v != "")

    def dbapi_connect(self) -> Any:
        """A new plain DB-API connection, as each ORM's own dialect would open it."""
        module = self.driver.load()
        url = self.url
        timeout = max(1, round(self.connect_timeout))
        if self.family == "sqlite":
            return module.connect(url.database)
        if self.family == "postgresql":
            return module.connect(
                host=url.host or "localhost",
                port=url.port or 5432,
                user=url.username,
                password=url.password,
                dbname=url.database,
                connect_timeout=timeout,
            )
        if self.family == "mysql":
            kwargs: dict[str, Any] = {
                "host": url.host or "localhost",
                "port": url.port or 3306,
                "user": url.username or "",
                "database": url.database or "",
                "connect_timeout": timeout,
                "charset": "utf8mb4",
            }
            if url.password:
                kwargs["password"] = url.password
            return module.connect(**kwargs)
        if self.driver is PYODBC:
            return module.connect(self.odbc_connection_string(), timeout=timeout)
        return module.connect(self.odbc_connection_string())


def _odbc_value(value: str) -> str:
    # Braces quote values holding ';' or '{' in ODBC connection strings.
    if any(ch in value for ch in ";{}=") and not value.startswith("{"):
        return "{" + value.replace("}", "}}") + "}"
    return value


def parse_target(text: str, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT) -> Target:
    """Turn a `--db` URL into a Target, or raise ConfigurationError with a hint."""
    try:
        url = make_url(text)
    except ArgumentError:
        raise ConfigurationError(
            f"'{_scrub_unparsed(text)}' is not a database URL",
            "use e.g. sqlite:///bench.db, postgresql://user@host/db, mysql://user@host/db "
            "or mssql://user:password@host:1433/db",
        ) from None
    backend, _, driver_name = url.drivername.partition("+")
    if backend not in _DIALECTS:
        raise ConfigurationError(
            f"unknown database dialect '{backend}'",
            "ormbench supports sqlite, postgresql, mysql, mariadb and mssql URLs",
        )
    family, drivers = _DIALECTS[backend]
    driver = drivers.get(driver_name or None)
    if driver is None:
        known = ", ".join(f"{backend}+{d}" for d in drivers if d)
        raise ConfigurationError(
            f"driver '{driver_name}' is not supported for {backend}",
            f"every backend must share one driver; use {known}",
        )
    options: dict[str, str] = {}
    query = dict(url.query)
    if family == "mssql":
        options = {k: str(v) for k, v in query.items()}
        query = {}
    elif query:
        raise ConfigurationError(
            f"URL options {sorted(query)} are not understood for {backend}",
            "remove the '?...' part of the URL",
        )
    if family == "sqlite" and (not url.database or url.database == ":memory:"):
        raise ConfigurationError(
            "an in-memory SQLite database cannot be shared by the backends",
            "give a file path (sqlite:///bench.db), or omit --db for a temporary one",
        )
    url = url.set(drivername=f"{backend}+{driver.sqlalchemy_driver}", query=query)
    if family == "postgresql" and backend == "postgres":
        url = url.set(drivername=f"postgresql+{driver.sqlalchemy_driver}")
    if not connect_timeout > 0:
        raise ConfigurationError(
            "--connect-timeout must be above 0 seconds", "e.g. --connect-timeout 10"
        )
    return Target(
        url=url, family=family, driver=driver, connect_timeout=connect_timeout, options=options
    )


def embedded_sqlite_target(connect_timeout: float = DEFAULT_CONNECT_TIMEOUT) -> Target:
    """The default database: SQLite in a fresh temporary file, on RAM where the machine has it.

    On a disk every commit waits for fsync, which measures the disk rather than the ORMs.
    """
    shm = Path("/dev/shm")
    on_ram = shm.is_dir() and os.access(shm, os.W_OK)
    folder = tempfile.mkdtemp(prefix="ormbench-", dir=str(shm) if on_ram else None)
    path = Path(folder) / "ormbench.sqlite3"
    location = (
        "temporary file on a RAM-backed folder (/dev/shm)"
        if on_ram
        else "temporary file on disk: every commit waits for fsync"
    )
    target = parse_target(f"sqlite:///{path}", connect_timeout)
    return Target(
        url=target.url,
        family=target.family,
        driver=target.driver,
        connect_timeout=connect_timeout,
        location=location,
    )


def _scrub_unparsed(text: str) -> str:
    # A URL that does not parse may still hold "user:password@"; show only its scheme.
    scheme, sep, _rest = text.partition("://")
    return f"{scheme}://…" if sep and "@" in text else text
