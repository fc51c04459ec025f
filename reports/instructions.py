"""The instructions table of a run with counts (`--measure instructions`): per database,
scenario and idiom, each backend's instructions per operation beside its median time, the
SQLAlchemy/Django ratio of instructions with the range the counted rounds give, and its verdict.
Shared by the console, Markdown and HTML renderers."""

from __future__ import annotations

from dataclasses import dataclass

from backends import FLOOR, ORM_PAIR
from reports import format as fmt
from reports.model import Cell, Comparison, RunResult

# What one count covers, said wherever counts are shown. (The ratio: harness.verdicts.)
COVERAGE = (
    "Instructions per operation are counted under valgrind (callgrind), around each timed "
    "operation only, in a second pass with the same rounds, checks and trace: the ORM, the "
    "driver and, on SQLite, the database engine, which runs in the process. On a database "
    "server only the client side is counted: the server's work and the network are not. A "
    "count does not replace time; it isolates what each ORM costs on the CPU, and it does not "
    "move when the machine is busy."
)


@dataclass(frozen=True)
class InstructionRow:
    scenario: str  # with its size in a sweep
    idiom: str  # the ORM cells' idiom title
    per_op: list[str]  # each backend's instructions/op (SQLAlchemy, Django, floor)
    times: list[str]  # each backend's median time, in the same order
    ratio: str  # SQLAlchemy / Django instructions, with the counts' range
    time_ratio: str  # SQLAlchemy / Django time, with its interval
    verdict: str
    spread: str  # the largest spread of any of the row's cells over its counted rounds


HEADERS = (
    "scenario",
    "idiom",
    "SQLAlchemy instr/op",
    "Django instr/op",
    "raw instr/op",
    "SQLAlchemy time/op",
    "Django time/op",
    "raw time/op",
    "SQLAlchemy / Django instr [range]",
    "time ratio [95% CI]",
    "verdict on instructions",
    "spread",
)


def counted(result: RunResult, database: str | None = None) -> bool:
    """Does the run (or one database of it) have counts?"""
    return any(
        c.instructions_rounds for c in result.cells if database is None or c.database == database
    )


def count_text(value: float | None) -> str:
    """Instructions as "521k" or "1.23M": three significant figures are what a reader
    compares; the exact counts are in results.json."""
    if value is None:
        return "—"
    for limit, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            scaled = value / limit
            return f"{scaled:.3g}{unit}" if scaled < 100 else f"{scaled:.0f}{unit}"
    return f"{value:.0f}"


def ratio_text(comparison: Comparison | None) -> str:
    if comparison is None or comparison.instructions_ratio is None:
        return "—"
    low, high = comparison.instructions_low, comparison.instructions_high
    return f"{comparison.instructions_ratio:.3f} [{low:.3f}–{high:.3f}]"


def spread_text(cells: list[Cell]) -> str:
    spreads = [c.instructions_spread for c in cells if c.instructions_spread is not None]
    return f"{max(spreads) * 100:.2f}%" if spreads else "—"


def rows(result: RunResult, database: str) -> list[InstructionRow]:
    """The database's rows, in run order: one per scenario (and size) and ORM idiom."""
    sweep = fmt.is_sweep(result)
    found = []
    for scenario, cells in fmt.scenario_cells(result, database).items():
        for size in dict.fromkeys(c.rows for c in cells):
            sized = [c for c in cells if c.rows == size]
            floor = next((c for c in sized if c.backend == FLOOR), None)
            for idiom in dict.fromkeys(c.idiom for c in sized if c.backend != FLOOR):
                pair = [
                    next((c for c in sized if (c.backend, c.idiom) == (orm, idiom)), None)
                    for orm in ORM_PAIR
                ]
                shown = [c for c in (*pair, floor) if c is not None]
                if not any(c.instructions_rounds for c in shown):
                    continue
                comparison = next(
                    (
                        c
                        for c in result.comparisons
                        if (c.database, c.scenario, c.kind, c.idiom)
                        == (database, scenario, "orm", idiom)
                        and (c.rows in (None, size))
                    ),
                    None,
                )
                found.append(
                    InstructionRow(
                        scenario=f"{scenario} ({size:,} rows)" if sweep else scenario,
                        idiom=fmt.IDIOM_TITLES.get(idiom, idiom),
                        per_op=[
                            count_text(c.instructions_per_op if c else None) for c in (*pair, floor)
                        ],
                        times=[fmt.seconds(_per_op(c)) for c in (*pair, floor)],
                        ratio=ratio_text(comparison),
                        time_ratio=fmt.ratio(comparison),
                        verdict=(comparison.instructions_verdict if comparison else "") or "—",
                        spread=spread_text(shown),
                    )
                )
    return found


def _per_op(cell: Cell | None) -> float | None:
    if cell is None or cell.median_s is None or cell.operations <= 0:
        return None
    return cell.median_s / cell.operations
