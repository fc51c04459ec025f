"""A loopback relay that counts what crosses the wire: round trips, bytes each way, and protocol
messages where the framing is easy to read.

The DB-API trace (harness.wire.trace) counts calls where both ORMs meet the driver; it cannot see
what a driver sends on its own (psycopg's BEGIN, mysqlclient's SET autocommit, mssql-django's
SELECT @@TRANCOUNT). The relay sits between the driver and the server in the untimed trace pass
only, and counts what reached the server. Timed rounds connect to the server directly.

A round trip is a client-to-server turn: it begins when the client sends after the server last
sent (or at a connection's first send), so a pipelined batch of messages is one round trip, as
the network sees it. Messages are framed per protocol:

- PostgreSQL: after the untyped startup packets, a 1-byte type and a 4-byte length;
- MySQL/MariaDB: packets of a 3-byte length and a 1-byte sequence number;
- SQL Server (TDS): packets with an 8-byte header (type, status, 2-byte length, ...).

A connection that switches to TLS (PostgreSQL's SSLRequest answered 'S', MySQL's SSL request,
TDS encryption) stays counted in round trips, bytes and (TDS) packets up to the switch, but its
messages are no longer parsed: `Wire.encrypted` says how many connections did so.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# PostgreSQL startup-phase request codes (untyped packets: 4-byte length, 4-byte code).
PG_SSL_REQUEST = 80877103
PG_GSSENC_REQUEST = 80877104
PG_CANCEL_REQUEST = 80877102
# MySQL capability flag a client sets in its SSL request (before the real handshake response).
MYSQL_CLIENT_SSL = 0x0800
MYSQL_COM_QUERY = 0x03
# TDS packet types a client or server sends (MS-TDS 2.2.3.1.1); anything else is not TDS
# framing any more: a TLS stream after encryption was agreed.
TDS_TYPES = frozenset({0x01, 0x02, 0x03, 0x04, 0x06, 0x07, 0x0E, 0x10, 0x11, 0x12})


@dataclass(frozen=True)
class Wire:
    """What crossed the relay over some span: totals over every connection."""

    round_trips: int = 0
    bytes_sent: int = 0  # client -> server
    bytes_received: int = 0  # server -> client
    messages_sent: int | None = 0  # None: the protocol is not framed here
    messages_received: int | None = 0
    # First keyword of each statement the client had run, where messages are parsed
    # (PostgreSQL: simple Query, and Execute of a parsed statement; MySQL: COM_QUERY): what
    # reached the server, the ones a driver sends on its own too.
    statements: dict[str, int] = field(default_factory=dict)
    encrypted: int = 0  # connections whose messages went unparsed after a switch to TLS

    def __sub__(self, earlier: Wire) -> Wire:
        def less(a: int | None, b: int | None) -> int | None:
            return None if a is None or b is None else a - b

        kinds = Counter(self.statements)
        kinds.subtract(earlier.statements)
        return Wire(
            round_trips=self.round_trips - earlier.round_trips,
            bytes_sent=self.bytes_sent - earlier.bytes_sent,
            bytes_received=self.bytes_received - earlier.bytes_received,
            messages_sent=less(self.messages_sent, earlier.messages_sent),
            messages_received=less(self.messages_received, earlier.messages_received),
            statements={k: v for k, v in kinds.items() if v},
            encrypted=self.encrypted,
        )


def statement_word(sql: bytes) -> str:
    """The first keyword of a statement's text, upper-cased ("SELECT", "COMMIT", "SET")."""
    text = sql.rstrip(b"\0").decode("utf-8", "replace").lstrip(" \t\r\n(")
    while text.startswith("/*"):
        text = text.partition("*/")[2].lstrip()
    return text.split(None, 1)[0].rstrip(";").upper() if text.strip() else ""


