"""The console report in an 80- and a 120-column terminal, from a real small SQLite run: no
figure, label or word cut ("109.…", "SQLA…"), every line within the width, the two SQLAlchemy
idioms told apart, and the bottom line first."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console

from harness.gating.results_file import load_result
from reports import console as console_report
from reports import format as fmt

# "BEGIN…COMMIT" is a word of the report's own, not a cut.
OWN_ELLIPSES = ("BEGIN…COMMIT",)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    """create, get and delete: SQLAlchemy has an equal-work idiom of its own in create, Django
    in get, and in delete both ORMs' equal work is the documented code."""
    from conftest import run_cli

    folder = tmp_path_factory.mktemp("width")
    run = run_cli(
        "run",
        "--rows",
        "30",
        "--rounds",
        "6",
        "--scenarios",
        "create,get,delete",
        "--output",
        "out",
        "-q",
        cwd=folder,
    )
    assert run.code == 0, run.stderr
    return load_result(folder / "out/results.json")


def render(result, width: int) -> str:
    out = io.StringIO()
    console_report.render(result, Console(file=out, width=width, color_system=None))
    return out.getvalue()


@pytest.mark.parametrize("width", [80, 120])
def test_nothing_is_cut_and_every_line_fits(result, width):
    text = render(result, width)
    assert max(len(line) for line in text.splitlines()) <= width
    stripped = text
    for word in OWN_ELLIPSES:
        stripped = stripped.replace(word, "")
    assert "…" not in stripped, text
    for cell in result.cells:  # every figure whole
        assert fmt.seconds(cell.median_s) in text
        assert fmt.floor_multiple(result, cell) in text
    for c in result.comparisons:
        if c.kind == "orm":
            assert fmt.ratio(c) in text


@pytest.mark.parametrize("width", [80, 120])
def test_the_two_sqlalchemy_idioms_are_told_apart(result, width):
    """create, get and delete: one line per SQLAlchemy idiom, labelled apart (the full
    table's idiom column, or the lines' abbreviations and their key)."""
    text = render(result, width)
    lines = text.splitlines()
    if any(line.startswith("┃ scenario") for line in lines):
        cells = [[p.strip() for p in line.split("│")] for line in lines if "│" in line]
        labels = [c[3] for c in cells if c[2] == "SQLAlchemy"]
        assert labels[0::2] == ["as documented"] * 3, labels
        assert len(labels) == 6 and all(x.startswith("equal work") for x in labels[1::2])
    else:
        rows = [line.split() for line in lines if line.startswith("  SQLAlchemy ")]
        assert [r[1] for r in rows] == ["doc", "eq", "doc", "eq=doc", "doc", "eq=doc"]
        assert "eq: equal work" in " ".join(text.split())


def test_a_wide_terminal_keeps_the_full_table(result):
    text = render(result, 200)
    assert "┃ scenario" in text and "equal work" in text and "rows/s" in text


def test_every_report_opens_with_the_bottom_line(result):
    from reports import html, markdown
    from reports.bottom_line import bottom_lines

    (line,) = bottom_lines(result)
    orm = [c for c in result.comparisons if c.kind == "orm"]
    for idiom, text in zip(("as documented", "equal work"), line.tallies, strict=True):
        assert text.startswith(f"{idiom}: SQLAlchemy faster in ")
        counts = [int(n) for n in re.findall(r" in (\d+)", text)]
        assert sum(counts) == 3 and text.endswith("(of 3)")  # create, get, delete
    winners = [c for c in orm if c.verdict.endswith("faster")]
    assert len(line.decisive) <= len(winners)  # get's shared comparison is one line
    sizes = [float(re.search(r"([\d.]+)x faster", d).group(1)) for d in line.decisive]
    assert sizes == sorted(sizes, reverse=True)
    assert "inconclusive verdict is not a tie" in line.meaning or "No scenario" in line.meaning

    console_text = render(result, 80)
    assert console_text.startswith("Bottom line\n  as documented: SQLAlchemy faster in")
    md = markdown.render(result)
    assert md.startswith("# ormbench report\n\n## Bottom line\n\n- **as documented**:")
    page = html.render(result)
    assert page.index('id="bottom-line"') < page.index('id="verdicts"')
    # The long explanation follows the verdicts, not before them.
    assert page.index("Ratios are SQLAlchemy time") > page.index('<table class="verdicts')


@pytest.mark.parametrize("width", [80, 120])
def test_compare_reads_at_80_and_120_columns(result, width):
    from harness.gating.compare import compare
    from reports import compare as compare_report

    outcome = compare(result, result, 0.10, "base.json", "current.json")
    out = io.StringIO()
    compare_report.render_console(outcome, Console(file=out, width=width, color_system=None))
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= width
    assert "…" not in text, text
    for change in outcome.changes:
        assert compare_report.change(change) in text
        assert compare_report.caught(change) in text
    assert "SQLAlchemy doc" in text and "SQLAlchemy eq" in text or "(equal work)" in text


@pytest.mark.parametrize("width", [80, 120])
def test_concurrency_reads_at_80_and_120_columns(tmp_path_factory, width):
    from conftest import run_cli

    folder = tmp_path_factory.mktemp(f"concurrency{width}")
    run = run_cli(
        "concurrency",
        "--threads",
        "1,2",
        "--operations",
        "10",
        "--rows",
        "20",
        "--repetitions",
        "2",
        "-q",
        cwd=folder,
        env={"COLUMNS": str(width)},
    )
    assert run.code == 0, run.stderr
    text = run.stdout
    assert max(len(line) for line in text.splitlines()) <= width
    assert "…" not in text, text
    data = json.loads((folder / "ormbench-report/concurrency.json").read_text())
    for cell in data["cells"]:
        assert f"{cell['ops_per_s']:,.0f}" in text


def test_charts_draw_one_comparison_where_both_idioms_are_the_same_code(result):
    """delete: both ORMs' equal work is their documented code, one measurement: one row in the
    charts, named so; create's two idioms differ and keep a row each."""
    from reports import html

    page = html.render(result)
    assert "delete · as documented = equal work" in page and "delete · equal work" not in page
    assert "create · as documented" in page and "create · equal work" in page


def test_the_verified_column_is_never_cropped_away(result):
    """A table rich lays out a few columns wider than the console is cropped at its edge: the
    last column, each cell's verification, would vanish without a sign. Every width from a
    narrow terminal to a wide one."""
    for width in range(80, 181):
        text = render(result, width)
        assert text.count("passed") >= len(result.cells), (width, text)
