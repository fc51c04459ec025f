"""`ormbench compare --history DIR CURRENT.json`: the current run judged against the last runs
of the same plan, with each cell's run-to-run noise estimated from them (as Bencher's
thresholds come from a window of history), so the gate adapts to how noisy the runner really is.

Per run and cell, one figure: an ORM cell's median per-round time over the raw DB-API floor's
in the same rounds (drift that hits every backend alike cancels), or its own median where there
is no floor; the floor's own median for the floor. In log space the history's mean m and
standard deviation s give a 99% prediction interval for one more run, m ± t(0.995, k-1) · s ·
sqrt(1 + 1/k) over k runs. A cell regresses when its figure lies above both that interval and
the practical threshold (1 + t), and its own median lies above the history's median own time
(so a floor that alone got faster in this run cannot make it regress); it improves in the
mirror image; a floor outside its interval has "moved" (the database or machine changed). At
least MIN_HISTORY runs are needed.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

from backends import FLOOR
from harness.gating.compare import (
    DEFAULT_COUNT_THRESHOLD,
    DEFAULT_FLOOR_THRESHOLD,
    FLOOR_MOVED,
    IMPROVEMENT,
    INCONCLUSIVE,
    NOT_COMPARABLE,
    NOT_VERIFIED,
    ONLY_CURRENT,
    REGRESSION,
    WITHIN,
    Z_POWER,
    CellChange,
    CompareResult,
    _database_keys,
    _key,
)
from harness.gating.results_file import load_result
from harness.measuring.instructions import INSTRUCTIONS
from harness.targets.errors import ConfigurationError
from reports.instructions import count_text
from reports.model import Cell, RunResult

MIN_HISTORY = 5
DEFAULT_HISTORY = 10
# The plan entries that make two runs the same measurement.
SAME_PLAN = ("backends", "rows", "sizes", "rounds", "warmup", "seed", "idioms")
# Student's t, 0.995 quantile (two-sided 99%), by degrees of freedom; between rows the next
# lower one (the wider interval) is used, past the last the normal quantile.
T_995 = {4: 4.604, 5: 4.032, 6: 3.707, 7: 3.499, 8: 3.355, 9: 3.250, 10: 3.169, 12: 3.055,
         15: 2.947, 20: 2.845, 25: 2.787, 30: 2.750, 60: 2.660}  # fmt: skip
Z_995 = 2.576

Key = tuple[str, str, str, str]


def t_995(df: int) -> float:
    if df < min(T_995):
        return math.inf
    if df > max(T_995):
        return Z_995
    return T_995[max(d for d in T_995 if d <= df)]


def load_history(folder: Path, current: RunResult, size: int) -> list[tuple[str, RunResult]]:
    """The last `size` results files under `folder` (any depth) of the current run's plan,
    oldest first, by the time each run started."""
    if not folder.is_dir():
        raise ConfigurationError(
            f"--history {folder}: no such folder", "give a folder of earlier results.json files"
        )
    runs = []
    for path in sorted(folder.rglob("*.json")):
        try:
            result = load_result(path)
        except ConfigurationError:
            continue  # not a results file: a history folder may hold other JSON
        if all(result.plan.get(k) == current.plan.get(k) for k in SAME_PLAN):
            runs.append((str(path), result))
    runs.sort(key=lambda pair: pair[1].started_at)
    return runs[-size:]


def count_figure(cell: Cell) -> float | None:
    """One run's figure for a counted cell: its median instructions per operation."""
    return cell.instructions_per_op if cell.verified else None


def figure(cell: Cell, floor: Cell | None) -> float | None:
    """One run's figure for a cell: median of per-round (cell / floor), or its own median."""
    if not cell.verified or not cell.rounds_s:
        return None
    if floor is None:
        return statistics.median(cell.rounds_s)
    ratios = [a / b for a, b in zip(cell.rounds_s, floor.rounds_s, strict=False) if b > 0]
    return statistics.median(ratios) if ratios else None


def _cells(result: RunResult) -> dict[Key, Cell]:
    keys = _database_keys(result)
    return {_key(c, keys, len(result.sizes) > 1): c for c in result.cells}


def _floor(cells: dict[Key, Cell], key: Key) -> Cell | None:
    if key[3] == FLOOR:
        return None
    found = next((c for k, c in cells.items() if k[:3] == (key[0], key[1], FLOOR)), None)
    return found if found is not None and found.verified and found.rounds_s else None


def judge_history(
    history: list[tuple[str, RunResult]],
    current: RunResult,
    threshold: float,
    current_name: str,
    folder: str,
    count_threshold: float = DEFAULT_COUNT_THRESHOLD / 100,
) -> CompareResult:
    if len(history) < MIN_HISTORY:
        raise ConfigurationError(
            f"--history {folder} holds {len(history)} runs of this plan; the noise estimate "
            f"needs {MIN_HISTORY} or more",
            "keep each baseline run's results.json there, or compare two files",
        )
    notes = [f"judged against the last {len(history)} runs of this plan in {folder}"]
    past = [_cells(result) for _, result in history]
    now = _cells(current)
    changes = [
        _judge_cell(key, cell, now, past, threshold, count_threshold) for key, cell in now.items()
    ]
    rule = (
        f"regression: the cell's figure (per-round time over the floor's, or its own) above "
        f"the history's 99% prediction band and above +{threshold * 100:g}%; improvement: "
        "the mirror image"
    )
    return CompareResult(
        f"history {folder}",
        current_name,
        threshold,
        notes,
        changes,
        rule,
        count_threshold=count_threshold,
    )


