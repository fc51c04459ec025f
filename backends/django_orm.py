"""Django ORM used standalone: `settings.configure()` built from the harness's target, the
models' app installed from this module, no project and no manage.py. Django's settings are per
process, so a process serves one database (the harness runs each database in its own worker
process)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import import_module
from typing import Any

import django
from django.apps import AppConfig
from django.conf import settings

from backends.base import Backend, StatementWhileVerifying
from harness.targets.connection import BULK_BATCH_ROWS, read_session_counters, read_settings
from harness.targets.errors import ConfigurationError
from harness.targets.urls import Target
from harness.wire.trace import TracedConnection, Tracer


class HarnessModels(AppConfig):
    """The app holding the harness's models (backends.django_models, app label "ormbench").
    Installed because Django learns a model's reverse relations from installed apps only:
    without it `Parent.objects.annotate(n=Count("children"))` cannot name the children."""

    name = "backends"
    label = "ormbench"
    default_auto_field = "django.db.models.AutoField"

    def import_models(self) -> None:
        # The models live in backends.django_models, not in the `models` module Django looks for.
        self.models = self.apps.all_models[self.label]
        self.models_module = import_module("backends.django_models")


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
        INSTALLED_APPS=[f"{__name__}.{HarnessModels.__name__}"],
        USE_TZ=False,  # naive datetimes, as SQLAlchemy's DateTime stores them
        # The connection policy's session time zone (harness.targets.connection). Django's default,
        # America/Chicago, reaches PostgreSQL as the session TimeZone: rows in its DST gap
        # were stored an hour off by the UNNEST bulk insert's timestamptz cast.
        TIME_ZONE="UTC",
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        LOGGING_CONFIG=None,
    )
    django.setup()


class DjangoOrm(Backend):
    """Django ORM through its default connection, persistent (CONN_MAX_AGE=None), autocommit,
    with the connection policy in DATABASES OPTIONS (harness.targets.connection)."""

    name = "django"
    title = "Django ORM"

    def __init__(self, target: Target, tracer: Tracer | None = None) -> None:
        super().__init__(target, tracer)
        configure(target)
        from django.db import connection, transaction

        from backends import django_models  # models exist only once Django is set up

        self.models = django_models
        self.Item = django_models.Item
        self.atomic = transaction.atomic
        self.connection = connection
        connection.ensure_connection()  # connect now, outside any timing
        self._direct: tuple[Any, dict[str, Any]] | None = None
        self._paused = False  # a trace instance between two trace passes (pause, resume)
        if tracer is not None and target.relay is not None:
            # Django has one connection per process, set up from settings that name the
            # server. The trace pass alone reaches it through the relay: a second connection,
            # made the way Django makes every one, while the direct one waits untouched.
            saved = {k: connection.settings_dict[k] for k in ("HOST", "PORT")}
            self._direct = (connection.connection, saved)
            connection.settings_dict.update(HOST=target.relay[0], PORT=str(target.relay[1]))
            connection.connection = None
            connection.ensure_connection()
        self._bare = connection.connection
        if tracer is not None:
            connection.connection = TracedConnection(self._bare, tracer)
        self.batch_rows = BULK_BATCH_ROWS.get(target.family, 1000)
        self.packet_batch = _packet_batch(connection) if target.family == "mysql" else None

    def close(self) -> None:
        if self.tracer is None:
            self.connection.close()
            return
        self.pause()
        if self._direct is not None:
            self._bare.close()  # the relay's connection; the timed rounds' one stays open

    def pause(self) -> None:
        """The trace instance gives Django's one connection back to the timed rounds: the
        direct connection (and settings) where it reached the server through the relay,
        else the same connection unwrapped, open in either case."""
        if self.tracer is None or self._paused:
            return
        if self._direct is not None:
            direct, saved = self._direct
            self.connection.connection = direct
            self.connection.settings_dict.update(saved)
        else:
            self.connection.connection = self._bare
        self._paused = True

    def resume(self) -> None:
        """Back to the traced connection, saving what Django holds now for `pause` (the
        timed rounds may have reconnected since)."""
        if self.tracer is None or not self._paused:
            return
        if self.connection.connection is None:
            self.connection.ensure_connection()
        if self._direct is not None:
            saved = {k: self.connection.settings_dict[k] for k in ("HOST", "PORT")}
            self._direct = (self.connection.connection, saved)
            relay = self.target.relay
            assert relay is not None  # _direct is set only for a target reached through one
            self.connection.settings_dict.update(HOST=relay[0], PORT=str(relay[1]))
        else:
            self._bare = self.connection.connection
        self.connection.connection = TracedConnection(self._bare, self.tracer)
        self._paused = False

    def connection_settings(self) -> dict[str, str]:
        return read_settings(self.target.family, self._bare)

    def session_counters(self) -> dict[str, int] | None:
        return read_session_counters(self.target.family, self._bare)

    def on_each_connection(self, call: Callable[[Any], Any]) -> list[Any]:
        return [call(self._bare)]

    @contextmanager
    def statements_forbidden(self) -> Iterator[None]:
        def refuse(*_args: Any) -> Any:
            raise StatementWhileVerifying("Django sent a statement")

        with self.connection.execute_wrapper(refuse):
            yield


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
