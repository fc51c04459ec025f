"""The Markdown report: environment, then per database and scenario the timings, statements,
verdict, floor multiple, verification, and the SQL each backend sent."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined

from reports import bottom_line as bottom
from reports import format as fmt
from reports import instructions
from reports.model import RunResult

_env = Environment(
    loader=PackageLoader("reports", "templates"),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def render(result: RunResult) -> str:
    return _env.get_template("report.md.j2").render(
        r=result, fmt=fmt, bottom=bottom, instructions=instructions
    )


def render_summary(result: RunResult) -> str:
    """The short form for CI job summaries: verdicts and verification only."""
    return _env.get_template("summary.md.j2").render(r=result, fmt=fmt, bottom=bottom)
