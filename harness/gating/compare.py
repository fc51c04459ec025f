"""`ormbench compare`: a baseline run against a current one, cell by cell (database, scenario,
backend), with the change in median and its 95% interval, and a regression gate that speaks
only when the interval clears the threshold.

Two runs of the same code on one machine differ by more than their rounds say: the database
and the machine change speed between runs (on our PostgreSQL, 10-25% on per-row commits and on
the 1 ms filter, for all backends at once), so an interval from the rounds alone cried wolf in
4 of 90 cells over five back-to-back pairs. Rounds interleave the backends, so that drift hits
the raw DB-API floor in the same rounds alike. An ORM cell is therefore judged on two intervals
(seeded percentile bootstrap of a ratio of medians, `stats.independent_ratio`):

- its change relative to the floor: per-round (ORM time / floor time), current over baseline —
  this one must clear the threshold;
- its own change in median — this one must exclude "no change" in the same direction, so a
  floor that merely got faster or slower cannot make an ORM cell regress or improve.

Verdicts (threshold t, e.g. 0.10):
- "regression": the floor-relative interval lies wholly above 1 + t and the cell's own interval
  wholly above 1;
- "improvement": the floor-relative interval lies wholly below 1 / (1 + t) — the mirror image
  of a regression (1.1x slower <-> 1.1x faster), so neither direction is easier to claim — and
  the cell's own interval wholly below 1;
- "within threshold": the interval lies between the two; "inconclusive": anything else;
- the floor itself is the yardstick: a floor cell beyond the threshold is "floor moved"; when a
  database's floor as a whole moved (the geometric mean of its floor cells beyond
  ±floor_threshold, most of them moved that way) the comparison is "not comparable: the
  database or machine changed" (its own exit code) unless the caller accepts that
  (`--accept-floor-move`), since a uniform slowdown of everything moves the floor and the ORM
  cells alike and the floor-relative rule alone would pass it;
- gating needs MIN_GATE_ROUNDS timed rounds a side: cells with fewer are "not comparable";
- rounds that were not interleaved (a pytest-benchmark file on either side) do not pair: the
  floor-relative change then comes from an independent-samples interval of the four samples;
- without a floor on both sides (no raw DB-API backend, or its cell failed verification) the
  cell's own interval is judged against the threshold, and the reason says so;
- cells whose verification did not pass on either side, that hold no rounds, or that were run
  with different sizes are listed with that reason and not judged; cells on one side only are
  listed, never failed;
- when either run is a size sweep (`--rows 100,1000`), cells are matched size by size, the
  scenario named with its size ("get (1,000 rows)"), each against its own size's floor.

Every judged cell also says what the gate could see there ("catches"): the smallest slowdown
it would flag with about 95% probability, from the width of the interval it judged. "No
regression" from a comparison that catches only +60% is a weak claim, and the output says so.
"""

from __future__ import annotations

import math
import statistics
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

from backends import FLOOR
from harness.gating.results_file import PYTEST_SOURCE, load_result
from harness.gating.run_notes import database_notes, mapping_notes, plan_notes
from harness.judging.stats import Interval, independent_ratio, independent_relative, median
from harness.measuring.instructions import INSTRUCTIONS
from reports.instructions import count_text
from reports.model import Cell, RunResult

DEFAULT_THRESHOLD = 10.0  # percent
# The gate on instructions per operation, for cells counted on both sides (`--measure
# instructions`). Counts of the same code repeat from run to run within 0.33% on SQLite and
# 0.48% on PostgreSQL (10 runs; README), and no pair of them crossed 0.5%; a 3% rise is flagged in
# every cell. Before a type-attribute cache miss's MRO walk was left out of counts
# (harness.measuring.instructions), a whole run's memory layout moved a cell by up to 1.5%, and
# the threshold was set above that; it stays, a margin over what is measured now.
DEFAULT_COUNT_THRESHOLD = 2.0  # percent
# How far a database's floor as a whole may move before two runs stop being comparable
# (CompareResult.moved_databases): wider than the cells' threshold, since run-to-run drift of
# the whole machine or database reaches ±16% on our PostgreSQL with no change at all.
DEFAULT_FLOOR_THRESHOLD = 25.0  # percent
# Fewer rounds than this a side and a cell is not gated: at 3-5 rounds a bootstrap interval of
# a median excludes "no change" in 10-13% of no-change trials.
MIN_GATE_ROUNDS = 6

