"""The bottom line a report opens with, per database: how the SQLAlchemy/Django verdicts came
out in each idiom, the decisive differences (largest first, with what differs), and one
sentence on what that evidence carries for choosing between the two."""

from __future__ import annotations

from dataclasses import dataclass

from reports import format as fmt
from reports.model import Comparison, RunResult


@dataclass(frozen=True)
class BottomLine:
    label: str  # the database's label
    tallies: list[str]  # one per idiom: "as documented: SQLAlchemy faster in 3, …"
    decisive: list[str]  # the scenarios with a winner, largest ratio first
    meaning: str  # what the evidence carries for choosing


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def tally(comparisons: list[Comparison]) -> str:
    """ "SQLAlchemy faster in 3, Django in 2, no practical difference in 1, inconclusive in 3
    (of 9)"."""
    kinds = [fmt.verdict_kind(c) for c in comparisons]
    none = sum(1 for c in comparisons if c.verdict.startswith("no verdict"))
    parts = [
        f"SQLAlchemy faster in {kinds.count('sqlalchemy')}",
        f"Django in {kinds.count('django')}",
    ]
    if kinds.count("equivalent"):
        parts.append(f"no practical difference in {kinds.count('equivalent')}")
    if kinds.count("open") - none:
        parts.append(f"inconclusive in {kinds.count('open') - none}")
    if none:
        parts.append(f"no verdict in {none}")
    return f"{', '.join(parts)} (of {len(comparisons)})"


def _winner(c: Comparison) -> bool:
    return fmt.verdict_kind(c) in ("sqlalchemy", "django")


def _size(result: RunResult, c: Comparison) -> str:
    return f" at {c.rows:,} rows" if fmt.is_sweep(result) and c.rows else ""


def decisive(result: RunResult, comparisons: list[Comparison]) -> list[str]:
    """The comparisons with a winner, largest ratio first; two idioms with the same figures
    (the same code measured once) are one line."""
    lines: dict[tuple, tuple[float, list[str], Comparison]] = {}
    for c in comparisons:
        if not _winner(c) or c.ratio is None:
            continue
        key = (c.scenario, c.rows, c.verdict, c.ratio, c.ci_low, c.ci_high)
        entry = lines.setdefault(key, (max(c.ratio, 1 / c.ratio), [], c))
        entry[1].append(fmt.IDIOM_TITLES.get(c.idiom, c.idiom))
    ranked = sorted(lines.values(), key=lambda e: -e[0])
    out = []
    for _, idioms, c in ranked:
        which = "both idioms, the same code" if len(idioms) > 1 else idioms[0]
        line = f"{c.scenario}{_size(result, c)} ({which}): {c.verdict} (ratio {fmt.ratio(c)})"
        out.append(line + (f"; {c.differs}" if c.differs else ""))
    return out


def meaning(comparisons: list[Comparison], margin: float) -> str:
    """One sentence on what the verdicts carry for choosing, and no more than they carry."""
    documented = [c for c in comparisons if c.idiom == "documented"] or comparisons
    wins = [fmt.verdict_kind(c) for c in documented]
    sa, dj = wins.count("sqlalchemy"), wins.count("django")
    scope = "on this database, at these sizes, on this machine"
    if not any(_winner(c) for c in comparisons):
        return (
            f"No scenario has a winner beyond ±{margin:g}% here, so these figures do not "
            "favour either ORM for speed; an inconclusive verdict is not a tie (more rounds "
            "narrow the intervals)."
        )
    if sa == dj:
        lead = f"As documented, neither ORM leads: each is faster in {_count(sa, 'scenario')}"
    else:
        leader, more, fewer = ("SQLAlchemy", sa, dj) if sa > dj else ("Django", dj, sa)
        lead = f"As documented, {leader} is faster in more scenarios ({more} to {fewer})"
    flips = sorted(
        {
            c.scenario
            for c in comparisons
            if c.idiom == "equal"
            and fmt.verdict_kind(c) != "open"  # inconclusive: no claim either way
            and any(
                d.scenario == c.scenario
                and d.rows == c.rows
                and d.idiom == "documented"
                and _winner(d)
                and fmt.verdict_kind(d) != fmt.verdict_kind(c)
                for d in comparisons
            )
        }
    )
    text = (
        f"{lead}. Each verdict holds {scope}; which ORM suits you depends on how often your "
        "application runs each of these operations, and an inconclusive verdict is not a tie."
    )
    if flips:
        text += (
            f" In {', '.join(flips)} the documented winner is not the equal-work one: the "
            "defaults (what differs), not the ORM's own overhead, decide it there."
        )
    return text


def bottom_lines(result: RunResult) -> list[BottomLine]:
    """One per database with SQLAlchemy/Django verdicts, in the report's order."""
    margin = result.plan.get("margin", 5.0)
    out = []
    for info in result.databases:
        comparisons = [
            c for c in result.comparisons if c.database == info.label and c.kind == "orm"
        ]
        if not comparisons:
            continue
        idioms = list(dict.fromkeys(c.idiom for c in comparisons))
        tallies = [
            f"{fmt.IDIOM_TITLES.get(i, i)}: {tally([c for c in comparisons if c.idiom == i])}"
            for i in idioms
        ]
        out.append(
            BottomLine(
                label=info.label,
                tallies=tallies,
                decisive=decisive(result, comparisons),
                meaning=meaning(comparisons, margin),
            )
        )
    return out
