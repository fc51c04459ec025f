"""`ormbench compare` on result files built from known timings: verdicts, one-sided and
unverified cells, notes about differing runs, exit codes, and unusable input."""

from __future__ import annotations

import json
import random
import re
from dataclasses import replace

import pytest

from harness.gating.compare import (
    FLOOR_MOVED,
    IMPROVEMENT,
    INCONCLUSIVE,
    NOT_COMPARABLE,
    NOT_VERIFIED,
    ONLY_BASELINE,
    ONLY_CURRENT,
    REGRESSION,
    WITHIN,
    compare,
)
from harness.judging.stats import iqr, median
from reports.model import SCHEMA_VERSION, Cell, DatabaseInfo, RunResult, Verification

DB = "postgresql+psycopg://ci@db:5432/bench"


def rounds(center: float, noise: float, seed: int, n: int = 10) -> list[float]:
    """n timings around `center` with relative Gaussian noise, reproducible."""
    rng = random.Random(seed)
    return [center * (1 + rng.gauss(0, noise)) for _ in range(n)]


def cell(scenario: str, backend: str, timings: list[float], status: str = "passed") -> Cell:
    mid = median(timings)
    return Cell(
        database=DB,
        scenario=scenario,
        backend=backend,
        rows=1000,
        operations=1000,
        rounds_s=timings,
        median_s=mid,
        iqr_s=iqr(timings),
        ops_per_s=1000 / mid,
        rows_per_s=1000 / mid,
        trace=None,
        verification=Verification(status, "" if status == "passed" else "table differs"),
    )


def result(cells: list[Cell], **changes) -> RunResult:
    base = RunResult(
        schema_version=SCHEMA_VERSION,
        tool_version="0.1.0",
        started_at="2026-01-01T00:00:00+00:00",
        wall_s=1.0,
        complete=True,
        environment={"python": "CPython 3.11.7", "sqlalchemy": "2.0.40", "django": "5.2"},
        plan={"rows": 1000, "rounds": 10, "warmup": 1, "seed": 42},
        scenarios={},
        backends={},
        databases=[
            DatabaseInfo(
                label=DB,
                family="postgresql",
                server_version="PostgreSQL 16.4 on x86_64",
                driver="psycopg",
                driver_version="3.2.1",
            )
        ],
        cells=cells,
    )
    return replace(base, **changes)


def statuses(baseline: RunResult, current: RunResult, threshold: float = 0.10) -> dict:
    return {
        (c.scenario, c.backend): c.status for c in compare(baseline, current, threshold).changes
    }


def test_known_timings_get_the_right_verdicts():
    baseline = result(
        [
            cell("get", "sqlalchemy", rounds(0.100, 0.03, 1)),  # unchanged, with noise
            cell("get", "django", rounds(0.200, 0.03, 2)),  # becomes 2x slower
            cell("update", "sqlalchemy", rounds(0.500, 0.01, 3)),  # 5% slower: under 10%
            cell("update", "django", rounds(0.600, 0.02, 4)),  # becomes twice as fast
            cell("delete", "django", rounds(0.300, 0.30, 5)),  # too noisy to say
        ]
    )
    current = result(
        [
            cell("get", "sqlalchemy", rounds(0.100, 0.03, 11)),
            cell("get", "django", rounds(0.400, 0.03, 12)),
            cell("update", "sqlalchemy", rounds(0.525, 0.01, 13)),
            cell("update", "django", rounds(0.300, 0.02, 14)),
            cell("delete", "django", rounds(0.330, 0.30, 15)),
        ]
    )
    assert statuses(baseline, current) == {
        ("get", "sqlalchemy"): WITHIN,
        ("get", "django"): REGRESSION,
        ("update", "sqlalchemy"): WITHIN,
        ("update", "django"): IMPROVEMENT,
        ("delete", "django"): INCONCLUSIVE,
    }


