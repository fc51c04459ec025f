"""The pytest plugin of the pytest-benchmark suite: its options, and session fixtures for one
database per pytest process (Django's settings are per process): the harness tables created once
and dropped at the end, every chosen backend connected once, as `ormbench run`'s worker does.

A plugin named with `-p`, not a conftest.py: pytest reads options only from plugins and from
conftest files it finds on the command-line paths, and `--pyargs` names no path. Nothing loads
it in other pytest runs, so our own test suite never sees its options.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

from backends import BACKENDS, Backend, load_backend
from harness.measuring.database import open_backends
from harness.measuring.plan import Plan
from harness.targets.errors import OrmbenchError
from harness.targets.urls import Target, embedded_sqlite_target, parse_target
from reports.model import DatabaseInfo
from scenarios import REGISTRY, resolve

SUITE_KEY = pytest.StashKey["SuiteConfig"]()
DATABASE_KEY = pytest.StashKey[DatabaseInfo]()


@dataclass(frozen=True)
class SuiteConfig:
    """What the command line asked for, checked before any test runs."""

    target: Target
    embedded: bool
    plan: Plan


@dataclass
class SuiteSession:
    """The open database and backends the tests share."""

    target: Target
    plan: Plan
    db: Any  # harness.targets.database.HarnessDatabase
    backends: dict[str, Backend]  # keyed by the spec given on the command line


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ormbench", "ormbench scenario x backend matrix")
    group.addoption(
        "--ormbench-db",
        metavar="URL",
        default=None,
        help="Database URL (one per pytest process). Default: SQLite in a temporary file.",
    )
    group.addoption("--ormbench-rows", type=int, default=1000, help="Rows per scenario.")
    group.addoption(
        "--ormbench-rounds", type=int, default=10, help="Timed rounds per test (pedantic)."
    )
    group.addoption("--ormbench-warmup", type=int, default=1, help="Untimed warm-up rounds.")
    group.addoption("--ormbench-seed", type=int, default=42, help="Seed for generated data.")
    group.addoption(
        "--ormbench-scenarios",
        metavar="NAMES",
        default="",
        help="Comma-separated scenarios: names, 'all', or package.module:Class. "
        f"Default: {', '.join(n for n, c in REGISTRY.items() if c.default)}.",
    )
    group.addoption(
        "--ormbench-backends",
        metavar="NAMES",
        default="",
        help=f"Comma-separated backends or module:Class. Default: all ({', '.join(BACKENDS)}).",
    )


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _suite_config(config: pytest.Config) -> SuiteConfig:
    from harness.cli.common import check_backend_names

    for option in ("rows", "rounds"):
        if config.getoption(f"ormbench_{option}") < 1:
            raise pytest.UsageError(f"--ormbench-{option} must be 1 or more")
    if config.getoption("ormbench_warmup") < 0:
        raise pytest.UsageError("--ormbench-warmup must be 0 or more")
    try:
        names = _names(config.getoption("ormbench_scenarios"))
        scenarios = [s.name for s in resolve(names)]
        backends = check_backend_names((config.getoption("ormbench_backends"),))
        url = config.getoption("ormbench_db")
        target = parse_target(url) if url else embedded_sqlite_target()
    except OrmbenchError as exc:
        raise pytest.UsageError(f"ormbench: {exc}") from None
    plan = Plan(
        scenarios=tuple(scenarios),
        backends=tuple(backends),
        rows=config.getoption("ormbench_rows"),
        rounds=config.getoption("ormbench_rounds"),
        warmup=config.getoption("ormbench_warmup"),
        seed=config.getoption("ormbench_seed"),
        user_scenarios=tuple(n for n in names if ":" in n),
    )
    return SuiteConfig(target=target, embedded=not url, plan=plan)


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.hasplugin("benchmark"):
        raise pytest.UsageError(
            "the ormbench suite needs pytest-benchmark: pip install 'ormbench[pytest]'"
        )
    config.stash[SUITE_KEY] = _suite_config(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    suite = config.stash.get(SUITE_KEY, None)
    if suite is not None and suite.embedded:
        shutil.rmtree(Path(suite.target.database).parent, ignore_errors=True)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    plan = metafunc.config.stash[SUITE_KEY].plan
    if "scenario_name" in metafunc.fixturenames:
        metafunc.parametrize("scenario_name", plan.scenarios)
    if "backend_spec" in metafunc.fixturenames:
        metafunc.parametrize("backend_spec", plan.backends)


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    """The run's facts in ormbench's own terms, so `ormbench report` and `ormbench compare`
    can rebuild the result model from the pytest-benchmark JSON."""
    from harness.measuring.run import environment, package_version

    suite = config.stash.get(SUITE_KEY, None)
    if suite is None:
        return
    database = config.stash.get(DATABASE_KEY, None)
    machine_info["ormbench"] = {
        "tool_version": package_version("ormbench") or "unknown",
        "environment": environment(),
        "plan": asdict(suite.plan),
        "scenarios": {name: REGISTRY[name].description() for name in suite.plan.scenarios},
        "backends": {cls.name: cls.title for cls in map(load_backend, suite.plan.backends)},
        "databases": [asdict(database)] if database is not None else [],
    }


@pytest.fixture(scope="session")
def ormbench_session(pytestconfig: pytest.Config) -> Iterator[SuiteSession]:
    """Harness tables and connected backends for the whole session; tables dropped at the end.
    A database that cannot be reached ends the session with one line, not a traceback per test."""
    from harness.targets.database import HarnessDatabase, tables_of

    suite = pytestconfig.stash[SUITE_KEY]
    target, plan = suite.target, suite.plan
    try:
        db = HarnessDatabase(target, tables_of(plan.scenario_classes()))
    except OrmbenchError as exc:
        pytest.exit(f"ormbench: {exc}", returncode=2)
    try:
        pytestconfig.stash[DATABASE_KEY] = db.database_info()
        db.create_tables()
        with open_backends(target, plan.backends) as opened:
            by_spec = {spec: opened[load_backend(spec).name] for spec in plan.backends}
            yield SuiteSession(target=target, plan=plan, db=db, backends=by_spec)
    except OrmbenchError as exc:
        pytest.exit(f"ormbench: {exc}", returncode=2)
    finally:
        try:
            db.drop_tables()
        finally:
            db.close()
