"""Verdicts projected at a network distance (`ormbench run --rtt 1ms`).

On the development machine the database is tens of microseconds away; in production it is
0.3-2 ms away, and each round trip then costs that much more. A cell's time at distance `rtt`
is projected as its measured time plus its round trips on the wire (harness.wire.relay, counted in
the untimed trace pass) times (rtt - the local round-trip time), the local one measured once
per database as the median of many trivial `SELECT 1` round trips through the raw driver,
untimed. The projection is made round by round, so the projected verdict comes from the same
paired-ratio machinery and the same family correction as the measured one.

It assumes that time on the wire grows with distance and nothing else does: no server-side
waits that depend on the client (locks held across round trips), no change in how the driver
batches. Cells without wire counts (SQLite) get no projection.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from harness.judging.verdicts import build_comparisons
from harness.targets.errors import ConfigurationError
from reports.model import Cell, DatabaseInfo, Projection

LOCAL_RTT_SAMPLES = 200
_UNITS = {"ms": 1e-3, "us": 1e-6, "µs": 1e-6, "s": 1.0}


def parse_rtt(values: Iterable[str]) -> tuple[float, ...]:
    """`--rtt` values ("1ms", "0.5ms,2ms", "500us"; a bare number is milliseconds) -> seconds,
    in the order given, without repeats."""
    distances: list[float] = []
    for value in values:
        for item in value.split(","):
            text = item.strip().lower()
            match = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|us|µs|s)?", text)
            if not match:
                raise ConfigurationError(
                    f"--rtt {item.strip()!r} is not a round-trip time",
                    "e.g. --rtt 1ms, --rtt 0.5ms,2ms or --rtt 500us",
                )
            seconds = float(match.group(1)) * _UNITS[match.group(2) or "ms"]
            if seconds > 10:
                raise ConfigurationError(
                    f"--rtt {item.strip()!r} is over 10 s", "give a network round-trip time"
                )
            if seconds not in distances:
                distances.append(seconds)
    return tuple(distances)


def measure_local_rtt(connection: Any, samples: int = LOCAL_RTT_SAMPLES) -> float:
    """The median time of one trivial round trip (`SELECT 1` and its row) on a raw DB-API
    connection in autocommit, in seconds; untimed, outside every round."""
    cursor = connection.cursor()
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        cursor.execute("SELECT 1")
        cursor.fetchall()
        times.append(time.perf_counter() - start)
    cursor.close()
    return statistics.median(times)


def project_cell(cell: Cell, extra_per_trip: float) -> Cell | None:
    """`cell` with every round lengthened by its round trips x `extra_per_trip` seconds; None
    where its round trips were not counted or a projected round would not be positive."""
    trips = cell.trace.round_trips if cell.trace else None
    if trips is None or not cell.rounds_s:
        return None
    rounds = [r + trips * extra_per_trip for r in cell.rounds_s]
    if min(rounds) <= 0:
        return None
    return replace(cell, rounds_s=rounds, median_s=statistics.median(rounds))


def project(
    cells: list[Cell], databases: list[DatabaseInfo], distances: tuple[float, ...], margin: float
) -> list[Projection]:
    """The ORM verdict of every scenario and idiom at each distance, per database that has a
    measured local round-trip time and wire counts."""
    projections: list[Projection] = []
    for info in databases:
        if info.local_rtt_s is None:
            continue
        own = [c for c in cells if c.database == info.label]
        for distance in distances:
            shifted = [project_cell(c, distance - info.local_rtt_s) for c in own]
            kept = [c for c in shifted if c is not None]
            for comparison in build_comparisons(kept, margin):
                if comparison.kind != "orm":
                    continue
                projections.append(
                    Projection(
                        database=info.label,
                        scenario=comparison.scenario,
                        idiom=comparison.idiom,
                        rtt_s=distance,
                        ratio=comparison.ratio,
                        verdict=comparison.verdict,
                        rows=comparison.rows,
                    )
                )
    return projections
