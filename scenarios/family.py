"""The parent/child data that the relationship and aggregate scenarios read: generated from the
seed, loaded once (untimed), and the answers a run must return, normalised.

P = rows // 10 parents (at least one). Every tenth parent (the 2nd, 12th, …) has no children;
the others have 1 to MAX_CHILDREN, seeded, about `rows` children in all. Children are loaded in
a shuffled order, so a parent's children have scattered ids and ordering them by id is work the
query must do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from typing import Any

from scenarios.base import Scenario, Tables
from scenarios.data import WORDS, Row
from scenarios.schema import NormalRow, child_table, digest, normal_value, parent_table

# A parent's children: at most 31 keeps every mean of cents free of ties at MEAN_DECIMALS (a
# tie needs 2·10^4·cents / count to be odd, so count divisible by 32): every database, and
# SQLite's floating-point average, then round to the same six decimals.
MAX_CHILDREN = 20
CHILDLESS_EVERY = 10  # parent index % 10 == 1: no children
MEAN_DECIMALS = 6  # AVG of DECIMAL(10, 2): MariaDB and SQL Server return six decimals
MEAN_UNIT = Decimal(1).scaleb(-MEAN_DECIMALS)
_DIGITS = 10

PARENT_COLUMNS = ("id", "name")
CHILD_COLUMNS = ("id", "parent_id", "name", "amount")  # as the ORMs select a child


def parent_count(rows: int) -> int:
    return max(1, rows // 10)


@dataclass(frozen=True)
class Shape:
    """How many rows the data has, known from rows and seed alone (the contracts need it)."""

    parents: int
    children: int
    childless: int  # parents without children


@dataclass(frozen=True)
class Generated:
    parents: list[Row]  # {"name"}
    children: list[tuple[int, Row]]  # (parent index, {"name", "amount"}), in load order


@cache
def generate(rows: int, seed: int) -> Generated:
    rng = random.Random(f"family:{seed}:{rows}")
    count = parent_count(rows)
    parents = [{"name": f"{rng.choice(WORDS)}-{i:0{_DIGITS}d}"} for i in range(count)]
    per_parent = [
        0 if i % CHILDLESS_EVERY == 1 else rng.randint(1, MAX_CHILDREN) for i in range(count)
    ]
    children: list[tuple[int, Row]] = []
    for index, number in enumerate(per_parent):
        for k in range(number):
            name = f"{rng.choice(WORDS)}-{index:0{_DIGITS}d}-{k:02d}"
            amount = Decimal(rng.randrange(1, 100_000)) / 100  # 0.01 … 999.99
            children.append((index, {"name": name, "amount": amount}))
    rng.shuffle(children)
    return Generated(parents, children)


def shape(rows: int, seed: int) -> Shape:
    data = generate(rows, seed)
    with_children = {index for index, _ in data.children}
    return Shape(len(data.parents), len(data.children), len(data.parents) - len(with_children))


@dataclass(frozen=True)
class Family:
    """The loaded data with the ids the database gave it."""

    parents: list[tuple[int, str]]  # (id, name), in id order
    children: list[tuple[int, int, str, Decimal]]  # (id, parent id, name, amount), in id order

    def joined_rows(self) -> list[NormalRow]:
        """Every parent in id order with its children in id order, one row per child and one
        row of NULL child columns for a parent without children (a LEFT OUTER JOIN's rows)."""
        by_parent: dict[int, list[tuple[int, int, str, Decimal]]] = {}
        for child in self.children:
            by_parent.setdefault(child[1], []).append(child)
        rows: list[NormalRow] = []
        for pk, name in self.parents:
            kids = by_parent.get(pk, [])
            if not kids:
                rows.append(joined_row(pk, name, None, None, None))
            rows += [joined_row(pk, name, cid, cname, amount) for cid, _, cname, amount in kids]
        return rows

    def aggregate_rows(self) -> list[NormalRow]:
        """Per parent in id order: children counted, their amounts summed and averaged; no
        children: count 0, sum and mean NULL (SQL's SUM and AVG over no rows)."""
        amounts: dict[int, list[Decimal]] = {}
        for _, parent, _, amount in self.children:
            amounts.setdefault(parent, []).append(amount)
        rows = []
        for pk, _ in self.parents:
            mine = amounts.get(pk, [])
            total = sum(mine, Decimal(0)) if mine else None
            mean = total / len(mine) if total is not None else None
            rows.append(aggregate_row(pk, len(mine), total, mean))
        return rows

    def child_table(self) -> tuple[int, str]:
        """The digest the harness reads of the child table (every column but the key)."""
        return digest(
            (int(parent), name, normal_value(child_table.c.amount, amount))
            for _, parent, name, amount in self.children
        )


class FamilyScenario(Scenario):
    """What the scenarios that read the parent/child family share: its two tables, the child
    table digested after every round, one operation per run, nothing written."""

    destructive = False
    tables = (parent_table, child_table)
    checked_table = child_table

    def operations(self) -> int:
        return 1


def load(tables: Tables, rows: int, seed: int) -> Family:
    """Empty both tables and load the family (untimed)."""
    data = generate(rows, seed)
    tables.reset(parent_table, child_table)
    parent_ids = tables.load(data.parents, parent_table)
    child_rows = [{"parent_id": parent_ids[index], **row} for index, row in data.children]
    child_ids = tables.load(child_rows, child_table)
    parents = [(pk, row["name"]) for pk, row in zip(parent_ids, data.parents, strict=True)]
    children = sorted(
        (pk, row["parent_id"], row["name"], row["amount"])
        for pk, row in zip(child_ids, child_rows, strict=True)
    )
    return Family(sorted(parents), children)


# --- normal forms -------------------------------------------------------------------------------


def joined_row(
    parent_id: Any, parent_name: Any, child_id: Any, child_name: Any, amount: Any
) -> NormalRow:
    """(parent id, parent name, child id, child name, child amount) as plain values."""
    return (
        int(parent_id),
        str(parent_name),
        None if child_id is None else int(child_id),
        None if child_name is None else str(child_name),
        normal_value(child_table.c.amount, amount),
    )


def aggregate_row(parent_id: Any, count: Any, total: Any, mean: Any) -> NormalRow:
    """(parent id, count, sum at two decimals, mean at six decimals); NULL stays None. A float
    (SQLite's AVG) is read by its shortest repr, which the tie-free data rounds safely."""
    if mean is not None:
        exact = mean if isinstance(mean, Decimal) else Decimal(str(mean))
        mean = str(exact.quantize(MEAN_UNIT, rounding=ROUND_HALF_EVEN))
    return (int(parent_id), int(count), normal_value(child_table.c.amount, total), mean)


def fields(item: Any, columns: tuple[str, ...], wanted: tuple[str, ...]) -> list[Any]:
    """`wanted` values of an ORM object (by attribute) or of a driver's row (`columns` being
    the order it was selected in)."""
    if isinstance(item, tuple | list):
        named = dict(zip(columns, item, strict=True))
        return [named[c] for c in wanted]
    return [getattr(item, c) for c in wanted]
