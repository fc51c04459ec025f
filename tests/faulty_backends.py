"""Test-only backends that break in the middle of a run, standing in for real ones by name
(`--backends faulty_backends:FailingDjango`), to prove clean-up after a failure."""

from __future__ import annotations

import os
from typing import Any

from backends.base import replaces
from backends.django_orm import DjangoOrm


class FailingDjango(DjangoOrm):
    """Django whose filter raises: the run fails half-way, after create has written rows."""

    @replaces("filter")
    def filter(self, prefix: str) -> list[Any]:
        raise RuntimeError("filter broke on purpose (test)")


class CrashingDjango(DjangoOrm):
    """Django whose filter ends the worker process at once, as a crash or `kill -9` would:
    nothing in the worker gets to clean up."""

    @replaces("filter")
    def filter(self, prefix: str) -> list[Any]:
        os._exit(70)
