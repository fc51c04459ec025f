"""Database URLs become one SQLAlchemy URL, one Django entry and one DB-API connection."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.targets.errors import ConfigurationError
from harness.targets.urls import embedded_sqlite_target, parse_target


def test_postgresql_url_uses_psycopg_for_every_backend() -> None:
    target = parse_target("postgresql://bench:s3cret@db.example:5433/app")
    assert target.family == "postgresql"
    assert target.sqlalchemy_url().drivername == "postgresql+psycopg"
    entry = target.django_database()
    assert entry["ENGINE"] == "django.db.backends.postgresql"
    assert (entry["HOST"], entry["PORT"], entry["NAME"], entry["USER"]) == (
        "db.example",
        "5433",
        "app",
        "bench",
    )
    assert entry["CONN_MAX_AGE"] is None  # persistent, as the fairness rules ask


@pytest.mark.parametrize("scheme", ["mysql", "mariadb", "mysql+mysqldb"])
def test_mysql_and_mariadb_use_mysqlclient(scheme: str) -> None:
    target = parse_target(f"{scheme}://root@127.0.0.1/test")
    assert target.family == "mysql"
    assert target.sqlalchemy_url().drivername.endswith("+mysqldb")
    assert target.django_database()["ENGINE"] == "django.db.backends.mysql"


def test_label_never_shows_the_password() -> None:
    target = parse_target("postgresql://bench:s3cret@db.example/app")
    assert "s3cret" not in target.label
    assert target.password == "s3cret"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a database URL"),
        ("oracle://u@h/db", "unknown database dialect 'oracle'"),
        ("postgresql+psycopg2://u@h/db", "driver 'psycopg2' is not supported"),
        ("sqlite://", "in-memory SQLite"),
        ("sqlite:///:memory:", "in-memory SQLite"),
        ("postgresql://u@h/db?sslmode=require", "not understood"),
    ],
)
def test_bad_urls_are_configuration_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_target(url)


def test_malformed_url_error_does_not_echo_a_password() -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_target("postgresql:/user:hunter2@host/db")  # one slash: not a URL
    assert "hunter2" not in str(info.value)


def test_embedded_default_lives_on_ram_where_the_machine_has_it() -> None:
    target = embedded_sqlite_target()
    shutil.rmtree(Path(target.database).parent)
    assert target.family == "sqlite"
    assert target.location
    assert target.database.endswith("ormbench.sqlite3")


def test_sqlite_file_in_a_missing_folder_is_refused_before_anything_runs(tmp_path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        parse_target(f"sqlite:///{tmp_path / 'no-such-folder' / 'bench.db'}")
