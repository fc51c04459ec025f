"""Data safety and secrets: ormbench changes nothing but the `ormbench_*` tables it creates
(proved by a fingerprint of every table's schema and rows, before and after), refuses a
same-named table it did not create, cleans up after a failure, and never writes a password
anywhere: console, files, error lines."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from private_postgres import PASSWORD, private_postgres  # noqa: F401 (fixture)
from sqlalchemy import text
from user_tables import HARNESS_TABLES, create_user_tables, drop_tables, engine_for, fingerprint

TESTS = str(Path(__file__).parent)
DATABASES = ["sqlite", "postgres", "mariadb"]
# One unrelated table, and one that shares the prefix without being a harness table.
USER_TABLES = ("customers", "ormbench_notes")


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path: Path):
    """A database with the user's tables in it; they are dropped afterwards."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    else:
        url = request.getfixturevalue(f"{request.param}_url")
    drop_tables(url, *USER_TABLES, *HARNESS_TABLES)  # the session database is shared
    create_user_tables(url, *USER_TABLES)
    yield url
    drop_tables(url, *USER_TABLES, *HARNESS_TABLES)


def _run(cli, url: str, *extra: str):
    return cli(
        "run", "--db", url, "--rows", "10", "--rounds", "1", "--warmup", "0",
        "--scenarios", "create,filter,update", *extra,
        env={"PYTHONPATH": TESTS},
    )  # fmt: skip


def test_run_changes_nothing_but_its_own_tables(database_url: str, cli) -> None:
    before = fingerprint(database_url)
    result = _run(cli, database_url)
    assert result.code == 0, result.stderr
    assert fingerprint(database_url) == before  # and no harness table is left behind


def test_run_failing_half_way_cleans_up(database_url: str, cli) -> None:
    """A backend breaks in the second scenario: error cells, exit 2, tables dropped."""
    before = fingerprint(database_url)
    result = _run(cli, database_url, "--backends", "sqlalchemy,faulty_backends:FailingDjango")
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert fingerprint(database_url) == before


