"""Deterministic test data: the same seed gives the same rows on every run and backend."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")
# The filter is a case-sensitive prefix match (scenarios.Filter): about one row in eight starts
# with it, and as many again start with it in other letter cases and must not match.
FILTER_PREFIX = "delta-"
_NAME_STEMS = (*WORDS, "Delta", "DELTA")
_NAME_WEIGHTS = (14, 14, 14, 14, 14, 14, 14, 14, 7, 7)
_EPOCH = datetime(2024, 1, 1)
# Ten digits: names and emails sort in generation order up to 10^10 rows.
_DIGITS = 10

Row = dict[str, Any]


def make_rows(count: int, seed: int, start: int = 0) -> list[Row]:
    """`count` rows numbered from `start`; emails are unique and sort in generation order,
    datetimes whole seconds (every database keeps those exactly), prices two decimals."""
    rng = random.Random(f"{seed}:{start}:{count}")
    return [
        {
            "name": f"{rng.choices(_NAME_STEMS, _NAME_WEIGHTS)[0]}-{i:0{_DIGITS}d}",
            "email": f"user{i:0{_DIGITS}d}@example.test",
            "quantity": rng.randrange(0, 100_000),
            "price": Decimal(rng.randrange(0, 10_000_000)) / 100,
            "active": rng.random() < 0.5,
            "created_at": _EPOCH + timedelta(seconds=rng.randrange(0, 365 * 86_400)),
        }
        for i in range(start, start + count)
    ]
