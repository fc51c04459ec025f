"""Shards: a run split into N slices of its database x scenario matrix (`--shard K/N`), each
run on its own (e.g. on N CI machines) and joined again with `ormbench merge`
(harness.gating.merge). The slice is part of what a run measures, so it lives with the plan."""

from __future__ import annotations

from harness.measuring.plan import Plan
from harness.targets.errors import ConfigurationError
from harness.targets.urls import Target


def parse_shard(text: str) -> tuple[int, int]:
    """ "K/N" -> (K, N), 1 <= K <= N."""
    k, _, n = text.partition("/")
    try:
        shard, shards = int(k), int(n)
    except ValueError:
        shard = shards = 0
    if not (1 <= shard <= shards):
        raise ConfigurationError(
            f"--shard {text!r} is not K/N with 1 <= K <= N", "e.g. --shard 2/4 (the second of 4)"
        )
    return shard, shards


def shard_scenarios(plan: Plan, targets: list[Target]) -> list[tuple[str, ...]]:
    """Each target's scenarios in this run: all of them, or with `plan.shard` "K/N" the K-th
    slice of the database x scenario matrix, dealt round-robin in a fixed order (databases as
    given, scenarios in report order), so N shards cover every pair exactly once. A size
    sweep's shard runs every size of its scenarios (their exponents need them all)."""
    if not plan.shard:
        return [plan.scenarios] * len(targets)
    shard, shards = parse_shard(plan.shard)
    pairs = [(i, s) for i in range(len(targets)) for s in plan.scenarios]
    mine = {pair for index, pair in enumerate(pairs) if index % shards == shard - 1}
    return [tuple(s for s in plan.scenarios if (i, s) in mine) for i in range(len(targets))]
