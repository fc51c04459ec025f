"""The workloads, one module each: its data, its work contract, its verification, and every
backend's idioms side by side (scenarios.base says how they fit together).

Importing this package registers the built-in scenarios, in the order reports list them.
"""

from __future__ import annotations

from importlib import import_module

# Registration order is report order.
from scenarios.base import (
    REGISTRY,
    Capabilities,
    Outcome,
    Scenario,
    Tables,
    Work,
    load_user_scenario,
    register,
    resolve,
    table_of,
    with_id,
)
from scenarios.idioms import DOCUMENTED, EQUAL, IDIOM_TITLES, IDIOMS

# The built-in scenario modules, in the order reports list them.
BUILT_IN = (
    "create",
    "bulk_create",
    "get",
    "filter",
    "update",
    "delete",
    "relationships",
    "aggregates",
    "pagination",
    "set_based",
    "upsert",
    "streaming",
)
for _module in BUILT_IN:
    import_module(f"scenarios.{_module}")

__all__ = [
    "DOCUMENTED",
    "EQUAL",
    "IDIOMS",
    "IDIOM_TITLES",
    "REGISTRY",
    "Capabilities",
    "Outcome",
    "Scenario",
    "Tables",
    "Work",
    "load_user_scenario",
    "register",
    "resolve",
    "table_of",
    "with_id",
]