@pytest.mark.parametrize("taken", ["ormbench_item", "ormbench_owner"])
def test_same_named_table_is_refused_before_any_change(database_url: str, taken: str, cli) -> None:
    create_user_tables(database_url, taken)
    before = fingerprint(database_url)
    result = _run(cli, database_url)
    assert result.code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("ormbench: error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert f"table {taken} already exists" in errors[0] and "nothing was changed" in errors[0]
    assert fingerprint(database_url) == before


def test_same_name_in_other_case_is_refused_on_sqlite(tmp_path: Path, cli) -> None:
    """SQLite's table names ignore case: `ORMBENCH_ITEM` is the harness's table's name."""
    url = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    create_user_tables(url, "customers", "ORMBENCH_ITEM")
    before = fingerprint(url)
    result = _run(cli, url)
    assert result.code == 2
    assert "table ORMBENCH_ITEM already exists" in result.stderr
    assert fingerprint(url) == before


def test_second_run_on_the_same_database_is_refused(postgres_url: str, tmp_path: Path) -> None:
    """Two runs at once on one database: the second sees the first's marker and refuses;
    the first finishes normally and drops its tables."""
    drop_tables(postgres_url, *HARNESS_TABLES)
    first = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", "--db", postgres_url, "--rows", "200",
         "--rounds", "6", "--scenarios", "create,update", "--output", "first"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    outputs: list[str] = []
    reader = threading.Thread(target=lambda: outputs.extend(first.communicate()), daemon=True)
    reader.start()
    engine = engine_for(postgres_url)
    deadline = time.monotonic() + 60
    with engine.connect() as conn:
        while conn.execute(text("SELECT to_regclass('ormbench_item')")).scalar() is None:
            assert first.poll() is None and time.monotonic() < deadline, "first run never began"
            conn.commit()  # a new transaction sees the catalogue's latest state
            time.sleep(0.05)
    engine.dispose()
    second = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--db", postgres_url, "--rows", "5",
         "--output", "second"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    reader.join(timeout=300)
    assert second.returncode == 2
    assert "belong to another ormbench run" in second.stderr, second.stderr
    assert first.returncode == 0, outputs
    assert not set(fingerprint(postgres_url)) & set(HARNESS_TABLES)


# --- passwords ------------------------------------------------------------------------------


def _forms(password: str) -> list[str]:
    return sorted({password, quote(password, safe="")})


def _assert_nowhere(password: str, result, folder: Path) -> None:
    written = [result.stdout, result.stderr]
    written += [p.read_bytes().decode(errors="replace") for p in folder.rglob("*") if p.is_file()]
    for form in _forms(password):
        assert all(form not in text for text in written), f"{form!r} was written"


@pytest.fixture
def mariadb_user(mariadb_url: str):
    """A MariaDB user with a password, allowed everything in the scratch database."""
    from sqlalchemy.engine import make_url

    name = f"ormb_{uuid.uuid4().hex[:8]}"
    password = "Maria-p@ss:w/rd#" + uuid.uuid4().hex[:6]  # characters a URL must encode
    database = make_url(mariadb_url).database
    engine = engine_for(mariadb_url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'"))
        conn.execute(text(f"GRANT ALL ON {database}.* TO '{name}'@'%'"))
    yield name, password, database
    with engine.begin() as conn:
        conn.execute(text(f"DROP USER '{name}'@'%'"))
    engine.dispose()


def _mariadb_url(user: str, password: str, database: str, port: int = 3306) -> str:
    return f"mysql://{user}:{quote(password, safe='')}@127.0.0.1:{port}/{database}"


@pytest.mark.parametrize("case", ["success", "wrong_password", "closed_port"])
def test_no_password_written_postgresql(private_postgres, case: str, cli, tmp_path) -> None:  # noqa: F811
    url = {
        "success": private_postgres.url(),
        "wrong_password": private_postgres.url(password=PASSWORD + "x"),
        "closed_port": f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/postgres",
    }[case]
    summary = tmp_path / "out" / "summary.md"
    result = _run(cli, url, "--output", "out", "--summary", str(summary))
    assert result.code == (0 if case == "success" else 2), result.stderr
    if case != "success":
        assert "password authentication failed" in result.stderr or "refused" in result.stderr
    _assert_nowhere(PASSWORD, result, tmp_path / "out")
    # The wrong password must not leak either.
    _assert_nowhere(PASSWORD + "x", result, tmp_path / "out")


@pytest.mark.parametrize("case", ["success", "wrong_password", "closed_port"])
def test_no_password_written_mariadb(mariadb_user, case: str, cli, tmp_path) -> None:
    user, password, database = mariadb_user
    url = {
        "success": _mariadb_url(user, password, database),
        "wrong_password": _mariadb_url(user, password + "x", database),
        "closed_port": _mariadb_url(user, password, database, port=1),
    }[case]
    result = _run(cli, url, "--output", "out")
    assert result.code == (0 if case == "success" else 2), result.stderr
    if case == "wrong_password":
        assert "Access denied" in result.stderr
    _assert_nowhere(password, result, tmp_path / "out")


@pytest.mark.parametrize("scheme", ["mssql+pyodbc", "mssql+mssqlpython"])
def test_no_password_written_sql_server_connection_string(scheme: str, cli, tmp_path) -> None:
    """The ODBC connection string carries PWD=…; no SQL Server listens on port 1."""
    password = "Mssql-S3cret;{brace}"
    url = f"{scheme}://sa:{quote(password, safe='')}@127.0.0.1:1/master?TrustServerCertificate=yes"
    result = cli("run", "--db", url, "--rows", "5", "--connect-timeout", "3", "--output", "out")
    assert result.code == 2
    assert "Traceback" not in result.stderr
    _assert_nowhere(password, result, tmp_path / "out")
