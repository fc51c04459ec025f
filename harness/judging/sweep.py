"""A size sweep's derived figures (`ormbench run --rows 100,1000,10000`), from the cells alone:
no database access. Per database x scenario x backend x idiom:

- the growth exponent: the least-squares slope of log(median time) against log(rows) over the
  sizes. 1 is linear, 2 quadratic, near 0 a cost that does not depend on the size. Its 95%
  interval is a seeded percentile bootstrap that resamples each size's timed rounds (with
  replacement, sizes apart) and fits the slope again. It is built from the rounds because the
  sizes are too few for a regression's own interval: with two sizes a line through two medians
  has no residual at all, and with three a t-interval has one degree of freedom (t = 12.7).
  The interval so says how far round-to-round noise moves the slope; it does not say whether
  the growth is a straight line in log-log — with three or more sizes the slopes between
  neighbouring sizes show where it bends.
- how its multiple of the raw DB-API floor changes: the multiple at each size is the median of
  per-round (cell / floor) ratios, rounds paired as for "× raw"; the change is the multiple at
  the largest size over that at the smallest, with a bootstrap interval that resamples the
  per-round ratios of the two sizes. It "grows" when the interval lies wholly above
  1 + margin, "shrinks" wholly below 1 / (1 + margin), is "steady" wholly inside, and
  "unclear" otherwise — the same practical-difference band as the verdicts.

These intervals describe each cell; they are not corrected for the many cells of a sweep.
"""

from __future__ import annotations

import math
import random
import statistics
import zlib
from collections.abc import Iterable, Sequence

from backends import FLOOR
from harness.judging.stats import BOOTSTRAP_RESAMPLES, CONFIDENCE, paired_ratio
from reports.model import Cell, SweepCell, SweepPoint


def parse_sizes(text: str) -> tuple[int, ...]:
    """`--rows "100,1000,10000"` -> (100, 1000, 10000): whole numbers of 1 or more, each once,
    smallest first (the order they run in). ValueError says what is wrong with the text."""
    sizes: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            raise ValueError("an empty size: give whole numbers of rows, e.g. 100,1000,10000")
        if not part.lstrip("-").isdigit():
            raise ValueError(
                f"'{part}' is not a valid integer: give whole numbers of rows, e.g. 1000 or "
                "100,1000,10000"
            )
        if int(part) < 1:
            raise ValueError(f"{part} rows: give 1 or more")
        if int(part) in sizes:
            raise ValueError(f"{int(part)} is given twice: name each size once")
        sizes.append(int(part))
    return tuple(sorted(sizes))


def least_squares_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def growth_exponent(
    rounds_by_size: dict[int, Sequence[float]], seed: int = 0
) -> tuple[float, float | None, float | None]:
    """(slope, low, high) of log(median time) on log(rows); the interval is None when a size
    has fewer than 2 rounds (nothing to resample)."""
    sizes = sorted(rounds_by_size)
    xs = [math.log(n) for n in sizes]

    def slope(samples: Iterable[Sequence[float]]) -> float:
        return least_squares_slope(xs, [math.log(statistics.median(s)) for s in samples])

    estimate = slope(rounds_by_size[n] for n in sizes)
    if min(len(rounds_by_size[n]) for n in sizes) < 2:
        return estimate, None, None
    rng = random.Random(seed)
    samples = sorted(
        slope(rng.choices(rounds_by_size[n], k=len(rounds_by_size[n])) for n in sizes)
        for _ in range(BOOTSTRAP_RESAMPLES)
    )
    return estimate, *_percentiles(samples)


def multiple_change(
    first: Sequence[float], last: Sequence[float], seed: int = 0
) -> tuple[float, float | None, float | None]:
    """median(last) / median(first) of per-round floor ratios, with a bootstrap interval."""
    estimate = statistics.median(last) / statistics.median(first)
    if len(first) < 2 or len(last) < 2:
        return estimate, None, None
    rng = random.Random(seed)
    samples = sorted(
        statistics.median(rng.choices(last, k=len(last)))
        / statistics.median(rng.choices(first, k=len(first)))
        for _ in range(BOOTSTRAP_RESAMPLES)
    )
    return estimate, *_percentiles(samples)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    tail = (1 - CONFIDENCE) / 2
    return samples[int(tail * len(samples))], samples[int((1 - tail) * len(samples)) - 1]


def trend(low: float | None, high: float | None, margin: float) -> str:
    """Where the floor multiple's change lies against the band [1 / (1 + m), 1 + m]."""
    if low is None or high is None:
        return "unclear"
    upper, lower = 1 + margin / 100, 1 / (1 + margin / 100)
    if low > upper:
        return "grows"
    if high < lower:
        return "shrinks"
    if low >= lower and high <= upper:
        return "steady"
    return "unclear"


