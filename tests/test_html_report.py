"""report.html: written beside report.md, self-contained (nothing external), the SQL shown
short, and its charts drawn in a real browser (headless Chromium from Debian's packages), with a
screenshot kept under test-artifacts/."""

from __future__ import annotations

import itertools
import json
import math
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import IN_CI, ROOT, run_cli, run_in
from markupsafe import escape

from reports import format as fmt
from reports.format import short_sql
from reports.model import RunResult

SCENARIOS = ("create", "bulk_create")
ROWS = 20
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = ROOT / "test-artifacts"
SECTIONS = ("verdicts", "scenarios", "environment")  # report.html's sections, in order


@pytest.fixture(scope="module")
def html_run(tmp_path_factory) -> tuple[Path, dict]:
    """A small real run on SQLite: two scenarios, every backend and idiom, 6 rounds (the fewest
    that give an interval)."""
    folder = tmp_path_factory.mktemp("html")
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    result, data = run_in(folder, url, "--scenarios", ",".join(SCENARIOS), rows=ROWS, rounds=6)
    assert result.code == 0, result.stderr
    assert "report.html" in result.stderr
    return folder / "ormbench-report", data


class Tags(HTMLParser):
    """Every start tag of a page with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def test_report_html_is_written_beside_report_md_by_run_and_report(html_run, tmp_path) -> None:
    report, _ = html_run
    assert (report / "report.md").is_file() and (report / "report.html").is_file()
    again = run_cli("report", str(report / "results.json"), "--output", "again", cwd=tmp_path)
    assert again.code == 0, again.stderr
    assert (tmp_path / "again/report.html").read_text() == (report / "report.html").read_text()


def test_report_html_references_nothing_external(html_run) -> None:
    html = (html_run[0] / "report.html").read_text()
    tags = tags_of(html)
    assert not [t for t, _ in tags if t in ("script", "link", "iframe", "object", "embed", "img")]
    for tag, attrs in tags:
        for name in ("src", "href", "xlink:href", "srcset", "data", "action", "poster"):
            value = attrs.get(name)
            assert value is None or value.startswith("#"), (tag, name, value)
    # CSS and SVG may point inside the page only: url(#clip-path), never url(http…) or @import.
    assert all(target.startswith("#") for target in re.findall(r"url\(\s*['\"]?([^)'\"]*)", html))
    assert "@import" not in html and "@font-face" not in html
    assert "http://" not in html and "https://" not in html


def test_report_html_holds_verdicts_then_charts_sql_and_settings(html_run) -> None:
    report, data = html_run
    html = (report / "report.html").read_text()
    verdicts, scenarios, environment = (html.index(f'id="{s}"') for s in SECTIONS)
    assert verdicts < scenarios < environment  # the verdicts come first
    for comparison in data["comparisons"]:
        if comparison["kind"] == "orm":
            assert str(escape(comparison["verdict"])) in html[verdicts:scenarios]
    tags = tags_of(html)
    figures = [a["class"] for t, a in tags if t == "figure"]
    # One summary chart for the database, and per scenario its medians and its ratio.
    assert figures == ["chart ratio"] + ["chart medians", "chart ratio"] * len(SCENARIOS)
    assert sum(t == "svg" for t, _ in tags) == len(figures)
    # svg.fonttype none: labels are text, no glyphs drawn as paths.
    assert "<text" in html and "DejaVuSans-" not in html
    assert "SQLAlchemy · as documented" in html and "raw DB-API · floor" in html
    assert 'id="scaling"' not in html and " rows · " not in html  # one size: no sweep parts
    for scenario in SCENARIOS:
        assert f'id="db0-{scenario}"' in html
    assert html.count("<details>") == len(SCENARIOS)  # the SQL, collapsed
    # every cell's client-CPU share, as in report.md, and how to read it on SQLite
    assert html.count(">client CPU</th>") == len(SCENARIOS)
    assert html.count(">trips/op</th>") == len(SCENARIOS)  # the wire's round trips
    assert "SQLite runs inside this process" in html[scenarios:environment]
    (database,) = data["databases"]
    shown = html[environment:]
    assert "every backend gets" in shown  # the connection policy, then the settings read back
    for setting in database["connection_settings"]["django"]:
        assert f"<td>{escape(setting)}</td>" in shown
    assert all(str(escape(v)) in shown for v in data["environment"].values())


def test_multi_row_inserts_are_short_in_every_report(html_run) -> None:
    report, data = html_run
    # results.json keeps every statement whole, as sent; the reports show them short.
    bulk = [c for c in data["cells"] if (c["scenario"], c["backend"]) == ("bulk_create", "django")]
    inserts = [s["sql"] for c in bulk for s in c["trace"]["sql"] if s["sql"].startswith("INSERT")]
    assert inserts and all(sql.count("(?, ?, ?, ?, ?, ?)") == ROWS for sql in inserts)
    for name in ("report.html", "report.md"):
        text = (report / name).read_text()
        assert f"… {ROWS} rows" in text, name
        assert "?, ?), (?" not in text and "%s), (%s" not in text, name


@pytest.mark.parametrize(
    ("sql", "short"),
    [
        (
            "INSERT INTO t (a, b) VALUES " + ", ".join(["(?, ?)"] * 170),
            "INSERT INTO t (a, b) VALUES (?, ?), … 170 rows",
        ),
        (
            'INSERT INTO "t" ("a") VALUES ' + ", ".join(["(%s)"] * 4) + ' RETURNING "t"."id"',
            'INSERT INTO "t" ("a") VALUES (%s), … 4 rows RETURNING "t"."id"',
        ),
        (  # SQLAlchemy's insertmanyvalues: parameters and the sentinel numbered per row
            "INSERT INTO t (a) SELECT p0 FROM (VALUES "
            + ", ".join(f"(%(a__{i})s, {i})" for i in range(3))
            + ") AS imp_sen(p0, sen_counter) ORDER BY sen_counter RETURNING t.id",
            "INSERT INTO t (a) SELECT p0 FROM (VALUES (%(a__0)s, 0), … 3 rows) "
            "AS imp_sen(p0, sen_counter) ORDER BY sen_counter RETURNING t.id",
        ),
        (
            "SELECT id FROM c WHERE parent_id IN (" + ", ".join(["?"] * 100) + ") ORDER BY id",
            "SELECT id FROM c WHERE parent_id IN (?, … 100 values) ORDER BY id",
        ),
        # Left alone: a single row, two rows, rows of literals, short IN lists, other groups.
        ("INSERT INTO t (a, b) VALUES (?, ?)",) * 2,
        ("INSERT INTO t (a) VALUES (?), (?)",) * 2,
        ("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z')",) * 2,
        ("SELECT a FROM t WHERE b IN (?, ?, ?)",) * 2,
        ("SELECT COUNT(a), (b), (b), (b) FROM t",) * 2,
    ],
)
def test_short_sql(sql: str, short: str) -> None:
    assert short_sql(sql) == short


def _browser():
    """Headless Chromium driven by Debian's chromedriver, or a skip (a failure in CI) saying
    what is missing."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (os.access(p, os.X_OK))]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    if missing:
        message = (
            f"headless Chromium needs {', '.join(missing)} "
            "(apt-get install chromium chromium-driver)"
        )
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # tests may run as root, where Chromium's sandbox refuses to start
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1100,900",
        "--hide-scrollbars",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


