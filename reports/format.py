"""Number formatting, SQL shortening and table lookups shared by the renderers."""

from __future__ import annotations

import re

from reports.model import Cell, Comparison, DatabaseInfo, RunResult, SweepCell, TraceCounts

BACKEND_TITLES = {"sqlalchemy": "SQLAlchemy ORM", "django": "Django ORM", "dbapi": "raw DB-API"}
SHORT_TITLES = {"sqlalchemy": "SQLAlchemy", "django": "Django", "dbapi": "raw DB-API"}


def plural(count: float | str, word: str) -> str:
    """ "1 statement", "3 statements", "0.5 statements": the count and its noun agreeing."""
    return f"{count} {word}" if str(count) in ("1", "1.0") else f"{count} {word}s"


def time_unit(value: float) -> tuple[str, float, int]:
    """The unit a time in seconds reads best in: (name, factor, decimals shown)."""
    if value >= 1:
        return "s", 1.0, 2
    if value >= 1e-3:
        return "ms", 1e3, 1
    return "µs", 1e6, 0


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    unit, factor, decimals = time_unit(value)
    return f"{value * factor:.{decimals}f} {unit}"


def rate(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def memory(value: int | None) -> str:
    """Bytes as KiB or MiB."""
    if value is None:
        return "—"
    if value < 1024 * 1024:
        return f"{value / 1024:,.0f} KiB"
    return f"{value / (1024 * 1024):,.1f} MiB"


def memory_per_row(cell: Cell) -> str:
    """A cell's peak Python allocation per row, in KiB (bytes below one KiB)."""
    value = cell.peak_alloc_per_row
    if value is None:
        return "—"
    if value < 1024:
        return f"{value:,.0f} B"
    return f"{value / 1024:,.1f} KiB"


def client_share(cell: Cell) -> str:
    """The share of wall time the client spent on the CPU, as a whole percentage."""
    share = cell.client_share
    return "—" if share is None else f"{share * 100:.0f}%"


def embedded(result: RunResult, label: str) -> bool:
    """Does the database run inside the client's process (SQLite)?"""
    info = next((d for d in result.databases if d.label == label), None)
    return info is not None and info.family == "sqlite"


def client_share_note(result: RunResult, label: str) -> str:
    """How to read the client-CPU column, honestly for an embedded database."""
    note = (
        "client CPU: the share of each timed round's wall time the benchmarking thread spent on "
        "the CPU (ORM and driver, user and system time), median over the rounds; the rest is "
        "waiting: on the database, the network, or for a CPU on a busy machine"
    )
    if embedded(result, label):
        note += (
            ". SQLite runs inside this process, so its own work counts as client CPU here, and "
            "the rest is waiting for the disk or for a CPU"
        )
    return note


def per_op(value: float | None) -> str:
    if value is None:
        return "—"
    if 0 < value < 0.01:  # e.g. one COMMIT for 1,000 lookups: show it, do not round it away
        return f"{value:.3f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def round_trips(trace: TraceCounts | None) -> str:
    """Round trips per operation on the wire (harness.wire.relay); "—" where not counted."""
    return per_op(trace.round_trips_per_operation) if trace else "—"


def wire_summary(trace: TraceCounts) -> str:
    """One sentence on what crossed the wire in the traced run, and what the server counted."""
    if trace.round_trips is None:
        return f"On the wire: not counted ({trace.wire_note or 'no relay'})."
    parts = [
        f"On the wire: {trace.round_trips} round trips, {trace.bytes_sent:,} bytes sent and "
        f"{trace.bytes_received:,} received"
    ]
    if trace.messages_sent is not None:
        parts.append(
            f"{trace.messages_sent} protocol messages sent, {trace.messages_received} received"
        )
    if trace.wire_statements:
        kinds = ", ".join(f"{k or '?'} {v}" for k, v in sorted(trace.wire_statements.items()))
        parts.append(f"statements the server ran: {kinds}")
    if trace.wire_note:
        parts.append(trace.wire_note)
    text = "; ".join(parts) + "."
    if trace.server_counters:
        counted = ", ".join(f"{k} {v}" for k, v in sorted(trace.server_counters.items()))
        text += f" The server counted: {counted}."
    return text


def ratio(comparison: Comparison | None) -> str:
    if comparison is None or comparison.ratio is None:
        return "—"
    if comparison.ci_low is None or comparison.ci_high is None:
        return f"{comparison.ratio:.2f} (no interval)"
    return f"{comparison.ratio:.2f} [{comparison.ci_low:.2f}–{comparison.ci_high:.2f}]"


def verdict_kind(comparison: Comparison) -> str:
    """What an ORM verdict says, as a word for styling: the faster backend's name
    ("sqlalchemy", "django"), "equivalent" (no practical difference), or "open"
    (inconclusive, or no verdict)."""
    verdict = comparison.verdict
    if verdict.endswith("faster"):
        winner = verdict.split()[0]
        return next((n for n, t in SHORT_TITLES.items() if t == winner), "open")
    return "equivalent" if verdict.startswith("no practical difference") else "open"


def backend_title(result: RunResult, name: str) -> str:
    return result.backends.get(name) or BACKEND_TITLES.get(name, name)


def scenario_cells(result: RunResult, database: str) -> dict[str, list[Cell]]:
    """Cells of one database grouped by scenario, in run order (in a size sweep, each
    scenario's sizes smallest first)."""
    grouped: dict[str, list[Cell]] = {}
    for cell in result.cells:
        if cell.database == database:
            grouped.setdefault(cell.scenario, []).append(cell)
    return grouped


IDIOM_TITLES = {"documented": "as documented", "equal": "equal work", "floor": "floor"}


def comparison(
    result: RunResult,
    database: str,
    scenario: str,
    kind: str,
    numerator: str | None = None,
    idiom: str = "documented",
    rows: int | None = None,
) -> Comparison | None:
    """The comparison of those cells; `rows` picks a sweep's size (a comparison from a file
    that predates sweeps, without rows, matches any)."""
    for c in result.comparisons:
        same_size = rows is None or c.rows is None or c.rows == rows
        if (c.database, c.scenario, c.kind, c.idiom) == (database, scenario, kind, idiom) and (
            (numerator is None or c.numerator == numerator) and same_size
        ):
            return c
    return None


def orm_comparisons(result: RunResult, database: str, scenario: str) -> list[Comparison]:
    """SQLAlchemy against Django for one scenario, one per idiom (and, in a size sweep, per
    size: `size_label` names it), in run order."""
    return [
        c
        for c in result.comparisons
        if (c.database, c.scenario, c.kind) == (database, scenario, "orm")
    ]


def distance(seconds: float) -> str:
    """A round-trip time as people say it: "0.5 ms", "2 ms", "80 µs"."""
    if seconds >= 1e-3 or seconds == 0:
        return f"{seconds * 1e3:g} ms"
    return f"{seconds * 1e6:.0f} µs"


def projection_table(result: RunResult, database: str) -> tuple[list[str], list[list[str]]]:
    """`--rtt`: the header and rows of one database's verdicts by distance: per scenario and
    idiom, the measured verdict, then the verdict projected at each distance. ([], []) when
    there are none."""
    own = [p for p in result.projections if p.database == database]
    info = next((d for d in result.databases if d.label == database), None)
    if not own or info is None or info.local_rtt_s is None:
        return [], []
    distances = list(dict.fromkeys(p.rtt_s for p in own))
    header = ["scenario", "idiom", f"measured (local {distance(info.local_rtt_s)})"]
    header += [f"at {distance(d)}" for d in distances]
    projected = {(p.scenario, p.idiom, p.rows, p.rtt_s): p for p in own}
    sweep = len({p.rows for p in own}) > 1
    rows = []
    for c in result.comparisons:
        if c.database != database or c.kind != "orm":
            continue
        scenario = f"{c.scenario} at {c.rows:,} rows" if sweep else c.scenario
        row = [scenario, IDIOM_TITLES.get(c.idiom, c.idiom), _short_verdict(c.ratio, c.verdict)]
        for d in distances:
            p = projected.get((c.scenario, c.idiom, c.rows, d))
            row.append(_short_verdict(p.ratio, p.verdict) if p else "—")
        rows.append(row)
    return header, rows


def _short_verdict(ratio: float | None, verdict: str) -> str:
    """ "1.32: Django 1.32x faster", the verdict without its parenthesis (the per-scenario
    sections give it in full)."""
    head = verdict.split(" (")[0]
    return f"{ratio:.2f}: {head}" if ratio is not None else head


def work_contract(cells: list[Cell]) -> str:
    """The work contract a scenario's equal-work cells and floor were held to ("" if none)."""
    return next((c.verification.contract for c in cells if c.verification.contract), "")


def idiom_title(cell: Cell) -> str:
    title = IDIOM_TITLES.get(cell.idiom, cell.idiom)
    if cell.same_code_as:
        return f"{title} (= {IDIOM_TITLES.get(cell.same_code_as, cell.same_code_as)})"
    return title


def floor_multiple(result: RunResult, cell: Cell) -> str:
    c = comparison(
        result, cell.database, cell.scenario, "floor", cell.backend, cell.idiom, cell.rows
    )
    if c is None or c.ratio is None:
        return "1x" if cell.backend == "dbapi" else "—"
    return f"{c.ratio:.2f}x"


def settings_table(info: DatabaseInfo) -> tuple[list[str], list[list[str]]]:
    """The connection settings read back from each backend: (backends, rows of setting and
    one value per backend)."""
    backends = list(info.connection_settings)
    names = list(dict.fromkeys(n for values in info.connection_settings.values() for n in values))
    rows = [
        [name, *(info.connection_settings[b].get(name, "—") for b in backends)] for name in names
    ]
    return backends, rows


def database_heading(result: RunResult, label: str) -> str:
    info = next((d for d in result.databases if d.label == label), None)
    if info is None:
        return label
    version = info.server_version.split(" on ")[0].split(",")[0]
    where = f" — {info.location}" if info.location else ""
    edition = f" {info.edition}" if info.edition else ""
    return (
        f"{info.family} {version}{edition} via {info.driver} {info.driver_version}: {label}{where}"
    )


BY_DESIGN = ("autocommit",)  # differs between ORMs by design (harness.targets.connection)


def settings_differences(info: DatabaseInfo) -> list[str]:
    """The settings (autocommit aside) whose values differ between backends, as lines."""
    _backends, rows = settings_table(info)
    return [
        f"{name}: " + ", ".join(f"{b} {v}" for b, v in zip(_backends, values, strict=True))
        for name, *values in rows
        if name not in BY_DESIGN and len(set(values)) > 1
    ]


# --- size sweeps (harness.judging.sweep) ----------------------------------------------------------


def is_sweep(result: RunResult) -> bool:
    return len(result.sizes) > 1


def sizes_text(result: RunResult) -> str:
    """ "100 / 1,000 / 10,000" (a slash: the sizes' own commas would blur a comma list)."""
    return " / ".join(f"{n:,}" for n in result.sizes)


TREND_TITLES = {
    "grows": "grows",
    "shrinks": "shrinks",
    "steady": "steady",
    "unclear": "no clear change",
}


def size_label(result: RunResult, rows: int | None) -> str:
    """ "1,000 rows" in a size sweep, where a row or line must name its size; "" otherwise."""
    return f"{rows:,} rows" if rows is not None and is_sweep(result) else ""


def sweep_cells(result: RunResult, database: str) -> list[SweepCell]:
    return [s for s in result.sweep if s.database == database]


def sweep_scenarios(result: RunResult, database: str) -> dict[str, list[SweepCell]]:
    """A database's sweep cells grouped by scenario, in run order."""
    grouped: dict[str, list[SweepCell]] = {}
    for cell in sweep_cells(result, database):
        grouped.setdefault(cell.scenario, []).append(cell)
    return grouped


def cells_by_size(cells: list[Cell]) -> dict[int, list[Cell]]:
    """A scenario's cells grouped by size, smallest first."""
    grouped: dict[int, list[Cell]] = {}
    for cell in sorted(cells, key=lambda c: c.rows):
        grouped.setdefault(cell.rows, []).append(cell)
    return grouped


def sweep_idiom_title(cell: SweepCell) -> str:
    title = IDIOM_TITLES.get(cell.idiom, cell.idiom)
    if cell.same_code_as:
        return f"{title} (= {IDIOM_TITLES.get(cell.same_code_as, cell.same_code_as)})"
    return title


def exponent(cell: SweepCell) -> str:
    """ "1.02 [0.97, 1.08]" (a comma: exponents can be negative), or "—"."""
    if cell.exponent is None:
        return "—"
    if cell.exponent_low is None or cell.exponent_high is None:
        return f"{cell.exponent:.2f} (no interval)"
    return f"{cell.exponent:.2f} [{cell.exponent_low:.2f}, {cell.exponent_high:.2f}]"


def local_exponents(cell: SweepCell) -> str:
    """The slopes between neighbouring sizes, "0.81 → 1.03" (three or more sizes)."""
    if not cell.local_exponents:
        return "—"
    return " → ".join("—" if e is None else f"{e:.2f}" for e in cell.local_exponents)


def sweep_multiples(cell: SweepCell) -> list[str]:
    """The floor multiple at each size of the sweep, "2.10x" (the floor itself: "1x")."""
    if cell.backend == "dbapi":
        return ["1x" for _ in cell.points]
    return ["—" if p.floor_multiple is None else f"{p.floor_multiple:.2f}x" for p in cell.points]


def floor_growth(result: RunResult, cell: SweepCell) -> str:
    """One line on how the cell's multiple of the floor changes from the smallest size to the
    largest: "Django's multiple of the floor grows from 2.10x to 3.40x (1.62x [1.50–1.75]
    from 100 to 10,000 rows)"."""
    measured = [p for p in cell.points if p.floor_multiple is not None]
    if cell.floor_growth is None or len(measured) < 2:
        return ""
    first, last = measured[0], measured[-1]
    name = f"{SHORT_TITLES.get(cell.backend, cell.backend)} ({sweep_idiom_title(cell)})"
    change = f"{cell.floor_growth:.2f}x"
    if cell.floor_growth_low is not None and cell.floor_growth_high is not None:
        change += f" [{cell.floor_growth_low:.2f}–{cell.floor_growth_high:.2f}]"
    span = f"from {first.rows:,} to {last.rows:,} rows"
    margin = result.plan.get("margin", 5.0)
    ends = f"{first.floor_multiple:.2f}x to {last.floor_multiple:.2f}x"
    if cell.floor_trend == "grows":
        return f"{name}'s multiple of the floor grows from {ends} ({change} {span})"
    if cell.floor_trend == "shrinks":
        return f"{name}'s multiple of the floor shrinks from {ends} ({change} {span})"
    if cell.floor_trend == "steady":
        return (
            f"{name}'s multiple of the floor holds steady, {ends} ({change} {span}, "
            f"within ±{margin:g}%)"
        )
    return f"{name}'s multiple of the floor goes from {ends}, no clear change ({change} {span})"


# --- SQL --------------------------------------------------------------------------------------

# One parenthesised group, one level of nesting allowed inside: a VALUES row such as
# "(?, ?)" or "(%(name_m0)s, CAST(? AS INT), 0)".
_GROUP = r"\((?:[^()]|\([^()]*\))*\)"
_ROWS = re.compile(rf"(\bVALUES\s*)({_GROUP}(?:\s*,\s*{_GROUP})+)", re.I)
# A placeholder in any driver's style: ?, %s, %(name)s, :name, $1, @P1.
_PLACEHOLDER = r"(?:\?|%s|%\(\w+\)s|:\w+|\$\d+|@P\d+)"
_IN_LIST = re.compile(rf"\bIN\s*\(\s*{_PLACEHOLDER}(?:\s*,\s*{_PLACEHOLDER})+\s*\)", re.I)
_NUMBER = re.compile(r"\d+")
SHORT_ROWS = 3  # a run of this many alike VALUES rows or more is shown as its first
SHORT_IN = 8  # an IN list of this many placeholders or more is shown as its first


def _alike(parts: list[str]) -> bool:
    """Do these rows differ only in numbers (SQLAlchemy numbers its parameters per row and
    its sentinel column counts rows)?"""
    return len({_NUMBER.sub("N", " ".join(p.split())) for p in parts}) == 1


def short_sql(sql: str) -> str:
    """`sql` with its long repetitions elided, as every renderer shows SQL: a multi-row
    INSERT's rows as the first row and the count ("VALUES (?, ?), … 170 rows"), a long IN
    list of placeholders as the first and the count ("IN (?, … 100 values)"). Kilobytes of
    placeholders say nothing that the count does not."""

    def rows(match: re.Match[str]) -> str:
        keyword, run = match.groups()
        parts = re.findall(_GROUP, run)
        if len(parts) < SHORT_ROWS or not _alike(parts):
            return match.group(0)
        return f"{keyword}{parts[0]}, … {len(parts)} rows"

    def in_list(match: re.Match[str]) -> str:
        items = re.findall(_PLACEHOLDER, match.group(0))
        if len(items) < SHORT_IN or not _alike(items):
            return match.group(0)
        keyword = match.group(0)[:2]
        return f"{keyword} ({items[0]}, … {len(items)} values)"

    return _ROWS.sub(rows, _IN_LIST.sub(in_list, sql))