def _per_round(cell: Cell, floor: Cell) -> list[float]:
    return [a / b for a, b in zip(cell.rounds_s, floor.rounds_s, strict=False) if b > 0]


def build_sweep(cells: Iterable[Cell], margin: float = 5.0) -> list[SweepCell]:
    """One SweepCell per database x scenario x backend x idiom, for runs over two or more
    sizes (an empty list otherwise). Only verified cells with timed rounds count: a size whose
    cell failed is left out of the fit, and the note says so."""
    cells = list(cells)
    if len({c.rows for c in cells}) < 2:
        return []
    groups: dict[tuple[str, str, str, str], dict[int, Cell]] = {}
    floors: dict[tuple[str, str, int], Cell] = {}
    for cell in cells:
        groups.setdefault((cell.database, cell.scenario, cell.backend, cell.idiom), {})[
            cell.rows
        ] = cell
        if cell.backend == FLOOR:
            floors[(cell.database, cell.scenario, cell.rows)] = cell
    return [_sweep_cell(key, by_size, floors, margin) for key, by_size in groups.items()]


def _points(
    key: tuple[str, str, str, str],
    by_size: dict[int, Cell],
    usable: dict[int, Cell],
    floors: dict[tuple[str, str, int], Cell],
) -> tuple[list[SweepPoint], dict[int, list[float]]]:
    """One cell's point at each size, and its per-round multiples of the floor by size."""
    database, scenario, backend, _idiom = key
    points, ratios = [], {}
    for n, cell in sorted(by_size.items()):
        floor = floors.get((database, scenario, n))
        multiple = low = high = None
        if backend != FLOOR and n in usable and floor is not None and floor.verified:
            per_round = _per_round(cell, floor)
            if per_round:
                ratios[n] = per_round
                interval = paired_ratio(per_round, [1.0] * len(per_round))
                multiple = interval.estimate
                if math.isfinite(interval.low) and math.isfinite(interval.high):
                    low, high = interval.low, interval.high
        points.append(
            SweepPoint(
                rows=n,
                median_s=statistics.median(cell.rounds_s) if n in usable else None,
                rounds=len(cell.rounds_s) if n in usable else 0,
                floor_multiple=multiple,
                floor_low=low,
                floor_high=high,
            )
        )
    return points, ratios


def _local_exponents(usable: dict[int, Cell]) -> list[float | None]:
    """The growth exponent between each pair of neighbouring sizes."""
    sizes = list(usable)
    return [
        least_squares_slope(
            [math.log(a), math.log(b)],
            [
                math.log(statistics.median(usable[a].rounds_s)),
                math.log(statistics.median(usable[b].rounds_s)),
            ],
        )
        for a, b in zip(sizes, sizes[1:], strict=False)
    ]


def _sweep_cell(
    key: tuple[str, str, str, str],
    by_size: dict[int, Cell],
    floors: dict[tuple[str, str, int], Cell],
    margin: float,
) -> SweepCell:
    """One database x scenario x backend x idiom over its sizes."""
    database, scenario, backend, _idiom = key
    usable = {n: c for n, c in sorted(by_size.items()) if c.verified and c.rounds_s}
    points, ratios = _points(key, by_size, usable, floors)
    left_out = [n for n in by_size if n not in usable]
    note = (
        f"left out: {', '.join(f'{n:,}' for n in sorted(left_out))} rows "
        "(verification did not pass, or no timed rounds)"
        if left_out
        else ""
    )
    # Seeded by what ran: an idiom that runs the documented code gets its figures too.
    ran = (database, scenario, backend, next(iter(by_size.values())).same_code_as or key[3])
    seed = zlib.crc32("/".join(ran).encode())
    exponent = low_e = high_e = None
    local: list[float | None] = []
    if len(usable) >= 2:
        exponent, low_e, high_e = growth_exponent({n: c.rounds_s for n, c in usable.items()}, seed)
        if len(usable) >= 3:
            local = _local_exponents(usable)
    elif not note:
        note = "fewer than two sizes with timed rounds"
    growth = growth_low = growth_high = None
    floor_trend = ""
    if len(ratios) >= 2:
        first, last = min(ratios), max(ratios)
        growth, growth_low, growth_high = multiple_change(ratios[first], ratios[last], seed)
        floor_trend = trend(growth_low, growth_high, margin)
    return SweepCell(
        database=database,
        scenario=scenario,
        backend=backend,
        idiom=key[3],
        points=points,
        exponent=exponent,
        exponent_low=low_e,
        exponent_high=high_e,
        local_exponents=local,
        floor_growth=growth,
        floor_growth_low=growth_low,
        floor_growth_high=growth_high,
        floor_trend=floor_trend,
        note=note,
        same_code_as=next(iter(by_size.values())).same_code_as,
    )