def drifting(scale: float, seed: int, slow: str = "", factor: float = 1.0) -> list[Cell]:
    """One scenario's three interleaved cells; every round shares a machine-speed factor
    (`scale` times a per-round wobble), as interleaved backends do; `slow` is slowed."""
    rng = random.Random(seed)
    speed = [scale * (1 + rng.gauss(0, 0.05)) for _ in range(10)]
    base = {"sqlalchemy": 0.40, "django": 0.25, "dbapi": 0.20}
    cells = []
    for backend, t in base.items():
        k = factor if backend == slow else 1.0
        cells.append(cell("create", backend, [t * k * s * (1 + rng.gauss(0, 0.01)) for s in speed]))
    return cells


def test_drift_that_hits_every_backend_alike_is_not_a_regression():
    """The database got 25% slower between runs: the floor says so, no ORM cell regresses."""
    found = statuses(result(drifting(1.0, 1)), result(drifting(1.25, 2)))
    assert found == {
        ("create", "sqlalchemy"): WITHIN,
        ("create", "django"): WITHIN,
        ("create", "dbapi"): FLOOR_MOVED,
    }


def test_a_slowed_orm_is_flagged_through_drift_the_other_way():
    """SQLAlchemy 1.5x slower while the machine got 20% faster: still a regression."""
    found = statuses(result(drifting(1.0, 3)), result(drifting(0.8, 4, "sqlalchemy", 1.5)))
    assert found[("create", "sqlalchemy")] == REGRESSION
    assert found[("create", "django")] == WITHIN


def test_a_floor_that_got_faster_does_not_make_an_orm_regress():
    before = result(drifting(1.0, 5))
    after = result(
        [
            c if c.backend != "dbapi" else replace(c, rounds_s=[x * 0.7 for x in c.rounds_s])
            for c in drifting(1.0, 6)
        ]
    )
    comparison = compare(before, after, 0.10)
    found = {c.backend: c for c in comparison.changes}
    assert found["sqlalchemy"].status == INCONCLUSIVE
    assert found["sqlalchemy"].floor_ratio > 1.3  # against the floor it looks 40% slower
    assert "own time did not clearly change" in found["sqlalchemy"].reason


def test_without_a_floor_the_own_time_is_judged():
    before = result([c for c in drifting(1.0, 7) if c.backend != "dbapi"])
    after = result([c for c in drifting(1.0, 8, "django", 2.0) if c.backend != "dbapi"])
    (sqlalchemy, django) = compare(before, after, 0.10).changes
    assert django.status == REGRESSION and django.floor_ratio is None
    assert "no floor" in django.reason


def test_the_interval_brackets_the_change_and_the_threshold_moves_the_gate():
    baseline = result([cell("get", "django", rounds(0.100, 0.01, 1))])
    current = result([cell("get", "django", rounds(0.130, 0.01, 2))])  # 30% slower
    (change,) = compare(baseline, current, 0.10).changes
    assert change.status == REGRESSION
    assert change.ci_low < change.ratio < change.ci_high
    assert 1.2 < change.ratio < 1.4
    (change,) = compare(baseline, current, 0.50).changes
    assert change.status == WITHIN


def test_one_sided_cells_are_listed_not_failed(cli, tmp_path):
    baseline = result(
        [cell("get", "django", rounds(0.1, 0.02, 1)), cell("filter", "django", [0.1] * 10)]
    )
    current = result(
        [cell("get", "django", rounds(0.1, 0.02, 2)), cell("create", "django", [0.1] * 10)]
    )
    found = statuses(baseline, current)
    assert found[("filter", "django")] == ONLY_BASELINE
    assert found[("create", "django")] == ONLY_CURRENT
    baseline.write(tmp_path / "base.json")
    current.write(tmp_path / "current.json")
    run = cli("compare", "base.json", "current.json")
    assert run.code == 0, run.stderr
    assert "only in baseline" in run.stdout and "only in current" in run.stdout


def test_unverified_cells_are_reported_not_judged(cli, tmp_path):
    judged = cell("filter", "django", [0.1] * 10)
    baseline = result([cell("get", "django", rounds(0.1, 0.02, 1)), judged])
    current = result([cell("get", "django", rounds(0.3, 0.02, 2), status="failed"), judged])
    change = compare(baseline, current, 0.10).changes[0]
    assert change.status == NOT_VERIFIED
    assert "current failed" in change.reason
    baseline.write(tmp_path / "base.json")
    current.write(tmp_path / "current.json")
    run = cli("compare", "base.json", "current.json")
    assert run.code == 0, run.stdout
    assert "not verified" in run.stdout


