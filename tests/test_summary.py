"""Job summaries: `ormbench run`, `report` and `compare` append Markdown to
$GITHUB_STEP_SUMMARY and to `--summary PATH`; `--quiet` leaves progress out of the logs."""

from __future__ import annotations

from pathlib import Path

TINY = ("--scenarios", "get,create", "--rows", "10", "--rounds", "2", "--warmup", "0")
EARLIER_STEP = "## an earlier step's summary\n"


def github_summary(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "step_summary.md"
    path.write_text(EARLIER_STEP)
    return path, {"GITHUB_STEP_SUMMARY": str(path)}


def test_run_appends_its_summary_for_github(cli, tmp_path, sqlite_url):
    path, env = github_summary(tmp_path)
    run = cli("run", "--db", sqlite_url, *TINY, env=env)
    assert run.code == 0, run.stderr
    text = path.read_text()
    assert text.startswith(EARLIER_STEP)  # appended, never overwritten
    assert "### ormbench: all cells verified" in text
    assert "| get |" in text and "| create |" in text
    assert f"summary appended to {path}" in run.stderr


def test_summary_option_writes_anywhere_and_quiet_drops_progress(cli, tmp_path, sqlite_url):
    loud = cli("run", "--db", sqlite_url, *TINY, "--output", "loud")
    assert "get done" in loud.stderr  # progress lines, as without --quiet
    run = cli("run", "--db", sqlite_url, *TINY, "--summary", "mine.md", "--quiet", "-q")
    assert run.code == 0, run.stderr
    assert "done" not in run.stderr and "starting" not in run.stderr
    assert "report written to" in run.stderr
    assert "scenario" in run.stdout  # the report itself still shows
    assert "### ormbench: all cells verified" in (tmp_path / "mine.md").read_text()


def test_compare_and_report_append_their_summaries(cli, tmp_path, sqlite_url):
    assert cli("run", "--db", sqlite_url, *TINY, "--rounds", "6", "--output", "a").code == 0
    path, env = github_summary(tmp_path)
    compared = cli("compare", "a/results.json", "a/results.json", "--summary", "own.md", env=env)
    assert compared.code == 0, compared.stderr
    for text in (path.read_text(), (tmp_path / "own.md").read_text()):
        assert "### ormbench compare: ✅ no regression" in text
        assert "| get | SQLAlchemy |" in text
    reported = cli("report", "a/results.json", "--output", "b", env=env)
    assert reported.code == 0, reported.stderr
    assert path.read_text().count("### ormbench: all cells verified") == 1
    assert (tmp_path / "b/report.md").is_file()


def test_an_unwritable_summary_is_one_line(cli, tmp_path, sqlite_url):
    assert cli("run", "--db", sqlite_url, *TINY, "--output", "a").code == 0
    run = cli("compare", "a/results.json", "a/results.json", "--summary", "no/such/dir/s.md")
    assert run.code == 2
    assert run.stderr.startswith("ormbench: error: cannot write the job summary")
    assert "Traceback" not in run.stderr
