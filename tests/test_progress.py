"""A run's progress on stderr: rich's live display on a terminal (database, scenario, round k
of n, the run's ETA), plain lines when stderr is a pipe or a file, nothing with --quiet."""

from __future__ import annotations

TINY = ("--scenarios", "get,create", "--rows", "10", "--rounds", "2", "--warmup", "0")
# What rich reads to decide that stderr is an interactive terminal, as a user's is.
TERMINAL = {"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "220", "TERM": "xterm"}


def test_plain_lines_when_stderr_is_not_a_terminal(cli, sqlite_url) -> None:
    run = cli("run", "--db", sqlite_url, *TINY, env={"TTY_COMPATIBLE": "", "TERM": "xterm"})
    assert run.code == 0, run.stderr
    label = sqlite_url.replace("sqlite:", "sqlite+pysqlite:")
    lines = run.stderr.splitlines()
    assert f"{label}: starting" in lines
    assert f"{label}: get done (2 rounds)" in lines
    assert f"{label}: create done (2 rounds)" in lines
    assert "\x1b[" not in run.stderr  # no cursor movement, no colour: a log keeps it as is
    assert "round 1 of" not in run.stderr


def test_quiet_prints_no_progress(cli, sqlite_url) -> None:
    for env in ({}, TERMINAL):
        run = cli("run", "--db", sqlite_url, *TINY, "--quiet", env=env)
        assert run.code == 0, run.stderr
        assert "starting" not in run.stderr and "done (" not in run.stderr
        assert "round" not in run.stderr and "\x1b[?25l" not in run.stderr
        assert "report written to" in run.stderr


def test_live_progress_on_a_terminal(cli, sqlite_url) -> None:
    run = cli("run", "--db", sqlite_url, *TINY, env=TERMINAL)
    assert run.code == 0, run.stderr
    assert "\x1b[?25l" in run.stderr  # the cursor hidden while the display is live
    # The last frame: the database and scenario, its last step (the trace-and-verify pass
    # after its rounds, which the time left counts too), the run's steps.
    assert "create" in run.stderr and "trace and checks" in run.stderr
    assert "6/6 steps" in run.stderr
    assert "\x1b[?25h" in run.stderr  # and shown again when the display ends
    # The lines a log would get still print, above the bar.
    assert "get done (2 rounds)" in run.stderr
    assert "report written to" in run.stderr


def test_the_live_display_fits_80_columns_without_cutting_a_word() -> None:
    """On an 80-column terminal the bar shrinks and the database's name gives way, never the
    scenario or the counts ("sqli…" was the whole label once)."""
    import io

    from rich.console import Console

    from harness.measuring.progress import Live

    for width, with_database in ((80, False), (140, True)):
        out = io.StringIO()
        console = Console(file=out, width=width, force_terminal=True, color_system=None)
        live = Live(console)
        live.planned(1100)
        live.progress.stop()  # frames by hand below: no refresh thread racing the test
        for done in range(1, 12):
            live.round(
                "sqlite+pysqlite:////dev/shm/x/ormbench.sqlite3", "relationships_prefetch", done, 11
            )
        frame = Console(file=io.StringIO(), width=width, color_system=None)
        frame.print(live.progress.get_renderable())
        text = frame.file.getvalue()
        assert "…" not in text, text
        assert "relationships_prefetch" in text and "round 11 of 11" in text
        assert "11/1100 steps" in text
        assert ("sqlite ormbench.sqlite3" in text) == with_database, text
        assert max(map(len, text.splitlines())) <= width


def test_a_scenario_whose_first_round_shows_it_will_take_long_says_so_then() -> None:
    """The up-front note is a lower bound; the first round measures the real pace. A scenario
    whose first round took 100 s of 11 (10 more, and the trace pass) is said to take about
    18 min more when its first round ends; a quick one says nothing."""
    import io

    from rich.console import Console

    from harness.measuring.progress import Lines

    now = [0.0]
    out = io.StringIO()
    lines = Lines(Console(file=out, width=200), clock=lambda: now[0])
    lines("sqlite:///bench.sqlite3: starting")
    now[0] += 100.0
    lines.round("sqlite:///bench.sqlite3", "get", 1, 11)
    now[0] += 100.0
    lines.round("sqlite:///bench.sqlite3", "get", 2, 11)
    now[0] += 2.0
    lines.traced("sqlite:///bench.sqlite3", "get")
    now[0] += 1.0
    lines.round("sqlite:///bench.sqlite3", "filter", 1, 11)
    notes = [line for line in out.getvalue().splitlines() if line.startswith("note:")]
    assert notes == [
        "note: sqlite bench.sqlite3: get's first round took 2 min; at that pace the scenario "
        "takes about 18 min more; fewer --rows or --rounds, or leaving it out of --scenarios, "
        "shortens it"
    ]
