"""ormbench's harness: configuration, the run loop, statistics, verification, tracing, CLI."""
