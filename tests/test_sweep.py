"""Size sweeps (`ormbench run --rows 100,1000,10000`): the growth exponent on backends whose
cost is known, a real sweep on SQLite with its Scaling section (re-rendered alike by
`ormbench report`), sizes kept apart by compare and merge, and bad --rows input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from conftest import TESTS, run_cli

from harness.compare import compare
from harness.merge import merge
from harness.sweep import build_sweep, growth_exponent, parse_sizes, trend
from reports.model import Cell, DatabaseInfo, RunResult, Verification


def _scaled(result: dict, scenario: str, backend: str, idiom: str = "documented") -> dict:
    return next(
        s
        for s in result["sweep"]
        if (s["scenario"], s["backend"], s["idiom"]) == (scenario, backend, idiom)
    )


def test_exponent_of_a_linear_and_a_quadratic_backend(tmp_path: Path, sqlite_url: str) -> None:
    """tests/sweep_backends.py: SQLAlchemy's work padded to c * rows, Django's to c * rows².
    10 rounds: a bootstrap of medians then shrugs off one round the machine interrupted (with
    6, one such round in the floor's could reach the interval's 2.5% tail)."""
    run = run_cli(
        "run", "--db", sqlite_url, "--rows", "10,20,40", "--rounds", "10", "--warmup", "0",
        "--scenarios", "filter", "--idiom", "documented", "--backends",
        "sweep_backends:LinearSqlAlchemy,sweep_backends:QuadraticDjango,dbapi",
        cwd=tmp_path, env={"PYTHONPATH": str(TESTS)},
    )  # fmt: skip
    assert run.code == 0, run.stderr
    result = json.loads((tmp_path / "ormbench-report/results.json").read_text())
    assert result["plan"]["sizes"] == [10, 20, 40]
    linear = _scaled(result, "filter", "sqlalchemy")
    quadratic = _scaled(result, "filter", "django")
    # The known powers lie in (or, on a busy machine whose waits overshoot, within 0.05 of)
    # the intervals: a 95% interval misses the truth now and then by its nature.
    assert linear["exponent_low"] - 0.05 <= 1 <= linear["exponent_high"] + 0.05, linear
    assert quadratic["exponent_low"] - 0.05 <= 2 <= quadratic["exponent_high"] + 0.05, quadratic
    assert linear["exponent_high"] < quadratic["exponent_low"]  # they exclude each other
    assert abs(linear["exponent"] - 1) < 0.1 and abs(quadratic["exponent"] - 2) < 0.1
    assert [p["rows"] for p in linear["points"]] == [10, 20, 40]
    # Between neighbouring sizes too: 1 and 2 all the way.
    assert all(abs(e - 1) < 0.15 for e in linear["local_exponents"])
    assert all(abs(e - 2) < 0.15 for e in quadratic["local_exponents"])
    # The floor hardly grows over 10-40 rows: both ORMs' multiples of it grow, the quadratic
    # one the most, and the report says so in words.
    assert linear["floor_trend"] == quadratic["floor_trend"] == "grows"
    assert quadratic["floor_growth"] > linear["floor_growth"] > 2
    report = (tmp_path / "ormbench-report/report.md").read_text()
    assert "Django (as documented)'s multiple of the floor grows from" in report
    assert "from 10 to 40 rows" in report


def test_a_real_sweep_on_sqlite(tmp_path: Path, sqlite_url: str) -> None:
    run = run_cli(
        "run", "--db", sqlite_url, "--rows", "40,20", "--rounds", "2", "--warmup", "0",
        "--scenarios", "get,filter", cwd=tmp_path,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    path = tmp_path / "ormbench-report/results.json"
    result = RunResult.read(path)
    assert result.sizes == [20, 40] and result.plan["rows"] == 20
    for scenario in ("get", "filter"):
        for rows in (20, 40):
            cells = [c for c in result.cells if (c.scenario, c.rows) == (scenario, rows)]
            assert len(cells) == 5 and all(c.verified for c in cells)  # 2 ORMs x 2 idioms + floor
            assert all(c.operations == (rows if scenario == "get" else 1) for c in cells)
            orm = [c for c in result.comparisons if (c.scenario, c.kind) == (scenario, "orm")]
            assert sorted(c.rows for c in orm) == [20, 20, 40, 40]
    # One sweep entry per cell, each with both sizes and an exponent.
    assert len(result.sweep) == 10
    for scaled in result.sweep:
        assert [p.rows for p in scaled.points] == [20, 40]
        assert scaled.exponent is not None and scaled.exponent_low is not None
    # An equal-work idiom that runs the documented code shares its figures.
    shared = [s for s in result.sweep if s.same_code_as]
    assert shared and all(
        next(
            d for d in result.sweep
            if (d.scenario, d.backend, d.idiom) == (s.scenario, s.backend, "documented")
        ).exponent_low == s.exponent_low
        for s in shared
    )  # fmt: skip
    # Progress names the size; the console and report.md carry the Scaling section.
    assert "get at 40 rows done (2 rounds)" in run.stderr
    assert "Scaling (20 / 40 rows)" in run.stdout
    report = (tmp_path / "ormbench-report/report.md").read_text()
    assert "## Scaling" in report and "A size sweep over 20 / 40 rows" in report
    assert "| get | SQLAlchemy ORM | as documented |" in report
    assert "SQLAlchemy / Django, as documented, 20 rows:" in report
    # `ormbench report` on the results.json renders the same report.
    again = run_cli("report", str(path), "--output", str(tmp_path / "again"), cwd=tmp_path)
    assert again.code == 0, again.stderr
    assert (tmp_path / "again/report.md").read_text() == report
    html = (tmp_path / "ormbench-report/report.html").read_text()
    assert '<section id="scaling">' in html and 'id="db0-get-40"' in html
    assert (tmp_path / "again/report.html").read_text() == html
    assert "Scaling (20 / 40 rows)" in again.stdout
    # Comparing the sweep with itself matches every cell with its own size.
    same = run_cli("compare", str(path), str(path), cwd=tmp_path)
    assert "only in" not in same.stdout and "get (40 rows)" in same.stdout


def test_one_size_records_what_it_always_did(tmp_path: Path, sqlite_url: str) -> None:
    run = run_cli(
        "run", "--db", sqlite_url, "--rows", "20", "--rounds", "1", "--warmup", "0",
        "--scenarios", "filter", cwd=tmp_path,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    result = json.loads((tmp_path / "ormbench-report/results.json").read_text())
    assert "sizes" not in result["plan"] and result["sweep"] == []
    assert result["plan"]["rows"] == 20
    report = (tmp_path / "ormbench-report/report.md").read_text()
    assert "Scaling" not in report and "Scaling" not in run.stdout
    assert "20 rows, 1 timed rounds" in report and "| rows |" not in report
    html = (tmp_path / "ormbench-report/report.html").read_text()
    assert 'id="scaling"' not in html and 'class="size"' not in html


@pytest.mark.parametrize(
    ("rows", "fragment"),
    [
        ("0", "0 rows: give 1 or more"),
        ("100,abc", "'abc' is not a valid integer"),
        ("100,1000,100", "100 is given twice"),
        ("100,,1000", "an empty size"),
        ("-5", "-5 rows: give 1 or more"),
    ],
)
def test_bad_rows_is_one_line_and_exit_2(rows: str, fragment: str, cli) -> None:
    result = cli("run", "--rows", rows, "--scenarios", "filter")
    assert result.code == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ormbench: error: "), result.stderr
    assert "'--rows'" in lines[0] and fragment in lines[0], lines[0]


# --- the pure parts: no database ---------------------------------------------------------------


def _cell(rows: int, rounds: list[float], backend: str = "sqlalchemy", **kw) -> Cell:
    return Cell(
        database="db",
        scenario=kw.pop("scenario", "get"),
        backend=backend,
        rows=rows,
        operations=rows,
        rounds_s=rounds,
        median_s=sorted(rounds)[len(rounds) // 2],
        iqr_s=0.0,
        ops_per_s=None,
        rows_per_s=None,
        trace=None,
        verification=Verification(kw.pop("status", "passed")),
        idiom="floor" if backend == "dbapi" else kw.pop("idiom", "documented"),
    )


def test_parse_sizes_sorts() -> None:
    assert parse_sizes("10000, 100,1000") == (100, 1000, 10000)
    assert parse_sizes("1000") == (1000,)


def test_growth_exponent_recovers_known_powers() -> None:
    spread = [0.95, 1.0, 1.05, 1.02, 0.98, 1.0]
    for power in (0.0, 0.5, 1.0, 2.0):
        rounds = {n: [n**power * 1e-5 * s for s in spread] for n in (100, 1000, 10000)}
        estimate, low, high = growth_exponent(rounds, seed=1)
        assert math.isclose(estimate, power, abs_tol=1e-9)
        assert low < power < high and high - low < 0.1
    # One round per size: a slope, but nothing to resample.
    assert growth_exponent({10: [1.0], 100: [10.0]})[1:] == (None, None)


def test_floor_multiple_trend_and_a_failed_size() -> None:
    spread = [0.97, 1.0, 1.03, 1.01, 0.99, 1.0]
    cells = []
    for n in (100, 1000, 10000):
        floor = [n * 1e-6 * s for s in spread]
        cells.append(_cell(n, floor, "dbapi"))
        cells.append(_cell(n, [f * 2 * (n / 100) ** 0.1 for f in floor]))  # grows
        cells.append(_cell(n, [f * 3 for f in floor], "django"))  # steady
        # a third backend that failed at the middle size: left out of its fit
        status = "failed" if n == 1000 else "passed"
        cells.append(_cell(n, [f * 3 for f in floor], "other", status=status))
    sweep = {s.backend: s for s in build_sweep(cells, margin=5.0)}
    assert sweep["sqlalchemy"].floor_trend == "grows"
    assert math.isclose(sweep["sqlalchemy"].floor_growth, 100**0.1, rel_tol=0.05)
    assert sweep["django"].floor_trend == "steady"
    assert sweep["dbapi"].floor_trend == "" and math.isclose(sweep["dbapi"].exponent, 1)
    assert "left out: 1,000 rows" in sweep["other"].note
    assert sweep["other"].points[1].median_s is None and sweep["other"].exponent is not None
    assert trend(0.9, 1.2, 5.0) == "unclear" and trend(0.5, 0.8, 5.0) == "shrinks"
    # One size only: no sweep at all.
    assert build_sweep([c for c in cells if c.rows == 100]) == []


def _result(cells: list[Cell], shard: str = "") -> RunResult:
    return RunResult(
        schema_version=2,
        tool_version="test",
        started_at="2026-01-01T00:00:00+00:00",
        wall_s=1.0,
        complete=True,
        environment={},
        plan={"rows": 100, "sizes": [100, 1000], "rounds": 6, "shard": shard},
        scenarios={},
        backends={},
        databases=[DatabaseInfo(label="db", family="sqlite")],
        cells=cells,
    )


def test_merge_and_compare_keep_sizes_apart() -> None:
    rounds = [1.0, 1.1, 0.9, 1.0, 1.05, 0.95]
    small = [_cell(100, rounds), _cell(100, rounds, "dbapi")]
    large = [_cell(1000, [r * 10 for r in rounds]), _cell(1000, [r * 5 for r in rounds], "dbapi")]
    merged = merge([_result(small, "1/2"), _result(large, "2/2")], ["a.json", "b.json"])
    assert len(merged.cells) == 4 and len(merged.sweep) == 2
    assert {c.rows for c in merged.comparisons} == {100, 1000}
    same = compare(merged, merged, 0.1)
    assert len(same.changes) == 4
    assert {c.scenario for c in same.changes} == {"get (100 rows)", "get (1,000 rows)"}
    # Each cell met its own size: the same rounds, no change (a large cell against a small
    # one would be a tenfold change).
    assert all(c.ratio == 1 for c in same.changes), same.changes
