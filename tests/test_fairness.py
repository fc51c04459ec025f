"""Fair by construction: equal connection settings read back from every backend, every
equal-work cell held to its work contract, and backends that do less work caught, also when
they do less only in the timed rounds. On SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from conftest import MATRIX_ROUNDS, MATRIX_ROWS

from scenarios import REGISTRY
from scenarios.data import make_rows

TESTS = str(Path(__file__).parent)


def _run(cli, folder: Path, url: str, *args: str):
    result = cli(
        "run",
        "--db",
        url,
        "--rows",
        "40",
        "--rounds",
        "6",
        "--warmup",
        "0",
        *args,
        env={"PYTHONPATH": TESTS},
    )
    path = folder / "ormbench-report/results.json"
    data = json.loads(path.read_text()) if path.exists() else None
    return result, data


@pytest.fixture
def full_run(matrix_run):
    """Every scenario on each database (the session's one run of them, without a warm-up)."""
    return matrix_run


def test_every_equal_work_cell_meets_its_contract(full_run) -> None:
    cells = full_run["cells"]
    held = [c for c in cells if c["idiom"] in ("equal", "floor")]
    # every scenario: SQLAlchemy, Django and the floor
    assert len(held) == len(REGISTRY) * 3
    for cell in held:
        assert cell["verification"]["status"] == "passed", cell["verification"]
        assert cell["verification"]["contract"], cell["scenario"]
        assert cell["verification"]["rounds_checked"] == MATRIX_ROUNDS
    idioms = {(c["backend"], c["idiom"]) for c in cells}
    assert ("sqlalchemy", "documented") in idioms and ("django", "equal") in idioms
    verdicts = {(c["scenario"], c["idiom"]) for c in full_run["comparisons"] if c["kind"] == "orm"}
    assert ("create", "documented") in verdicts and ("create", "equal") in verdicts


def test_equal_work_idioms_send_the_contracted_statements(full_run) -> None:
    by = {(c["scenario"], c["backend"], c["idiom"]): c["trace"] for c in full_run["cells"]}
    rows = MATRIX_ROWS
    for backend in ("sqlalchemy", "django", "dbapi"):
        idiom = "floor" if backend == "dbapi" else "equal"
        create = by[("create", backend, idiom)]
        assert create["by_kind"]["INSERT"] == rows
        assert create["autocommit_statements"] == rows  # each INSERT commits itself
        update = by[("update", backend, idiom)]
        assert update["update_columns"] == {"1": rows}  # only the changed column
        assert update["transactions"] == rows
        get = by[("get", backend, idiom)]
        assert get["transactions"] == 1 and get["narrowest_select"] == 7
    # As documented, Django's save() writes every column but the id.
    assert by[("update", "django", "documented")]["update_columns"] == {"6": rows}


def test_connection_settings_are_equal_across_backends(full_run) -> None:
    (info,) = full_run["databases"]
    settings = info["connection_settings"]
    assert set(settings) == {"sqlalchemy", "django", "dbapi"}
    names = set.union(*(set(v) for v in settings.values()))
    for name in names - {"autocommit"}:
        values = {backend: s.get(name) for backend, s in settings.items()}
        assert len(set(values.values())) == 1, (name, values)
    assert info["connection_policy"], "the written policy is recorded"
    any_backend = settings["django"]
    family = info["family"]
    if family == "postgresql":
        assert any_backend["session time zone"] == "UTC"
        assert any_backend["parameter binding"] == "server-side"
        assert any_backend["isolation level"] == "read committed"
    elif family == "mysql":
        assert any_backend["session time zone"] == "+00:00"
        assert any_backend["isolation level"] == "REPEATABLE-READ"
        # Django asks for FOUND_ROWS on its own; every backend gets it (equal rowcounts)
        assert any_backend["affected rows"] == "rows matched"
    else:
        assert any_backend["LIKE"] == "case-sensitive"
        assert any_backend["transactions"] == "driver autocommit, explicit BEGIN"
        assert any_backend["busy timeout"] == "5000 ms"


@pytest.mark.parametrize(
    ("backends", "scenario", "cheat", "reason"),
    [
        ("cheating_backends:OneCommitDjango,dbapi", "create", "django", "transactions"),
        ("cheating_backends:IdOnlySqlAlchemy,dbapi", "get", "sqlalchemy", "not fully loaded"),
        ("cheating_backends:SetBasedUpdateDjango,dbapi", "update", "django", "work contract"),
        ("cheating_backends:TimedOnlyCheatDjango,dbapi", "create", "django", "timed round"),
    ],
    ids=["one-commit", "id-only", "set-based-update", "less-only-when-timed"],
)
def test_a_backend_doing_less_work_fails(
    cli, tmp_path, any_url, backends, scenario, cheat, reason
) -> None:
    result, data = _run(cli, tmp_path, any_url, "--backends", backends, "--scenarios", scenario)
    assert result.code == 1, result.stderr + result.stdout
    cells = [c for c in data["cells"] if c["backend"] == cheat]
    failed = [c for c in cells if c["verification"]["status"] == "failed"]
    assert failed, cells
    assert any(reason in c["verification"]["reason"] for c in failed), failed
    assert all(
        c["verification"]["status"] == "passed" for c in data["cells"] if c["backend"] == "dbapi"
    )
    assert all(
        c["verdict"].startswith("no verdict")
        for c in data["comparisons"]
        if cheat in (c["numerator"], c["denominator"])
        and c["idiom"] in {f["idiom"] for f in failed}
    )


@pytest.mark.parametrize("seed", [153, 167])
def test_bulk_create_rows_in_the_dst_gap_store_exactly_on_postgresql(
    cli, tmp_path, postgres_url, seed
):
    # With Django's default time zone (America/Chicago) as the session's, its UNNEST insert
    # stored rows in the spring-forward gap an hour off. Seed 153 did that with the earlier
    # data generator; seed 167 does it with this one.
    if seed == 167:
        gap = (datetime(2024, 3, 10, 2), datetime(2024, 3, 10, 3))
        assert any(gap[0] <= r["created_at"] < gap[1] for r in make_rows(200, seed))
    result = cli(
        "run",
        "--db",
        postgres_url,
        "--seed",
        str(seed),
        "--rows",
        "200",
        "--rounds",
        "6",
        "--warmup",
        "0",
        "--scenarios",
        "bulk_create",
    )
    assert result.code == 0, result.stderr + result.stdout
    data = json.loads((tmp_path / "ormbench-report/results.json").read_text())
    assert {c["verification"]["status"] for c in data["cells"]} == {"passed"}


def test_one_backend_failing_leaves_the_others_their_cells(cli, tmp_path, sqlite_url):
    result, data = _run(
        cli,
        tmp_path,
        sqlite_url,
        "--backends",
        "sqlalchemy,faulty_backends:FailingDjango,dbapi",
        "--scenarios",
        "filter",
    )
    assert result.code == 2
    status = {(c["backend"], c["idiom"]): c["verification"]["status"] for c in data["cells"]}
    assert status[("django", "documented")] == "error"
    assert status[("sqlalchemy", "documented")] == "passed"
    assert status[("dbapi", "floor")] == "passed"