REGRESSION = "regression"
IMPROVEMENT = "improvement"
WITHIN = "within threshold"
INCONCLUSIVE = "inconclusive"
FLOOR_MOVED = "floor moved"
NOT_VERIFIED = "not verified"
NOT_COMPARABLE = "not comparable"
ONLY_BASELINE = "only in baseline"
ONLY_CURRENT = "only in current"

JUDGED = (REGRESSION, IMPROVEMENT, WITHIN, INCONCLUSIVE, FLOOR_MOVED)


@dataclass(frozen=True)
class CellChange:
    """One database x scenario x backend x idiom, baseline against current."""

    database: str
    scenario: str
    backend: str
    idiom: str  # "documented", "equal" or "floor" (reports.model.Cell.idiom)
    status: str
    baseline_median_s: float | None = None
    current_median_s: float | None = None
    ratio: float | None = None  # current median / baseline median
    ci_low: float | None = None
    ci_high: float | None = None
    # the same, of the per-round ratio to the raw DB-API floor (None: judged without a floor)
    floor_ratio: float | None = None
    floor_ci_low: float | None = None
    floor_ci_high: float | None = None
    reason: str = ""
    # The smallest slowdown (a ratio, 1.25 for +25%) this comparison would flag as a
    # regression with about 95% probability, given the noise it saw in this cell (None: the
    # cell was not judged, or had no interval). A gate is only as good as what it can see.
    catches: float | None = None
    # "instructions": judged on instructions per operation (both sides counted), else "time"
    measure: str = "time"