class Framer:
    """Splits one direction of one connection into protocol messages. Subclasses per protocol;
    `feed` returns how many whole messages the bytes completed."""

    def __init__(self, conn: _Connection, client: bool) -> None:
        self.conn = conn
        self.client = client
        self.buffer = bytearray()

    def feed(self, data: bytes) -> int:
        if self.conn.encrypted:
            return 0
        self.buffer += data
        count = 0
        while not self.conn.encrypted:
            size = self.next_size()
            if size is None or len(self.buffer) < size:
                break
            message = bytes(self.buffer[:size])
            del self.buffer[:size]
            count += 1
            self.seen(message)
        return count

    def next_size(self) -> int | None:
        raise NotImplementedError

    def seen(self, message: bytes) -> None:
        """A whole message went by (state changes: TLS, startup)."""


class PostgresFramer(Framer):
    def __init__(self, conn: _Connection, client: bool) -> None:
        super().__init__(conn, client)
        self.prepared: dict[bytes, str] = {}  # statement name -> first keyword of its text
        self.portals: dict[bytes, str] = {}  # portal name -> the same, from Bind

    def next_size(self) -> int | None:
        if self.client and not self.conn.started:
            if len(self.buffer) < 4:
                return None
            return int.from_bytes(self.buffer[:4], "big")  # untyped startup packet
        if not self.client and self.conn.answers_pending:
            return 1  # the one-byte answer to SSLRequest / GSSENCRequest: 'S', 'G' or 'N'
        if len(self.buffer) < 5:
            return None
        return 1 + int.from_bytes(self.buffer[1:5], "big")

    def seen(self, message: bytes) -> None:
        conn = self.conn
        if self.client and not conn.started:
            code = int.from_bytes(message[4:8], "big") if len(message) >= 8 else 0
            if code in (PG_SSL_REQUEST, PG_GSSENC_REQUEST):
                conn.answers_pending += 1
            elif code != PG_CANCEL_REQUEST:
                conn.started = True
        elif self.client:
            kind, body = message[:1], message[5:]
            if kind == b"Q":  # simple query
                conn.statement(body)
            elif kind == b"P":  # Parse: statement name, query text, ...
                name, _, rest = body.partition(b"\0")
                self.prepared[name] = statement_word(rest.partition(b"\0")[0])
                if name:  # a named statement: the driver prepares it for later runs
                    conn.relay._count_statement("(prepare)")
            elif kind == b"B":  # Bind: portal name, statement name, ...
                portal, _, rest = body.partition(b"\0")
                self.portals[portal] = self.prepared.get(rest.partition(b"\0")[0], "")
            elif kind == b"E":  # Execute: a prepared statement runs (its text went once)
                conn.relay._count_statement(self.portals.get(body.partition(b"\0")[0], ""))
        elif conn.answers_pending:
            conn.answers_pending -= 1
            if message in (b"S", b"G"):
                conn.switched_to_tls()


class MysqlFramer(Framer):
    def next_size(self) -> int | None:
        if len(self.buffer) < 4:
            return None
        return 4 + int.from_bytes(self.buffer[:3], "little")

    def seen(self, message: bytes) -> None:
        if not self.client:
            return
        sequence, payload = message[3], message[4:]
        if sequence == 1 and not self.conn.started:
            self.conn.started = True
            # The handshake response; 32 bytes with CLIENT_SSL set is the SSL request, after
            # which the rest of the conversation is TLS.
            flags = int.from_bytes(payload[:4], "little") if len(payload) >= 4 else 0
            if flags & MYSQL_CLIENT_SSL and len(payload) == 32:
                self.conn.switched_to_tls()
        elif sequence == 0 and payload[:1] == bytes([MYSQL_COM_QUERY]):
            self.conn.statement(payload[1:])


class TdsFramer(Framer):
    def next_size(self) -> int | None:
        if not self.buffer:
            return None
        if self.buffer[0] not in TDS_TYPES:
            self.conn.switched_to_tls()  # a TLS record, not a TDS header
            return None
        if len(self.buffer) < 8:
            return None
        return max(8, int.from_bytes(self.buffer[2:4], "big"))


FRAMERS: dict[str, type[Framer]] = {
    "postgresql": PostgresFramer,
    "mysql": MysqlFramer,
    "mssql": TdsFramer,
}