def judge_count_history(key: Key, cell: Cell, counts: list[float], threshold: float) -> CellChange:
    """A cell counted now and in at least MIN_HISTORY past runs: its median instructions per
    operation against the history's, with the same 99% prediction band as times, in log
    space, but never narrower than the count threshold (counts may repeat exactly)."""
    value = cell.instructions_per_op
    logs = [math.log(v) for v in counts]
    mean, spread = statistics.fmean(logs), statistics.stdev(logs)
    half = t_995(len(logs) - 1) * spread * math.sqrt(1 + 1 / len(logs))
    band = max(half, math.log(1 + threshold))
    change = math.log(value) - mean
    status = WITHIN
    if change > band:
        status = REGRESSION
    elif change < -band:
        status = IMPROVEMENT
    if key[3] == FLOOR and status in (REGRESSION, IMPROVEMENT):
        status = FLOOR_MOVED
    return CellChange(
        *key,
        status=status,
        current_median_s=cell.median_s,
        ratio=math.exp(change),
        reason=(
            f"instructions/op {count_text(value)} against {count_text(math.exp(mean))} over "
            f"{len(counts)} runs; band ±{(math.exp(band) - 1) * 100:.2f}% (their spread "
            f"±{(math.exp(half) - 1) * 100:.2f}%)"
        ),
        catches=math.exp(band + Z_POWER * spread * math.sqrt(1 + 1 / len(logs))),
        measure=INSTRUCTIONS,
    )


def _judge_cell(
    key: Key,
    cell: Cell,
    now: dict[Key, Cell],
    past: list[dict[Key, Cell]],
    threshold: float,
    count_threshold: float,
) -> CellChange:
    """One cell of the current run against its figures in the past runs: its instructions
    per operation where it and enough past runs were counted, else its time."""
    floor = _floor(now, key)
    value = figure(cell, floor)
    base = CellChange(*key, status="", current_median_s=cell.median_s)
    if not cell.verified:
        return _with(base, NOT_VERIFIED, f"current {cell.verification.status}")
    counts = [v for cells in past if key in cells and (v := count_figure(cells[key])) is not None]
    if cell.instructions_rounds and len(counts) >= MIN_HISTORY:
        return judge_count_history(key, cell, counts, count_threshold)
    values = [
        v
        for cells in past
        if key in cells
        and (floor is None) == (_floor(cells, key) is None)
        and (v := figure(cells[key], _floor(cells, key))) is not None
    ]
    if value is None or not values:
        return _with(base, ONLY_CURRENT if not values else NOT_COMPARABLE, "")
    if len(values) < MIN_HISTORY:
        return _with(base, NOT_COMPARABLE, f"{len(values)} past runs; needs {MIN_HISTORY}")
    logs = [math.log(v) for v in values]
    mean, spread = statistics.fmean(logs), statistics.stdev(logs)
    half = t_995(len(logs) - 1) * spread * math.sqrt(1 + 1 / len(logs))
    band = max(half, math.log(1 + threshold))
    change = math.log(value) - mean
    status = _status(key, change, band, threshold)
    noise = (
        f"band ±{(math.exp(band) - 1) * 100:.0f}% from {len(values)} runs "
        f"(their noise ±{(math.exp(half) - 1) * 100:.0f}%)"
    )
    by_floor = floor is not None
    past_own = statistics.median(
        statistics.median(cells[key].rounds_s) for cells in past if key in cells
    )
    if by_floor and status in (REGRESSION, IMPROVEMENT):
        # As with two files: a floor that alone got faster (or slower) in this run must not
        # make an ORM cell regress (or improve); its own median must have moved that way
        # too. On our PostgreSQL this stopped 8 false alarms in 264 no-change judgments,
        # and no detection of a slowed backend.
        own = statistics.median(cell.rounds_s) / past_own
        if (status == REGRESSION) != (own > 1):
            status = INCONCLUSIVE
            noise += f"; own time did not move that way ({(own - 1) * 100:+.0f}%)"
    return CellChange(
        *key,
        status=status,
        baseline_median_s=past_own,
        current_median_s=cell.median_s,
        ratio=None if by_floor else math.exp(change),
        floor_ratio=math.exp(change) if by_floor else None,
        reason=noise,
        # flagged past the band; the current run's distance from the history's mean
        # scatters as the prediction interval's: spread * sqrt(1 + 1/k)
        catches=math.exp(band + Z_POWER * spread * math.sqrt(1 + 1 / len(logs))),
    )


def _status(key: Key, change: float, band: float, threshold: float) -> str:
    """A cell's verdict from its change against the history (logs) and its band."""
    status = WITHIN
    if change > band:
        status = REGRESSION
    elif change < -band:
        status = IMPROVEMENT
    elif abs(change) > math.log(1 + threshold):
        status = INCONCLUSIVE  # beyond the threshold but inside this cell's noise
    if key[3] == FLOOR and status in (REGRESSION, IMPROVEMENT):
        status = FLOOR_MOVED
    return status


def _with(change: CellChange, status: str, reason: str) -> CellChange:
    from dataclasses import replace

    return replace(change, status=status, reason=reason)


def compare_history(
    folder: Path,
    current: Path,
    threshold_percent: float,
    size: int = DEFAULT_HISTORY,
    floor_threshold_percent: float = DEFAULT_FLOOR_THRESHOLD,
    count_threshold_percent: float = DEFAULT_COUNT_THRESHOLD,
) -> CompareResult:
    from dataclasses import replace

    result = load_result(current)
    history = load_history(folder, result, size)
    history = [(name, r) for name, r in history if Path(name).resolve() != current.resolve()]
    judged = judge_history(
        history,
        result,
        threshold_percent / 100,
        str(current),
        str(folder),
        count_threshold_percent / 100,
    )
    return replace(judged, floor_threshold=floor_threshold_percent / 100)


__all__ = ["MIN_HISTORY", "compare_history", "judge_history"]