@dataclass(frozen=True)
class CompareResult:
    baseline: str  # the file names, as given
    current: str
    threshold: float  # a fraction: 0.10 for 10%
    notes: list[str]  # differences between the two runs that a reader must know first
    changes: list[CellChange] = field(default_factory=list)
    rule: str = ""  # the gate's rule in words, where it is not the two-file one
    floor_threshold: float = DEFAULT_FLOOR_THRESHOLD / 100  # a fraction: the floor's own gate
    # `--must-catch`: the slowdown (a fraction, 0.25) every judged ORM cell must be able to
    # catch; None: not asked
    must_catch: float | None = None
    count_threshold: float = DEFAULT_COUNT_THRESHOLD / 100  # a fraction: the gate on counts

    @property
    def counted(self) -> bool:
        """Were any cells judged on instructions rather than time?"""
        return any(c.measure == INSTRUCTIONS for c in self.changes)

    @property
    def regressions(self) -> list[CellChange]:
        return [c for c in self.changes if c.status == REGRESSION]

    @property
    def moved_databases(self) -> list[tuple[str, float, int, int]]:
        """Databases whose raw DB-API floor as a whole moved: the geometric mean of its floor
        cells' changes lies beyond ±floor_threshold, and most of those cells moved that way on
        their own ("floor moved"). One floor cell wandering is run-to-run noise (on our
        PostgreSQL a single floor moved beyond ±10% in 7 of 20 no-change pairs, while the
        database's mean stayed within ±16%); a database, driver or machine that changed moves
        them all. (database, change, cells moved, floor cells) each."""
        moved = []
        for database in dict.fromkeys(c.database for c in self.changes):
            floors = [
                c
                for c in self.changes
                if c.database == database and c.backend == FLOOR and c.ratio and c.ratio > 0
            ]
            if not floors:
                continue
            change = math.exp(statistics.fmean(math.log(c.ratio) for c in floors))
            if abs(math.log(change)) <= math.log(1 + self.floor_threshold):
                continue
            same_way = [
                c for c in floors if c.status == FLOOR_MOVED and (c.ratio > 1) == (change > 1)
            ]
            if 2 * len(same_way) > len(floors):
                moved.append((database, change, len(same_way), len(floors)))
        return moved

    def floor_move_line(self) -> str:
        """One line naming the largest move of a database's floor, or "" when none moved."""
        if not self.moved_databases:
            return ""
        database, change, moved, floors = max(
            self.moved_databases, key=lambda m: abs(math.log(m[1]))
        )
        return (
            f"not comparable: the database or machine changed by {(change - 1) * 100:+.0f}% "
            f"(the raw DB-API floor on {database}, geometric mean over its scenarios; {moved} "
            f"of {floors} floor cells moved; gate ±{self.floor_threshold * 100:g}%)"
        )

    def _judged_orm(self) -> list[CellChange]:
        return [c for c in self.changes if c.backend != FLOOR and c.status in JUDGED]

    def catch_line(self) -> str:
        """One line on what the gate could see: the smallest slowdown of an ORM cell it would
        flag with about 95% probability, typical and worst, or "" when no cell says."""
        judged = [c for c in self._judged_orm() if c.catches is not None]
        if not judged:
            return ""
        typical = statistics.median(c.catches for c in judged)
        line = (
            f"this comparison catches a slowdown of an ORM cell with about 95% probability "
            f"from {percent_text(typical)} (the median over {len(judged)} cells); "
            f"{_noisiest(judged)}"
        )
        if max(c.catches for c in judged) > 1.5:
            line += ": more rounds, or `--history`, narrow it"
        return line

    @property
    def compared_nothing(self) -> bool:
        """Did the gate judge no ORM cell at all (different plans, too few rounds, cells in one
        run only)? Then "no regression" would say nothing, and the gate does not pass."""
        return not self._judged_orm()

    def nothing_line(self) -> str:
        """One line saying the gate compared no ORM cell and why it cannot pass, or ""."""
        if not self.compared_nothing:
            return ""
        return (
            "nothing compared: no ORM cell of the current run could be judged against the "
            "baseline (the plans, sizes or cells differ, or a side has too few rounds), so "
            "this comparison cannot pass"
        )

    @property
    def blind(self) -> list[CellChange]:
        """The judged ORM cells that could not catch a `must_catch` slowdown: their noise hides
        it, so "no regression" there says nothing about a change of that size."""
        if self.must_catch is None:
            return []
        bound = 1 + self.must_catch
        return [c for c in self._judged_orm() if c.catches is None or c.catches > bound]

    def blind_line(self) -> str:
        """One line naming how many cells cannot see a `must_catch` slowdown, or ""."""
        blind = self.blind
        if not blind:
            return ""
        return (
            f"blind to +{self.must_catch * 100:g}%: {len(blind)} of {len(self._judged_orm())} "
            f"ORM cells cannot catch a slowdown that size ({_noisiest(blind)}); run more rounds "
            "or judge against --history"
        )

    def count(self, status: str) -> int:
        return sum(1 for c in self.changes if c.status == status)

    @property
    def improvement_bound(self) -> float:
        return 1 / (1 + self.threshold)


def compare_files(
    baseline: Path,
    current: Path,
    threshold_percent: float,
    floor_threshold_percent: float = DEFAULT_FLOOR_THRESHOLD,
    count_threshold_percent: float = DEFAULT_COUNT_THRESHOLD,
) -> CompareResult:
    from harness.targets.errors import ConfigurationError

    for option, value in (
        ("--threshold", threshold_percent),
        ("--count-threshold", count_threshold_percent),
    ):
        if not (0 <= value < 1000) or math.isnan(value):
            raise ConfigurationError(
                f"{option} {value} is out of range", "give a percentage, e.g. 10"
            )
    result = compare(
        load_result(baseline),
        load_result(current),
        threshold_percent / 100,
        str(baseline),
        str(current),
        count_threshold_percent / 100,
    )
    return replace(result, floor_threshold=floor_threshold_percent / 100)