def test_a_gate_that_compared_nothing_does_not_pass(cli, tmp_path):
    """Two runs of different plans (other sizes, other scenarios) share no ORM cell the gate
    can judge: that is no pass, but exit 5 and a line saying so."""
    baseline = result(
        [cell("get", "django", rounds(0.1, 0.02, 1)), cell("filter", "sqlalchemy", [0.1] * 10)]
    )
    current = result(
        [
            replace(cell("get", "django", rounds(0.1, 0.02, 2)), rows=500),
            cell("create", "sqlalchemy", [0.1] * 10),
        ],
        plan={"rows": 500, "rounds": 10, "warmup": 1, "seed": 42},
    )
    outcome = compare(baseline, current, 0.10)
    assert outcome.compared_nothing and not outcome.regressions
    baseline.write(tmp_path / "base.json")
    current.write(tmp_path / "current.json")
    run = cli("compare", "base.json", "current.json", "--markdown", "compare.md")
    assert run.code == 5, run.stdout + run.stderr
    assert "nothing compared" in run.stdout and "no regression" not in run.stdout
    assert "cannot pass" in " ".join(run.stdout.split())
    assert "Nothing compared" in (tmp_path / "compare.md").read_text()
    # One judged ORM cell beside them, and the gate passes again.
    judged = cell("update", "django", [0.1] * 10)
    replace(baseline, cells=[*baseline.cells, judged]).write(tmp_path / "base.json")
    replace(current, cells=[*current.cells, judged]).write(tmp_path / "current.json")
    assert cli("compare", "base.json", "current.json").code == 0


def test_cells_of_different_sizes_are_not_compared():
    baseline = result([cell("get", "django", rounds(0.1, 0.02, 1))])
    current = result([replace(cell("get", "django", rounds(0.3, 0.02, 2)), rows=500)])
    (change,) = compare(baseline, current, 0.10).changes
    assert change.status == NOT_COMPARABLE


def test_a_regression_exits_1_and_is_named(cli, tmp_path):
    result([cell("get", "django", rounds(0.1, 0.02, 1))]).write(tmp_path / "base.json")
    result([cell("get", "django", rounds(0.2, 0.02, 2))]).write(tmp_path / "current.json")
    run = cli("compare", "base.json", "current.json", "--markdown", "compare.md")
    assert run.code == 1, run.stderr
    assert "regression" in run.stdout
    markdown = (tmp_path / "compare.md").read_text()
    assert "| get | Django |" in markdown and "**regression**" in markdown
    # A higher threshold lets the same change through.
    assert cli("compare", "base.json", "current.json", "--threshold", "150").code == 0


def test_differing_runs_are_stated_at_the_top():
    baseline = result([cell("get", "django", rounds(0.1, 0.02, 1))])
    current = result(
        [cell("get", "django", rounds(0.1, 0.02, 2))],
        schema_version=SCHEMA_VERSION + 1,
        environment={"python": "CPython 3.12.1", "sqlalchemy": "2.0.40", "django": "5.2"},
        databases=[replace(baseline.databases[0], driver_version="3.2.9")],
    )
    notes = compare(baseline, current, 0.10).notes
    assert any(n.startswith("schema_version differs") for n in notes)
    assert any("python differs" in n and "3.12.1" in n for n in notes)
    assert any("driver version differs" in n and "3.2.9" in n for n in notes)


