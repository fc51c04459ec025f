"""Every round proved, the fast way too: a round whose table and returned objects, as the
driver and the ORM hand them over, equal those of a round that passed the full check passes
on that; a round that leaves anything else gets the full check, and a backend that turns
wrong after its first rounds fails in the round it turned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TESTS = str(Path(__file__).parent)


@pytest.mark.parametrize(
    ("backend", "scenario", "reason"),
    [
        ("LateWrongBulkCreateDjango", "bulk_create", "values differ"),
        ("LateStaleFilterDjango", "filter", "differs from the expected one"),
        ("LateWritingFilterDjango", "filter", "values differ"),
    ],
    ids=["wrong-write", "stale-read", "stray-write"],
)
def test_a_backend_that_turns_wrong_in_a_later_round_fails_in_that_round(
    cli, tmp_path, sqlite_url, backend, scenario, reason
) -> None:
    result = cli(
        "run",
        "--db",
        sqlite_url,
        "--rows",
        "30",
        "--rounds",
        "4",
        "--warmup",
        "0",
        "--idiom",
        "documented",
        "--scenarios",
        scenario,
        "--backends",
        f"cheating_backends:{backend},dbapi",
        env={"PYTHONPATH": TESTS},
    )
    assert result.code == 1, result.stderr + result.stdout
    data = json.loads((tmp_path / "ormbench-report/results.json").read_text())
    (cell,) = [c for c in data["cells"] if c["backend"] == "django"]
    verification = cell["verification"]
    assert verification["status"] == "failed", verification
    assert verification["reason"].startswith("round 3: "), verification
    assert reason in verification["reason"], verification
    assert verification["rounds_checked"] == 2
