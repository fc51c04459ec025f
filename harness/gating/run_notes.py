"""What differs between the two runs a comparison reads, besides their cells: the database
servers, the environment and the plan, each said in one line, so that a reader weighs a
regression against what else changed."""

from __future__ import annotations

from collections.abc import Iterable

from harness.gating.results_file import PYTEST_SOURCE
from reports.model import DatabaseInfo, RunResult

_DATABASE_FACTS = ("family", "server_version", "edition", "driver", "driver_version")


def database_notes(
    baseline: RunResult,
    current: RunResult,
    base_keys: dict[str, str],
    current_keys: dict[str, str],
) -> list[str]:
    before = {base_keys[d.label]: d for d in baseline.databases}
    after = {current_keys[d.label]: d for d in current.databases}
    notes = []
    for key, b in before.items():
        a = after.get(key)
        if a is None:
            continue
        for fact in _DATABASE_FACTS:
            if getattr(b, fact) != getattr(a, fact) and getattr(a, fact) and getattr(b, fact):
                notes.append(
                    f"{key}: {fact.replace('_', ' ')} differs: "
                    f"baseline {_short(b, fact)}, current {_short(a, fact)}"
                )
    return notes


def _short(info: DatabaseInfo, fact: str) -> str:
    value = str(getattr(info, fact))
    return value.split(" on ")[0].split(",")[0] if fact == "server_version" else value


def mapping_notes(what: str, before: dict, after: dict) -> list[str]:
    return [
        f"{what} {key} differs: baseline {before.get(key, '—')}, current {after.get(key, '—')}"
        for key in _ordered_union(before, after)
        if before.get(key) != after.get(key)
    ]


def plan_notes(before: dict, after: dict) -> list[str]:
    notes = []
    b_source, a_source = before.get("source", "ormbench run"), after.get("source", "ormbench run")
    if b_source != a_source:
        notes.append(f"made by different tools: baseline {b_source}, current {a_source}")
    for key in ("rows", "sizes", "rounds", "warmup", "seed"):
        if key in before and key in after and before[key] != after[key]:
            notes.append(f"plan {key} differs: baseline {before[key]}, current {after[key]}")
    if PYTEST_SOURCE in (b_source, a_source):
        notes.append("pytest-benchmark rounds are not interleaved between backends")
    return notes


def _ordered_union(*mappings: dict) -> Iterable[str]:
    seen: dict[str, None] = {}
    for mapping in mappings:
        seen.update(dict.fromkeys(mapping))
    return seen
