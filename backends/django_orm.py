"""Django ORM used standalone: `settings.configure()` built from the harness's target, a model
with an app label, no project and no manage.py. Django's settings are per process, so a process
serves one database (the harness runs each database in its own worker process)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import django
from django.conf import settings

from backends.base import Backend, RowData, StatementWhileVerifying
from harness.connection import BULK_BATCH_ROWS, read_session_counters, read_settings
from harness.errors import ConfigurationError
from harness.targets import Target
from harness.trace import TracedConnection, Tracer
from scenarios.schema import ALL_COLUMNS, NormalRow, normal_row


def configure(target: Target) -> None:
    """Configure Django once for this process, for `target`; the only global state in ormbench."""
    database = target.django_database()
    if settings.configured:
        current = settings.DATABASES["default"]  # Django adds its defaults to the entry
        if any(current.get(key) != value for key, value in database.items()):
            raise ConfigurationError(
                "Django is already configured for another database in this process",
                "run one database per process (ormbench run does this for you)",
            )
        return
    settings.configure(
        DATABASES={"default": database},
        INSTALLED_APPS=[],
        USE_TZ=False,  # naive datetimes, as SQLAlchemy's DateTime stores them
        # The connection policy's session time zone (harness.connection). Django's default,
        # America/Chicago, reaches PostgreSQL as the session TimeZone: rows in its DST gap
        # were stored an hour off by the UNNEST bulk insert's timestamptz cast.
        TIME_ZONE="UTC",
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        LOGGING_CONFIG=None,
    )
    django.setup()


class DjangoOrm(Backend):
    """Django ORM through its default connection, persistent (CONN_MAX_AGE=None), autocommit,
    with the connection policy in DATABASES OPTIONS (harness.connection)."""

    name = "django"
    title = "Django ORM"

    def __init__(self, target: Target, tracer: Tracer | None = None) -> None:
        super().__init__(target, tracer)
        configure(target)
        from django.db import connection, transaction

        from backends.django_models import Item  # models exist only once Django is set up

        self.Item = Item
        self.atomic = transaction.atomic
        self.connection = connection
        connection.ensure_connection()  # connect now, outside any timing
        self._bare = connection.connection
        if tracer is not None:
            connection.connection = TracedConnection(self._bare, tracer)
        self.batch_rows = BULK_BATCH_ROWS.get(target.family, 1000)
        self.packet_batch = _packet_batch(connection) if target.family == "mysql" else None

    def close(self) -> None:
        if self.tracer is not None:
            # The trace instance shares Django's one connection: unwrap it, keep it open.
            self.connection.connection = self._bare
        else:
            self.connection.close()

    def connection_settings(self) -> dict[str, str]:
        return read_settings(self.target.family, self._bare)

    def session_counters(self) -> dict[str, int] | None:
        return read_session_counters(self.target.family, self._bare)

    @contextmanager
    def statements_forbidden(self) -> Iterator[None]:
        def refuse(*_args: Any) -> Any:
            raise StatementWhileVerifying("Django sent a statement")

        with self.connection.execute_wrapper(refuse):
            yield

    def create(self, rows: Sequence[RowData]) -> None:
        """`Item.objects.create()` per row in autocommit: each INSERT its own transaction."""
        objects = self.Item.objects
        for row in rows:
            objects.create(**row)

    def bulk_create(self, rows: Sequence[RowData]) -> list[Any]:
        """`Item.objects.bulk_create()` inside `transaction.atomic()`: one transaction, in the
        batches Django chooses (on MySQL, as many rows as fit the server's packet limit)."""
        Item = self.Item
        with self.atomic():
            return Item.objects.bulk_create(
                [Item(**row) for row in rows], batch_size=self.packet_batch
            )

    def bulk_create_equal(self, rows: Sequence[RowData]) -> list[Any]:
        """`Item.objects.bulk_create(objs, batch_size=...)` inside `transaction.atomic()`, in
        the family's bulk batch size, the one SQLAlchemy's equal-work idiom uses."""
        Item = self.Item
        with self.atomic():
            return Item.objects.bulk_create(
                [Item(**row) for row in rows], batch_size=self.batch_rows
            )

    def get(self, ids: Sequence[int]) -> list[Any]:
        """`Item.objects.get(pk=...)` per primary key, all inside one `transaction.atomic()`."""
        objects = self.Item.objects
        with self.atomic():
            return [objects.get(pk=pk) for pk in ids]

    def filter(self, prefix: str) -> list[Any]:
        """`Item.objects.filter(name__startswith=prefix).order_by("id")`, evaluated with
        `list()`, inside one `transaction.atomic()`."""
        with self.atomic():
            return list(self.Item.objects.filter(name__startswith=prefix).order_by("id"))

    def filter_equal(self, prefix: str) -> list[Any]:
        """The same query in autocommit, without `atomic()`: one SELECT that is its own
        transaction."""
        return list(self.Item.objects.filter(name__startswith=prefix).order_by("id"))

    def update(self, changes: Sequence[tuple[int, int]]) -> None:
        """Per row, inside `transaction.atomic()`: `objects.get()`, set `quantity`, `save()`
        (plain `save()` writes every column, as Django does unless `update_fields` is given)."""
        objects = self.Item.objects
        for pk, quantity in changes:
            with self.atomic():
                item = objects.get(pk=pk)
                item.quantity = quantity
                item.save()

    def update_equal(self, changes: Sequence[tuple[int, int]]) -> None:
        """Per row, inside `transaction.atomic()`: `objects.get()`, set `quantity`,
        `save(update_fields=["quantity"])`: the UPDATE sets the changed column only."""
        objects = self.Item.objects
        for pk, quantity in changes:
            with self.atomic():
                item = objects.get(pk=pk)
                item.quantity = quantity
                item.save(update_fields=["quantity"])

    def delete(self, ids: Sequence[int]) -> None:
        """Per row, inside `transaction.atomic()`: `objects.get()` then `Model.delete()`."""
        objects = self.Item.objects
        for pk in ids:
            with self.atomic():
                objects.get(pk=pk).delete()

    def normal_rows(self, result: list[Any]) -> list[NormalRow]:
        return [normal_row([getattr(o, c) for c in ALL_COLUMNS], ALL_COLUMNS) for o in result]


# Bytes one row of the item table takes in a multi-row INSERT, generously: values as text,
# quoting and separators. Batches stay well inside max_allowed_packet.
_ROW_BYTES = 600


def _packet_batch(connection: Any) -> int:
    """Rows per INSERT that fit the MySQL/MariaDB server's max_allowed_packet: without a
    batch size, Django sends all rows in one statement, which the server refuses once it
    outgrows the packet limit (ConnectionError 2006/1153 at 200,000 rows)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@max_allowed_packet")
        (packet,) = cursor.fetchone()
    return max(1, int(packet) // (2 * _ROW_BYTES))
