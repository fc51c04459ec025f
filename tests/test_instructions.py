"""`ormbench run --measure instructions` on real databases under valgrind: every cell gets
counts from the same rounds and checks, the counts agree in size with a measurement made
without the harness, `compare` gates on them (a backend doing 5% more CPU work is a
regression), and a machine without valgrind gets one clear line. Runs are tiny: valgrind
multiplies the cost of every instrumented instruction by about fifty."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TESTS, run_cli, run_in

SMALL = ("--scenarios", "get", "--measure", "instructions", "-q")
ROWS, ROUNDS, WARMUP = 12, 3, 1


def counted_run(folder: Path, url: str, *args: str) -> dict:
    result, data = run_in(folder, url, *SMALL, *args, rows=ROWS, rounds=ROUNDS, warmup=WARMUP)
    assert result.code == 0, result.stderr + result.stdout
    assert data is not None
    return data


@pytest.fixture(scope="module")
def sqlite_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("counted")
    return folder, counted_run(folder, f"sqlite:///{folder / 'bench.sqlite3'}")


def assert_counted(data: dict) -> None:
    """Every cell passed its checks and has one count per timed round; every SQLAlchemy/Django
    comparison has an instructions ratio within its range, and a verdict."""
    cells = data["cells"]
    assert {c["backend"] for c in cells} == {"sqlalchemy", "django", "dbapi"}
    for cell in cells:
        assert cell["verification"]["status"] == "passed", cell["verification"]
        # one count per timed round, beside one time per timed round
        assert len(cell["instructions_rounds"]) == len(cell["rounds_s"]) == ROUNDS
        assert all(count > 0 for count in cell["instructions_rounds"])
    orm = [c for c in data["comparisons"] if c["kind"] == "orm"]
    assert orm and all(c["instructions_ratio"] for c in orm)
    for c in orm:
        assert c["instructions_low"] <= c["instructions_ratio"] <= c["instructions_high"]
        assert c["instructions_verdict"]
    assert data["plan"]["measure"] == ["time", "instructions"]


def test_sqlite_cells_are_counted_and_the_report_says_what_a_count_covers(sqlite_run):
    folder, data = sqlite_run
    assert_counted(data)
    report = (folder / "ormbench-report/report.md").read_text()
    assert "### Instructions per operation" in report
    assert "On a database server only the client side is counted" in report
    assert "Instructions per operation" in (folder / "ormbench-report/report.html").read_text()


def whole_process_instructions(script: str, tmp_path: Path) -> int:
    """Instructions of a whole Python process under cachegrind: no client request, no
    harness."""
    out = tmp_path / "cachegrind.out"
    subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={out}",
         "-q", sys.executable, "-c", script],
        check=True, capture_output=True, env={"PYTHONHASHSEED": "0", "PYTHONMALLOC": "malloc"},
    )  # fmt: skip
    return int(re.search(r"^summary: (\d+)", out.read_text(), re.MULTILINE).group(1))


def test_counts_agree_in_size_with_a_measurement_without_the_harness(sqlite_run, tmp_path):
    """The floor's lookup is one `SELECT ... WHERE id = ?` through sqlite3 and a fetch: the
    difference between a process doing 2,000 such lookups and one doing none, divided by
    2,000, must be the same order of magnitude as the floor's count per operation."""
    folder, data = sqlite_run
    floor = next(c for c in data["cells"] if c["backend"] == "dbapi")
    per_op = statistics.median(floor["instructions_rounds"]) / floor["operations"]
    script = (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(':memory:')\n"
        "c.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, quantity INTEGER)')\n"
        "c.executemany('INSERT INTO t VALUES (?, ?, ?)', [(i, str(i), i) for i in range(50)])\n"
        "for i in range({n}):\n"
        "    c.execute('SELECT id, name, quantity FROM t WHERE id = ?', (i % 50,)).fetchall()\n"
    )
    lookups = 2000
    independent = (
        whole_process_instructions(script.format(n=lookups), tmp_path)
        - whole_process_instructions(script.format(n=0), tmp_path)
    ) / lookups
    assert independent / 10 < per_op < independent * 10, (per_op, independent)


