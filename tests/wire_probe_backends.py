"""Test-only backends that stand in for the real ones by name and note, at the start of every
round, whether they were built for the trace pass and which port each of their connections'
sockets is connected to: to prove that timed rounds talk to the server itself and only the
trace pass goes through the relay. Each round appends one JSON line to the file named by
ORMBENCH_WIRE_LOG."""

from __future__ import annotations

import json
import os
import socket
from typing import Any

from backends.dbapi import DbApi
from backends.django_orm import DjangoOrm
from backends.sqlalchemy_orm import SqlAlchemyOrm

WIRE_LOG = "ORMBENCH_WIRE_LOG"


def peer_port(connection: Any) -> int:
    """The remote port of a DB-API connection's socket (psycopg and mysqlclient both give
    theirs with fileno())."""
    with socket.fromfd(connection.fileno(), socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.getpeername()[1]


class _WireProbe:
    name: str
    tracer: Any
    target: Any

    def begin_round(self) -> None:
        record = {
            "backend": self.name,
            "traced": self.tracer is not None,
            "relay": list(self.target.relay) if self.target.relay else None,
            "ports": self.on_each_connection(peer_port),  # type: ignore[attr-defined]
        }
        with open(os.environ[WIRE_LOG], "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")
        super().begin_round()  # type: ignore[misc]


class WireSqlAlchemy(_WireProbe, SqlAlchemyOrm):
    pass


class WireDjango(_WireProbe, DjangoOrm):
    pass


class WireDbApi(_WireProbe, DbApi):
    pass
