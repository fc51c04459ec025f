"""The harness's layout changed (flat modules regrouped into packages) without changing what a
run does: the same seed gives the same trace counts, verification results, verdicts and
results.json fields as the layout before it.

tests/data/layout_golden.json is a small SQLite run's results.json, stripped by `stripped()`
below of everything that differs from one run to the next (timings, ratios and their intervals,
dates, versions, the database's path, memory); every field name is kept, and each stripped
value leaves its type in its place. It was made with the flat layout (commit 59ca754) and
checked to come out the same on two runs.

To regenerate it after a change that is meant to change what a run records:

    .venv/bin/python tests/test_layout_behaviour.py

and review the diff of tests/data/layout_golden.json before committing it.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "data" / "layout_golden.json"
RUN_ARGS = (
    "run", "--rows", "60", "--rounds", "2", "--warmup", "0", "--seed", "42",
    "--scenarios", "all", "-q",
)  # fmt: skip

# Values that are measured, dated or depend on the machine: replaced by their type's name.
VOLATILE = frozenset(
    {
        "started_at", "wall_s", "tool_version", "environment",
        "rounds_s", "cpu_rounds_s", "median_s", "iqr_s", "ops_per_s", "rows_per_s",
        "ratio", "ci_low", "ci_high", "local_rtt_s", "peak_alloc_bytes",
        "server_version", "driver_version",
        # SQLite's page count moves by a few pages with its free list.
        "pages read",
    }
)  # fmt: skip


# Timing in words: a floor verdict names its measured ratio ("1.33x the floor"), and an
# equal-work cell whose rounds happened to beat the floor's carries a note saying so.
FLOOR_RATIO = re.compile(r"\d+\.\d+x the floor")
FASTER_THAN_FLOOR = "suspect: faster than the floor"


def _marker(value: Any) -> Any:
    """A stripped value: its type's name; a list or dict keeps its shape."""
    if isinstance(value, list):
        return [_marker(v) for v in value]
    if isinstance(value, dict):
        return {k: _marker(v) for k, v in value.items()}
    return f"<{type(value).__name__}>"


def stripped(value: Any, db_path: str) -> Any:
    """results.json less what changes from run to run, the database's path written <db>."""
    if isinstance(value, dict):
        out = {k: _marker(v) if k in VOLATILE else stripped(v, db_path) for k, v in value.items()}
        if str(out.get("reason", "")).startswith(FASTER_THAN_FLOOR):
            out["reason"] = ""
        return out
    if isinstance(value, list):
        return [stripped(v, db_path) for v in value]
    if isinstance(value, str):
        return FLOOR_RATIO.sub("<ratio>x the floor", value.replace(db_path, "<db>"))
    return value


def run_stripped(folder: Path) -> dict:
    """The small run in `folder`, its results.json stripped."""
    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import run_cli

    db = folder / "bench.sqlite3"
    result = run_cli(*RUN_ARGS, "--db", f"sqlite:///{db}", "--output", str(folder / "out"))
    assert result.code == 0, result.stderr + result.stdout
    data = json.loads((folder / "out" / "results.json").read_text())
    return stripped(data, str(db))


def _field_names(value: Any, prefix: str = "") -> set[str]:
    names: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            names.add(prefix + k)
            names |= _field_names(v, prefix + k + ".")
    elif isinstance(value, list):
        for v in value:
            names |= _field_names(v, prefix + "[].")
    return names


def test_same_run_as_the_flat_layout(tmp_path: Path) -> None:
    golden = json.loads(GOLDEN.read_text())
    now = run_stripped(tmp_path)
    # The field names first: a missing or new field reads better than a whole-file diff.
    assert _field_names(now) == _field_names(golden)
    assert now["plan"] == golden["plan"]
    for key in ("cells", "comparisons"):
        assert len(now[key]) == len(golden[key])
        for got, want in zip(now[key], golden[key], strict=True):
            assert got == want, (got.get("scenario"), got.get("backend") or got.get("kind"))
    assert now == golden


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        data = run_stripped(Path(folder))
    GOLDEN.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