CHART_BOXES = """return [...document.querySelectorAll('figure.chart')].map(f => {
    const svg = f.querySelector('svg'), box = svg.getBoundingClientRect();
    return {kind: f.className, width: box.width, height: box.height,
            texts: svg.querySelectorAll('text').length,
            shapes: svg.querySelectorAll('path, use').length,
            drawn: svg.getBBox().width};
})"""


def _save_screenshot(driver, name: str) -> None:
    """The whole page, as tall as it is, under test-artifacts/."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1100, height)
    ARTIFACTS.mkdir(exist_ok=True)
    assert driver.save_screenshot(str(ARTIFACTS / name))
    assert (ARTIFACTS / name).stat().st_size > 10_000


def test_charts_render_in_headless_chromium(html_run) -> None:
    report, _ = html_run
    driver = _browser()
    try:
        driver.get((report / "report.html").as_uri())
        assert driver.execute_script("return document.readyState") == "complete"
        charts = driver.execute_script(CHART_BOXES)
        assert [c["kind"] for c in charts] == ["chart ratio"] + [
            "chart medians",
            "chart ratio",
        ] * len(SCENARIOS)
        for chart in charts:
            assert chart["width"] > 600 and chart["height"] > 50, chart  # laid out, scaled
            # A ratio chart of one row (get: both idioms the same code, drawn once) has fewer
            # labels than the others; drawn it still is.
            least = 3 if chart["kind"] == "chart ratio" else 5
            assert chart["texts"] > least and chart["shapes"] > 10 and chart["drawn"] > 0, chart
        # Laid out for a 1,100-pixel window: nothing sticks out sideways.
        overflow = "return document.documentElement.scrollWidth - window.innerWidth"
        assert driver.execute_script(overflow) <= 0
        # Nothing was fetched: no resource entries beyond the page itself.
        assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
        # The SQL is collapsed until asked for, then shown as the driver received it, short.
        first = driver.find_element("css selector", "details")
        assert not first.find_element("css selector", "pre").is_displayed()
        first.find_element("css selector", "summary").click()
        sql = first.find_element("css selector", "pre").text
        assert "INSERT INTO" in sql and "%s" not in sql
        first.find_element("css selector", "summary").click()
        severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert severe == []
        _save_screenshot(driver, "report-html.png")
    finally:
        driver.quit()


def test_open_intervals_and_failed_cells_still_draw(html_run) -> None:
    """Fewer than 6 rounds leave intervals unbounded (0 and infinity, which a log axis cannot
    show), and a cell that failed verification or never ran has no time that counts: the
    report still draws every chart and says so."""
    from reports import html as html_report
    from reports.model import RunResult

    _, data = html_run
    for comparison in data["comparisons"]:
        comparison.update(ci_low=0.0, ci_high=None)
    first, second = data["cells"][0], data["cells"][1]
    first["verification"].update(status="failed", reason="returned 19 rows, expected 20")
    second.update(median_s=None, iqr_s=None, rounds_s=[])
    page = html_report.render(RunResult.from_dict(data))
    figures = [a["class"] for t, a in tags_of(page) if t == "figure"]
    assert figures == ["chart ratio"] + ["chart medians", "chart ratio"] * len(SCENARIOS)
    assert "(failed)" in page and "no timing" in page
    assert "returned 19 rows, expected 20" in page

    # The floor's grey is not "failed": the caption says what each colour means, and a failed
    # cell is hatched as well as pale.
    assert "Colours: SQLAlchemy red, Django green, the raw DB-API floor dark grey" in page
    assert "pale hatched bars: verification failed" in page and "grey bars:" not in page
    assert "Colours: the verdict, red SQLAlchemy faster" in page


def test_tables_fit_a_1280_px_window(html_run) -> None:
    """Every table, the per-scenario figures with their 13 columns included, fits a 1280-px
    window: nothing (memory/row, verification) hidden behind a scroll bar."""
    report, _ = html_run
    driver = _browser()
    try:
        driver.set_window_size(1280, 900)
        driver.get((report / "report.html").as_uri())
        overflow = driver.execute_script(
            "return [...document.querySelectorAll('div.wide')]"
            ".map(w => w.scrollWidth - w.clientWidth)"
        )
        assert overflow and max(overflow) <= 1, overflow
        driver.execute_script("document.querySelector('table.cells').scrollIntoView()")
        ARTIFACTS.mkdir(exist_ok=True)
        assert driver.save_screenshot(str(ARTIFACTS / "report-cells-1280.png"))
    finally:
        driver.quit()


# --- size sweeps ------------------------------------------------------------------------------

SWEEP_SIZES = (10, 20, 40)  # evenly spaced on a log axis, not on a linear one
SWEEP_SCENARIOS = ("create", "get")


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory) -> tuple[Path, dict]:
    """A small real size sweep on SQLite: three sizes, two scenarios, every backend and idiom,
    4 rounds a size."""
    folder = tmp_path_factory.mktemp("html-sweep")
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    sizes = ",".join(map(str, SWEEP_SIZES))
    result = run_cli(
        "run", "--db", url, "--rows", sizes, "--rounds", "4", "--warmup", "0",
        "--scenarios", ",".join(SWEEP_SCENARIOS), cwd=folder,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    report = folder / "ormbench-report"
    return report, json.loads((report / "results.json").read_text())


SWEEP_FIGURES = (
    ["chart ratio"]  # the verdicts of every scenario and size
    # The Scaling section: per scenario its times and its multiples of the floor, log-log.
    + ["chart scaling", "chart floor-multiple"] * len(SWEEP_SCENARIOS)
    + ["chart medians", "chart ratio"] * len(SWEEP_SIZES) * len(SWEEP_SCENARIOS)  # per size
)


def _section(html: str, anchor: str) -> str:
    """The page from the element with this id to the end of its <section>."""
    start = html.index(f'id="{anchor}"')
    return html[start : html.index("</section>", start)]


def _ticks(svg: str, anchor: str) -> dict[float, float]:
    """A chart's numeric tick labels on one axis, value -> position: the x axis's labels are
    centred under their ticks ("middle", position x), the y axis's end at them ("end",
    position y); a multiple's "×" left out."""
    found = re.findall(
        rf'<text style="[^"]*text-anchor: {anchor}[^"]*" '
        r'x="([\d.]+)" y="([\d.]+)">([\d.,]+)×?</text>',
        svg,
    )
    index = 0 if anchor == "middle" else 1
    return {float(text.replace(",", "")): float(xy[index]) for *xy, text in found}


