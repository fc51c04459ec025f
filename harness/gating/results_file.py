"""Reading result files for `ormbench report` and `ormbench compare`: an ormbench results.json,
or the JSON of the pytest-benchmark suite (`python -m harness.pytest_suite --benchmark-json`),
turned into the same result model. A file that is neither ends in one ConfigurationError."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from backends import FLOOR
from harness.judging.stats import iqr, median
from harness.judging.verdicts import build_comparisons
from harness.targets.errors import ConfigurationError
from reports.model import (
    SCHEMA_VERSION,
    Cell,
    DatabaseInfo,
    RunResult,
    TraceCounts,
    Verification,
    _build,
)

PYTEST_SOURCE = "pytest-benchmark"


def load_result(path: Path) -> RunResult:
    """The run recorded in `path`, whichever of the two formats it is in."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(
            f"{path}: no such file", "give the path of a results file"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: cannot be read ({exc})", "check the path") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"{path}: not JSON ({exc.msg} at line {exc.lineno})",
            "give an ormbench results.json or a pytest-benchmark --benchmark-json file",
        ) from None
    if isinstance(data, dict) and "schema_version" in data and "cells" in data:
        return _from_results(path, data)
    if isinstance(data, dict) and "benchmarks" in data and "machine_info" in data:
        return from_pytest_benchmark(data, path)
    raise ConfigurationError(
        f"{path}: neither an ormbench results.json nor pytest-benchmark JSON",
        "give the results.json that `ormbench run` wrote, or a --benchmark-json file",
    )


def _from_results(path: Path, data: dict[str, Any]) -> RunResult:
    try:
        return RunResult.from_dict(data)
    except (TypeError, KeyError, ValueError, AttributeError, IndexError) as exc:
        raise ConfigurationError(
            f"{path}: results.json does not match the documented format ({exc})",
            "re-create it with `ormbench run`",
        ) from None


def from_pytest_benchmark(data: dict[str, Any], path: Path | None = None) -> RunResult:
    """The result model from the suite's pytest-benchmark JSON: rounds from `stats.data`,
    statement counts and verification from `extra_info`, run facts from `machine_info`.

    Benchmarks not made by the suite are left out; a file with none of ours is unusable."""
    where = f"{path}: " if path else ""
    ours = [
        b
        for b in data.get("benchmarks") or []
        if isinstance(b, dict)
        and isinstance(b.get("extra_info"), dict)
        and b["extra_info"].get("ormbench")
    ]
    if not ours:
        raise ConfigurationError(
            f"{where}pytest-benchmark JSON without ormbench benchmarks",
            "produce it with `python -m harness.pytest_suite --benchmark-json FILE`",
        )
    machine = data.get("machine_info") or {}
    facts = machine.get("ormbench") or {}
    try:
        cells = [_cell(b) for b in ours]
    except (TypeError, KeyError, ValueError) as exc:
        raise ConfigurationError(
            f"{where}an ormbench benchmark lacks its data ({exc})",
            "produce the file with `python -m harness.pytest_suite --benchmark-json FILE`",
        ) from None
    databases = [_build(DatabaseInfo, d) for d in facts.get("databases") or []]
    known = {d.label for d in databases}
    for cell in cells:
        if cell.database not in known:  # an older or hand-made file: the label is all we know
            databases.append(DatabaseInfo(label=cell.database, family=_family(ours, cell)))
            known.add(cell.database)
    plan = dict(facts.get("plan") or {})
    plan.setdefault("rows", cells[0].rows)
    plan.setdefault("rounds", max(len(c.rounds_s) for c in cells))
    plan.setdefault("warmup", 0)
    plan.setdefault("seed", ours[0]["extra_info"].get("seed", 0))
    plan["source"] = PYTEST_SOURCE  # rounds of different backends were not interleaved
    failed = [c for c in cells if c.verification.status == "error"]
    return RunResult(
        schema_version=SCHEMA_VERSION,
        tool_version=str(facts.get("tool_version", "unknown")),
        started_at=str(data.get("datetime", "")),
        wall_s=sum(sum(c.rounds_s) for c in cells),
        complete=not failed,
        incomplete_reason="some cells ended in an error" if failed else None,
        environment=dict(facts.get("environment") or _environment(machine)),
        plan=plan,
        scenarios=dict(facts.get("scenarios") or {}),
        backends=dict(facts.get("backends") or {})
        or {
            c.backend: str(b["extra_info"].get("backend_title", c.backend))
            for c, b in zip(cells, ours, strict=True)
        },
        databases=databases,
        cells=cells,
        comparisons=build_comparisons(cells),
    )


def _cell(bench: dict[str, Any]) -> Cell:
    info = bench["extra_info"]
    rounds = [float(x) for x in bench["stats"]["data"]]
    mid = median(rounds) if rounds else None
    rows, operations = int(info["rows"]), int(info["operations"])
    trace = info.get("trace")
    verification = info.get("verification") or {"status": "error", "reason": "not recorded"}
    return Cell(
        database=str(info["database"]),
        scenario=str(info["scenario"]),
        backend=str(info["backend"]),
        rows=rows,
        operations=operations,
        rounds_s=rounds,
        median_s=mid,
        iqr_s=iqr(rounds) if rounds else None,
        ops_per_s=operations / mid if mid else None,
        rows_per_s=rows / mid if mid and math.isfinite(mid) else None,
        trace=_build(TraceCounts, trace) if trace else None,
        verification=Verification(str(verification["status"]), str(verification.get("reason", ""))),
        idiom="floor" if str(info["backend"]) == FLOOR else "documented",
    )


def _family(benchmarks: list[dict[str, Any]], cell: Cell) -> str:
    for b in benchmarks:
        if b["extra_info"].get("database") == cell.database:
            return str(b["extra_info"].get("family", ""))
    return ""


def _environment(machine: dict[str, Any]) -> dict[str, str]:
    return {
        "python": f"{machine.get('python_implementation', '')} {machine.get('python_version', '')}",
        "machine": str(machine.get("machine", "")),
    }
