"""A login that works and a set-up step that fails reads as that step, not "cannot connect":
one line naming the database, the step and the error's first line, never a password, exit 2.
Each failure is a real one, provoked on a real database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PG_ADMIN_URL, _scratch_database
from sqlalchemy import text
from sqlalchemy.engine import make_url
from user_tables import engine_for

TINY = ("--rows", "5", "--rounds", "1", "--warmup", "0", "--scenarios", "create")
PASSWORD = "Setup-pass-7"


def error_line(result) -> str:
    assert result.code == 2, result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("ormbench: error:")]
    assert len(errors) == 1, result.stderr
    assert "cannot connect" not in errors[0] and "bug in ormbench" not in errors[0]
    return errors[0]


@pytest.fixture(scope="module")
def no_version_postgres() -> Iterator[str]:
    """A database of its own in which a role may log in but not call version(), which
    SQLAlchemy's dialect calls on its first connection to learn the server's version."""
    role = f"ormb_nover_{uuid.uuid4().hex[:8]}"
    scratch = _scratch_database(PG_ADMIN_URL, "PostgreSQL")
    url = next(scratch)
    admin = engine_for(PG_ADMIN_URL)
    try:
        engine = engine_for(url)
        with engine.begin() as conn:
            conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'"))
            conn.execute(text("REVOKE EXECUTE ON FUNCTION pg_catalog.version() FROM PUBLIC"))
        engine.dispose()
        yield (
            make_url(url)
            .set(username=role, password=PASSWORD)
            .render_as_string(hide_password=False)
        )
    finally:
        next(scratch, None)  # drops the database, and the revoke with it
        with admin.begin() as conn:
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


def test_dialect_set_up_refused_after_login_names_that_step(cli, no_version_postgres) -> None:
    line = error_line(cli("run", "--db", no_version_postgres, *TINY))
    label = make_url(no_version_postgres).render_as_string(hide_password=True)
    label = label.replace("postgresql://", "postgresql+psycopg://")
    assert line.startswith(f"ormbench: error: connected to {label}, but SQLAlchemy's set-up")
    assert "reads the server's version" in line
    assert "InsufficientPrivilege: permission denied for function version" in line
    assert PASSWORD not in line


def test_a_file_that_is_not_a_database_names_the_step(cli, tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_text("these are notes, not a SQLite database\n" * 100)
    line = error_line(cli("run", "--db", f"sqlite:///{path}", *TINY))
    assert f"connected to sqlite+pysqlite:///{path}, but checking for existing harness " in line
    assert "DatabaseError: file is not a database" in line
    assert path.read_text().startswith("these are notes")  # and nothing was changed
