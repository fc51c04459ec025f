"""How many timed rounds a run gets: by default enough for a verdict to survive the correction
across the plan's verdicts, and a note before the run when the rounds asked for cannot."""

from __future__ import annotations

import pytest

from backends import BACKENDS, load_backend
from harness.judging.verdicts import build_comparisons, planned_verdicts, rounds_for_claims
from reports.model import Cell, Verification
from scenarios import REGISTRY, resolve
from scenarios.idioms import IDIOMS

# A server that is not there: the run stops at connecting, after the rounds were decided.
NOWHERE = "postgresql://nobody@127.0.0.1:9/nothing"


def _cell(scenario: str, backend: str, rounds: list[float]) -> Cell:
    return Cell(
        database="db",
        scenario=scenario,
        backend=backend,
        rows=1,
        operations=1,
        rounds_s=rounds,
        median_s=None,
        iqr_s=None,
        ops_per_s=None,
        rows_per_s=None,
        trace=None,
        verification=Verification("passed"),
    )


def _verdicts(family: int, rounds: int) -> set[str]:
    """The verdicts of `family` scenarios where Django is 2x faster in every round."""
    cells = []
    for i in range(family):
        cells.append(_cell(f"s{i}", "sqlalchemy", [2.0] * rounds))
        cells.append(_cell(f"s{i}", "django", [1.0] * rounds))
    return {c.verdict for c in build_comparisons(cells) if c.kind == "orm"}


@pytest.mark.parametrize("family", [3, 16, 28, 54])
def test_the_rounds_for_a_family_let_a_clear_difference_through_and_one_fewer_cannot(family):
    need = rounds_for_claims(family)
    assert _verdicts(family, need) == {"Django 2.00x faster"}
    (fewer,) = _verdicts(family, need - 1)
    assert fewer.startswith(f"inconclusive ({need - 1} rounds cannot support")


def test_planned_verdicts_count_a_shared_comparison_once():
    backends = [load_backend(name) for name in BACKENDS]
    default = [cls for cls in REGISTRY.values() if cls.default]
    distinct = planned_verdicts(default, backends, IDIOMS)
    assert len(default) < distinct < 2 * len(default)  # get's two idioms are one comparison
    assert planned_verdicts(default, backends, IDIOMS, sizes=3) == 3 * distinct
    assert planned_verdicts(default, backends, ("documented",)) == len(default)
    no_django = [load_backend("sqlalchemy"), load_backend("dbapi")]
    assert planned_verdicts(default, no_django, IDIOMS) == 0


def test_the_default_rounds_grow_with_the_plan_and_say_so(cli):
    every = planned_verdicts(resolve(["all"]), map(load_backend, BACKENDS), IDIOMS)
    assert rounds_for_claims(every) > 10  # else this test shows nothing
    run = cli("run", "--db", NOWHERE, "--scenarios", "all", "--connect-timeout", "1")
    assert run.code == 2, run.stderr  # stopped at connecting, as planned
    said = " ".join(run.stderr.split())
    assert f"rounds: {rounds_for_claims(every)}, the fewest" in said
    assert f"the plan's {every} SQLAlchemy/Django verdicts" in said
    # The default plan keeps its 10 rounds, quietly.
    run = cli("run", "--db", NOWHERE, "--connect-timeout", "1")
    assert "rounds:" not in run.stderr and "note:" not in run.stderr


def test_too_few_rounds_asked_for_are_named_before_the_run(cli):
    run = cli("run", "--db", NOWHERE, "--rounds", "6", "--connect-timeout", "1")
    said = " ".join(run.stderr.split())
    assert "note: 6 rounds cannot support any of the plan's" in said
    assert "--rounds 10 or more can" in said
    assert said.index("note:") < said.index("ormbench: error:")  # before the run, not after
    assert "note:" not in cli("run", "--db", NOWHERE, "--rounds", "10", "-q").stderr
