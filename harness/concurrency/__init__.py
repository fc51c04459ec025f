"""`ormbench concurrency`: how each backend behaves when k threads work on one database at once.

What runs. For each database (in a worker process of its own: Django's settings are per
process), each thread count k, and each unit — a backend's idiom: SQLAlchemy as documented and
with equal work, Django (whose documented code is its equal work), the raw DB-API floor — k
threads, each with its own connection handle, run a mixed workload on the item table
(scenarios.concurrency: by default 80% primary-key reads, 20% writes that lock, load and update
one row in their own transaction) for a fixed duration or number of operations per thread.

Repetitions (plan.py, command.py). Each thread count is measured `repetitions` times; every
repetition runs each unit once on fresh rows, the units in the next order of a Williams design
(as `ormbench run` interleaves its rounds), so drift hits all alike. Every repetition is
verified (verify.py): the table's quantities must equal the loaded ones plus the increments
the threads reported as committed, and every read must have returned its own row.

Connections (sources.py). As documented, each backend's own way: SQLAlchemy's one Engine with
its default QueuePool (at most 15 connections: a sixteenth thread waits, and the report says
so), Django's persistent connection per thread. Equal work: the same statements and
transactions for every backend (a read is one SELECT that commits itself, as Django's
autocommit sends it; a write one transaction) and a connection for every thread: SQLAlchemy's
pools sized to the threads. Nothing of the harness runs inside a timed operation: the pool
is counted (checkouts, waits, connections opened) in one more, untimed pass with the pool
observed, and each timed repetition checks that nothing is attached to its pool.

Verdicts (judge.py). SQLAlchemy's throughput over Django's, repetition by repetition: the
median ratio with its 95% interval, and `ormbench run`'s verdicts against the
practical-difference margin, with Holm's correction over a database's verdicts. What each
unit sends per operation is traced once, untimed (trace.py), and the report says what differs.

Why plain threads. The work is in-process DB-API and ORM calls, so a load-testing tool built
around HTTP users (locust, and its gevent monkey-patching, which psycopg and mysqlclient do not
cooperate with) adds nothing but a second event loop. `concurrent.futures.ThreadPoolExecutor`
runs the k threads and hands back their tallies or exceptions, and `threading.Barrier` starts
and stops the clock with every thread connected. Python threads share one interpreter lock:
an ORM's Python work does not run in parallel, only its waits on the database do, and the
figures include that (as a team's threaded server would).

SQLite. Writers lock the whole database. Every backend gets the same busy timeout (the policy's
5 s, `PRAGMA busy_timeout` read back), and nothing else is serialised for it: a write
transaction that has read and then finds another writer ahead of it fails at once with
"database is locked" (SQLite refuses to wait where waiting could deadlock). Such failures are
counted as lock errors, rolled back, and left out of the increments; the cell still verifies.
"""

from __future__ import annotations

from harness.concurrency.command import execute, run_database
from harness.concurrency.measurement import measure
from harness.concurrency.plan import (
    DEFAULT_DURATION_S,
    DEFAULT_REPETITIONS,
    MAX_REPETITIONS,
    MAX_THREADS,
    ConcurrencyPlan,
    Unit,
    lock_conflict,
    percentile,
    plan_units,
)
from harness.concurrency.sources import ObservedQueuePool, PoolObserver

__all__ = [
    "DEFAULT_DURATION_S",
    "DEFAULT_REPETITIONS",
    "MAX_REPETITIONS",
    "MAX_THREADS",
    "ConcurrencyPlan",
    "ObservedQueuePool",
    "PoolObserver",
    "Unit",
    "execute",
    "lock_conflict",
    "measure",
    "percentile",
    "plan_units",
    "run_database",
]
