"""Test-only backends that do different work than asked, to prove verification catches them.
They stand in for real ones by name (`--backends broken_backends:DroppingDjango`)."""

from __future__ import annotations

from collections.abc import Sequence

from backends.base import RowData, replaces
from backends.dbapi import DbApi
from backends.django_orm import DjangoOrm
from backends.sqlalchemy_orm import SqlAlchemyOrm
from scenarios.bulk_create import django_bulk_create
from scenarios.filter import dbapi_filter
from scenarios.update import sqlalchemy_update


class DroppingDjango(DjangoOrm):
    """Django that silently loses the last row of every bulk insert."""

    @replaces("bulk_create")
    def bulk_create(self, rows: Sequence[RowData]) -> None:
        django_bulk_create(self, rows[:-1])


class OffByOneSqlAlchemy(SqlAlchemyOrm):
    """SQLAlchemy that writes a quantity one higher than asked."""

    @replaces("update")
    def update(self, changes: Sequence[tuple[int, int]]) -> None:
        sqlalchemy_update(self, [(pk, quantity + 1) for pk, quantity in changes])


class ShuffledFilterDbApi(DbApi):
    """Raw DB-API whose filter returns the right rows in the wrong order."""

    @replaces("filter")
    def filter(self, prefix: str) -> list:
        return list(reversed(dbapi_filter(self, prefix)))