def compare(
    baseline: RunResult,
    current: RunResult,
    threshold: float,
    baseline_name: str = "baseline",
    current_name: str = "current",
    count_threshold: float = DEFAULT_COUNT_THRESHOLD / 100,
) -> CompareResult:
    notes: list[str] = []
    if baseline.schema_version != current.schema_version:
        notes.append(
            f"schema_version differs: baseline {baseline.schema_version}, "
            f"current {current.schema_version}; fields may not mean the same"
        )
    base_keys, current_keys = _database_keys(baseline), _database_keys(current)
    if len(set(base_keys.values())) == 1 and len(set(current_keys.values())) == 1:
        (b_key,), (c_key,) = set(base_keys.values()), set(current_keys.values())
        if b_key != c_key:
            # One database on each side: the same target under another name (a scratch
            # database, a CI service on another port) — compare them, and say so.
            notes.append(f"database labels differ: baseline {b_key}, current {c_key}")
            current_keys = dict.fromkeys(current_keys, b_key)
    notes += database_notes(baseline, current, base_keys, current_keys)
    notes += mapping_notes("environment", baseline.environment, current.environment)
    notes += plan_notes(baseline.plan, current.plan)
    for name, result in (("baseline", baseline), ("current", current)):
        if not result.complete:
            notes.append(f"the {name} run is incomplete: {result.incomplete_reason or ''}")
        for info in result.databases:
            if info.error:
                notes.append(f"{name} {info.label}: {info.error}")

    paired = PYTEST_SOURCE not in (
        baseline.plan.get("source"),
        current.plan.get("source"),
    )
    sweep = len(baseline.sizes) > 1 or len(current.sizes) > 1
    before = {_key(c, base_keys, sweep): c for c in baseline.cells}
    after = {_key(c, current_keys, sweep): c for c in current.cells}
    few = [
        name
        for name, result in (("baseline", baseline), ("current", current))
        if any(
            0 < len(c.rounds_s) < MIN_GATE_ROUNDS and not c.instructions_rounds
            for c in result.cells
        )
    ]
    if few:
        notes.append(
            f"the {' and '.join(few)} run{'s have' if len(few) > 1 else ' has'} cells with "
            f"fewer than {MIN_GATE_ROUNDS} timed rounds: those are not gated (run with "
            f"--rounds {MIN_GATE_ROUNDS} or more)"
        )
    changes = [
        judge_counts(key, before[key], after[key], count_threshold)
        if key in after and before[key].instructions_rounds and after[key].instructions_rounds
        else judge(key, before[key], after[key], threshold, _floors(key, before, after), paired)
        if key in after
        else CellChange(*key, status=ONLY_BASELINE, baseline_median_s=before[key].median_s)
        for key in before
    ]
    changes += [
        CellChange(*key, status=ONLY_CURRENT, current_median_s=after[key].median_s)
        for key in after
        if key not in before
    ]
    return CompareResult(
        baseline_name, current_name, threshold, notes, changes, count_threshold=count_threshold
    )


def judge_counts(
    key: tuple[str, str, str, str], before: Cell, after: Cell, threshold: float
) -> CellChange:
    """The verdict on a cell counted on both sides (`--measure instructions`), on its
    instructions per operation. Counts do not scatter as times do, but they do move from round
    to round within a run (the first timed round runs code the warm-up did not; SQLAlchemy's
    filter moved 5% over six rounds), in the same way in every run. So rounds pair by their
    place in the run: round i of the current run over round i of the baseline. A regression is
    a median of those ratios beyond 1 + threshold with every one of them above 1; an
    improvement its mirror image; beyond the threshold with the ratios on both sides of 1,
    "inconclusive"; else "within threshold". The floor beyond it "moved"."""
    base = CellChange(
        *key,
        status="",
        baseline_median_s=before.median_s,
        current_median_s=after.median_s,
        measure=INSTRUCTIONS,
    )
    if (unjudged := _unjudged(base, before, after)) is not None:
        return unjudged
    ratios = paired_count_ratios(after.instructions_rounds, before.instructions_rounds)
    if not ratios:
        return _with(base, NOT_COMPARABLE, "a count of zero")
    ratio = median(ratios)
    upper, lower = 1 + threshold, 1 / (1 + threshold)
    if ratio > upper:
        status = REGRESSION if min(ratios) > 1 else INCONCLUSIVE
    elif ratio < lower:
        status = IMPROVEMENT if max(ratios) < 1 else INCONCLUSIVE
    else:
        status = WITHIN
    if key[2] == FLOOR and status in (REGRESSION, IMPROVEMENT):
        status = FLOOR_MOVED
    reason = (
        f"instructions/op {count_text(before.instructions_per_op)} → "
        f"{count_text(after.instructions_per_op)}"
    )
    if status == INCONCLUSIVE:
        reason += "; some rounds moved the other way"
    return replace(
        base,
        status=status,
        ratio=ratio,
        ci_low=min(ratios),
        ci_high=max(ratios),
        reason=reason,
        # the smallest rise flagged: beyond the threshold, and enough to lift the lowest
        # round's ratio above 1
        catches=max(upper, ratio / min(ratios)),
    )