def test_compare_gates_on_counts_and_flags_five_percent_more_cpu(
    sqlite_run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The current run's SQLAlchemy does its own work plus pure Python work worth 5% of the
    baseline's count per operation (tests/cpu_backends.py): its cells regress on
    instructions, where a timed gate could not tell 5% from noise; Django's did not change.
    (5%, not 3%: beyond the 2% threshold whatever memory layout either tiny run lands in;
    README gives the measured rate for 3%.)"""
    folder, baseline = sqlite_run
    cell = next(c for c in baseline["cells"] if c["backend"] == "sqlalchemy")
    per_op = statistics.median(cell["instructions_rounds"]) / cell["operations"]
    monkeypatch.setenv("ORMBENCH_TEST_EXTRA_INSTRUCTIONS", f"{0.05 * per_op:.0f}")
    result, _ = run_in(
        tmp_path, f"sqlite:///{tmp_path / 'bench.sqlite3'}", *SMALL,
        "--backends", "cpu_backends:CostlierSqlAlchemy,django,dbapi",
        rows=ROWS, rounds=ROUNDS, warmup=WARMUP,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    compared = run_cli(
        "compare",
        str(folder / "ormbench-report/results.json"),
        str(tmp_path / "ormbench-report/results.json"),
        env={"COLUMNS": "250"},
    )
    assert compared.code == 1, compared.stdout + compared.stderr
    judged = [line for line in compared.stdout.splitlines() if "instructions/op" in line]
    sqlalchemy = [line for line in judged if "SQLAlchemy" in line]
    django = [line for line in judged if "Django" in line]
    assert len(sqlalchemy) == len(django) == 2, compared.stdout
    assert all("regression" in line for line in sqlalchemy), compared.stdout
    assert not any("regression" in line for line in django), compared.stdout
    assert "judged on instructions/op" in compared.stdout


def test_without_valgrind_one_clear_line(tmp_path: Path):
    result = run_cli(
        "run", "--measure", "instructions", "--scenarios", "get", "--rows", "5",
        cwd=tmp_path, env={"PATH": str(tmp_path), "PYTHONPATH": str(TESTS)},
    )  # fmt: skip
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "valgrind" in lines[0] and "apt-get install valgrind" in lines[0]
    assert "Traceback" not in result.stderr


def test_an_unknown_measure_is_one_clear_line(tmp_path: Path):
    result = run_cli("run", "--measure", "cycles", cwd=tmp_path)
    assert result.code == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "cycles" in result.stderr and "time,instructions" in result.stderr


# A worker's body for the test below: counted_call around operations of known cost, each
# count printed. A type-attribute cache miss is forced by clearing CPython's type cache before
# the round (in the runner, outside the count): each of the 100 lookups then walks a 30-class
# MRO. Measured: empty 448, warm 49.5k, cold 52.3k; with the walks counted, warm 96k and cold
# 417k; with the client requests counted too, empty 4.7k.
COUNTED_OPERATIONS = """
import sys
from harness.measuring.instructions import InstructionCounter
from harness.measuring.rounds import counted_call

class Base:
    pass
for i in range(100):
    setattr(Base, f"attribute_{i}", i)
leaf = Base
for depth in range(30):
    leaf = type(f"Level{depth}", (leaf,), {})
NAMES = [f"attribute_{i}" for i in range(100)]
instance = leaf()

def lookups(_):
    for name in NAMES:
        getattr(instance, name)

class Backend:
    def __init__(self, operation, cold):
        self.operation, self.cold = operation, cold
    def runner(self, scenario, idiom):
        if self.cold:
            sys._clear_type_cache()
        return self.operation
    def begin_round(self):
        pass
    def end_round(self):
        pass

counter = InstructionCounter()
for name, backend in [
    ("empty", Backend(lambda _: None, False)),
    ("warm", Backend(lookups, False)),
    ("cold", Backend(lookups, True)),
]:
    counts = [counted_call(backend, None, None, "documented", counter)[0] for _ in range(3)]
    print(name, min(counts[1:]))
"""


def test_a_count_is_the_operation_alone_without_type_cache_misses(tmp_path: Path):
    """The count covers the operation's call and nothing of the harness around it (an empty
    operation counts a few hundred instructions; with the client requests in the count, as
    before, 4.7k), and a type-attribute cache miss's MRO walk is not counted: forced misses on
    every lookup add little to the count (with the walks counted, over 4x)."""
    from harness.measuring.instructions import valgrind_python

    with valgrind_python() as python:
        done = subprocess.run(
            [python, "-c", COUNTED_OPERATIONS], cwd=TESTS.parent, capture_output=True,
            text=True, timeout=300,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    counts = {name: int(value) for name, value in map(str.split, done.stdout.splitlines())}
    assert 0 < counts["empty"] < 2_000, counts
    assert counts["warm"] > 10 * counts["empty"], counts
    assert counts["cold"] < 1.5 * counts["warm"], counts
