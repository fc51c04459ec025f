"""Timing the work: the plan and its order, the timed rounds, the untimed trace pass and the
per-round checks, one scenario and one database, the worker process and its watchdog, the
whole run, and live progress."""
