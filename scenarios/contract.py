"""Work contracts: the work one run of a scenario must do, stated so that a trace can be held
to it. An equal-work cell, and the floor, pass only when their trace meets the contract; an
as-documented cell is held to the results only, and the report says how its work differs.

Transactions are counted as the server sees them (harness.wire.trace.Tracer). Transaction-control
commands are allowed only as each family's driver must send them around an explicit
transaction (TRANSACTION_CONTROL_PER_TRANSACTION), and nowhere else: a contract that wants
statements to commit themselves allows no explicit transaction and no transaction control at
all (a COMMIT sent after a statement that committed itself is work the others do not do).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Per explicit transaction, what the driver must send. sqlite3 (in driver autocommit, as the
# policy has it) and psycopg: BEGIN and COMMIT (or ROLLBACK); a commit() or rollback() with no
# transaction open sends nothing. mysqlclient: Django's atomic() sends SET autocommit=0,
# COMMIT, SET autocommit=1; a SQLAlchemy Session sends COMMIT and, when the connection goes
# back to the pool, the reset's ROLLBACK, which mysqlclient passes on even with nothing open.
# Any other family: start, end and the return to autocommit.
TRANSACTION_CONTROL_PER_TRANSACTION = {"sqlite": 2, "postgresql": 2, "mysql": 3}
DEFAULT_TRANSACTION_CONTROL = 3
WRITE_KINDS = ("INSERT", "UPDATE", "DELETE")


@dataclass(frozen=True)
class WorkContract:
    """Counts are per run of the operation (n operations for per-row scenarios)."""

    statements: dict[str, int]  # by kind (SELECT, INSERT, UPDATE, DELETE), exact
    transactions: int  # transactions that hold the statements
    autocommit: bool  # True: each statement its own transaction, no BEGIN or COMMIT
    rows_written: dict[str, int] = field(default_factory=dict)  # by kind, exact
    select_rows: int | None = 0  # rows fetched by SELECTs; None: not fixed
    rows_fetched: int | None = None  # rows fetched by any statement (RETURNING too); None: any
    full_rows: bool = True  # every fetched SELECT row holds every column
    update_columns: int | None = None  # columns each UPDATE sets
    returns_objects: bool = False  # the operation returns its objects, fully loaded
    write_transactions: int | None = None  # transactions that wrote, seen by the database
    exact_statements: bool = True  # False: at most `statements` (a driver may batch more)
    columns: int = 7  # columns of a full row

    def describe(self) -> str:
        """One line for the report."""
        kinds = ", ".join(f"{n} {k}" for k, n in self.statements.items())
        parts = [
            f"{kinds}{'' if self.exact_statements else ' at most'}",
            f"{self.transactions} transaction{'s' if self.transactions != 1 else ''}"
            + (" (each statement commits itself)" if self.autocommit else " (BEGIN … COMMIT)"),
        ]
        if self.select_rows:
            parts.append(f"{self.select_rows} rows fetched with every column")
        written = ", ".join(f"{n} by {kind}" for kind, n in self.rows_written.items())
        if written:
            parts.append(f"rows written as the database counts them: {written}")
        returned = (self.rows_fetched or 0) - (self.select_rows or 0)
        if returned > 0:
            parts.append(f"{returned} ids returned by the writes")
        if self.update_columns is not None:
            parts.append(f"each UPDATE sets {self.update_columns} column")
        if self.returns_objects:
            parts.append("returns the objects, fully loaded")
        return "; ".join(parts)

    def breaches(self, trace: Any, family: str = "") -> list[str]:
        """What the trace (reports.model.TraceCounts) does that the contract does not allow,
        on a database of `family` (its driver's transaction control)."""
        found: list[str] = []
        sent = {k: v for k, v in trace.by_kind.items() if k in ("SELECT", *WRITE_KINDS)}
        for kind in sorted(set(sent) | set(self.statements)):
            want, got = self.statements.get(kind, 0), sent.get(kind, 0)
            if got != want and (self.exact_statements or got > want or got == 0):
                found.append(f"{got} {kind} statements, the contract has {want}")
        if trace.transactions != self.transactions:
            found.append(f"{trace.transactions} transactions, the contract has {self.transactions}")
        explicit = trace.transactions - trace.autocommit_statements
        if self.autocommit and explicit:
            found.append(f"{explicit} explicit transactions where each statement commits itself")
        if not self.autocommit and trace.autocommit_statements:
            found.append(
                f"{trace.autocommit_statements} statements outside the contract's transactions"
            )
        per = TRANSACTION_CONTROL_PER_TRANSACTION.get(family, DEFAULT_TRANSACTION_CONTROL)
        allowed = 0 if self.autocommit else per * self.transactions
        if trace.transaction_control > allowed:
            found.append(
                f"{trace.transaction_control} transaction-control commands, at most {allowed}"
            )
        if trace.left_open:
            found.append("left a transaction open at the end of the operation")
        for kind in WRITE_KINDS:
            want, got = self.rows_written.get(kind, 0), trace.rows_written.get(kind, 0)
            if got != want:
                found.append(f"{kind} wrote {got} rows, the contract has {want}")
        if self.select_rows is not None and trace.select_rows != self.select_rows:
            found.append(f"fetched {trace.select_rows} rows, the contract has {self.select_rows}")
        if self.rows_fetched is not None and trace.rows_fetched != self.rows_fetched:
            found.append(
                f"fetched {trace.rows_fetched} rows in all, the contract has {self.rows_fetched}"
            )
        narrowest = trace.narrowest_select
        if self.full_rows and narrowest is not None and narrowest < self.columns:
            found.append(f"loaded {narrowest} of {self.columns} columns of a row")
        if self.update_columns is not None:
            wider = {c: n for c, n in trace.update_columns.items() if int(c) != self.update_columns}
            if wider:
                columns = max(int(c) for c in wider)
                found.append(
                    f"an UPDATE sets {columns} columns, the contract has {self.update_columns}"
                )
        if trace.verification_statements:
            found.append(
                f"reading the returned objects sent {trace.verification_statements} statements"
            )
        return found


def load_then_write(rows: int, write: str, update_columns: int | None = None) -> WorkContract:
    """Per row, one transaction: a SELECT of every column, then one `write` statement."""
    return WorkContract(
        statements={"SELECT": rows, write: rows},
        transactions=rows,
        autocommit=False,
        rows_written={write: rows},
        select_rows=rows,
        update_columns=update_columns,
        write_transactions=rows,
    )
