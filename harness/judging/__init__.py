"""From timings to verdicts: statistics (intervals, tests, corrections), the verdicts and what
differs, size sweeps, and projections at a network round-trip time."""
