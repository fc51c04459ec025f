"""Number formatting and table lookups shared by the renderers."""

from __future__ import annotations

from reports.model import Cell, Comparison, DatabaseInfo, RunResult, TraceCounts

BACKEND_TITLES = {"sqlalchemy": "SQLAlchemy ORM", "django": "Django ORM", "dbapi": "raw DB-API"}
SHORT_TITLES = {"sqlalchemy": "SQLAlchemy", "django": "Django", "dbapi": "raw DB-API"}


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.1f} ms"
    return f"{value * 1e6:.0f} µs"


def rate(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def memory(value: int | None) -> str:
    """Bytes as KiB or MiB."""
    if value is None:
        return "—"
    if value < 1024 * 1024:
        return f"{value / 1024:,.0f} KiB"
    return f"{value / (1024 * 1024):,.1f} MiB"


def per_op(value: float | None) -> str:
    if value is None:
        return "—"
    if 0 < value < 0.01:  # e.g. one COMMIT for 1,000 lookups: show it, do not round it away
        return f"{value:.3f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def round_trips(trace: TraceCounts | None) -> str:
    """Round trips per operation on the wire (harness.relay); "—" where not counted."""
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


def backend_title(result: RunResult, name: str) -> str:
    return result.backends.get(name) or BACKEND_TITLES.get(name, name)


def scenario_cells(result: RunResult, database: str) -> dict[str, list[Cell]]:
    """Cells of one database grouped by scenario, in run order."""
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
) -> Comparison | None:
    for c in result.comparisons:
        if (c.database, c.scenario, c.kind, c.idiom) == (database, scenario, kind, idiom) and (
            numerator is None or c.numerator == numerator
        ):
            return c
    return None


def orm_comparisons(result: RunResult, database: str, scenario: str) -> list[Comparison]:
    """SQLAlchemy against Django for one scenario, one per idiom, in run order."""
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
    projected = {(p.scenario, p.idiom, p.rtt_s): p for p in own}
    rows = []
    for c in result.comparisons:
        if c.database != database or c.kind != "orm":
            continue
        row = [c.scenario, IDIOM_TITLES.get(c.idiom, c.idiom), _short_verdict(c.ratio, c.verdict)]
        for d in distances:
            p = projected.get((c.scenario, c.idiom, d))
            row.append(_short_verdict(p.ratio, p.verdict) if p else "—")
        rows.append(row)
    return header, rows


def _short_verdict(ratio: float | None, verdict: str) -> str:
    """ "1.32: Django 1.32x faster", the verdict without its parenthesis (the per-scenario
    sections give it in full)."""
    head = verdict.split(" (")[0]
    return f"{ratio:.2f}: {head}" if ratio is not None else head


def idiom_title(cell: Cell) -> str:
    title = IDIOM_TITLES.get(cell.idiom, cell.idiom)
    if cell.same_code_as:
        return f"{title} (= {IDIOM_TITLES.get(cell.same_code_as, cell.same_code_as)})"
    return title


def floor_multiple(result: RunResult, cell: Cell) -> str:
    c = comparison(result, cell.database, cell.scenario, "floor", cell.backend, cell.idiom)
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


BY_DESIGN = ("autocommit",)  # differs between ORMs by design (harness.connection)


def settings_differences(info: DatabaseInfo) -> list[str]:
    """The settings (autocommit aside) whose values differ between backends, as lines."""
    _backends, rows = settings_table(info)
    return [
        f"{name}: " + ", ".join(f"{b} {v}" for b, v in zip(_backends, values, strict=True))
        for name, *values in rows
        if name not in BY_DESIGN and len(set(values)) > 1
    ]
