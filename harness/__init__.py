"""ormbench's harness, in the order of the work: targets (databases, connection policy),
wire (relay, trace, server counters), measuring (plan, rounds, checks, worker), judging
(statistics, verdicts), gating (compare, history, shards, merge), tools, and the CLI on top."""
