"""Runs against runs, for CI: results files read and written, compare against a baseline or a
history, shards and merging them, and the job summary."""