def test_sweep_report_html_keeps_sizes_apart_and_draws_log_log_scaling(sweep_run) -> None:
    report, data = sweep_run
    result = RunResult.from_dict(data)
    html = (report / "report.html").read_text()
    tags = tags_of(html)
    assert [a["class"] for t, a in tags if t == "figure"] == SWEEP_FIGURES
    assert sum(t == "svg" for t, _ in tags) == len(SWEEP_FIGURES)
    verdicts, scaling, scenarios = (
        html.index(f'id="{s}"') for s in ("verdicts", "scaling", "scenarios")
    )
    assert verdicts < scaling < scenarios
    assert "A size sweep over 10 / 20 / 40 rows" in html
    # The verdicts name each size: in the summary chart's rows and in the table's rows column.
    for rows in SWEEP_SIZES:
        assert f"create · {rows} rows · as documented" in html[verdicts:scaling]
        assert f'<td class="num">{rows}</td><td>as documented</td>' in html[verdicts:scaling]
    # Per scenario and size its own section, headed by the size, whose charts and table hold
    # that size's cells only.
    for scenario in SWEEP_SCENARIOS:
        for rows in SWEEP_SIZES:
            part = _section(html, f"db0-{scenario}-{rows}")
            assert f'<h4 class="size">{rows} rows</h4>' in part
            assert f'aria-label="{scenario}, {rows} rows: median time per round' in part
            assert f'aria-label="{scenario}, {rows} rows: SQLAlchemy time / Django time' in part
            cells = [c for c in data["cells"] if (c["scenario"], c["rows"]) == (scenario, rows)]
            table = part[part.index('<table class="cells">') :]
            assert table.count("<tr><td>") == len(cells) == 5
            assert all(f'<td class="num">{fmt.rate(c["rows_per_s"])}</td>' in table for c in cells)
            assert f"as documented, {rows} rows:" not in part  # one size: the heading says it
    # The Scaling section: per scenario a log-log chart, the exponents, the floor multiples.
    for scenario in SWEEP_SCENARIOS:
        part = _section(html, f"db0-{scenario}-scaling")
        svgs = re.findall(r"<svg.*?</svg>", part, flags=re.S)
        assert len(svgs) == 2
        for chart in svgs:
            x = _ticks(chart, "middle")
            assert sorted(x) == list(SWEEP_SIZES)
            assert x[20] - x[10] == pytest.approx(x[40] - x[20], abs=0.05)  # log, not linear
            y = _ticks(chart, "end")
            assert len(y) >= 2
            pairs = itertools.pairwise(sorted(y))
            slopes = [(y[b] - y[a]) / math.log(b / a) for a, b in pairs]
            assert max(slopes) == pytest.approx(min(slopes), rel=0.01) and slopes[0] < 0  # log
        svg = svgs[0]
        scaled = [s for s in data["sweep"] if s["scenario"] == scenario]
        assert len(scaled) == 5
        for s in scaled:
            exponent = f"{s['exponent']:.2f}"
            assert f"{exponent} [" in svg or s["same_code_as"], s  # in the legend
            assert f'<td class="num">{exponent} [' in part  # and in the table
        for rows in SWEEP_SIZES:
            assert f'<th class="num">{rows}</th>' in part
        # Three sizes: the slopes between neighbouring sizes too.
        assert ">between sizes</th>" in part
        for s in result.sweep:
            if s.scenario == scenario:
                assert f'<td class="num">{fmt.local_exponents(s)}</td>' in part
    for s in result.sweep:
        line = fmt.floor_growth(result, s)
        if line and not s.same_code_as:
            assert f"<li>{escape(line)}.</li>" in _section(html, f"db0-{s.scenario}-scaling")


