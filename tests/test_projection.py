"""Verdicts projected at a network distance (`--rtt`): the arithmetic on synthetic cells, the
option's input, and a run on PostgreSQL whose projections follow its round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.judging.projection import parse_rtt, project_cell
from harness.targets.errors import ConfigurationError
from reports.model import Cell, TraceCounts, Verification


def test_parse_rtt_units_lists_and_repeats() -> None:
    assert parse_rtt(["1ms", "0.5ms,2", "500us", "1ms"]) == (0.001, 0.0005, 0.002)
    assert parse_rtt(["0"]) == (0.0,)
    assert parse_rtt([]) == ()
    for bad in ("fast", "-1ms", "1 parsec", "20s"):
        with pytest.raises(ConfigurationError):
            parse_rtt([bad])


def cell(rounds: list[float], trips: int | None) -> Cell:
    trace = TraceCounts(
        operations=10, statements=10, transaction_control=0, commits=0, rollbacks=0,
        rows_sent=10, rows_fetched=0, by_kind={}, sql=[], round_trips=trips,
    )  # fmt: skip
    return Cell(
        database="db", scenario="create", backend="django", rows=10, operations=10,
        rounds_s=rounds, median_s=None, iqr_s=None, ops_per_s=None, rows_per_s=None,
        trace=trace, verification=Verification("passed"),
    )  # fmt: skip


def test_each_round_grows_by_its_round_trips_times_the_extra_distance() -> None:
    projected = project_cell(cell([0.010, 0.012, 0.011], trips=30), extra_per_trip=0.001)
    assert projected is not None
    assert projected.rounds_s == pytest.approx([0.040, 0.042, 0.041])
    assert projected.median_s == pytest.approx(0.041)
    # No wire counts (SQLite), or a distance nearer than the local round trip that would
    # leave nothing: no projection.
    assert project_cell(cell([0.010], trips=None), 0.001) is None
    assert project_cell(cell([0.010], trips=30), -0.001) is None


def test_bad_rtt_is_one_line(cli) -> None:
    result = cli("run", "--rtt", "soon")
    assert result.code == 2
    assert "--rtt 'soon' is not a round-trip time" in result.stderr
    assert "Traceback" not in result.stderr


def test_postgresql_projection_follows_round_trips(cli, tmp_path: Path, postgres_url) -> None:
    result = cli(
        "run", "--db", postgres_url, "--scenarios", "create", "--rows", "20", "--rounds", "6",
        "--warmup", "0", "--rtt", "0,1ms", "--rtt", "50ms", "--output", str(tmp_path / "r"),
    )  # fmt: skip
    assert result.code == 0, result.stderr
    data = json.loads((tmp_path / "r/results.json").read_text())
    (info,) = data["databases"]
    assert 0 < info["local_rtt_s"] < 0.05
    assert data["plan"]["rtt"] == [0.0, 0.001, 0.05]
    projections = {(p["idiom"], p["rtt_s"]): p for p in data["projections"]}
    assert set(projections) == {(i, d) for i in ("documented", "equal") for d in (0, 0.001, 0.05)}
    trips = {(c["backend"], c["idiom"]): c["trace"]["round_trips"] for c in data["cells"]}
    # Far enough away, time is round trips: SQLAlchemy's documented create (BEGIN, INSERT,
    # COMMIT per row) over Django's (INSERT alone) tends to their ratio of round trips.
    far = projections[("documented", 0.05)]["ratio"]
    expected = trips[("sqlalchemy", "documented")] / trips[("django", "documented")]
    assert far == pytest.approx(expected, rel=0.1)
    report = (tmp_path / "r/report.md").read_text()
    assert "### Verdicts at network distance" in report
    assert "| at 0 ms | at 1 ms | at 50 ms |" in report
    html = (tmp_path / "r/report.html").read_text()
    assert "<h4>Verdicts at network distance</h4>" in html
    assert "<th>at 0 ms</th><th>at 1 ms</th><th>at 50 ms</th>" in html
