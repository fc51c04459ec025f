"""What the scenarios that read the item table share: n rows loaded once, untimed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from scenarios.base import Scenario, Tables
from scenarios.data import Row, iter_rows
from scenarios.schema import Digest, normal_mapping


@dataclass(frozen=True)
class Loaded:
    """The n rows as loaded: the table's digest, every id in load order, and the rows a
    scenario asked to keep (`ReadScenario.load`'s `keep`), with their ids."""

    table: tuple[int, str]
    ids: list[int]
    kept: list[tuple[int, Row]]


class ReadScenario(Scenario):
    destructive = False

    def load(self, tables: Tables, keep: Callable[[int, Row], bool] | None = None) -> Loaded:
        """Empty the item table and load the n rows, generated and loaded in batches
        (`Tables.load` takes them as they come): no list of every row. `keep(index, row)`
        picks the rows the scenario's expectations need."""
        tables.reset()
        table = Digest()
        kept: list[tuple[int, Row]] = []

        def rows() -> Iterator[Row]:
            for index, row in enumerate(iter_rows(self.rows, self.seed)):
                table.add(normal_mapping(row))
                if keep is not None and keep(index, row):
                    kept.append((index, row))
                yield row

        ids = tables.load(rows())
        return Loaded(table.value(), ids, [(ids[index], row) for index, row in kept])
