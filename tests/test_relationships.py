"""The relationship scenarios (N+1, one JOIN, IN lists) and the aggregates, end to end on
SQLite, PostgreSQL and MariaDB: every cell verified, and each idiom's trace shows the SELECTs
its loading strategy sends."""

from __future__ import annotations

import json
import math

import pytest
from conftest import MATRIX_ROUNDS, MATRIX_ROWS, scenarios_of

from scenarios.family import (
    MAX_CHILDREN,
    MEAN_DECIMALS,
    aggregate_row,
    generate,
    parent_count,
    shape,
)
from scenarios.relationships import IN_LIST_PARENTS

ROWS = MATRIX_ROWS  # 20 parents, two of them childless
SEED = 42
SCENARIOS = ("relationships_naive", "relationships_joined", "relationships_prefetch", "aggregates")


def run(cli_run, folder, url: str, rows: int, scenarios: tuple[str, ...]) -> dict:
    result = cli_run(
        "run",
        "--db",
        url,
        "--scenarios",
        ",".join(scenarios),
        "--rows",
        str(rows),
        "--rounds",
        "3",
        "--warmup",
        "0",
        cwd=folder,
    )
    assert result.code == 0, result.stderr + result.stdout
    return json.loads((folder / "ormbench-report/results.json").read_text())


@pytest.fixture
def results(matrix_run) -> dict[tuple[str, str, str], dict]:
    """The four scenarios of the session's run of every scenario on each database: cells by
    (scenario, backend, idiom)."""
    data = scenarios_of(matrix_run, SCENARIOS)
    return {(c["scenario"], c["backend"], c["idiom"]): c for c in data["cells"]}


def test_every_cell_passes_verification(results) -> None:
    assert {scenario for scenario, _, _ in results} == set(SCENARIOS)
    for key, cell in results.items():
        assert cell["verification"]["status"] == "passed", (key, cell["verification"])
        assert cell["verification"]["rounds_checked"] == MATRIX_ROUNDS, key
        if key[2] in ("equal", "floor"):
            assert cell["verification"]["contract"], key


def selects(cell: dict) -> int:
    return cell["trace"]["by_kind"].get("SELECT", 0)


def assert_transactions(key: tuple[str, str, str], cell: dict) -> None:
    """Django's documented idioms read in autocommit, its default: each SELECT commits itself.
    Every other cell holds its SELECTs in one transaction, as the contract has it."""
    trace = cell["trace"]
    if key[1:] == ("django", "documented"):
        assert trace["transactions"] == trace["autocommit_statements"] == selects(cell), key
        assert trace["transaction_control"] == 0, key
    else:
        assert trace["transactions"] == 1, key


def test_naive_code_sends_one_select_per_parent(results) -> None:
    data = shape(ROWS, SEED)
    for key, cell in results.items():
        if key[0] == "relationships_naive":
            assert selects(cell) == 1 + data.parents, key
            assert cell["trace"]["select_rows"] == data.parents + data.children, key
            assert_transactions(key, cell)


def test_eager_loading_sends_one_or_two_selects(results) -> None:
    data = shape(ROWS, SEED)
    expected = {
        # One LEFT OUTER JOIN: a row per child and one per parent without children.
        "relationships_joined": (1, data.children + data.childless),
        # The parents, then their children in one IN list (fewer than 500 parents).
        "relationships_prefetch": (2, data.parents + data.children),
    }
    for (scenario, backend, idiom), cell in results.items():
        if scenario in expected:
            statements, rows = expected[scenario]
            if (scenario, backend, idiom) == ("relationships_joined", "django", "documented"):
                # Django's documented way to load children as objects: prefetch_related.
                statements, rows = expected["relationships_prefetch"]
            assert selects(cell) == statements, (scenario, backend, idiom)
            assert cell["trace"]["select_rows"] == rows, (scenario, backend, idiom)
            assert_transactions((scenario, backend, idiom), cell)
    # As documented, SQLAlchemy's joinedload builds objects from the join (the child's
    # parent_id too); the equal work fetches the five columns Django's values_list() does.
    assert (
        results[("relationships_joined", "sqlalchemy", "documented")]["trace"]["narrowest_select"]
        == 6
    )
    for backend, idiom in (("sqlalchemy", "equal"), ("django", "equal"), ("dbapi", "floor")):
        trace = results[("relationships_joined", backend, idiom)]["trace"]
        assert trace["narrowest_select"] == 5, backend


