"""report.html: written beside report.md, self-contained (nothing external), the SQL shown
short, and its charts drawn in a real browser (headless Chromium from Debian's packages), with a
screenshot kept under test-artifacts/."""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import IN_CI, ROOT, run_cli, run_in
from markupsafe import escape

from reports.format import short_sql

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
    for scenario in SCENARIOS:
        assert f'id="db0-{scenario}"' in html
    assert html.count("<details>") == len(SCENARIOS)  # the SQL, collapsed
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


def test_charts_render_in_headless_chromium(html_run) -> None:
    report, _ = html_run
    driver = _browser()
    try:
        driver.get((report / "report.html").as_uri())
        assert driver.execute_script("return document.readyState") == "complete"
        charts = driver.execute_script(
            """return [...document.querySelectorAll('figure.chart')].map(f => {
                const svg = f.querySelector('svg'), box = svg.getBoundingClientRect();
                return {kind: f.className, width: box.width, height: box.height,
                        texts: svg.querySelectorAll('text').length,
                        shapes: svg.querySelectorAll('path, use').length,
                        drawn: svg.getBBox().width};
            })"""
        )
        assert [c["kind"] for c in charts] == ["chart ratio"] + [
            "chart medians",
            "chart ratio",
        ] * len(SCENARIOS)
        for chart in charts:
            assert chart["width"] > 600 and chart["height"] > 50, chart  # laid out, scaled
            assert chart["texts"] > 5 and chart["shapes"] > 10 and chart["drawn"] > 0, chart
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
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1100, height)
        ARTIFACTS.mkdir(exist_ok=True)
        assert driver.save_screenshot(str(ARTIFACTS / "report-html.png"))
    finally:
        driver.quit()
    assert (ARTIFACTS / "report-html.png").stat().st_size > 10_000


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
