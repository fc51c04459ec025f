"""Number formatting, SQL shortening and table lookups shared by the renderers."""

from __future__ import annotations

import re

from reports.model import Cell, Comparison, DatabaseInfo, RunResult

BACKEND_TITLES = {"sqlalchemy": "SQLAlchemy ORM", "django": "Django ORM", "dbapi": "raw DB-API"}
SHORT_TITLES = {"sqlalchemy": "SQLAlchemy", "django": "Django", "dbapi": "raw DB-API"}


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


def per_op(value: float | None) -> str:
    if value is None:
        return "—"
    if 0 < value < 0.01:  # e.g. one COMMIT for 1,000 lookups: show it, do not round it away
        return f"{value:.3f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


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


def work_contract(cells: list[Cell]) -> str:
    """The work contract a scenario's equal-work cells and floor were held to ("" if none)."""
    return next((c.verification.contract for c in cells if c.verification.contract), "")


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
