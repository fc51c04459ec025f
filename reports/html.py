"""report.html: the report people look at and forward. Verdicts first, then (in a size sweep)
the Scaling section's log-log charts, then per scenario the charts (reports.charts), the
figures and the SQL each backend sent, each size apart, then the environment and the
connection settings.

One self-contained file: CSS inline, charts as inline SVG, no script, no font, no link to
anything, so it reads the same from a CI artifact, an e-mail attachment or a printer.
"""

from __future__ import annotations

import re

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from reports import bottom_line as bottom
from reports import charts, instructions, scaling_charts
from reports import format as fmt
from reports.model import RunResult

_env = Environment(
    loader=PackageLoader("reports", "templates"),
    undefined=StrictUndefined,
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def code_spans(text: str) -> Markup:
    """Docstrings mark code with backticks, as Markdown does: show it as code."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


_env.filters["code_spans"] = code_spans


def render(result: RunResult) -> str:
    return _env.get_template("report.html.j2").render(
        r=result,
        fmt=fmt,
        charts=charts,
        scaling_charts=scaling_charts,
        bottom=bottom,
        instructions=instructions,
    )
