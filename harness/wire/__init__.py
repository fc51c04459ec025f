"""What crossed between a backend and its database: the loopback relay's byte and round-trip
counts (relay), the DB-API trace of statements and transactions (trace), the server's own
counters of reads and writes (counters), and what an operation handed back (result_shape)."""