def paired_count_ratios(numerator: list[int], denominator: list[int]) -> list[float]:
    """Round i over round i, for the rounds both have (rounds run in the same order in
    every run, and interleave the backends within one)."""
    return [a / b for a, b in zip(numerator, denominator, strict=False) if b > 0]


def judge(
    key: tuple[str, str, str, str],
    before: Cell,
    after: Cell,
    threshold: float,
    floors: tuple[Cell, Cell] | None = None,
    paired: bool = True,
) -> CellChange:
    """The verdict on one cell present on both sides; `floors` are the raw DB-API cells of the
    same database and scenario (baseline, current), when both exist and passed; `paired`:
    round i of every backend ran in the same interleaved round (ormbench run)."""
    base = CellChange(
        *key,
        status="",
        baseline_median_s=before.median_s,
        current_median_s=after.median_s,
    )
    if (unjudged := _unjudged(base, before, after)) is not None:
        return unjudged
    if not before.rounds_s or not after.rounds_s:
        return _with(base, NOT_COMPARABLE, "no timed rounds on one side")
    fewest = min(len(before.rounds_s), len(after.rounds_s))
    if fewest < MIN_GATE_ROUNDS:
        return _with(
            base,
            NOT_COMPARABLE,
            f"{fewest} timed rounds on a side; gating needs {MIN_GATE_ROUNDS} or more",
        )
    seed = _seed(key)
    own = independent_ratio(after.rounds_s, before.rounds_s, seed=seed)
    relative = None
    reason = ""
    if key[2] == FLOOR:
        status = verdict(own, threshold)
        if status in (REGRESSION, IMPROVEMENT):
            status, reason = FLOOR_MOVED, "the database or machine changed speed"
    elif floors is None:
        status = verdict(own, threshold)
        reason = "no floor on both sides: judged on its own time"
    else:
        if paired:
            relative = independent_ratio(
                _per_round(after, floors[1]), _per_round(before, floors[0]), seed=seed
            )
        else:
            relative = independent_relative(
                after.rounds_s, floors[1].rounds_s, before.rounds_s, floors[0].rounds_s, seed
            )
            reason = "rounds not interleaved: independent-samples interval"
        status = verdict(relative, threshold)
        if (status == REGRESSION and not own.low > 1) or (
            status == IMPROVEMENT and not own.high < 1
        ):
            status = INCONCLUSIVE
            reason = "own time did not clearly change"
    if math.isinf(own.high):
        reason = "fewer than 2 rounds on a side"
    return CellChange(
        *key,
        status=status,
        baseline_median_s=median(before.rounds_s),
        current_median_s=median(after.rounds_s),
        ratio=own.estimate,
        ci_low=_finite(own.low),
        ci_high=_finite(own.high),
        floor_ratio=relative.estimate if relative else None,
        floor_ci_low=_finite(relative.low) if relative else None,
        floor_ci_high=_finite(relative.high) if relative else None,
        reason=reason,
        catches=smallest_caught(relative or own, threshold),
    )


# One-sided 95% normal quantile: the power asked of the gate (a real slowdown flagged in 19 of
# 20 comparisons), and the two-sided 95% quantile the intervals are drawn at.
Z_POWER = 1.645
Z_INTERVAL = 1.96


def smallest_caught(interval: Interval | None, threshold: float) -> float | None:
    """The smallest slowdown `verdict` flags with about 95% probability, from the width of the
    interval it judged: a regression needs the lower end above 1 + t, the lower end lies about
    Z_INTERVAL standard errors below the estimate, and the estimate itself scatters by one
    standard error, so 95% of comparisons flag a true change of (1 + t) · exp((Z_INTERVAL +
    Z_POWER) · se). se comes from the interval's width on a log scale."""
    if interval is None or not (0 < interval.low <= interval.high < math.inf):
        return None
    se = (math.log(interval.high) - math.log(interval.low)) / (2 * Z_INTERVAL)
    return (1 + threshold) * math.exp((Z_INTERVAL + Z_POWER) * se)


