"""Tables for a terminal too narrow for them (80 columns): each row becomes a record, its label
and the columns that fit aligned on one line under a heading for its group, the rest as
"name value" pairs on an indented line below. Nothing is cut: what does not fit moves down."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

GAP = 2
NBSP = "\u00a0"


@dataclass(frozen=True)
class Record:
    group: str  # the heading the record goes under ("create", "4 threads")
    label: str  # the row's name under it ("SQLAlchemy eq")
    values: Sequence[str]  # one per column, in the columns' order
    style: str = ""  # for the value of the `styled` column (a verdict, a status)


def natural_width(table: Table) -> int:
    """The width `table` needs with no cell wrapped: its columns at their widest content."""
    widths = []
    for column in table.columns:
        texts = [str(column.header), *(str(c) for c in column.cells)]
        widths.append(max(cell_len(Text.from_markup(t).plain) for t in texts))
    return sum(widths) + 3 * len(widths) + 1


def print_records(
    console: Console,
    headers: Sequence[str],
    records: Sequence[Record],
    label_header: str = "",
    styled: str = "",
) -> None:
    """The records, as many columns on each first line as the console's width allows (in
    order), the others below as "header value" pairs. The `styled` column (words, not figures)
    is left-aligned and takes each record's style."""
    if not records:
        return
    label_w = max(cell_len(label_header), *(cell_len(r.label) + 2 for r in records))
    widths = [
        max(cell_len(h), *(cell_len(r.values[i]) for r in records)) for i, h in enumerate(headers)
    ]
    inline = len(headers)
    while inline and label_w + sum(GAP + w for w in widths[:inline]) > console.width:
        inline -= 1
    head = label_header.ljust(label_w) + "".join(
        " " * GAP + (h.ljust(w) if h == styled else h.rjust(w))
        for h, w in zip(headers[:inline], widths, strict=False)
    )
    console.print(Text(head.rstrip(), style="bold"))
    console.print("─" * min(console.width, max(cell_len(head), 20)), markup=False)
    previous = None
    for record in records:
        if record.group != previous:
            console.print(Text(record.group, style="bold"))
            previous = record.group
        line = Text(("  " + record.label).ljust(label_w))
        for header, value, w in zip(headers[:inline], record.values, widths, strict=False):
            line.append(" " * GAP)
            if header == styled:
                line.append(value.ljust(w), style=record.style)
            else:
                line.append(value.rjust(w))
        line.rstrip()
        console.print(line)
        rest = [
            # a no-break space: a header's words ("× raw") never part at a line's end
            f"{h.replace(' ', NBSP)} {v}"
            for h, v in zip(headers[inline:], record.values[inline:], strict=True)
            if v  # an empty value (no reason to give) says nothing
        ]
        if rest:
            for part in textwrap.wrap(
                "; ".join(rest),
                max(console.width, 30),
                initial_indent="    ",
                subsequent_indent="      ",
                break_long_words=False,
                break_on_hyphens=False,
            ):
                console.print(part, markup=False)