def test_sweep_report_html_renders_in_headless_chromium(sweep_run) -> None:
    report, _ = sweep_run
    driver = _browser()
    try:
        driver.get((report / "report.html").as_uri())
        assert driver.execute_script("return document.readyState") == "complete"
        charts = driver.execute_script(CHART_BOXES)
        assert [c["kind"] for c in charts] == SWEEP_FIGURES
        for chart in charts:
            assert chart["width"] > 600 and chart["height"] > 50, chart
            # A ratio chart of one row (get: both idioms the same code, drawn once) has fewer
            # labels than the others; drawn it still is.
            least = 3 if chart["kind"] == "chart ratio" else 5
            assert chart["texts"] > least and chart["shapes"] > 10 and chart["drawn"] > 0, chart
        # The legends right of the log-log axes stay inside their charts.
        inside = driver.execute_script(
            """return [...document.querySelectorAll('#scaling figure svg')].map(svg => {
                const box = svg.viewBox.baseVal, drawn = svg.getBBox();
                return drawn.x >= box.x - 1 && drawn.x + drawn.width <= box.x + box.width + 1;
            })"""
        )
        assert inside == [True] * 2 * len(SWEEP_SCENARIOS)
        overflow = "return document.documentElement.scrollWidth - window.innerWidth"
        assert driver.execute_script(overflow) <= 0
        assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
        severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert severe == []
        _save_screenshot(driver, "report-html-sweep.png")
    finally:
        driver.quit()
