"""Work contracts allow only the transaction control each family's driver must send."""

from __future__ import annotations

from reports.model import TraceCounts
from scenarios.contract import WorkContract


def trace(transactions: int, autocommit: int, control: int) -> TraceCounts:
    return TraceCounts(
        operations=1, statements=1, transaction_control=control, commits=0, rollbacks=0,
        rows_sent=1, rows_fetched=0, by_kind={"UPDATE": 1}, sql=[],
        transactions=transactions, autocommit_statements=autocommit, rows_written={"UPDATE": 5},
    )  # fmt: skip


SELF_COMMITTING = WorkContract(
    statements={"UPDATE": 1}, transactions=1, autocommit=True, rows_written={"UPDATE": 5}
)
ONE_TRANSACTION = WorkContract(
    statements={"UPDATE": 1}, transactions=1, autocommit=False, rows_written={"UPDATE": 5}
)


def test_a_commit_after_a_self_committing_statement_breaks_the_contract() -> None:
    for family in ("sqlite", "postgresql", "mysql", "mssql"):
        assert SELF_COMMITTING.breaches(trace(1, 1, 0), family) == []
        assert SELF_COMMITTING.breaches(trace(1, 1, 1), family) == [
            "1 transaction-control commands, at most 0"
        ]


def test_an_explicit_transaction_allows_what_the_driver_sends() -> None:
    # sqlite3 and psycopg: BEGIN and COMMIT; mysqlclient under Django's atomic(): SET
    # autocommit=0, COMMIT, SET autocommit=1.
    for family, control in (("sqlite", 2), ("postgresql", 2), ("mysql", 3)):
        assert ONE_TRANSACTION.breaches(trace(1, 0, control), family) == [], family
        assert ONE_TRANSACTION.breaches(trace(1, 0, control + 1), family), family
