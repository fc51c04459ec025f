"""One benchmark per scenario x backend: the operation `ormbench run` times, timed by
pytest-benchmark's `pedantic` with the same untimed preparation around it, then the same
untimed trace-and-verify pass. No operation is implemented here: scenarios and backends are
ormbench's own."""

from __future__ import annotations

import gc
from dataclasses import asdict
from typing import Any

import pytest

from harness.measuring.plan import unsupported_reason
from harness.measuring.rounds import close_round, open_round
from harness.measuring.trace_pass import trace_and_verify
from harness.pytest_suite.plugin import SuiteSession
from scenarios import REGISTRY
from scenarios.idioms import DOCUMENTED


def test_scenario(
    benchmark: Any, ormbench_session: SuiteSession, scenario_name: str, backend_spec: str
) -> None:
    session = ormbench_session
    plan = session.plan
    scenario = REGISTRY[scenario_name](plan.rows, plan.seed)
    backend = session.backends[backend_spec]
    reason = unsupported_reason(scenario, backend)
    if reason is not None:
        pytest.skip(reason)
    # As in the run loop: read scenarios load their rows once, destructive ones every round.
    shared = None if scenario.destructive else scenario.prepare(session.db)

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        work = scenario.prepare(session.db) if scenario.destructive else shared
        open_round(backend)
        return (work.argument,), {}

    def teardown(*_args: Any) -> None:
        close_round(backend)

    benchmark.group = scenario_name  # pytest-benchmark's table then compares the backends
    call = backend.runner(scenario, DOCUMENTED)  # looked up once, outside the timed calls
    try:
        benchmark.pedantic(
            call,
            setup=setup,
            teardown=teardown,
            rounds=plan.rounds,
            warmup_rounds=plan.warmup,
            iterations=1,  # pedantic with a setup allows only one
        )
    finally:
        gc.enable()  # an operation that raised skipped the teardown
    trace, outcome = trace_and_verify(session.target, type(backend), scenario, session.db)
    benchmark.extra_info.update(
        ormbench=1,  # marks a benchmark of this suite for `ormbench report`/`compare`
        backend=backend.name,
        backend_title=backend.title,
        scenario=scenario_name,
        database=session.target.label,
        family=session.target.family,
        rows=scenario.rows,
        operations=scenario.operations(),
        seed=plan.seed,
        trace=asdict(trace) if trace is not None else None,
        verification={"status": outcome.status, "reason": outcome.reason},
    )
    assert outcome.status == "passed", f"verification {outcome.status}: {outcome.reason}"