def test_one_database_under_another_label_is_matched_and_noted():
    baseline = result([cell("get", "django", rounds(0.1, 0.02, 1))])
    other = DB.replace("bench", "bench2")
    current = result(
        [replace(cell("get", "django", rounds(0.1, 0.02, 2)), database=other)],
        databases=[replace(baseline.databases[0], label=other)],
    )
    comparison = compare(baseline, current, 0.10)
    assert [c.status for c in comparison.changes] == [WITHIN]
    assert any("labels differ" in n for n in comparison.notes)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{not json", "not JSON"),
        ("[1, 2, 3]", "neither an ormbench results.json nor pytest-benchmark JSON"),
        ('{"schema_version": 1, "cells": [{"scenario": "get"}]}', "documented format"),
        ('{"benchmarks": [{"name": "x"}], "machine_info": {}}', "without ormbench benchmarks"),
    ],
)
def test_unusable_input_exits_2_with_one_line(cli, tmp_path, content, message):
    result([cell("get", "django", [0.1] * 10)]).write(tmp_path / "base.json")
    if content is not None:
        (tmp_path / "current.json").write_text(content)
    run = cli("compare", "base.json", "current.json")
    assert run.code == 2
    assert message in run.stderr
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert run.stderr.startswith("ormbench: error: ")


