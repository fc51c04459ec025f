"""What the scenarios that read the item table share: n rows loaded once, untimed."""

from __future__ import annotations

from scenarios.base import Scenario, Tables
from scenarios.data import Row, make_rows


class ReadScenario(Scenario):
    destructive = False

    def load(self, tables: Tables) -> tuple[list[Row], list[int]]:
        tables.reset()
        rows = make_rows(self.rows, self.seed)
        return rows, tables.load(rows)
