"""Round trips on the wire: the loopback relay's framing, and on real PostgreSQL and MariaDB
the round trips each ORM's documented idiom costs, the server's own counters agreeing with what
the relay saw, and no relay in a timed round."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest

from harness.targets.connection import PG_PREPARE_THRESHOLD
from harness.targets.urls import parse_target
from harness.wire.relay import Relay, statement_word

TESTS = str(Path(__file__).parent)
PROBES = ",".join(
    f"wire_probe_backends:{name}" for name in ("WireSqlAlchemy", "WireDjango", "WireDbApi")
)
ROWS = 30


def run_probed(cli, folder: Path, url: str) -> tuple[dict, list[dict]]:
    log = folder / "wire.log"
    result = cli(
        "run", "--db", url, "--rows", str(ROWS), "--rounds", "2", "--warmup", "1",
        "--scenarios", "create,get,filter,update", "--backends", PROBES,
        "--output", str(folder / "report"),
        env={"PYTHONPATH": TESTS, "ORMBENCH_WIRE_LOG": str(log)},
    )  # fmt: skip
    assert result.code == 0, result.stderr + result.stdout
    data = json.loads((folder / "report/results.json").read_text())
    records = [json.loads(line) for line in log.read_text().splitlines()]
    return data, records


def traces(data: dict) -> dict[tuple[str, str, str], dict]:
    return {(c["scenario"], c["backend"], c["idiom"]): c["trace"] for c in data["cells"]}


def assert_no_relay_in_timed_rounds(records: list[dict], server_port: int) -> None:
    timed = [r for r in records if not r["traced"]]
    traced = [r for r in records if r["traced"]]
    assert (
        {r["backend"] for r in timed}
        == {r["backend"] for r in traced}
        == {
            "sqlalchemy",
            "django",
            "dbapi",
        }
    )
    for record in timed:  # every timed round: each connection's socket is on the server
        assert record["relay"] is None
        assert record["ports"] and set(record["ports"]) == {server_port}, record
    for record in traced:  # the trace pass: every backend alike through the relay
        assert record["relay"] is not None
        assert set(record["ports"]) == {record["relay"][1]} != {server_port}, record


def transactions(trace: dict) -> dict[str, int]:
    """pg_stat_database's count of the traced run's transactions, among the server's counters."""
    return {k: v for k, v in trace["server_counters"].items() if k.startswith("xact_")}


def test_postgresql_round_trips(cli, tmp_path: Path, postgres_url: str) -> None:
    data, records = run_probed(cli, tmp_path, postgres_url)
    assert_no_relay_in_timed_rounds(records, parse_target(postgres_url).url.port or 5432)
    by = traces(data)

    for trace in by.values():
        # The wire's own ledger: every statement the server ran is one round trip; nothing
        # travels in between. The policy prepares nothing (prepare_threshold=None), so no
        # backend's loop of 30 runs of one statement sends a prepare.
        assert "(prepare)" not in trace["wire_statements"]
        assert trace["round_trips"] == sum(trace["wire_statements"].values())
        assert trace["bytes_sent"] > 0 and trace["bytes_received"] > 0
        assert trace["messages_sent"] > trace["round_trips"]  # extended protocol: several
    # The same regime on every backend's own connection, read back (every round uses it).
    (database,) = data["databases"]
    for backend in ("sqlalchemy", "django", "dbapi"):
        settings = database["connection_settings"][backend]
        assert settings["statement preparation"] == "prepare_threshold=None", backend

    # Django's autocommit create: one INSERT per row, which commits itself.
    django = by[("create", "django", "documented")]
    assert django["wire_statements"] == {"INSERT": ROWS}
    # pg_stat_database counts a transaction for each of those round trips.
    assert transactions(django) == {"xact_commit": django["round_trips"], "xact_rollback": 0}
    # ... and the item table's own count of the rows they inserted.
    assert django["server_counters"]["ormbench_item rows inserted"] == ROWS

    # SQLAlchemy's Session create: psycopg sends BEGIN on its own before the INSERT and waits
    # for its answer (the DB-API trace sees it only as an implicit BEGIN), then COMMIT: three
    # round trips per row. The pool's reset-on-return rollback() sends nothing, the
    # transaction being over.
    alchemy = by[("create", "sqlalchemy", "documented")]
    assert alchemy["wire_statements"] == {"BEGIN": ROWS, "INSERT": ROWS, "COMMIT": ROWS}
    # The server counted one committed transaction per COMMIT the relay saw.
    assert transactions(alchemy) == {"xact_commit": ROWS, "xact_rollback": 0}

    # get in the contract's one transaction: one round trip per lookup, and the transaction's
    # own control.
    for unit in (("sqlalchemy", "documented"), ("django", "equal"), ("dbapi", "floor")):
        trace = by[("get", *unit)]
        assert trace["wire_statements"]["SELECT"] == ROWS
        assert trace["wire_statements"]["BEGIN"] == 1
    assert by[("get", "django", "equal")]["wire_statements"] == {
        "BEGIN": 1,
        "SELECT": ROWS,
        "COMMIT": 1,
    }
    # Django's documented get runs in autocommit, its default: the lookups alone.
    assert by[("get", "django", "documented")]["wire_statements"] == {"SELECT": ROWS}
    assert PG_PREPARE_THRESHOLD is None


