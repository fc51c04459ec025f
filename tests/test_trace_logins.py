"""The trace pass keeps its backends from one scenario to the next, as the timed rounds keep
theirs: each backend logs in once per database, not once per unit of every scenario (over
TLS to SQL Server those logins were most of a small run's time). Counted by the server."""

from __future__ import annotations

from sqlalchemy import create_engine, text


def _sessions(url: str) -> int:
    """Sessions ever established in this (scratch) database, as PostgreSQL counts them."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return conn.execute(
                text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
            ).scalar_one()
    finally:
        engine.dispose()


def test_a_run_logs_in_as_often_for_four_scenarios_as_for_one(cli, postgres_url) -> None:
    logins = {}
    for scenarios in ("filter", "create,get,filter,update"):
        before = _sessions(postgres_url)
        run = cli(
            "run", "--db", postgres_url, "--scenarios", scenarios, "--rows", "10",
            "--rounds", "2", "--warmup", "0", "--quiet",
        )  # fmt: skip
        assert run.code == 0, run.stderr
        logins[scenarios] = _sessions(postgres_url) - before - 1  # less _sessions' own
    # Without the kept trace instances, each added scenario logged in 5 times more (a
    # traced backend per unit: 2 idioms of each ORM, and the floor).
    assert logins["create,get,filter,update"] == logins["filter"], logins