def test_aggregates_fetch_one_row_per_parent_in_one_select(results) -> None:
    parents = shape(ROWS, SEED).parents
    for (scenario, backend, idiom), cell in results.items():
        if scenario == "aggregates":
            assert selects(cell) == 1, (backend, idiom)
            assert cell["trace"]["select_rows"] == parents, (backend, idiom)
            if idiom in ("equal", "floor"):
                assert cell["trace"]["autocommit_statements"] == 1, (backend, idiom)


def test_more_than_500_parents_split_into_in_lists_except_djangos_documented_one(
    cli, tmp_path
) -> None:
    rows = 10 * (IN_LIST_PARENTS + 1)  # 501 parents: two IN lists for SQLAlchemy
    url = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    data = run(cli, tmp_path, url, rows, ("relationships_prefetch",))
    cells = {(c["backend"], c["idiom"]): c for c in data["cells"]}
    assert {c["verification"]["status"] for c in cells.values()} == {"passed"}
    batches = math.ceil(parent_count(rows) / IN_LIST_PARENTS)
    assert batches == 2
    for key in (("sqlalchemy", "documented"), ("django", "equal"), ("dbapi", "floor")):
        assert selects(cells[key]) == 1 + batches, key
    # prefetch_related() sends every parent id in one IN list: held to the results only.
    assert selects(cells[("django", "documented")]) == 2
    assert cells[("django", "documented")]["verification"]["contract"] == ""


# --- the data and its normal forms ------------------------------------------------------------


def test_the_data_has_parents_without_children_and_about_rows_children() -> None:
    data = shape(1000, SEED)
    assert data.parents == 100
    assert data.childless == 10  # every tenth parent, and none other
    assert 800 <= data.children <= 1200
    generated = generate(1000, SEED)
    per_parent: dict[int, int] = {}
    for index, _ in generated.children:
        per_parent[index] = per_parent.get(index, 0) + 1
    assert max(per_parent.values()) <= MAX_CHILDREN
    # Loaded shuffled: a parent's children do not come in one run of ids.
    indexes = [index for index, _ in generated.children]
    assert indexes != sorted(indexes)
    assert shape(5, SEED).parents == 1  # at least one parent


def test_no_mean_of_cents_lies_half_way_at_six_decimals() -> None:
    # mean = cents / (100 * count); at 10^-6 the tie is 10^4 * cents / count = n + 1/2.
    # Whether it happens depends on cents modulo 2 * count only.
    assert MEAN_DECIMALS == 6
    for count in range(1, MAX_CHILDREN + 1):
        for cents in range(2 * count):
            assert (2 * 10**4 * cents) % (2 * count) != count, (count, cents)


def test_aggregate_rows_agree_whatever_type_the_database_returns() -> None:
    from decimal import Decimal

    # 5.57 / 3: PostgreSQL's numeric, MariaDB's six decimals, SQLite's float, Django's
    # 15-digit Decimal of that float.
    forms = [
        (1, 3, Decimal("5.57"), Decimal("1.8566666666666667")),
        (1, 3, Decimal("5.57"), Decimal("1.856667")),
        (1, 3, 5.569999999999999, 1.8566666666666665),
        (1, 3, Decimal("5.57000000000000"), Decimal("1.85666666666667")),
    ]
    assert {aggregate_row(*form) for form in forms} == {(1, 3, "5.57", "1.856667")}
    assert aggregate_row(2, 0, None, None) == (2, 0, None, None)


def test_joined_compares_objects_with_objects_and_rows_with_rows(results) -> None:
    """As documented both ORMs build the parents and children as objects (joinedload,
    prefetch_related); the equal work returns the JOIN's rows as tuples on both sides."""
    data = shape(ROWS, SEED)
    for backend in ("sqlalchemy", "django"):
        documented = results[("relationships_joined", backend, "documented")]["trace"]
        assert documented["result_objects"] == data.parents + data.children, backend
        assert documented["result_rows"] == 0, backend
        equal = results[("relationships_joined", backend, "equal")]["trace"]
        assert equal["result_objects"] == 0, backend
        assert equal["result_rows"] == data.children + data.childless, backend