class _Connection:
    """One client connection through the relay and its counts."""

    def __init__(self, relay: Relay, client: socket.socket) -> None:
        self.relay = relay
        self.client = client
        self.server: socket.socket | None = None
        self.last_sender = ""  # "client" | "server"
        self.started = False
        self.answers_pending = 0
        self.encrypted = False
        framer = FRAMERS.get(relay.protocol)
        self.up = framer(self, client=True) if framer else None
        self.down = framer(self, client=False) if framer else None

    def statement(self, sql: bytes) -> None:
        self.relay._count_statement(statement_word(sql))

    def switched_to_tls(self) -> None:
        if not self.encrypted:
            self.encrypted = True
            self.relay._count_encrypted()

    def run(self) -> None:
        try:
            self.server = socket.create_connection(self.relay.server, timeout=30)
            self.server.settimeout(None)
        except OSError:
            self.client.close()
            return
        for sock in (self.client, self.server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        upstream = threading.Thread(target=self._pump, args=(True,), daemon=True)
        upstream.start()
        self._pump(False)
        upstream.join()

    def _pump(self, from_client: bool) -> None:
        source, sink = (self.client, self.server) if from_client else (self.server, self.client)
        framer = self.up if from_client else self.down
        assert sink is not None
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                # Counted before forwarding: the other side answers only after this, so the
                # turn order seen here is the order on the wire.
                messages = framer.feed(data) if framer else 0
                self.relay._count(self, from_client, len(data), messages)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (sink, source):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class Relay:
    """A TCP relay on 127.0.0.1 to one server, counting what crosses it (see the module doc).

    `protocol` is a database family ("postgresql", "mysql", "mssql"); any other value relays
    and counts round trips and bytes without framing messages. Use as a context manager, or
    `start()` and `close()`; `snapshot()` reads the totals so far (subtract two for a span).
    """

    def __init__(self, server_host: str, server_port: int, protocol: str) -> None:
        self.server = (server_host, server_port)
        self.protocol = protocol
        self._lock = threading.Lock()
        self._round_trips = 0
        self._bytes = [0, 0]  # sent, received
        self._messages = [0, 0]
        self._statements: Counter[str] = Counter()
        self._encrypted = 0
        self._last_traffic = time.monotonic()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._connections: list[_Connection] = []
        self._closed = False
        self._thread = threading.Thread(target=self._accept, daemon=True, name="ormbench-relay")

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._listener.getsockname()[:2]
        return host, port

    def start(self) -> Relay:
        self._thread.start()
        return self

    def __enter__(self) -> Relay:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()
        for conn in list(self._connections):
            for sock in (conn.client, conn.server):
                if sock is not None:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                        sock.close()
                    except OSError:
                        pass

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            conn = _Connection(self, client)
            self._connections.append(conn)
            threading.Thread(target=conn.run, daemon=True, name="ormbench-relay-conn").start()

    def _count(self, conn: _Connection, from_client: bool, size: int, messages: int) -> None:
        with self._lock:
            if from_client and conn.last_sender != "client":
                self._round_trips += 1
            conn.last_sender = "client" if from_client else "server"
            self._bytes[0 if from_client else 1] += size
            self._messages[0 if from_client else 1] += messages
            self._last_traffic = time.monotonic()

    def _count_statement(self, word: str) -> None:
        with self._lock:
            self._statements[word] += 1

    def _count_encrypted(self) -> None:
        with self._lock:
            self._encrypted += 1

    def quiet(self, idle: float = 0.02, limit: float = 1.0) -> None:
        """Wait until nothing crossed for `idle` seconds (at most `limit`): a message the client
        sent without waiting for an answer is counted before the span closes."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            with self._lock:
                since = time.monotonic() - self._last_traffic
            if since >= idle:
                return
            time.sleep(idle - since)

    def snapshot(self) -> Wire:
        with self._lock:
            framed = self.protocol in FRAMERS
            return Wire(
                round_trips=self._round_trips,
                bytes_sent=self._bytes[0],
                bytes_received=self._bytes[1],
                messages_sent=self._messages[0] if framed else None,
                messages_received=self._messages[1] if framed else None,
                statements=dict(self._statements),
                encrypted=self._encrypted,
            )

    @property
    def connections(self) -> int:
        """Client connections accepted so far."""
        return len(self._connections)
