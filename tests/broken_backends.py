"""Test-only backends that do different work than asked, to prove verification catches them.
They stand in for real ones by name (`--backends broken_backends:DroppingDjango`)."""

from __future__ import annotations

from collections.abc import Sequence

from backends.base import RowData, replaces
from backends.dbapi import DbApi
from backends.django_orm import DjangoOrm
from backends.sqlalchemy_orm import Item, SqlAlchemyOrm
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


class WholeRowUpsertDjango(DjangoOrm):
    """Django whose upsert writes every column of an existing row, not quantity and price."""

    @replaces("upsert")
    def upsert(self, rows: Sequence[RowData]) -> None:
        Item = self.Item
        by_email = self.connection.features.supports_update_conflicts_with_target
        with self.atomic():
            Item.objects.bulk_create(
                [Item(**row) for row in rows],
                update_conflicts=True,
                unique_fields=["email"] if by_email else None,
                update_fields=["name", "quantity", "price", "active", "created_at"],
            )


class ReplacingUpsertSqlAlchemy(SqlAlchemyOrm):
    """SQLAlchemy that deletes the existing rows and inserts them anew with the right values
    (as MySQL's REPLACE would): the table reads the same, but the updated rows lost their
    ids."""

    @replaces("upsert")
    def upsert(self, rows: Sequence[RowData]) -> None:
        from sqlalchemy import delete, insert, select

        session = self.session
        emails = [row["email"] for row in rows]
        existing = {
            item.email: item for item in session.scalars(select(Item).where(Item.email.in_(emails)))
        }
        merged = []
        for row in rows:
            old = existing.get(row["email"])
            if old is None:
                merged.append(dict(row))
            else:
                kept = {c: getattr(old, c) for c in ("name", "email", "active", "created_at")}
                merged.append({**kept, "quantity": row["quantity"], "price": row["price"]})
        session.execute(delete(Item).where(Item.email.in_(list(existing))))
        session.execute(insert(Item), merged)
        session.commit()
