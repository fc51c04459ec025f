"""Test-only user scenarios that ormbench must refuse before running anything."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, Table

from scenarios import Capabilities, Scenario, Tables, Work
from scenarios.contract import WorkContract

foreign = Table("customers", MetaData(), Column("id", Integer, primary_key=True))


class ForeignTable(Scenario):
    """Works on a table that is not ormbench's own."""

    name = "foreign_table"
    destructive = False
    tables = (foreign,)
    checked_table = foreign

    def prepare(self, tables: Tables) -> Work:
        raise AssertionError("never prepared: refused before the run")

    def contract(self, capabilities: Capabilities) -> WorkContract:
        return WorkContract(statements={}, transactions=0, autocommit=True)


class TakesGet(ForeignTable):
    """Takes the name of a built-in scenario."""

    name = "get"
