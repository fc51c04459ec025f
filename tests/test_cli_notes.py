"""What the CLI says around a run: --rtt on SQLite, an --output that is a file (nothing left
behind), doctor without the odbcinst program, merge's time, and counts in good English."""

from __future__ import annotations

import pytest

from harness import cli as cli_module
from harness.cli import measuring as run_module
from reports.format import plural


def test_rtt_on_sqlite_is_said_not_dropped(cli, sqlite_url):
    run = cli(
        "run",
        "--db",
        sqlite_url,
        "--rtt",
        "1ms",
        "--scenarios",
        "get",
        "--rows",
        "5",
        "--rounds",
        "1",
        "--warmup",
        "0",
    )
    assert run.code == 0, run.stderr
    assert "note: --rtt is ignored for the embedded SQLite" in " ".join(run.stderr.split())


def test_an_output_that_is_a_file_fails_before_any_database_is_made(tmp_path, monkeypatch):
    """The embedded SQLite's folder (in /dev/shm) is made by targets_for: it must not run."""
    (tmp_path / "taken").write_text("a file")

    def no_database(*_args, **_kwargs):
        raise AssertionError("a database was set up before the output was checked")

    monkeypatch.setattr(run_module, "targets_for", no_database)
    with pytest.raises(SystemExit) as ended:
        cli_module.main(["run", "--output", str(tmp_path / "taken"), "-q"])
    assert ended.value.code == 2


def test_doctor_does_not_miss_odbcinst_when_pyodbc_lists_the_drivers(cli):
    run = cli("doctor", env={"PATH": "/nonexistent"})  # no odbcinst program on the PATH
    line = next(x for x in run.stdout.splitlines() if "odbcinst -q -d" in x)
    assert "MISS" not in line and "pyodbc.drivers()" in line


def test_counts_agree_with_their_nouns():
    assert plural(1, "thread") == "1 thread" and plural(4, "thread") == "4 threads"
    assert plural("1", "statement") == "1 statement" and plural("0.5", "row") == "0.5 rows"