def test_mariadb_round_trips(cli, tmp_path: Path, mariadb_url: str) -> None:
    data, records = run_probed(cli, tmp_path, mariadb_url)
    assert_no_relay_in_timed_rounds(records, parse_target(mariadb_url).url.port or 3306)
    by = traces(data)

    django = by[("create", "django", "documented")]
    assert django["round_trips"] == ROWS
    assert django["wire_statements"] == {"INSERT": ROWS}

    # SQLAlchemy's Session create on mysqlclient: no BEGIN (autocommit is off, the server
    # opens the transaction with the INSERT), COMMIT, and the pool's reset-on-return
    # rollback(), which mysqlclient does send: three round trips per row all the same.
    alchemy = by[("create", "sqlalchemy", "documented")]
    assert alchemy["round_trips"] == 3 * ROWS
    assert alchemy["wire_statements"] == {"INSERT": ROWS, "COMMIT": ROWS, "ROLLBACK": ROWS}
    server = alchemy["server_counters"]
    assert server["Com_commit"] == ROWS and server["Com_insert"] == ROWS

    for backend, idiom in (("sqlalchemy", "documented"), ("django", "documented")):
        trace = by[("get", backend, idiom)]
        assert trace["wire_statements"]["SELECT"] == ROWS
        assert trace["round_trips"] == sum(trace["wire_statements"].values())  # no prepares
        assert trace["server_counters"]["Com_select"] == ROWS

    # Django's update: atomic() turns autocommit off and on around each row, and mysqlclient
    # sends SET autocommit each time: two statements per row the DB-API trace counts as one
    # call each, which the server counts as Com_set_option.
    update = by[("update", "django", "documented")]
    assert update["wire_statements"]["SET"] == 2 * ROWS
    assert update["server_counters"]["Com_set_option"] == 2 * ROWS
    assert update["round_trips"] == 5 * ROWS  # SET, SELECT, UPDATE, COMMIT, SET
    # The equal-work filter is one SELECT that commits itself, for both ORMs: SQLAlchemy's
    # AUTOCOMMIT Engine skips the pool's return-to-pool ROLLBACK (skip_autocommit_rollback),
    # which mysqlclient would otherwise send as a round trip of its own.
    alchemy, django = by[("filter", "sqlalchemy", "equal")], by[("filter", "django", "equal")]
    assert alchemy["wire_statements"] == django["wire_statements"]
    assert set(alchemy["wire_statements"]) == {"SELECT"}
    assert alchemy["round_trips"] == django["round_trips"]
    for trace in by.values():
        server = trace["server_counters"]
        assert server.get("Com_commit", 0) == trace["wire_statements"].get("COMMIT", 0)
        assert server.get("Com_insert", 0) == trace["wire_statements"].get("INSERT", 0)
        assert server.get("Com_update", 0) == trace["wire_statements"].get("UPDATE", 0)


def test_sqlite_keeps_the_driver_level_trace(cli, tmp_path: Path, sqlite_url: str) -> None:
    result = cli(
        "run", "--db", sqlite_url, "--rows", "5", "--rounds", "1", "--warmup", "0",
        "--scenarios", "create", "--output", str(tmp_path / "r"),
    )  # fmt: skip
    assert result.code == 0, result.stderr
    data = json.loads((tmp_path / "r/results.json").read_text())
    for cell in data["cells"]:
        assert cell["trace"]["round_trips"] is None
        assert "driver-level trace" in cell["trace"]["wire_note"]
    report = (tmp_path / "r/report.md").read_text()
    assert "round trips/op" in report and "SQLite is embedded: no wire" in report


# --- the relay alone ----------------------------------------------------------------------------


class OneShotServer(threading.Thread):
    """A TCP server that answers each thing it receives with `answers`, in turn: enough to
    drive the relay's framing through a protocol's opening without a database."""

    def __init__(self, answers: list[bytes]) -> None:
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.answers = answers
        self.received: list[bytes] = []

    @property
    def port(self) -> int:
        return self.listener.getsockname()[1]

    def run(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            for answer in self.answers:
                self.received.append(conn.recv(65536))
                conn.sendall(answer)


def talk(relay: Relay, sends: list[bytes]) -> None:
    with socket.create_connection(relay.address) as client:
        for data in sends:
            client.sendall(data)
            client.recv(65536)
    relay.quiet()


def test_postgresql_ssl_request_answered_s_stops_parsing() -> None:
    ssl_request = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")
    server = OneShotServer([b"S", b"\x16\x03\x01 server hello"])
    server.start()
    with Relay("127.0.0.1", server.port, "postgresql") as relay:
        talk(relay, [ssl_request, b"\x16\x03\x01 client hello"])
        wire = relay.snapshot()
    assert wire.round_trips == 2
    assert wire.encrypted == 1
    assert (wire.messages_sent, wire.messages_received) == (1, 1)  # up to the switch only
    assert wire.bytes_sent == len(ssl_request) + len(b"\x16\x03\x01 client hello")


def test_tds_packets_are_counted_until_tls() -> None:
    def packet(kind: int, body: bytes) -> bytes:
        return bytes([kind, 1]) + (8 + len(body)).to_bytes(2, "big") + b"\0\0\1\0" + body

    batch = packet(0x01, "SELECT 1".encode("utf-16-le"))
    server = OneShotServer([packet(0x04, b"done"), b"\x17\x03\x03 tls record"])
    server.start()
    with Relay("127.0.0.1", server.port, "mssql") as relay:
        talk(relay, [batch + batch, b"\x17\x03\x03 tls"])
        wire = relay.snapshot()
    assert wire.round_trips == 2  # two packets in one send are one round trip
    assert wire.messages_sent == 2 and wire.messages_received == 1
    assert wire.encrypted == 1


@pytest.mark.parametrize(
    ("sql", "word"),
    [(b"COMMIT\0", "COMMIT"), (b"  /* x */ select 1", "SELECT"), (b"(SELECT 1)", "SELECT")],
)
def test_statement_word(sql: bytes, word: str) -> None:
    assert statement_word(sql) == word
