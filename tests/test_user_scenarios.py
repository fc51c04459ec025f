"""A user's own scenario (`--scenarios package.module:Class`): the worked example in examples/
runs from the README's command on every database, on its own table, and is verified; bad
specifications end in one line."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = "examples.open_orders:OpenOrders"
PYTHONPATH = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


def readme_example_command() -> list[str]:
    """The arguments of the README's `ormbench run --scenarios …` line for the example."""
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"^ormbench (run --scenarios examples\.\S+)$", readme, re.M)
    assert match, "the README shows how to run the example scenario"
    return match.group(1).split()


@pytest.mark.parametrize("database", ["sqlite", "postgresql", "mariadb"])
def test_the_example_runs_from_the_readme_command_verified(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    args = readme_example_command()
    assert EXAMPLE in args
    fixture = {"sqlite": None, "postgresql": "postgres_url", "mariadb": "mariadb_url"}[database]
    db = ["--db", request.getfixturevalue(fixture)] if fixture else []
    result = run_cli(
        *args, *db, "--rows", "400", "--rounds", "2", "--output", str(tmp_path), cwd=ROOT
    )
    assert result.code == 0, result.stderr + result.stdout
    data = json.loads((tmp_path / "results.json").read_text())
    assert {c["scenario"] for c in data["cells"]} == {"open_orders"}
    assert {c["backend"] for c in data["cells"]} == {"sqlalchemy", "django", "dbapi"}
    assert {c["verification"]["status"] for c in data["cells"]} == {"passed"}
    # Held to its contract: one SELECT per customer, in one transaction.
    floor = next(c for c in data["cells"] if c["backend"] == "dbapi")
    assert floor["trace"]["by_kind"]["SELECT"] == floor["operations"]
    assert data["scenarios"]["open_orders"].startswith("For each of 50 customers")


def test_the_example_table_is_gone_after_the_run(sqlite_url: str, tmp_path: Path) -> None:
    from sqlalchemy import create_engine, inspect

    result = run_cli(
        "run", "--scenarios", EXAMPLE, "--db", sqlite_url, "--rows", "100", "--rounds", "1",
        "--output", str(tmp_path), cwd=ROOT,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    engine = create_engine(sqlite_url.replace("sqlite://", "sqlite+pysqlite://", 1))
    assert not [n for n in inspect(engine).get_table_names() if n.startswith("ormbench_")]
    engine.dispose()


def test_user_scenarios_mix_with_built_in_ones(tmp_path: Path) -> None:
    result = run_cli(
        "run", "--scenarios", f"get,{EXAMPLE}", "--rows", "100", "--rounds", "1",
        "--output", str(tmp_path), cwd=ROOT,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    data = json.loads((tmp_path / "results.json").read_text())
    assert {c["scenario"] for c in data["cells"]} == {"get", "open_orders"}


BAD_SPECS = {
    "no such module": ("examples.nowhere:Thing", "cannot load scenario 'examples.nowhere:Thing'"),
    "no such class": ("examples.open_orders:Nothing", "cannot load scenario"),
    "not a scenario": ("examples.open_orders:Order", "is not a Scenario subclass"),
    "a table not ours": ("user_scenarios_bad:ForeignTable", "does not start with 'ormbench_'"),
    "a taken name": ("user_scenarios_bad:TakesGet", "takes the name 'get'"),
}


@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_a_bad_scenario_spec_is_one_line_and_exit_2(case: str, tmp_path: Path) -> None:
    spec, fragment = BAD_SPECS[case]
    result = run_cli(
        "run", "--scenarios", spec, "--rows", "10", "--rounds", "1", "--output", str(tmp_path),
        cwd=ROOT, env={"PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), *PYTHONPATH])},
    )  # fmt: skip
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("ormbench: error")]
    assert len(lines) == 1 and fragment in lines[0], result.stderr
