"""Timing the work. Per database: create the harness tables; per scenario (in a size sweep, per
size of it, smallest first): prepare (untimed), warm-up, timed rounds that interleave the
backends, then one untimed trace-and-verify pass per backend, and one untimed memory pass
(peak Python allocation under tracemalloc). Each database runs in a worker process of its own,
since Django's settings are per process; the worker streams results back as they complete, so
a failure keeps what finished.

In the order of the work: plan (what is timed, in which order), rounds (one timed round),
checks (what every run is held to), trace_pass (the untimed passes), scenario (one scenario),
database (one database), watchdog and worker (its process), run (the whole run, in the
parent) and progress (what the user sees meanwhile)."""
