"""Set-based writes: one UPDATE, or one DELETE, of every matching row, in one transaction,
no row loaded first (Django's delete() takes its fast path), the table checked after every
round; a row-by-row update fails the contract. On SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import MATRIX_ROUNDS, MATRIX_ROWS, run_in, scenarios_of

from scenarios.data import make_rows

SCENARIOS = ("bulk_update", "bulk_delete")
ROWS = MATRIX_ROWS
ACTIVE = sum(r["active"] for r in make_rows(ROWS, 42))
INACTIVE = ROWS - ACTIVE


def _run(cli, folder: Path, url: str, scenarios: str, *args: str):
    return run_in(folder, url, "--scenarios", scenarios, *args, rows=ROWS, rounds=3)


@pytest.fixture
def set_run(matrix_run):
    """Both scenarios of the session's run of every scenario on each database."""
    return scenarios_of(matrix_run, SCENARIOS)


def test_the_data_has_rows_on_both_sides_of_the_condition() -> None:
    assert 0.4 * ROWS < ACTIVE < 0.6 * ROWS


def test_every_cell_passes_with_the_table_checked_every_round(set_run) -> None:
    cells = set_run["cells"]
    assert {c["scenario"] for c in cells} == set(SCENARIOS)
    assert len(cells) == 2 * 5  # two ORMs in two idioms, and the floor
    for cell in cells:
        assert cell["verification"]["status"] == "passed", cell
        assert cell["verification"]["rounds_checked"] == MATRIX_ROUNDS
    contracts = {
        c["scenario"]: c["verification"]["contract"] for c in cells if c["idiom"] == "floor"
    }
    assert contracts["bulk_update"].startswith(
        "1 UPDATE; 1 transaction (each statement commits itself)"
    )
    assert contracts["bulk_delete"].startswith("1 DELETE; 1 transaction (BEGIN … COMMIT)")


def test_bulk_update_is_one_update_of_the_matching_rows(set_run) -> None:
    for cell in set_run["cells"]:
        if cell["scenario"] != "bulk_update":
            continue
        trace, where = cell["trace"], (cell["backend"], cell["idiom"])
        assert trace["statements"] == 1 and trace["by_kind"]["UPDATE"] == 1, where
        assert trace["rows_written"] == {"UPDATE": ACTIVE}, where
        assert trace["update_columns"] == {"1": 1}, where
        assert trace["transactions"] == 1, where
        if (cell["backend"], cell["idiom"]) == ("sqlalchemy", "documented"):
            assert trace["autocommit_statements"] == 0, where  # BEGIN, UPDATE, COMMIT
        else:
            assert trace["autocommit_statements"] == 1, where  # the UPDATE commits itself
            # Nothing else reaches the server: no COMMIT after it (mysqlclient would send
            # the one Session.commit() asks for on the AUTOCOMMIT Engine).
            assert trace["transaction_control"] == 0, where
            assert trace["wire_statements"] in (None, {"UPDATE": 1}), where


def test_bulk_delete_is_one_delete_without_loading_a_row(set_run) -> None:
    for cell in set_run["cells"]:
        if cell["scenario"] != "bulk_delete":
            continue
        trace, where = cell["trace"], (cell["backend"], cell["idiom"])
        # Django's fast path: no SELECT of the rows (no signals, no relations to collect);
        # SQLAlchemy's default synchronize_session: no SELECT or RETURNING of them either.
        assert trace["statements"] == 1 and trace["by_kind"]["DELETE"] == 1, where
        assert "SELECT" not in trace["by_kind"], where
        assert trace["rows_written"] == {"DELETE": INACTIVE}, where
        assert trace["transactions"] == 1 and trace["autocommit_statements"] == 0, where
        assert not any("RETURNING" in s["sql"].upper() for s in trace["sql"]), where


def test_a_row_by_row_bulk_update_breaks_the_contract(cli, tmp_path, any_url) -> None:
    backends = "sqlalchemy,cheating_backends:RowByRowBulkUpdateDjango,dbapi"
    result, data = _run(cli, tmp_path, any_url, "bulk_update", "--backends", backends)
    assert result.code == 1, result.stderr + result.stdout
    django = {c["idiom"]: c["verification"] for c in data["cells"] if c["backend"] == "django"}
    # The table ends right, all an as-documented cell is held to; its equal work (the same
    # code here) is held to the contract too, and fails it.
    assert django["documented"]["status"] == "passed", django
    assert django["equal"]["status"] == "failed", django
    assert f"{ACTIVE} UPDATE statements, the contract has 1" in django["equal"]["reason"]
    others = [c for c in data["cells"] if c["backend"] != "django"]
    assert all(c["verification"]["status"] == "passed" for c in others)
