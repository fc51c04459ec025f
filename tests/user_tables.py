"""Tables that stand for a user's own data in the safety tests, and a fingerprint of every
table in a database (schema and rows), to prove a run left them exactly as they were."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    create_engine,
    inspect,
    text,
)
from sqlalchemy.engine import Engine

from harness.targets.urls import parse_target

HARNESS_TABLES = ("ormbench_item", "ormbench_owner")


def engine_for(url: str) -> Engine:
    target = parse_target(url, connect_timeout=5)
    return create_engine(target.sqlalchemy_url(), connect_args=target.sqlalchemy_connect_args())


def create_user_tables(url: str, *names: str) -> None:
    """One table per name, each with a few rows of its own. A name a harness table would
    take gets different columns from the harness's, as a user's table would have."""
    engine = engine_for(url)
    metadata = MetaData()
    tables = [
        Table(
            name,
            metadata,
            Column("id", Integer, primary_key=True),
            Column("title", String(50), nullable=False),
            Column("amount", Numeric(8, 2)),
            Column("seen_at", DateTime),
        )
        for name in names
    ]
    with engine.begin() as conn:
        for table in tables:
            table.create(conn)
            conn.execute(
                table.insert(),
                [
                    {
                        "id": i,
                        "title": f"{table.name} row {i}",
                        "amount": i * 1.25,
                        "seen_at": datetime(2024, 1, i),
                    }
                    for i in range(1, 6)
                ],
            )
    engine.dispose()


def drop_tables(url: str, *names: str) -> None:
    engine = engine_for(url)
    existing = set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        for name in names:
            if name in existing:
                conn.execute(text(f"DROP TABLE {name}"))
    engine.dispose()


def fingerprint(url: str) -> dict[str, str]:
    """Every table in the database: a SHA-256 of its columns, keys, indexes and all its rows."""
    engine = engine_for(url)
    found = inspect(engine)
    prints = {}
    with engine.connect() as conn:
        for name in sorted(found.get_table_names()):
            h = hashlib.sha256()
            for column in found.get_columns(name):
                h.update(repr((column["name"], str(column["type"]), column["nullable"])).encode())
            h.update(repr(found.get_pk_constraint(name)).encode())
            h.update(repr(sorted(map(repr, found.get_indexes(name)))).encode())
            rows = conn.execute(text(f"SELECT * FROM {name}")).all()
            for row in sorted(repr(tuple(r)) for r in rows):
                h.update(row.encode())
            prints[name] = f"{len(rows)} rows, {h.hexdigest()}"
    engine.dispose()
    return prints