def _noisiest(cells: list[CellChange]) -> str:
    """ "the noisiest, get sqlalchemy (equal), only from +59%" (no interval: the worst)."""
    worst = max(cells, key=lambda c: c.catches or math.inf)
    return (
        f"the noisiest, {worst.scenario} {worst.backend} ({worst.idiom}), "
        f"only from {percent_text(worst.catches)}"
    )


def percent_text(ratio: float | None) -> str:
    return "—" if ratio is None else f"{(ratio - 1) * 100:+.0f}%"


def verdict(interval: Interval, threshold: float) -> str:
    """Where an interval lies against the threshold band [1 / (1 + t), 1 + t]."""
    upper, lower = 1 + threshold, 1 / (1 + threshold)
    if interval.low > upper:
        return REGRESSION
    if interval.high < lower:
        return IMPROVEMENT
    if interval.low >= lower and interval.high <= upper:
        return WITHIN
    return INCONCLUSIVE


def _per_round(cell: Cell, floor: Cell) -> list[float]:
    """The cell's time over the floor's, round by round (rounds interleave the backends)."""
    return [a / b for a, b in zip(cell.rounds_s, floor.rounds_s, strict=False) if b > 0]


def _floors(
    key: tuple[str, str, str, str],
    before: dict[tuple[str, str, str, str], Cell],
    after: dict[tuple[str, str, str, str], Cell],
) -> tuple[Cell, Cell] | None:
    def floor_of(cells: dict[tuple[str, str, str, str], Cell]) -> Cell | None:
        # The floor has one idiom ("floor"); whatever it is called, it is the floor.
        return next(
            (c for k, c in cells.items() if (k[0], k[1], k[2]) == (key[0], key[1], FLOOR)), None
        )

    pair = floor_of(before), floor_of(after)
    if pair[0] is None or pair[1] is None:
        return None
    if not (pair[0].verified and pair[1].verified and pair[0].rounds_s and pair[1].rounds_s):
        return None
    return pair[0], pair[1]


# --- matching and facts -------------------------------------------------------------------------


def _database_keys(result: RunResult) -> dict[str, str]:
    """label -> the name cells are matched under. An embedded SQLite lives in a fresh temporary
    file every run, so its label never repeats; it is matched as "sqlite (embedded)"."""
    keys = {
        info.label: f"{info.family} (embedded)" if info.location else info.label
        for info in result.databases
    }
    for cell in result.cells:
        keys.setdefault(cell.database, cell.database)
    return keys


def _key(cell: Cell, keys: dict[str, str], sweep: bool = False) -> tuple[str, str, str, str]:
    """(database, scenario, backend, idiom); in a size sweep (`sweep`: either run has cells of
    several sizes) the scenario names the size, "get (1,000 rows)", so sizes stay apart."""
    scenario = f"{cell.scenario} ({cell.rows:,} rows)" if sweep else cell.scenario
    return keys.get(cell.database, cell.database), scenario, cell.backend, cell.idiom


def _unjudged(base: CellChange, before: Cell, after: Cell) -> CellChange | None:
    """The change of a cell that cannot be judged, on time or on counts: a side that did not
    pass verification, or a different size; None when it can be."""
    unverified = [
        f"{side} {cell.verification.status}"
        for side, cell in (("baseline", before), ("current", after))
        if cell.verification.status != "passed"
    ]
    if unverified:
        return _with(base, NOT_VERIFIED, ", ".join(unverified))
    if before.rows != after.rows or before.operations != after.operations:
        return _with(base, NOT_COMPARABLE, f"rows {before.rows} vs {after.rows}")
    return None


def _with(change: CellChange, status: str, reason: str) -> CellChange:
    return replace(change, status=status, reason=reason)


def _seed(key: tuple[str, str, str, str]) -> int:
    # A fixed seed per cell: the same two files always give the same intervals.
    return zlib.crc32("/".join(key).encode())


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None
