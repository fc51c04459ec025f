"""`ormbench run --measure instructions` on the database servers: the client side (ORM and
driver) counted for every cell, with the same rounds and checks as on SQLite
(tests/test_instructions.py, which also holds the helpers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_instructions import assert_counted, counted_run


@pytest.mark.parametrize("database", ["postgres_url", "mariadb_url"])
def test_server_cells_are_counted(database: str, request: pytest.FixtureRequest, tmp_path: Path):
    assert_counted(counted_run(tmp_path, request.getfixturevalue(database)))
