"""Database targets: one URL turned into a SQLAlchemy URL, a Django DATABASES entry and a DB-API
connection that all use the same driver (DESIGN.md, fairness rules)."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from harness.targets import connection as connection_policy
from harness.targets.errors import ConfigurationError, SetupFailed, setup_step

DEFAULT_CONNECT_TIMEOUT = 10.0
# Longest a MySQL/MariaDB client waits on one socket read or write before it gives the server
# up; far above any statement a benchmark sends, far below "hangs until CI kills the job".
MYSQL_IO_TIMEOUT = 600
MSSQL_DEFAULT_ODBC_DRIVER = "ODBC Driver 18 for SQL Server"
MSODBCSQL_DOCS = (
    "https://learn.microsoft.com/sql/connect/odbc/linux-mac/"
    "installing-the-microsoft-odbc-driver-for-sql-server"
)
# Query options SQL Server users need, passed through to the connection string as keywords
# both drivers accept (mssql-python rejects keywords outside its allow-list).
MSSQL_PASSTHROUGH = (
    "TrustServerCertificate",
    "Encrypt",
    "MultiSubnetFailover",
    "ApplicationIntent",
)
# `?driver=` picks the ODBC driver pyodbc loads; it is not a connection-string keyword here.
MSSQL_OPTIONS = ("driver", *MSSQL_PASSTHROUGH)


@dataclass(frozen=True)
class Driver:
    """The one DB-API driver every backend uses on a database family."""

    module: str  # importable DB-API module
    sqlalchemy_driver: str  # the "+driver" part of a SQLAlchemy URL
    django_engine: str
    distribution: str  # the PyPI distribution that provides `module`
    install: str  # the command that installs it
    # Positional placeholder for hand-written SQL when `paramstyle` does not give it:
    # mssql-python declares "pyformat" but takes positional parameters only as qmark "?".
    placeholder: str | None = None

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
    "mssql_python",
    "mssqlpython",
    "mssql",
    "mssql-python",
    "pip install 'ormbench[mssql]'",
    placeholder="?",
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
    # (host, port) of a loopback relay (harness.wire.relay) that DB-API connections go through
    # instead of the server's own address: the untimed trace pass only. Django's settings are
    # per process and stay the server's; backends.django_orm reconnects for the trace.
    relay: tuple[str, int] | None = None

    @property
    def label(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @property
    def password(self) -> str | None:
        return self.url.password if self.url.password else None

    @property
    def database(self) -> str:
        return self.url.database or ""

    def endpoint(self, default_port: int) -> tuple[str, int]:
        """Where a connection goes: the relay when there is one, else the server."""
        if self.relay is not None:
            return self.relay
        return self.url.host or "localhost", self.url.port or default_port

    def via_relay(self, address: tuple[str, int]) -> Target:
        """This target with its connections going through a relay listening at `address`."""
        return dataclasses.replace(self, relay=address)

    @property
    def placeholder(self) -> str:
        return self.driver.placeholder or PLACEHOLDERS[self.driver.load().paramstyle]

    # --- SQLAlchemy -------------------------------------------------------------------------

    def dead_server_options(self) -> dict[str, Any]:
        """Driver options that end a wait on a server that went away mid-run instead of
        blocking forever (CI's worst outcome). The same for every backend, so they cost all
        alike; none of them bounds a statement that the server is still working on."""
        if self.family == "postgresql":
            # libpq: TCP keepalives find a vanished host while a statement waits for its
            # answer; tcp_user_timeout (ms) ends a send that is never acknowledged.
            return {
                "keepalives": 1,
                "keepalives_idle": 10,
                "keepalives_interval": 5,
                "keepalives_count": 3,
                "tcp_user_timeout": 30_000,
            }
        if self.family == "mysql":
            # libmariadb has no keepalive option: a generous read/write timeout (seconds per
            # wait on the socket) is what ends a wait on a vanished or frozen server.
            return {"read_timeout": MYSQL_IO_TIMEOUT, "write_timeout": MYSQL_IO_TIMEOUT}
        return {}

    def sqlalchemy_connect_args(self) -> dict[str, Any]:
        timeout = self.connect_timeout
        if self.family == "postgresql":
            return {"connect_timeout": max(1, round(timeout)), **self.dead_server_options()}
        if self.family == "mysql":
            return {
                "connect_timeout": max(1, round(timeout)),
                "charset": "utf8mb4",
                **self.dead_server_options(),
            }
        if self.family == "mssql":
            # Both drivers take `timeout` in connect() as the login timeout.
            return {"timeout": max(1, round(timeout))}
        return {}

    def sqlalchemy_url(self) -> URL:
        # Drivers are compared with ==: a Target reaches worker processes pickled, so the
        # Driver there is an equal copy, not the module-level object.
        if self.family == "mssql" and self.driver == PYODBC:
            # pyodbc gets the full ODBC string, so SQLAlchemy and Django send the same one.
            return URL.create("mssql+pyodbc", query={"odbc_connect": self.odbc_connection_string()})
        if self.family == "mssql":
            # SQLAlchemy's mssqlpython dialect has no odbc_connect; it builds the string from
            # the URL, with the same keywords and values (tests/test_mssql_offline.py).
            return self.url.set(
                host=self.url.host or "localhost",
                database=self.url.database or "master",
                query=self.passthrough(),
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
            import psycopg

            entry["OPTIONS"] = {
                "connect_timeout": timeout,
                # The policy overrides Django's client-side binding (harness.targets.connection).
                "server_side_binding": True,
                "isolation_level": psycopg.IsolationLevel.READ_COMMITTED,
                **self.postgresql_session_options(),
                **self.dead_server_options(),
            }
        elif self.family == "mysql":
            entry["OPTIONS"] = {
                "connect_timeout": timeout,
                "charset": "utf8mb4",
                "init_command": connection_policy.MYSQL_TIME_ZONE,
                "isolation_level": connection_policy.MYSQL_ISOLATION.lower(),
                **self.dead_server_options(),
            }
        elif self.family == "sqlite":
            # Django turns foreign keys on itself; the LIKE pragma is the policy's.
            entry["OPTIONS"] = {
                "init_command": connection_policy.SQLITE_PRAGMAS[0],
                "timeout": connection_policy.SQLITE_BUSY_TIMEOUT,
            }
        elif self.family == "mssql":
            # mssql-django's own fallbacks differ from the connection string's ('' host).
            entry["HOST"] = url.host or "localhost"
            entry["NAME"] = url.database or "master"
            options: dict[str, Any] = {
                "driver": self.options.get("driver", MSSQL_DEFAULT_ODBC_DRIVER),
                "connection_timeout": timeout,  # the driver's login timeout
                # mssql-django retries only "transient" errors, 5 s apart by default: a
                # benchmark should fail fast and say why instead.
                "connection_retries": 0,
                "extra_params": _odbc_keywords(self.passthrough()),
                # The policy: ids come back from bulk inserts, as on the other databases.
                "return_rows_bulk_insert": True,
            }
            if self.driver == MSSQL_PYTHON:
                options["python_driver"] = "mssql_python"  # mssql-django 2.0's opt-in
            entry["OPTIONS"] = options
        return entry

    # --- DB-API -----------------------------------------------------------------------------

    def passthrough(self) -> dict[str, str]:
        """The SQL Server connection-string keywords given as URL options."""
        return {k: v for k, v in self.options.items() if k in MSSQL_PASSTHROUGH}

    def odbc_connection_string(self) -> str:
        """The connection string mssql-django builds from `django_database()`, keyword for
        keyword and in its order, so pyodbc gets the same string from every backend."""
        url = self.url
        server = url.host or "localhost"
        if self.relay is not None:
            server = f"{self.relay[0]},{self.relay[1]}"
        elif url.port:
            server = f"{server},{url.port}"
        parts: dict[str, str] = {}
        if self.driver != MSSQL_PYTHON:  # mssql-python brings its own driver, rejects DRIVER
            parts["DRIVER"] = self.options.get("driver", MSSQL_DEFAULT_ODBC_DRIVER)
        parts["SERVER"] = server
        if url.username:
            parts["UID"] = url.username
            parts["PWD"] = url.password or ""
        else:
            parts["Trusted_Connection"] = "yes"  # what mssql-django sends without a user
        parts["DATABASE"] = url.database or "master"
        text = ";".join(f"{k}={_odbc_value(v)}" for k, v in parts.items())
        extra = _odbc_keywords(self.passthrough())
        return f"{text};{extra}" if extra else text

    def dbapi_connect(self, autocommit: bool = False) -> Any:
        """A new plain DB-API connection with the family's connection policy applied
        (harness.targets.connection). Every backend's connections come from here, Django's aside,
        whose settings `django_database()` makes the same. `autocommit=False` leaves the
        driver's default transaction mode (what a SQLAlchemy Session expects); the floor asks
        for autocommit and sends BEGIN/COMMIT itself where a scenario wants a transaction."""
        module = self.driver.load()
        url = self.url
        timeout = max(1, round(self.connect_timeout))
        if self.family == "sqlite":
            # Driver autocommit and explicit BEGIN (Django's way; SQLAlchemy's pysqlite recipe
            # adds the BEGIN): Python's implicit BEGIN would skip reads (DESIGN.md).
            # Django's own sqlite3 settings: a connection may move between threads (a
            # shared pool hands it to any), and the policy's busy timeout.
            conn = module.connect(
                url.database,
                isolation_level=None,
                check_same_thread=False,
                timeout=connection_policy.SQLITE_BUSY_TIMEOUT,
            )
            with self._applying_settings(conn, "; ".join(connection_policy.SQLITE_PRAGMAS)):
                for pragma in connection_policy.SQLITE_PRAGMAS:
                    conn.execute(pragma)
            return conn
        if self.family == "postgresql":
            host, port = self.endpoint(5432)
            conn = module.connect(
                host=host,
                port=port,
                user=url.username,
                password=url.password,
                dbname=url.database,
                connect_timeout=timeout,
                autocommit=autocommit,
                **self.postgresql_session_options(),
                **self.dead_server_options(),
            )
            with self._applying_settings(conn, "isolation level READ COMMITTED"):
                conn.isolation_level = module.IsolationLevel.READ_COMMITTED
            return conn
        if self.family == "mysql":
            host, port = self.endpoint(3306)
            kwargs: dict[str, Any] = {
                "host": host,
                "port": port,
                "user": url.username or "",
                "database": url.database or "",
                "connect_timeout": timeout,
                "charset": "utf8mb4",
                "init_command": connection_policy.MYSQL_TIME_ZONE,
                "autocommit": autocommit,
                # UPDATE counts rows matched (harness.targets.connection): Django and SQLAlchemy's
                # mysqldb dialect both ask for it; the floor and the creator-made
                # connections get it too.
                "client_flag": importlib.import_module("MySQLdb.constants.CLIENT").FOUND_ROWS,
                **self.dead_server_options(),
            }
            if url.password:
                kwargs["password"] = url.password
            conn = module.connect(**kwargs)
            level = connection_policy.MYSQL_ISOLATION
            isolation = f"SET SESSION TRANSACTION ISOLATION LEVEL {level}"
            with self._applying_settings(conn, isolation):
                cursor = conn.cursor()
                cursor.execute(isolation)
                cursor.close()
            return conn
        # pyodbc and mssql-python: `timeout` is the login timeout (SQL_ATTR_LOGIN_TIMEOUT).
        conn = module.connect(self.odbc_connection_string(), timeout=timeout)
        with self._applying_settings(conn, connection_policy.MSSQL_SESSION):
            cursor = conn.cursor()
            cursor.execute(connection_policy.MSSQL_SESSION)
            cursor.close()
            if autocommit:
                conn.autocommit = True
            else:
                conn.commit()  # SET opened no transaction worth keeping; start clean
        return conn

    @contextlib.contextmanager
    def _applying_settings(self, conn: Any, what: str) -> Iterator[None]:
        """The connection policy's settings on a connection whose login worked: a failure
        names this step (not "cannot connect") and closes the connection."""
        try:
            with setup_step(self, f"applying the connection settings ({what})"):
                yield
        except SetupFailed:
            with contextlib.suppress(Exception):
                conn.close()
            raise

    def postgresql_session_options(self) -> dict[str, Any]:
        """psycopg connect() arguments of the PostgreSQL policy, shared with Django's OPTIONS:
        UTC, READ COMMITTED as the session default (the floor's explicit BEGIN gets it too),
        UTF8, and the policy's prepare threshold (none: never prepare)."""
        return {
            "options": "-c TimeZone=UTC -c default_transaction_isolation=read\\ committed",
            "client_encoding": "UTF8",
            "prepare_threshold": connection_policy.PG_PREPARE_THRESHOLD,
        }


def _odbc_value(value: str) -> str:
    # mssql-django's rule (mssql.base.encode_value), so the strings match: braces quote a
    # value holding ';' or starting with '{'.
    if ";" in value or value.strip(" ").startswith("{"):
        return "{" + value.replace("}", "}}") + "}"
    return value


def _odbc_keywords(options: dict[str, str]) -> str:
    return ";".join(f"{k}={_odbc_value(v)}" for k, v in options.items())


def parse_target(text: str, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT) -> Target:
    """Turn a `--db` URL into a Target, or raise ConfigurationError with a hint."""
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
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
        options = _mssql_options(query, driver)
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
    if family == "sqlite" and not Path(url.database).resolve().parent.is_dir():
        raise ConfigurationError(
            f"the folder for SQLite file '{url.database}' does not exist",
            "create it first; sqlite:///bench.db is relative, sqlite:////tmp/bench.db absolute",
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


def msodbcsql_install_command() -> str:
    """Microsoft's documented apt steps for ODBC Driver 18 on this machine's Debian or Ubuntu
    (Debian itself does not package it), else where the steps for other systems are."""
    facts: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            key, _, value = line.partition("=")
            facts[key] = value.strip('"')
    system, version = facts.get("ID", ""), facts.get("VERSION_ID", "")
    if system == "debian":
        version = version.split(".")[0]
    if system not in ("debian", "ubuntu") or not version:
        return f"follow {MSODBCSQL_DOCS}"
    return (
        "curl -sSLO https://packages.microsoft.com/config/"
        f"{system}/{version}/packages-microsoft-prod.deb && sudo dpkg -i "
        "packages-microsoft-prod.deb && sudo apt-get update && "
        "sudo ACCEPT_EULA=Y apt-get install -y msodbcsql18"
    )


def odbc_driver_missing(exc: BaseException) -> bool:
    """Did unixODBC fail to load the driver named in the connection string (IM002 / 01000)?"""
    text = str(exc).lower()
    return "can't open lib" in text or "data source name not found" in text


def _mssql_options(query: dict[str, Any], driver: Driver) -> dict[str, str]:
    """URL options for SQL Server, keyword case made canonical; unknown ones refused, since a
    misspelt `Encrypt` silently ignored would change what is measured."""
    canonical = {name.lower(): name for name in MSSQL_OPTIONS}
    options: dict[str, str] = {}
    for key, value in query.items():
        name = canonical.get(key.lower())
        if name is None:
            raise ConfigurationError(
                f"URL option '{key}' is not understood for mssql",
                f"use {', '.join(MSSQL_OPTIONS)}",
            )
        if isinstance(value, tuple):
            raise ConfigurationError(f"URL option '{key}' is given twice", "give it once")
        options[name] = str(value)
    if "driver" in options and driver == MSSQL_PYTHON:
        raise ConfigurationError(
            "mssql+mssqlpython takes no ?driver= option: mssql-python brings its own driver",
            "remove ?driver=, or use mssql+pyodbc:// to choose an ODBC driver",
        )
    return options


def _scrub_unparsed(text: str) -> str:
    # A URL that does not parse may still hold "user:password@"; show only its scheme.
    # "postgresql:/user:pw@host" (one slash) does not parse either: any "@" hides the rest.
    if "@" not in text:
        return text
    scheme, sep, _rest = text.partition(":")
    return f"{scheme}://…" if sep else "…"