def test_results_json_written_by_the_model_round_trips(tmp_path):
    original = result([cell("get", "django", rounds(0.1, 0.02, 1))])
    original.write(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["schema_version"] == SCHEMA_VERSION
    assert statuses(original, RunResult.read(tmp_path / "r.json")) == {("get", "django"): WITHIN}


SCENARIO_NAMES = ("create", "bulk_create", "get", "filter", "update", "delete")


def everything(scale: float, seed: int, slow: str = "", factor: float = 1.0) -> list[Cell]:
    """Every scenario's interleaved cells, as `drifting` makes one scenario's."""
    return [
        replace(c, scenario=name)
        for i, name in enumerate(SCENARIO_NAMES)
        for c in drifting(scale, seed * 100 + i, slow, factor)
    ]


def test_a_uniform_3x_slowdown_is_not_a_silent_pass(cli, tmp_path):
    """Database, driver or runner 3x slower for everyone: no ORM cell moved against the floor,
    but the comparison must not pass: exit 3, with the move named; accepted only on request."""
    result(everything(1.0, 1)).write(tmp_path / "base.json")
    result(everything(3.0, 2)).write(tmp_path / "current.json")
    run = cli("compare", "base.json", "current.json", "--markdown", "compare.md")
    assert run.code == 3, run.stdout + run.stderr
    said = " ".join(run.stdout.split())
    assert re.search(r"not comparable: the database or machine changed by \+(19|20)\d%", said)
    assert "not comparable" in (tmp_path / "compare.md").read_text()
    accepted = cli("compare", "base.json", "current.json", "--accept-floor-move")
    assert accepted.code == 0, accepted.stdout


def test_one_backend_slowed_1_5x_is_flagged_in_every_cell():
    found = statuses(result(everything(1.0, 3)), result(everything(1.0, 4, "django", 1.5)))
    assert {s for (_, b), s in found.items() if b == "django"} == {REGRESSION}
    assert {s for (_, b), s in found.items() if b == "sqlalchemy"} == {WITHIN}


def test_equal_runs_pass_with_exit_0(cli, tmp_path):
    result(everything(1.0, 5)).write(tmp_path / "base.json")
    result(everything(1.0, 6)).write(tmp_path / "current.json")
    run = cli("compare", "base.json", "current.json")
    assert run.code == 0, run.stdout
    assert "no regression" in run.stdout


def test_fewer_than_6_rounds_a_side_are_not_gated():
    short = [replace(c, rounds_s=c.rounds_s[:5]) for c in drifting(1.0, 7, "django", 2.0)]
    outcome = compare(result(drifting(1.0, 8)), result(short), 0.10)
    assert {c.status for c in outcome.changes} == {NOT_COMPARABLE}
    assert all("gating needs 6 or more" in c.reason for c in outcome.changes)
    assert any("fewer than 6 timed rounds" in note for note in outcome.notes)


def test_unpaired_rounds_use_the_independent_samples_interval():
    """pytest-benchmark runs each backend's rounds in a block: round i of Django did not run
    beside round i of the floor, so the floor-relative change is not taken round by round."""
    plan = {"rows": 1000, "rounds": 10, "warmup": 1, "seed": 42, "source": "pytest-benchmark"}
    baseline = result(drifting(1.0, 9), plan=plan)
    current = result(drifting(1.0, 10, "django", 1.5), plan=plan)
    found = {c.backend: c for c in compare(baseline, current, 0.10).changes}
    assert found["django"].status == REGRESSION
    assert "independent-samples" in found["django"].reason
    assert found["sqlalchemy"].status == WITHIN


def noisy_runs(count: int, noise: float, seed: int) -> list[RunResult]:
    """`count` runs of one plan whose ORM cells wander against the floor by `noise` between
    runs (run-to-run noise, e.g. a shared CI runner), each started a minute after the last."""
    runs = []
    rng = random.Random(seed)
    for i in range(count):
        wander = {b: 1 + rng.gauss(0, noise) for b in ("sqlalchemy", "django")}
        cells = [
            replace(c, rounds_s=[t * wander.get(c.backend, 1.0) for t in c.rounds_s])
            for c in drifting(1.0, seed * 1000 + i)
        ]
        runs.append(result(cells, started_at=f"2026-01-01T00:{i:02d}:00+00:00"))
    return runs


def history_folder(tmp_path, runs: list[RunResult]):
    folder = tmp_path / "history"
    for i, run in enumerate(runs):
        (folder / f"run{i}").mkdir(parents=True)
        run.write(folder / f"run{i}" / "results.json")
    return folder


def slowed(run: RunResult, backend: str, factor: float) -> RunResult:
    cells = [
        replace(c, rounds_s=[t * factor for t in c.rounds_s]) if c.backend == backend else c
        for c in run.cells
    ]
    return replace(run, cells=cells, started_at="2026-01-02T00:00:00+00:00")


def test_history_does_not_flag_a_change_inside_its_noise_and_flags_one_outside(tmp_path):
    from harness.gating.history import compare_history

    folder = history_folder(tmp_path, noisy_runs(8, noise=0.10, seed=1))  # ±10% run to run
    typical = result(drifting(1.0, 99))  # a run at the history's centre
    inside = slowed(typical, "django", 1.15)  # beyond the 10% threshold, inside the noise
    inside.write(tmp_path / "inside.json")
    found = {c.backend: c for c in compare_history(folder, tmp_path / "inside.json", 10).changes}
    assert found["django"].status in (WITHIN, INCONCLUSIVE)
    assert "from 8 runs" in found["django"].reason
    outside = slowed(typical, "django", 2.0)
    outside.write(tmp_path / "outside.json")
    found = {c.backend: c for c in compare_history(folder, tmp_path / "outside.json", 10).changes}
    assert found["django"].status == REGRESSION
    assert found["sqlalchemy"].status in (WITHIN, INCONCLUSIVE)


def test_a_quiet_history_flags_what_two_files_would_miss(tmp_path):
    """Where runs agree to ±1%, a 20% slowdown is clearly out of the ordinary."""
    from harness.gating.history import compare_history

    folder = history_folder(tmp_path, noisy_runs(6, noise=0.01, seed=2))
    slowed(result(drifting(1.0, 98)), "sqlalchemy", 1.2).write(tmp_path / "current.json")
    found = {c.backend: c for c in compare_history(folder, tmp_path / "current.json", 10).changes}
    assert found["sqlalchemy"].status == REGRESSION
    assert found["django"].status == WITHIN


def test_history_on_the_command_line(cli, tmp_path):
    history_folder(tmp_path, noisy_runs(6, noise=0.02, seed=3))
    typical = result(drifting(1.0, 97))
    slowed(typical, "django", 1.5).write(tmp_path / "current.json")
    run = cli("compare", "current.json", "--history", "history", "--markdown", "c.md")
    assert run.code == 1, run.stdout + run.stderr
    assert "judged against the last 6 runs of this plan" in " ".join(run.stdout.split())
    typical.write(tmp_path / "same.json")
    assert cli("compare", "same.json", "--history", "history").code == 0
    # Too short a history, or the wrong number of files: one line, exit 2.
    short = cli("compare", "current.json", "--history", "history", "--history-size", "3")
    assert short.code == 2 and "needs 5 or more" in short.stderr
    two = cli("compare", "current.json", "same.json", "--history", "history")
    assert two.code == 2 and "CURRENT --history DIR" in two.stderr
    assert "Traceback" not in short.stderr + two.stderr


def test_one_floor_cell_wandering_is_noise_not_a_changed_machine(cli, tmp_path):
    """Run-to-run noise moves a floor cell now and then; only the floor as a whole moving
    (the database, driver or machine changed) makes two runs not comparable."""
    current = everything(1.0, 12)
    current = [
        replace(c, rounds_s=[t * 1.3 for t in c.rounds_s])
        if (c.scenario, c.backend) in (("get", "dbapi"), ("get", "sqlalchemy"), ("get", "django"))
        else c
        for c in current
    ]
    result(everything(1.0, 11)).write(tmp_path / "base.json")
    result(current).write(tmp_path / "current.json")
    run = cli("compare", "base.json", "current.json")
    assert run.code == 0, run.stdout
    assert "floor moved" in run.stdout and "not comparable: the database" not in run.stdout
    # A 30% slower machine for everything is a changed machine; a wider gate lets it pass.
    result(everything(1.3, 13)).write(tmp_path / "slower.json")
    assert cli("compare", "base.json", "slower.json").code == 3
    assert cli("compare", "base.json", "slower.json", "--floor-threshold", "50").code == 0


def interleaved(seed: int, noise: float, factor: float = 1.0, n: int = 20) -> list[Cell]:
    """SQLAlchemy and the floor in one scenario, rounds interleaved: a shared per-round speed
    (drift) and each backend's own scatter of `noise`; SQLAlchemy slowed by `factor`."""
    rng = random.Random(seed)
    speed = [1 + rng.gauss(0, 0.05) for _ in range(n)]
    return [
        cell("get", backend, [t * s * (1 + rng.gauss(0, noise)) for s in speed])
        for backend, t in (("sqlalchemy", 0.4 * factor), ("dbapi", 0.2))
    ]


def test_catches_is_what_the_gate_really_flags_95_times_in_100():
    """ "catches" promises: a slowdown of that size is flagged in about 95% of comparisons.
    Measured on seeded synthetic runs with 8% scatter per round: at the promised size almost
    every comparison flags it; at two thirds of that excess, clearly fewer do."""
    probe = compare(result(interleaved(1, 0.08)), result(interleaved(2, 0.08)), 0.10)
    (orm,) = [c for c in probe.changes if c.backend == "sqlalchemy"]
    promised = orm.catches
    assert 1.15 < promised < 1.6

    def flagged(factor: float, trials: int = 40) -> int:
        return sum(
            compare(
                result(interleaved(10 + 2 * i, 0.08)),
                result(interleaved(11 + 2 * i, 0.08, factor)),
                0.10,
            ).regressions
            != []
            for i in range(trials)
        )

    assert flagged(promised) >= 36  # >= 90% of 40 at the promised size
    assert flagged(1 + (promised - 1) * 2 / 3) <= 32  # short of it, the gate misses some


def test_a_noisier_cell_catches_only_larger_slowdowns(cli, tmp_path):
    quiet = compare(result(interleaved(3, 0.02)), result(interleaved(4, 0.02)), 0.10)
    noisy = compare(result(interleaved(3, 0.15)), result(interleaved(4, 0.15)), 0.10)
    (q,) = [c for c in quiet.changes if c.backend == "sqlalchemy"]
    (n,) = [c for c in noisy.changes if c.backend == "sqlalchemy"]
    assert 1.10 < q.catches < n.catches
    result(interleaved(3, 0.15)).write(tmp_path / "base.json")
    result(interleaved(4, 0.15)).write(tmp_path / "current.json")
    run = cli("compare", "base.json", "current.json", "--markdown", "c.md")
    said = " ".join(run.stdout.split())
    assert "catches" in said
    assert re.search(
        r"catches a slowdown of an ORM cell with about 95% probability from \+\d+%", said
    )
    assert "| catches |" in (tmp_path / "c.md").read_text()


def test_history_catches_follow_the_history_noise(tmp_path):
    from harness.gating.history import compare_history

    caught = {}
    for noise in (0.01, 0.10):
        folder = history_folder(tmp_path / str(noise), noisy_runs(8, noise=noise, seed=4))
        result(drifting(1.0, 96)).write(tmp_path / "current.json")
        changes = compare_history(folder, tmp_path / "current.json", 10).changes
        caught[noise] = {c.backend: c.catches for c in changes}
    # A quiet history sees what the threshold lets it see; a noisy one only far beyond it.
    assert 1.10 <= caught[0.01]["sqlalchemy"] < 1.2
    assert caught[0.10]["sqlalchemy"] > 1.3


def test_history_catches_is_what_it_really_flags_95_times_in_100():
    from harness.gating.history import judge_history

    past = [(str(i), run) for i, run in enumerate(noisy_runs(10, noise=0.06, seed=5))]

    def judged(current: RunResult) -> dict:
        outcome = judge_history(past, current, 0.10, "current", "history")
        return {c.backend: c for c in outcome.changes}

    promised = judged(noisy_runs(1, noise=0.06, seed=6)[0])["sqlalchemy"].catches
    assert 1.2 < promised < 1.6  # beyond the threshold: the history's noise sets it

    def flagged(factor: float, trials: int = 40) -> int:
        return sum(
            judged(slowed(noisy_runs(1, noise=0.06, seed=100 + i)[0], "sqlalchemy", factor))[
                "sqlalchemy"
            ].status
            == REGRESSION
            for i in range(trials)
        )

    assert flagged(promised) >= 36
    assert flagged(1 + (promised - 1) * 2 / 3) <= 32


def test_must_catch_fails_a_pass_that_could_not_see_the_slowdown(cli, tmp_path):
    """With 15% scatter per round, two 20-round runs cannot see a 25% slowdown: asked to,
    the gate says so and exits 4; one it can see passes; a regression still exits 1."""
    result(interleaved(7, 0.15)).write(tmp_path / "base.json")
    result(interleaved(8, 0.15)).write(tmp_path / "current.json")
    blind = cli("compare", "base.json", "current.json", "--must-catch", "25", "--markdown", "c.md")
    assert blind.code == 4, blind.stdout + blind.stderr
    said = " ".join(blind.stdout.split())
    assert "blind to +25%: 1 of 1 ORM cells cannot catch a slowdown that size" in said
    assert "Blind to +25%" in (tmp_path / "c.md").read_text()
    assert cli("compare", "base.json", "current.json").code == 0  # not asked: a pass
    wide = cli("compare", "base.json", "current.json", "--must-catch", "300")
    assert wide.code == 0 and "blind" not in wide.stdout
    result(interleaved(9, 0.15, factor=3.0)).write(tmp_path / "slow.json")
    assert cli("compare", "base.json", "slow.json", "--must-catch", "25").code == 1
    bad = cli("compare", "base.json", "current.json", "--must-catch", "-5")
    assert bad.code == 2 and "Traceback" not in bad.stderr


def test_history_a_floor_that_alone_got_faster_does_not_make_an_orm_regress(tmp_path):
    """Against the floor SQLAlchemy looks 60% slower, but its own time went down a little:
    the floor moved, not the ORM (as with two files, where the own interval must agree)."""
    from harness.gating.history import judge_history

    past = [(str(i), run) for i, run in enumerate(noisy_runs(8, noise=0.02, seed=7))]
    typical = noisy_runs(1, noise=0.02, seed=8)[0]
    faster_floor = slowed(slowed(typical, "dbapi", 0.6), "sqlalchemy", 0.95)
    found = {c.backend: c for c in judge_history(past, faster_floor, 0.10, "c", "h").changes}
    assert found["sqlalchemy"].floor_ratio > 1.5
    assert found["sqlalchemy"].status == INCONCLUSIVE
    assert "own time did not move that way" in found["sqlalchemy"].reason
    really = slowed(slowed(typical, "dbapi", 0.6), "sqlalchemy", 1.3)
    found = {c.backend: c for c in judge_history(past, really, 0.10, "c", "h").changes}
    assert found["sqlalchemy"].status == REGRESSION  # own time up too: a regression
