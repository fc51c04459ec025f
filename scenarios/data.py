"""Deterministic test data: the same seed gives the same rows on every run and backend."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")
FILTER_PREFIX = "delta-"  # about one row in eight
_EPOCH = datetime(2024, 1, 1)

Row = dict[str, Any]


def make_rows(count: int, seed: int, start: int = 0) -> list[Row]:
    """`count` rows numbered from `start`; emails are unique, datetimes whole seconds (every
    database keeps those exactly), prices two decimals."""
    rng = random.Random(f"{seed}:{start}:{count}")
    return [
        {
            "name": f"{rng.choice(WORDS)}-{i:07d}",
            "email": f"user{i:07d}@example.test",
            "quantity": rng.randrange(0, 100_000),
            "price": Decimal(rng.randrange(0, 10_000_000)) / 100,
            "active": rng.random() < 0.5,
            "created_at": _EPOCH + timedelta(seconds=rng.randrange(0, 365 * 86_400)),
        }
        for i in range(start, start + count)
    ]
