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


def quartiles(values: Sequence[float]) -> tuple[float, float]:
    """The first and third quartiles (inclusive method), as the IQR and the charts use them."""
    if len(values) < 2:
        return (values[0], values[0]) if values else (math.nan, math.nan)
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q3


def iqr(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    q1, q3 = quartiles(values)
    return q3 - q1


def practical_band(margin: float) -> tuple[float, float]:
    """The ratios of no practical difference for a margin (0.05 = 5%): [1/(1+m), 1+m], the
    same distance from 1 on a log scale either way, whichever backend is the numerator."""
    return 1 / (1 + margin), 1 + margin


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


def independent_relative(
    current: Sequence[float],
    current_floor: Sequence[float],
    baseline: Sequence[float],
    baseline_floor: Sequence[float],
    seed: int = 0,
) -> Interval:
    """(median(current)/median(current_floor)) / (median(baseline)/median(baseline_floor)): a
    cell's change relative to the floor when its rounds were not interleaved with the floor's
    (pytest-benchmark runs each backend's rounds in a block), so no round pairs with another;
    a seeded percentile bootstrap resamples the four samples independently."""
    samples_in = (current, current_floor, baseline, baseline_floor)

    def relative(a: Sequence[float], fa: Sequence[float], b: Sequence[float], fb: Sequence[float]):
        return (statistics.median(a) / statistics.median(fa)) / (
            statistics.median(b) / statistics.median(fb)
        )

    estimate = relative(*samples_in)
    if min(len(s) for s in samples_in) < 2:
        return Interval(estimate, -math.inf, math.inf)
    rng = random.Random(seed)
    samples = sorted(
        relative(*(rng.choices(s, k=len(s)) for s in samples_in))
        for _ in range(BOOTSTRAP_RESAMPLES)
    )
    tail = (1 - CONFIDENCE) / 2
    low = samples[int(tail * BOOTSTRAP_RESAMPLES)]
    high = samples[int((1 - tail) * BOOTSTRAP_RESAMPLES) - 1]
    return Interval(estimate, low, high)


def _exp(x: float) -> float:
    return math.inf if x == math.inf else 0.0 if x == -math.inf else math.exp(x)


@dataclass(frozen=True)
class Decision:
    """A claim a paired interval supports, and the smallest error level at which it does.

    claim: "a faster" (a/b wholly below 1/(1+margin)), "b faster" (wholly above 1+margin),
    "equivalent" (wholly inside the band), or "" (none at any level).
    """

    claim: str
    p: float  # 1 - coverage of the widest order-statistic interval that supports the claim


def paired_decision(a: Sequence[float], b: Sequence[float], margin: float) -> Decision:
    """What the per-round ratios a/b support against a practical-difference band of
    +-`margin` (0.05 = 5%), with the p-value of the sign-test interval that supports it: the
    interval [x_(j), x_(n-j+1)] covers the median with probability 1 - 2 P(B(n, 1/2) <= j-1);
    the widest one (smallest j) that lies wholly outside, or wholly inside, the band decides."""
    ratios = sorted(x / y for x, y in zip(a, b, strict=True) if y > 0)
    n = len(ratios)
    low, high = practical_band(margin)
    for j in range(1, n // 2 + 1):
        lo, hi = ratios[j - 1], ratios[n - j]
        p = 2 * _binomial_cdf(j - 1, n)
        if p > 1 - CONFIDENCE:
            break  # narrower intervals cover too little to support any claim
        if hi < low:
            return Decision("a faster", p)
        if lo > high:
            return Decision("b faster", p)
        if low < lo and hi < high:
            return Decision("equivalent", p)
    return Decision("", 1.0)


def holm(p_values: Sequence[float], alpha: float = 1 - CONFIDENCE) -> list[bool]:
    """Holm's step-down procedure: which hypotheses are rejected with the family-wise error
    held at `alpha`."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    rejected = [False] * len(p_values)
    m = len(p_values)
    for rank, i in enumerate(order):
        if p_values[i] > alpha / (m - rank):
            break
        rejected[i] = True
    return rejected
