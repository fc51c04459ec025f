"""Statistics for timings: median and IQR per cell, and ratios with 95% confidence intervals.

Intervals are distribution-free. A paired ratio (two backends, rounds interleaved) uses the
order statistics of the per-round ratios (the sign-test interval for a median). A ratio of two
independent samples (a baseline run and a current run) uses a seeded percentile bootstrap of
the ratio of medians. Neither assumes timings are normal; both are exact to reproduce.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    def excludes(self, value: float) -> bool:
        return self.high < value or self.low > value


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def iqr(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q3 - q1


def _binomial_cdf(k: int, n: int) -> float:
    return sum(math.comb(n, i) for i in range(k + 1)) / 2**n


def median_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Distribution-free interval for the median: [x_(k), x_(n-k+1)], the widest k whose
    coverage is at least `confidence`. With fewer than 6 values no 95% interval exists
    short of (-inf, inf), which is returned so that no verdict is drawn from it."""
    ordered = sorted(values)
    n = len(ordered)
    alpha = 1 - confidence
    # j = how many values to cut from each end, plus one: [x_(j), x_(n-j+1)] covers the median
    # with probability 1 - 2 * P(Binomial(n, 1/2) <= j - 1).
    j = 0
    while j + 1 <= n // 2 and 2 * _binomial_cdf(j, n) <= alpha:
        j += 1
    if j == 0:
        return Interval(statistics.median(ordered) if ordered else math.nan, -math.inf, math.inf)
    return Interval(statistics.median(ordered), ordered[j - 1], ordered[n - j])


def paired_ratio(a: Sequence[float], b: Sequence[float]) -> Interval:
    """a/b from paired rounds: the median of per-round ratios with its interval."""
    ratios = [x / y for x, y in zip(a, b, strict=True) if y > 0]
    if not ratios:
        return Interval(math.nan, -math.inf, math.inf)
    logs = median_interval([math.log(r) for r in ratios])
    return Interval(math.exp(logs.estimate), _exp(logs.low), _exp(logs.high))


def independent_ratio(
    current: Sequence[float], baseline: Sequence[float], seed: int = 0
) -> Interval:
    """median(current)/median(baseline) with a seeded percentile-bootstrap interval."""
    estimate = statistics.median(current) / statistics.median(baseline)
    if len(current) < 2 or len(baseline) < 2:
        return Interval(estimate, -math.inf, math.inf)
    rng = random.Random(seed)
    samples = sorted(
        statistics.median(rng.choices(current, k=len(current)))
        / statistics.median(rng.choices(baseline, k=len(baseline)))
        for _ in range(BOOTSTRAP_RESAMPLES)
    )
    tail = (1 - CONFIDENCE) / 2
    low = samples[int(tail * BOOTSTRAP_RESAMPLES)]
    high = samples[int((1 - tail) * BOOTSTRAP_RESAMPLES) - 1]
    return Interval(estimate, low, high)


def _exp(x: float) -> float:
    return math.inf if x == math.inf else 0.0 if x == -math.inf else math.exp(x)
