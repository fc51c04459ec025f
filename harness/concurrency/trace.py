"""What each unit sends per operation: one read and one write, untimed, on one thread, on a
connection traced where the ORM meets the driver (harness.wire.trace)."""

from __future__ import annotations

from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field

from backends import load_backend
from harness.concurrency.plan import Unit
from harness.targets.errors import describe_error
from harness.targets.urls import Target
from harness.wire.trace import Tracer
from reports.concurrency import BackendTrace, OperationTrace
from scenarios.concurrency import workload


@dataclass
class OperationTracer(Tracer):
    """harness.wire.trace's Tracer that also names the commit() and rollback() calls the driver
    sent (the Tracer counts them as transaction control without a name)."""

    ended_sent: Counter[str] = field(default_factory=Counter)

    def ended(self, call: str, sent: bool) -> None:
        super().ended(call, sent)
        if sent:
            self.ended_sent[call.upper()] += 1

    def operation(self) -> OperationTrace:
        return OperationTrace(
            dict(self.by_kind + self.ended_sent), self.statements + self.transaction_control
        )


def trace_unit(target: Target, unit: Unit, pk: int) -> tuple[BackendTrace, dict[str, str]]:
    """One read and one write through the backend's own instance on a traced connection
    (SQLAlchemy's has the transactional and the AUTOCOMMIT Engine the idioms use), and its
    session settings read back."""
    ops = workload(unit.backend, unit.code_idiom)
    tracer = OperationTracer()

    def failed(exc: Exception) -> tuple[BackendTrace, dict[str, str]]:
        why = describe_error(exc, target)
        return BackendTrace(unit.backend, None, None, why, unit.idiom), {"unreadable": why}

    try:
        instance = load_backend(unit.backend)(target, tracer)
    except Exception as exc:
        return failed(exc)
    try:
        tracer.reset()
        ops.read(instance, pk)  # type: ignore[misc]
        read = tracer.operation()
        tracer.reset()
        ops.write(instance, pk, 1)  # type: ignore[misc]
        write = tracer.operation()
        settings = instance.connection_settings()
        return BackendTrace(unit.backend, read, write, None, unit.idiom), settings
    except Exception as exc:
        return failed(exc)
    finally:
        with suppress(Exception):
            instance.close()
            if unit.backend == "django":  # the traced instance leaves Django's connection open
                instance.connection.close()
