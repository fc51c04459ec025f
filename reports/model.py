"""The result model: what a run produced, as frozen dataclasses, and its JSON form.

`results.json` is a documented format (README, "results.json") that CI jobs parse. Its
`schema_version` changes whenever a field changes meaning or disappears; added fields keep it.
Renderers and `compare` only read this model; nothing here talks to a database.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 2


@dataclass(frozen=True)
class SqlSample:
    sql: str
    count: int


@dataclass(frozen=True)
class TraceCounts:
    """What one backend sent for one run of a scenario (the untimed trace pass)."""

    operations: int
    statements: int
    transaction_control: int
    commits: int
    rollbacks: int
    rows_sent: int
    rows_fetched: int
    by_kind: dict[str, int]
    sql: list[SqlSample]  # the first few distinct statements, in the order first sent
    transactions: int = 0  # as the server saw them (harness.wire.trace.Tracer)
    autocommit_statements: int = 0  # statements that were a transaction of their own
    left_open: bool = False  # a transaction was still open when the operation returned
    rows_written: dict[str, int] = field(default_factory=dict)  # INSERT/UPDATE/DELETE rows
    select_rows: int = 0
    narrowest_select: int | None = None  # fewest columns in a fetched SELECT row
    update_columns: dict[str, int] = field(default_factory=dict)  # columns SET -> UPDATEs
    noop_transaction_calls: int = 0  # commit()/rollback() calls the driver did not send
    verification_statements: int = 0  # sent while the harness read the returned objects
    write_transactions: int | None = None  # writing transactions the database counted
    # On the wire (harness.wire.relay), over the run; None where not counted (SQLite, older files)
    round_trips: int | None = None  # client-to-server turns
    bytes_sent: int | None = None  # client -> server
    bytes_received: int | None = None
    messages_sent: int | None = None  # protocol messages (TDS: packets); None: not parsed
    messages_received: int | None = None
    wire_statements: dict[str, int] | None = None  # first keyword of each SQL text sent
    wire_note: str = ""  # why a wire figure is missing or partial
    # The server's own counters moved by the traced run (PostgreSQL: the database's
    # xact_commit/xact_rollback, the reads' own transactions taken off; MySQL/MariaDB: the
    # sessions' Com_* status)
    server_counters: dict[str, int] | None = None
    # What the traced run returned (harness.wire.result_shape): distinct ORM objects built and plain
    # rows (tuples); None where the result is neither, or in older files
    result_objects: int | None = None
    result_rows: int | None = None

    @property
    def round_trips_per_operation(self) -> float | None:
        if self.round_trips is None or not self.operations:
            return None
        return self.round_trips / self.operations

    @property
    def statements_per_operation(self) -> float:
        return self.statements / self.operations if self.operations else 0.0

    @property
    def transaction_control_per_operation(self) -> float:
        return self.transaction_control / self.operations if self.operations else 0.0


@dataclass(frozen=True)
class Verification:
    status: str  # "passed" | "failed" | "error"
    reason: str = ""
    rounds_checked: int = 0  # timed rounds whose result and table state were verified
    contract: str = ""  # the work contract the cell was held to ("" for as-documented cells)


@dataclass(frozen=True)
class Cell:
    """One database x scenario x backend x idiom."""

    database: str  # the database's label (never holds a password)
    scenario: str
    backend: str
    rows: int
    operations: int
    rounds_s: list[float]  # every timed round, in run order
    median_s: float | None
    iqr_s: float | None
    ops_per_s: float | None
    rows_per_s: float | None
    trace: TraceCounts | None
    verification: Verification
    # "documented" (the ORM's tutorial idiom), "equal" (the contracted work) or "floor"
    idiom: str = "documented"
    # "documented": this equal-work cell runs the as-documented code, and shares its rounds
    same_code_as: str | None = None
    idiom_doc: str = ""  # the idiom's docstring: what it calls
    # Peak Python allocation (tracemalloc) of one untimed run, in bytes; None where not measured
    peak_alloc_bytes: int | None = None
    # This thread's CPU seconds around each timed round (time.thread_time, read outside the
    # wall-clock pair), one per entry of rounds_s; empty in files from before it
    cpu_rounds_s: list[float] = field(default_factory=list)
    # Instructions each timed round's operation executed, counted under valgrind (`--measure
    # instructions`, harness.measuring.instructions), one per round; empty where not counted
    instructions_rounds: list[int] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.verification.status == "passed"

    @property
    def client_share(self) -> float | None:
        """The share of a round's wall time the client spent on the CPU (the ORM, the driver,
        and on an embedded database the database itself), the median over the timed rounds;
        the rest is waiting, mostly on the database server. None without CPU figures."""
        shares = [
            min(cpu / wall, 1.0)  # the CPU reads enclose the wall-clock pair: cap at 100%
            for wall, cpu in zip(self.rounds_s, self.cpu_rounds_s, strict=False)
            if wall > 0
        ]
        return statistics.median(shares) if shares else None

    @property
    def instructions_per_op(self) -> float | None:
        """The median over the counted rounds of instructions per operation; None uncounted."""
        if not self.instructions_rounds or self.operations <= 0:
            return None
        return statistics.median(self.instructions_rounds) / self.operations

    @property
    def instructions_spread(self) -> float | None:
        """(largest - smallest) / median of the counted rounds: how far counts moved, a
        fraction; None with fewer than two counts."""
        if len(self.instructions_rounds) < 2:
            return None
        counts = self.instructions_rounds
        mid = statistics.median(counts)
        return (max(counts) - min(counts)) / mid if mid else None

    @property
    def peak_alloc_per_row(self) -> float | None:
        """Peak Python allocation per row the operation handled, in bytes: the report's unit
        (rows/s) for every scenario, and per operation too where each operation is one row."""
        if self.peak_alloc_bytes is None or self.rows <= 0:
            return None
        return self.peak_alloc_bytes / self.rows


@dataclass(frozen=True)
class Comparison:
    """A timing ratio between two backends on one scenario, from paired rounds.

    kind "orm": `numerator`/`denominator` are the two ORMs; kind "floor": an ORM over raw DB-API.
    `idiom` is the ORM cells' idiom; `differs` says in one line how the two ORMs' work differs.
    """

    database: str
    scenario: str
    kind: str
    numerator: str
    denominator: str
    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    verdict: str
    idiom: str = "documented"
    differs: str = ""
    rows: int | None = None  # the cells' size (None in files from before size sweeps)
    # Instructions per operation, numerator over denominator (`--measure instructions`): the
    # median of the round-by-round ratios (the rounds interleave the backends), the lowest and
    # the highest of them (the counts' own spread: no sampling interval is needed), its verdict
    instructions_ratio: float | None = None
    instructions_low: float | None = None
    instructions_high: float | None = None
    instructions_verdict: str = ""


@dataclass(frozen=True)
class SweepPoint:
    """One size of a sweep for one cell: its median, and as a multiple of the floor."""

    rows: int
    median_s: float | None
    rounds: int  # timed rounds behind the median
    floor_multiple: float | None = None  # median of per-round (cell / floor); None: no floor
    floor_low: float | None = None  # its 95% interval (sign test, as for "× raw")
    floor_high: float | None = None


@dataclass(frozen=True)
class SweepCell:
    """How one database x scenario x backend x idiom grows over the sizes of a sweep
    (harness.judging.sweep): the growth exponent, the slope of log(time) against log(rows) with a
    95% bootstrap interval, and how its multiple of the raw DB-API floor changes from the
    smallest size to the largest. `points` hold the figures per size, for a log-log chart."""

    database: str
    scenario: str
    backend: str
    idiom: str
    points: list[SweepPoint]
    exponent: float | None = None
    exponent_low: float | None = None
    exponent_high: float | None = None
    # slope between neighbouring sizes (three or more sizes): where the growth changes
    local_exponents: list[float | None] = field(default_factory=list)
    # floor multiple at the largest size / at the smallest, with its 95% bootstrap interval
    floor_growth: float | None = None
    floor_growth_low: float | None = None
    floor_growth_high: float | None = None
    # "grows", "shrinks", "steady" (within the margin), "unclear", or "" (no floor multiple)
    floor_trend: str = ""
    note: str = ""  # why a figure is missing
    same_code_as: str | None = None  # as Cell.same_code_as: the same rounds as that idiom


@dataclass(frozen=True)
class Projection:
    """The SQLAlchemy/Django verdict of one scenario and idiom projected at a network distance
    (harness.judging.projection): measured time + round trips x (rtt_s - the local round trip)."""

    database: str
    scenario: str
    idiom: str
    rtt_s: float
    ratio: float | None
    verdict: str
    rows: int | None = None  # the size compared (a size sweep has several)


@dataclass(frozen=True)
class DatabaseInfo:
    label: str
    family: str
    server_version: str = ""
    edition: str | None = None
    driver: str = ""
    driver_version: str = ""
    location: str | None = None  # where an embedded database lives
    error: str | None = None  # why this database did not run to the end
    # The connection policy (harness.targets.connection): setting, what every backend gets, and
    # where an ORM's own default differs.
    connection_policy: list[dict[str, str]] = field(default_factory=list)
    # backend -> setting -> value, read back from each backend's own connection
    connection_settings: dict[str, dict[str, str]] = field(default_factory=dict)
    # The median time of one trivial round trip through the raw driver, measured once, untimed
    local_rtt_s: float | None = None


@dataclass(frozen=True)
class RunResult:
    schema_version: int
    tool_version: str
    started_at: str
    wall_s: float
    complete: bool
    environment: dict[str, str]
    plan: dict[str, Any]
    scenarios: dict[str, str]  # name -> what is timed (its docstring)
    backends: dict[str, str]  # name -> title
    databases: list[DatabaseInfo]
    cells: list[Cell]
    comparisons: list[Comparison] = field(default_factory=list)
    incomplete_reason: str | None = None
    projections: list[Projection] = field(default_factory=list)  # `--rtt`: verdicts at distance
    sweep: list[SweepCell] = field(default_factory=list)  # a run over several sizes only

    @property
    def sizes(self) -> list[int]:
        """The distinct sizes (rows) of the run's cells, smallest first: more than one for a
        sweep (`--rows 100,1000,10000`)."""
        return sorted({c.rows for c in self.cells})

    @property
    def all_verified(self) -> bool:
        return bool(self.cells) and all(c.verified for c in self.cells)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, default=_json_default)

    def write(self, path: Path) -> None:
        path.write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        for cell in data.get("cells", []):
            # schema_version 1 had one idiom per ORM (today's "documented") and the floor.
            cell.setdefault("idiom", "floor" if cell.get("backend") == "dbapi" else "documented")
        for comparison in data.get("comparisons", []):
            comparison.setdefault("idiom", "documented")
        return _build(cls, data)

    @classmethod
    def read(cls, path: Path) -> RunResult:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


def _json_default(value: Any) -> Any:
    if isinstance(value, float):
        return None
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _build(tp: Any, data: Any) -> Any:
    """Rebuild dataclasses from plain JSON data, guided by type hints; unknown keys are ignored
    so that files from newer minor versions still load."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if data is None:
            return None
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _build(inner[0], data)
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        known = {f.name for f in dataclasses.fields(tp)}
        return tp(**{k: _build(hints[k], v) for k, v in data.items() if k in known})
    if origin is list:
        (item,) = typing.get_args(tp)
        return [_build(item, v) for v in data]
    if origin is dict:
        _, value_type = typing.get_args(tp)
        return {k: _build(value_type, v) for k, v in data.items()}
    return data
