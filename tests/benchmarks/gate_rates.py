"""How often `ormbench compare` cries wolf, and how often it catches a real slowdown, measured
on a real database (a benchmark, not a test: it takes minutes and asserts nothing).

    python tests/benchmarks/gate_rates.py --db postgresql://postgres@127.0.0.1:5432/test

1. False alarms: `--pairs` + 1 back-to-back runs of the same code; every consecutive pair is
   compared, and every ORM cell judged "regression" or "improvement" is a false alarm, every
   pair judged "not comparable" (a database's floor moved as a whole) a false exit 3.
2. Detection: for each slowdown (`--slowdowns`, e.g. 10%, 25%, 50%), `--per-level` runs in
   which SQLAlchemy is slowed by that fraction (tests/slowed_backends.py), each compared with
   the last unslowed run; a SQLAlchemy cell judged "regression" is a detection.
3. The same runs judged by `compare --history` (harness.gating.history): every plain run after the
   first `--history` ones against the `--history` runs before it (false alarms), and every
   slowed run against the last `--history` plain runs (detection). No extra runs.

Run nothing else on the machine meanwhile. Prints a Markdown table. With `--keep DIR` the runs
stay in DIR, and a second invocation with the same DIR judges them again without re-running
(to try a change to the gate's rule on the same measurements).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from harness.gating.compare import FLOOR_MOVED, IMPROVEMENT, REGRESSION, compare  # noqa: E402
from harness.gating.history import judge_history  # noqa: E402
from reports.model import RunResult  # noqa: E402


def run(db: str, out: Path, args: argparse.Namespace, slowdown: float | None = None) -> RunResult:
    if (out / "results.json").exists():  # kept from an earlier invocation (--keep): judge again
        return RunResult.read(out / "results.json")
    backends = "sqlalchemy,django,dbapi"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    if slowdown is not None:
        backends = "slowed_backends:SlowedSqlAlchemy,django,dbapi"
        env["ORMBENCH_TEST_SLOWDOWN"] = str(slowdown)
    command = [
        sys.executable, "-m", "harness.cli", "run", "--db", db, "--quiet",
        "--scenarios", args.scenarios, "--rows", str(args.rows), "--rounds", str(args.rounds),
        "--backends", backends, "--output", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        sys.exit(f"ormbench run failed: {done.stderr.strip()}")
    return RunResult.read(out / "results.json")


def reach_line(what: str, reach: list[float]) -> str:
    """The spread of the slowdowns the gate would flag at ~95%, over the no-change judgments."""
    if not reach:
        return f"\n{what}: no cell had an interval"
    reach = sorted(reach)

    def pct(q: float) -> str:
        return f"{(reach[min(int(q * len(reach)), len(reach) - 1)] - 1) * 100:+.0f}%"

    share = sum(r <= 1.25 for r in reach) / len(reach)
    return (
        f"\n{what}: catches (the slowdown flagged with ~95% probability) over {len(reach)} ORM "
        f"cells: median {pct(0.5)}, quartiles {pct(0.25)} / {pct(0.75)}, worst {pct(1.0)}; "
        f"{share:.0%} of cells catch +25%"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--per-level", type=int, default=5)
    parser.add_argument("--slowdowns", default="0.10,0.25,0.50")
    parser.add_argument("--scenarios", default="create,bulk_create,get,filter,update,delete")
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--threshold", type=float, default=10.0)
    parser.add_argument("--history", type=int, default=10, help="runs in a history window")
    parser.add_argument(
        "--keep",
        type=Path,
        help="folder for the runs; runs already there are judged again, not re-run",
    )
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="ormbench-gate-"))
    threshold = args.threshold / 100
    plain = [run(args.db, folder / f"plain{i}", args) for i in range(args.pairs + 1)]
    orm_cells = alarms = floors = floor_moves = not_comparable = 0
    reach: list[float] = []  # each ORM cell's "catches": the slowdown it would flag at ~95%
    for before, after in zip(plain, plain[1:], strict=False):
        judged = compare(before, after, threshold)
        not_comparable += bool(judged.moved_databases)
        for change in judged.changes:
            if change.backend == "dbapi":
                floors += 1
                floor_moves += change.status == FLOOR_MOVED
            else:
                orm_cells += 1
                alarms += change.status in (REGRESSION, IMPROVEMENT)
                if change.catches is not None:
                    reach.append(change.catches)
    print("| check | cells | flagged | rate |\n|---|--:|--:|--:|")
    print(f"| no change, ORM cells ({args.pairs} pairs) | {orm_cells} | {alarms} | "
          f"{alarms / max(orm_cells, 1):.1%} |")  # fmt: skip
    print(f"| no change, floor cells beyond the band (listed) | {floors} | {floor_moves} | "
          f"{floor_moves / max(floors, 1):.1%} |")  # fmt: skip
    print(f"| no change, pairs judged not comparable (exit 3) | {args.pairs} | "
          f"{not_comparable} | {not_comparable / max(args.pairs, 1):.1%} |")  # fmt: skip
    print(reach_line("two files", reach))
    window = args.history
    history_rows = []
    history_reach: list[float] = []
    if len(plain) > window:
        cells = alarms = 0
        for k in range(window, len(plain)):
            past = [(str(i), r) for i, r in enumerate(plain[k - window : k])]
            for change in judge_history(past, plain[k], threshold, "current", "runs").changes:
                if change.idiom != "floor":
                    cells += 1
                    alarms += change.status in (REGRESSION, IMPROVEMENT)
                    if change.catches is not None:
                        history_reach.append(change.catches)
        history_rows.append((f"no change, ORM cells ({len(plain) - window} runs)", cells, alarms))
    scenario_lines: list[str] = []
    for level in (float(x) for x in args.slowdowns.split(",")):
        slowed = [
            run(args.db, folder / f"slow{level}-{i}", args, level) for i in range(args.per_level)
        ]
        cells = caught = 0
        history_cells = history_caught = 0
        past = [(str(i), r) for i, r in enumerate(plain[-window:])]
        # cells whose own "catches" promised this slowdown, and how many of them caught it
        promised = {"two files": [0, 0], "history": [0, 0]}
        by_scenario: dict[str, list[int]] = {}
        for after in slowed:
            for change in compare(plain[-1], after, threshold).changes:
                if change.backend == "sqlalchemy":
                    cells += 1
                    caught += change.status == REGRESSION
                    tally = by_scenario.setdefault(change.scenario, [0, 0])
                    tally[0] += change.status == REGRESSION
                    tally[1] += 1
                    if change.catches is not None and change.catches <= 1 + level:
                        promised["two files"][0] += change.status == REGRESSION
                        promised["two files"][1] += 1
            if len(past) >= window:
                for change in judge_history(past, after, threshold, "current", "runs").changes:
                    if change.backend == "sqlalchemy":
                        history_cells += 1
                        history_caught += change.status == REGRESSION
                        if change.catches is not None and change.catches <= 1 + level:
                            promised["history"][0] += change.status == REGRESSION
                            promised["history"][1] += 1
        print(f"| SQLAlchemy slowed {level:.0%} ({args.per_level} runs) | {cells} | {caught} | "
              f"{caught / max(cells, 1):.1%} |")  # fmt: skip
        scenario_lines.append(
            f"- slowed {level:.0%}: "
            + ", ".join(f"{name} {hit}/{n}" for name, (hit, n) in by_scenario.items())
            + "; cells whose 'catches' promised it: "
            + ", ".join(f"{how} {hit} of {n}" for how, (hit, n) in promised.items())
        )
        if history_cells:
            history_rows.append(
                (f"SQLAlchemy slowed {level:.0%} ({args.per_level} runs)", history_cells,
                 history_caught)
            )  # fmt: skip
    if history_rows:
        print(f"\n`--history`, a window of {window} runs:\n")
        print("| check | cells | flagged | rate |\n|---|--:|--:|--:|")
        for label, cells, flagged in history_rows:
            print(f"| {label} | {cells} | {flagged} | {flagged / max(cells, 1):.1%} |")
        print(reach_line("history", history_reach))
    print("\nTwo files, caught by scenario (SQLAlchemy cells):\n")
    print("\n".join(scenario_lines))
    print(f"\nruns kept in {folder}")


if __name__ == "__main__":
    main()
