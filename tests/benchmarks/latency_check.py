"""How close `ormbench run --rtt` comes to a run at a real network distance (a benchmark, not a
test: it takes minutes and asserts nothing).

    python tests/benchmarks/latency_check.py --db postgresql://postgres@127.0.0.1:5432/test

1. For each delay (`--delays`, one way), a run through a delaying forwarder: every chunk of
   bytes, either way, is held for the delay and then passed on in order, so each round trip
   really takes 2 x delay longer. That run's own `local_rtt_s` (the median `SELECT 1`) is the
   round-trip time it really had.
2. One run straight to the server, as a developer measures, with `--rtt` at those real
   round-trip times: each cell's median, its round trips on the wire (the untimed relay pass)
   and the database's local round-trip time.
3. Each cell's time projected from run 2 — measured + round trips x (the real round trip -
   the local one), as `--rtt` does — against the time measured in run 1; and the
   SQLAlchemy/Django verdicts, projected and measured.

The delay is made in user space, not by the kernel: these machines' kernel has no traffic
control (`tc qdisc add dev lo root netem delay 1ms` answers "Specified qdisc kind is unknown"),
so `tc netem` cannot be used here. The forwarder runs in a process of its own with the
kernel's timer slack at 1 ns (prctl PR_SET_TIMERSLACK), so a 0.5 ms hold lasts 0.5 ms and not
0.55; its own hop cost is part of the round trip that run 2 measures.

Run nothing else on the machine meanwhile. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import ctypes
import multiprocessing
import os
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]

from reports.model import RunResult  # noqa: E402

PR_SET_TIMERSLACK = 29


def _hold_and_pass(source: socket.socket, sink: socket.socket, delay: float) -> None:
    """Read chunks from `source`; pass each to `sink` `delay` seconds after it arrived."""
    held: queue.Queue[tuple[float, bytes]] = queue.Queue()

    def passer() -> None:
        while True:
            due, data = held.get()
            if not data:
                break
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            try:
                sink.sendall(data)
            except OSError:
                break
        with _quietly():
            sink.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=passer, daemon=True)
    thread.start()
    while True:
        try:
            data = source.recv(65536)
        except OSError:
            data = b""
        held.put((time.perf_counter() + delay, data))
        if not data:
            break
    thread.join()


class _quietly:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return True


def forward(listener: socket.socket, server: tuple[str, int], delay: float) -> None:
    """The forwarder process: accept, connect to the server, hold each chunk `delay` each way."""
    with _quietly():
        ctypes.CDLL(None).prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0)
    while True:
        client, _ = listener.accept()
        upstream = socket.create_connection(server)
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=_hold_and_pass, args=(a, b, delay), daemon=True).start()


def run(db: str, out: Path, args: argparse.Namespace, *extra: str) -> RunResult:
    command = [
        sys.executable, "-m", "harness.cli", "run", "--db", db, "--quiet",
        "--scenarios", args.scenarios, "--rows", str(args.rows), "--rounds", str(args.rounds),
        "--output", str(out), *extra,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        sys.exit(f"ormbench run failed: {done.stderr.strip()}")
    return RunResult.read(out / "results.json")


def through_forwarder(db: str, port: int) -> str:
    parts = urlsplit(db)
    netloc = parts.netloc.rpartition("@")
    host = f"{netloc[0]}@127.0.0.1:{port}" if netloc[1] else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=host))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a PostgreSQL or MySQL/MariaDB URL")
    parser.add_argument("--delays", default="0.5,1.0", help="one-way delays in ms")
    parser.add_argument("--scenarios", default="create,get,filter,update,delete")
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ormbench-latency-"))
    server = urlsplit(args.db)
    address = (server.hostname or "127.0.0.1", server.port or 5432)
    delays = [float(d) for d in args.delays.split(",")]
    far_runs = []
    for delay_ms in delays:
        listener = socket.create_server(("127.0.0.1", 0))
        process = multiprocessing.Process(
            target=forward, args=(listener, address, delay_ms / 1e3), daemon=True
        )
        process.start()
        try:
            url = through_forwarder(args.db, listener.getsockname()[1])
            far_runs.append((delay_ms, run(url, folder / f"d{delay_ms:g}", args)))
        finally:
            process.kill()
            listener.close()
    # The local run projects to the round trips the far runs really had.
    real = [far.databases[0].local_rtt_s for _, far in far_runs]
    local = run(
        args.db, folder / "local", args, "--rtt", ",".join(f"{r * 1e3:.4f}ms" for r in real)
    )
    (local_info,) = local.databases
    print(f"local round trip: {local_info.local_rtt_s * 1e3:.3f} ms\n")
    rows = []
    verdicts = []
    for (delay_ms, far), rtt in zip(far_runs, real, strict=True):
        measured = {(c.scenario, c.backend, c.idiom): c for c in far.cells}
        errors = []
        for cell in local.cells:
            other = measured.get((cell.scenario, cell.backend, cell.idiom))
            trace = cell.trace
            if other is None or not cell.median_s or trace is None or trace.round_trips is None:
                continue
            projected = cell.median_s + trace.round_trips * (rtt - local_info.local_rtt_s)
            error = projected / other.median_s - 1
            errors.append(abs(error))
            rows.append(
                f"| {rtt * 1e3:.2f} ms | {cell.scenario} | {cell.backend} | {cell.idiom} | "
                f"{trace.round_trips_per_operation:.2f} | {cell.median_s * 1e3:.1f} | "
                f"{projected * 1e3:.1f} | {other.median_s * 1e3:.1f} | {error:+.1%} |"
            )
        for comparison in far.comparisons:
            if comparison.kind != "orm":
                continue
            projected = next(
                (
                    f"{p.ratio:.2f}: {p.verdict}"
                    for p in local.projections
                    if (p.scenario, p.idiom) == (comparison.scenario, comparison.idiom)
                    and abs(p.rtt_s - rtt) < 1e-6
                ),
                "—",
            )
            verdicts.append(
                f"| {rtt * 1e3:.2f} ms | {comparison.scenario} | {comparison.idiom} | "
                f"{projected} | {comparison.ratio:.2f}: {comparison.verdict} |"
            )
        print(
            f"delay {delay_ms:g} ms each way: real round trip {rtt * 1e3:.3f} ms; projection "
            f"error median {statistics.median(errors):.1%}, largest {max(errors):.1%} "
            f"over {len(errors)} cells"
        )
    print(
        "\n| round trip | scenario | backend | idiom | round trips/op | local ms | "
        "projected ms | measured ms | error |\n|---|---|---|---|--:|--:|--:|--:|--:|"
    )
    print("\n".join(rows))
    print("\n| round trip | scenario | idiom | projected | measured |\n|---|---|---|---|---|")
    print("\n".join(verdicts))
    print(f"\nruns kept in {folder}")


if __name__ == "__main__":
    main()
