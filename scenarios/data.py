"""Deterministic test data: the same seed gives the same rows on every run and backend."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import Any

WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")
# The filter is a case-sensitive prefix match (scenarios.Filter): about one row in eight starts
# with it, and as many again start with it in other letter cases and must not match.
FILTER_PREFIX = "delta-"
_NAME_STEMS = (*WORDS, "Delta", "DELTA")
_NAME_WEIGHTS = (14, 14, 14, 14, 14, 14, 14, 14, 7, 7)
# What `random.choices` computes from the weights on every call, computed once: the same draws.
_NAME_CUMULATIVE = tuple(accumulate(_NAME_WEIGHTS))
_EPOCH = datetime(2024, 1, 1)
# Ten digits: names and emails sort in generation order up to 10^10 rows.
_DIGITS = 10

Row = dict[str, Any]


def make_rows(count: int, seed: int, start: int = 0) -> list[Row]:
    """`count` rows numbered from `start`; emails are unique and sort in generation order,
    datetimes whole seconds (every database keeps those exactly), prices two decimals."""
    return list(iter_rows(count, seed, start))


def iter_rows(count: int, seed: int, start: int = 0) -> Iterator[Row]:
    """`make_rows`' rows one at a time, the same rows in the same order: for loading and
    digesting a large table without holding every row at once."""
    rng = random.Random(f"{seed}:{start}:{count}")
    choices, randrange, uniform = rng.choices, rng.randrange, rng.random
    for i in range(start, start + count):
        yield {
            "name": f"{choices(_NAME_STEMS, cum_weights=_NAME_CUMULATIVE)[0]}-{i:0{_DIGITS}d}",
            "email": f"user{i:0{_DIGITS}d}@example.test",
            "quantity": randrange(0, 100_000),
            "price": Decimal(randrange(0, 10_000_000)) / 100,
            "active": uniform() < 0.5,
            "created_at": _EPOCH + timedelta(seconds=randrange(0, 365 * 86_400)),
        }
