"""`ormbench run --shard K/N` and `ormbench merge`: N shards cover the database x scenario
matrix exactly once, and their merge holds the same cells as one unsharded run, which `report`
and `compare` accept; bad shards and bad merges end in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from harness.measuring.plan import Plan
from harness.measuring.shards import shard_scenarios
from harness.targets.urls import parse_target

SIZE = ("--rows", "30", "--rounds", "2", "--quiet")


def keys(path: Path) -> set[tuple[str, str, str, str]]:
    data = json.loads(path.read_text())
    return {(c["database"], c["scenario"], c["backend"], c["idiom"]) for c in data["cells"]}


def test_shards_deal_every_database_and_scenario_pair_once() -> None:
    plan = Plan(scenarios=("create", "get", "filter"), backends=("dbapi",), rows=1, rounds=1)
    targets = [parse_target("sqlite:///a.db"), parse_target("sqlite:///b.db")]
    for shards in (1, 2, 4, 7):
        dealt = [
            (i, s)
            for k in range(1, shards + 1)
            for i, chosen in enumerate(
                shard_scenarios(Plan(**{**plan.__dict__, "shard": f"{k}/{shards}"}), targets)
            )
            for s in chosen
        ]
        assert sorted(dealt) == sorted((i, s) for i in range(2) for s in plan.scenarios)


def test_shards_merge_into_the_cells_of_one_unsharded_run(
    tmp_path: Path, sqlite_url: str, postgres_url: str
) -> None:
    dbs = ("--db", sqlite_url, "--db", postgres_url)
    scenarios = ("--scenarios", "create,get,filter")
    whole = run_cli("run", *dbs, *scenarios, *SIZE, "--output", str(tmp_path / "whole"))
    assert whole.code == 0, whole.stderr
    parts = []
    for k in (1, 2, 3):
        out = tmp_path / f"shard{k}"
        shard = run_cli("run", *dbs, *scenarios, *SIZE, "--shard", f"{k}/3", "--output", str(out))
        assert shard.code == 0, shard.stderr
        parts.append(out / "results.json")
    # Each shard ran a part, none all of it.
    assert all(0 < len(keys(p)) < len(keys(tmp_path / "whole/results.json")) for p in parts)
    merged = run_cli("merge", *map(str, parts), "--output", str(tmp_path / "merged"))
    assert merged.code == 0, merged.stderr
    assert "merged; the shards ran" in merged.stderr  # their time, not merge's own
    assert keys(tmp_path / "merged/results.json") == keys(tmp_path / "whole/results.json")
    data = json.loads((tmp_path / "merged/results.json").read_text())
    assert data["complete"] is True and "shard" not in data["plan"]
    assert len(data["databases"]) == 2
    assert {c["scenario"] for c in data["comparisons"]} == {"create", "get", "filter"}
    # report and compare take the merged file.
    assert run_cli("report", str(tmp_path / "merged/results.json"), "--output",
                   str(tmp_path / "again")).code == 0  # fmt: skip
    compared = run_cli(
        "compare", str(tmp_path / "whole/results.json"), str(tmp_path / "merged/results.json")
    )
    # Read, not refused (2): at 2 rounds a side no cell is gated, so "nothing compared" (5).
    assert compared.code == 5, compared.stdout + compared.stderr
    assert "only in" not in compared.stdout


@pytest.fixture(scope="module")
def embedded_runs(tmp_path_factory) -> dict[str, str]:
    """Runs of get and filter on the embedded SQLite database, each in its own temporary file:
    shards 1/2 and 2/2, shard 2/2 at another size, and the whole plan. Name -> results.json."""
    folder = tmp_path_factory.mktemp("embedded")
    runs = {}
    for name, extra in {
        "s1": ("--shard", "1/2"),
        "s2": ("--shard", "2/2"),
        "s2rows": ("--shard", "2/2", "--rows", "20"),
        "whole": (),
    }.items():
        args = ("run", "--scenarios", "get,filter", *SIZE, *extra, "--output", str(folder / name))
        assert run_cli(*args, cwd=folder).code == 0
        runs[name] = str(folder / name / "results.json")
    return runs


def test_embedded_sqlite_shards_merge_under_one_name(embedded_runs, tmp_path: Path) -> None:
    parts = [embedded_runs["s1"], embedded_runs["s2"]]
    assert run_cli("merge", *parts, "--output", str(tmp_path / "m"), cwd=tmp_path).code == 0
    data = json.loads((tmp_path / "m/results.json").read_text())
    assert len(data["databases"]) == 1
    assert {c["scenario"] for c in data["cells"]} == {"get", "filter"}


@pytest.mark.parametrize("shard", ["0/3", "4/3", "2", "a/b", "1/0"])
def test_a_bad_shard_is_one_line_and_exit_2(shard: str, tmp_path: Path) -> None:
    result = run_cli("run", "--shard", shard, *SIZE, "--output", str(tmp_path / "o"))
    assert result.code == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("ormbench: error:") == 1 and "--shard" in result.stderr
    assert not (tmp_path / "o").exists()


def test_bad_merges_are_one_line_and_exit_2(embedded_runs, tmp_path: Path) -> None:
    runs = embedded_runs
    cases = {
        (runs["s1"],): "two or more shards",
        (runs["s1"], runs["s1"]): "not distinct shards",
        (runs["s1"], runs["whole"]): "not distinct shards",
        (runs["s1"], runs["s2rows"]): "was run with rows",
    }
    for files, fragment in cases.items():
        result = run_cli("merge", *files, "--output", str(tmp_path / "m"))
        assert result.code == 2, (files, result.stderr)
        assert "Traceback" not in result.stderr and fragment in result.stderr, result.stderr
