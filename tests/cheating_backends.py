"""Test-only backends that do less work than the scenario demands while returning the right
rows and leaving the right table state, to prove that the work contracts and the per-round
checks catch them. They stand in for real ones by name
(`--backends cheating_backends:OneCommitDjango`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import load_only

from backends.base import RowData, replaces
from backends.django_orm import DjangoOrm
from backends.sqlalchemy_orm import Item, SqlAlchemyOrm
from scenarios.create import django_create
from scenarios.get import sqlalchemy_get
from scenarios.idioms import EQUAL
from scenarios.update import django_update_equal


class OneCommitDjango(DjangoOrm):
    """Django whose per-row create commits once for all rows."""

    @replaces("create")
    def create(self, rows: Sequence[RowData]) -> None:
        with self.atomic():
            for row in rows:
                self.Item.objects.create(**row)


class IdOnlySqlAlchemy(SqlAlchemyOrm):
    """SQLAlchemy whose lookups load only the id column (the rest deferred)."""

    @replaces("get")
    def get(self, ids: Sequence[int]) -> list[Any]:
        session = self.session
        objects = [session.get(Item, pk, options=[load_only(Item.id)]) for pk in ids]
        session.close()
        return objects


class SetBasedUpdateDjango(DjangoOrm):
    """Django that updates every row with one set-based UPDATE instead of n loads and saves."""

    @replaces("update", EQUAL)
    def update_equal(self, changes: Sequence[tuple[int, int]]) -> None:
        from django.db.models import Case, Value, When

        whens = [When(pk=pk, then=Value(quantity)) for pk, quantity in changes]
        self.Item.objects.filter(pk__in=[pk for pk, _ in changes]).update(quantity=Case(*whens))


class TimedOnlyCheatDjango(DjangoOrm):
    """Django that creates honestly when traced, and in one transaction when not: less work
    only in the timed rounds."""

    @replaces("create")
    def create(self, rows: Sequence[RowData]) -> None:
        if self.tracer is not None:
            django_create(self, rows)
            return
        with self.atomic():
            for row in rows:
                self.Item.objects.create(**row)


class OneQueryPagesDjango(DjangoOrm):
    """Django whose keyset pages come from one SELECT of all of them, split afterwards: the
    right rows on the right pages, one statement instead of one per page."""

    @replaces("paginate_keyset")
    def paginate_keyset(self, walk: Any) -> list[list[Any]]:
        size = walk.size
        rows = list(
            self.Item.objects.filter(id__gt=walk.after_id).order_by("id")[: walk.pages * size]
        )
        return [rows[start : start + size] for start in range(0, len(rows), size)]


class RowByRowBulkUpdateDjango(DjangoOrm):
    """Django whose set-based update loads the matching rows and saves them one by one."""

    @replaces("bulk_update")
    def bulk_update(self, _: None) -> None:
        with self.atomic():
            for item in self.Item.objects.filter(active=True):
                item.quantity += 1
                item.save(update_fields=["quantity"])


class TimedOnlyNoSelectUpdateDjango(DjangoOrm):
    """Django whose equal-work update loads each row when traced, and in the timed rounds
    sends the same UPDATE per row without the SELECT before it (`filter(pk=).update()`):
    the same writes, transactions and table, one read fewer per row."""

    @replaces("update", EQUAL)
    def update_equal(self, changes: Sequence[tuple[int, int]]) -> None:
        if self.tracer is not None:
            django_update_equal(self, changes)
            return
        objects = self.Item.objects
        for pk, quantity in changes:
            with self.atomic():
                objects.filter(pk=pk).update(quantity=quantity)


class TimedOnlyMemoryGetSqlAlchemy(SqlAlchemyOrm):
    """SQLAlchemy whose get loads the rows when traced, and in the timed rounds returns the
    objects of its previous round from memory, sending no SQL at all."""

    remembered: list[Any] | None = None

    @replaces("get")
    def get(self, ids: Sequence[int]) -> list[Any]:
        if self.tracer is None and self.remembered is not None:
            return self.remembered
        objects = sqlalchemy_get(self, ids)
        if self.tracer is None:
            self.remembered = objects
        return objects


class LateWrongBulkCreateDjango(DjangoOrm):
    """Django whose bulk_create writes every row right in its first two runs, and from the
    third on one row with another quantity: a table state no earlier round left."""

    runs = 0

    @replaces("bulk_create")
    def bulk_create(self, rows: Sequence[RowData]) -> list[Any]:
        self.runs += 1
        if self.runs >= 3:
            rows = [{**rows[0], "quantity": rows[0]["quantity"] + 1}, *rows[1:]]
        with self.atomic():
            return self.Item.objects.bulk_create([self.Item(**row) for row in rows])


class LateStaleFilterDjango(DjangoOrm):
    """Django whose filter returns the right rows in its first two runs, and from the third
    on one object with another name, the table untouched: a wrong read, not a wrong write."""

    runs = 0

    @replaces("filter")
    def filter(self, prefix: str) -> list[Any]:
        self.runs += 1
        found = list(self.Item.objects.filter(name__startswith=prefix).order_by("id"))
        if self.runs >= 3 and found:
            found[-1].name = found[-1].name + "-stale"
        return found


class LateWritingFilterDjango(DjangoOrm):
    """Django whose filter returns the right rows every run, and from the third on also
    changes a row it did not return: the read is right, the table it leaves is not."""

    runs = 0

    @replaces("filter")
    def filter(self, prefix: str) -> list[Any]:
        self.runs += 1
        found = list(self.Item.objects.filter(name__startswith=prefix).order_by("id"))
        if self.runs >= 3:
            others = self.Item.objects.exclude(name__startswith=prefix).order_by("id")
            others.filter(pk=others.values_list("pk", flat=True).first()).update(quantity=-1)
        return found
