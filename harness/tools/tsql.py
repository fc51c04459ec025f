"""The T-SQL each ORM sends to SQL Server for every scenario, compiled offline: SQLAlchemy's
mssql dialect and mssql-django's SQL compiler, with no server and no connection.

SQLAlchemy compiles in this process. Django's settings are per process, so the Django side runs
in a child process (`python -m harness.tools.tsql --django`) that configures Django for SQL
Server and answers mssql-django's server-version look-up from its own cache, never from a
connection.

Each ORM has two idioms per scenario (scenarios.base): "as documented", and "equal work" where
the backend runs code of its own for it. Both are compiled, each group of statements labelled
with its idiom; where a backend has no equal-work code, its documented statements serve both.

`python -m harness.tools.tsql` prints both ORMs, scenario by scenario, for a person to read: every
statement each idiom sends, the transaction control around its work too (mssql-django's
`SELECT @@TRANCOUNT` on leaving each atomic block, the drivers' commit() and rollback() calls),
each marked as such.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

from harness.tools.tsql_compile import (
    BULK_ROWS,
    ORMS,
    Compiled,
    Statement,
    compile_tsql,
    django_tsql,
    offline_target,
)
from scenarios import REGISTRY
from scenarios.idioms import DOCUMENTED, EQUAL, IDIOM_TITLES, IDIOMS

# --- transaction control -----------------------------------------------------------------------

# How each idiom brackets its statements in transactions, per (scenario, idiom): "operation"
# (each operation its own transaction), "run" (one transaction around the whole run) or
# "autocommit" (each statement commits itself). SQLAlchemy's also say how the Session ends:
# "commit" (Session.commit()) or "close" (a read: Session.close(), the pool's reset-on-return
# rollback). The same on every database: tests/test_mssql_offline.py checks this table against
# what the DB-API trace counts on SQLite.
DJANGO_TRANSACTIONS: dict[tuple[str, str], str] = {
    ("create", DOCUMENTED): "autocommit",
    ("bulk_create", DOCUMENTED): "run",
    ("bulk_create", EQUAL): "run",
    ("get", DOCUMENTED): "autocommit",
    ("get", EQUAL): "run",
    ("filter", DOCUMENTED): "autocommit",
    ("update", DOCUMENTED): "operation",
    ("update", EQUAL): "operation",
    ("delete", DOCUMENTED): "operation",
    ("relationships_naive", DOCUMENTED): "autocommit",
    ("relationships_naive", EQUAL): "run",
    ("relationships_joined", DOCUMENTED): "autocommit",
    ("relationships_joined", EQUAL): "run",
    ("relationships_prefetch", DOCUMENTED): "autocommit",
    ("relationships_prefetch", EQUAL): "run",
    ("aggregates", DOCUMENTED): "autocommit",
    ("paginate_offset", DOCUMENTED): "autocommit",
    ("paginate_keyset", DOCUMENTED): "autocommit",
    ("bulk_update", DOCUMENTED): "autocommit",
    ("bulk_delete", DOCUMENTED): "run",
    ("upsert", DOCUMENTED): "run",
    ("upsert", EQUAL): "run",
    ("streaming", DOCUMENTED): "autocommit",
    ("streaming", EQUAL): "run",
}
SQLALCHEMY_TRANSACTIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("create", DOCUMENTED): ("operation", "commit"),
    ("create", EQUAL): ("autocommit", "close"),
    ("bulk_create", DOCUMENTED): ("run", "commit"),
    ("bulk_create", EQUAL): ("run", "commit"),
    ("get", DOCUMENTED): ("run", "close"),
    ("filter", DOCUMENTED): ("run", "close"),
    ("filter", EQUAL): ("autocommit", "close"),
    ("update", DOCUMENTED): ("operation", "commit"),
    ("delete", DOCUMENTED): ("operation", "commit"),
    ("relationships_naive", DOCUMENTED): ("run", "close"),
    ("relationships_joined", DOCUMENTED): ("run", "close"),
    ("relationships_joined", EQUAL): ("run", "close"),
    ("relationships_prefetch", DOCUMENTED): ("run", "close"),
    ("aggregates", DOCUMENTED): ("run", "close"),
    ("aggregates", EQUAL): ("autocommit", "close"),
    ("paginate_offset", DOCUMENTED): ("operation", "close"),
    ("paginate_offset", EQUAL): ("autocommit", "close"),
    ("paginate_keyset", DOCUMENTED): ("operation", "close"),
    ("paginate_keyset", EQUAL): ("autocommit", "close"),
    ("bulk_update", DOCUMENTED): ("run", "commit"),
    ("bulk_update", EQUAL): ("autocommit", "close"),
    ("bulk_delete", DOCUMENTED): ("run", "commit"),
    ("upsert", DOCUMENTED): ("run", "commit"),
    ("upsert", EQUAL): ("run", "commit"),
    ("streaming", DOCUMENTED): ("run", "close"),
}

TRANCOUNT = "SELECT @@TRANCOUNT"


def _scope_words(scope: str) -> str:
    return "once per run" if scope == "run" else "per operation"


def _driver_call(call: str, what: str) -> Statement:
    # pyodbc and mssql-python hand commit()/rollback() to the driver (ODBC SQLEndTran); what
    # that puts on the wire is the driver's own, and cannot be seen without a server.
    sql = f"-- driver call {call} (ODBC SQLEndTran): its wire form is the driver's own"
    return Statement(what, sql, 0, 1, True)


def django_control(scope: str) -> tuple[list[Statement], list[Statement]]:
    """What mssql-django sends before and after an idiom's statements for `scope`: atomic()
    turns the driver's autocommit off (the ODBC driver's manual-commit mode: the server opens
    the transaction with the first statement), commits, and on leaving asks the server for
    @@TRANCOUNT (mssql.base.DatabaseWrapper._set_autocommit: it turns autocommit back on only
    when that count is above 0), a round trip of its own per transaction. In autocommit,
    nothing."""
    if scope == "autocommit":
        return [], []
    words = _scope_words(scope)
    before = [
        Statement(
            f"atomic() entry, {words}: connection.autocommit = False",
            "-- driver attribute (ODBC SQL_ATTR_AUTOCOMMIT off): its wire form is the driver's",
            0,
            1,
            True,
        )
    ]
    after = [
        _driver_call("commit()", f"atomic() exit, {words}: connection.commit()"),
        Statement(
            f"atomic() exit, {words}: mssql-django's set_autocommit(True) asks the server "
            "whether a transaction is open",
            TRANCOUNT,
            0,
            1,
            True,
        ),
    ]
    return before, after


def sqlalchemy_control(scope: str, ending: str) -> tuple[list[Statement], list[Statement]]:
    """What SQLAlchemy sends around an idiom's statements for `scope`: no BEGIN on SQL Server
    (the driver's manual-commit mode opens the transaction), the driver's commit() for
    Session.commit(), and the pool's reset-on-return rollback() when the Session lets the
    connection go. On the AUTOCOMMIT Engine, the same rollback() (the driver in autocommit)."""
    words = _scope_words(scope)
    after: list[Statement] = []
    if ending == "commit":
        after.append(_driver_call("commit()", f"Session.commit(), {words}"))
    after.append(
        _driver_call(
            "rollback()",
            f"the pool's reset-on-return, {'once per run' if scope == 'autocommit' else words}",
        )
    )
    return [], after


def with_transaction_control(orm: str, compiled: Compiled) -> Compiled:
    """`compiled` with every transaction-control statement and driver call each idiom sends
    around its work, marked `control`: the whole of what reaches the server, not only the
    queries."""
    table: dict[tuple[str, str], Any] = (
        DJANGO_TRANSACTIONS if orm == "django" else SQLALCHEMY_TRANSACTIONS
    )
    result: Compiled = {}
    for scenario, groups in compiled.items():
        result[scenario] = {}
        for idiom, statements in groups.items():
            shape = table.get((scenario, idiom))
            if shape is None:
                raise RuntimeError(
                    f"harness/tools/tsql.py does not say how {orm}'s {idiom} {scenario} "
                    "brackets its transactions: add it to the table"
                )
            if orm == "django":
                before, after = django_control(shape)
            else:
                before, after = sqlalchemy_control(*shape)
            result[scenario][idiom] = [*before, *statements, *after]
    return result


# --- printing -----------------------------------------------------------------------------------


def render(compiled: dict[str, Compiled], width: int = 400, shorten: bool = True) -> str:
    """Scenario by scenario, each ORM's statements per idiom, labelled with it: what sends each
    statement, how often, the T-SQL. A documented group with no equal-work group after it says
    that it serves both idioms. `shorten`: multi-row INSERTs and long IN lists as the reports
    show them (reports.format.short_sql)."""
    from reports.format import short_sql

    lines: list[str] = []
    for scenario, cls in REGISTRY.items():
        why_not = {orm: unsupported_reason(cls, orm) for orm in compiled}
        listed = any(scenario in by_scenario for by_scenario in compiled.values())
        if not listed and not any(why_not.values()):
            continue
        lines.append(f"## {scenario}")
        for orm, by_scenario in compiled.items():
            groups = by_scenario.get(scenario)
            if groups is None:
                why = why_not[orm]
                lines.append(f"- {orm}: not supported on SQL Server" + (f": {why}" if why else ""))
                continue
            for idiom in IDIOMS:
                if idiom not in groups:
                    continue
                label = IDIOM_TITLES[idiom]
                if idiom == DOCUMENTED and EQUAL not in groups:
                    label += f", also the {IDIOM_TITLES[EQUAL]}"
                lines.append(f"- {orm}, {label}:")
                for s in groups[idiom]:
                    times = f" (x{s.times})" if s.times > 1 else ""
                    sql = short_sql(s.sql) if shorten else s.sql
                    sql = sql if len(sql) <= width else sql[:width] + " …"
                    count = f"{s.parameters} parameter{'' if s.parameters == 1 else 's'}"
                    mark = "[transaction control] " if s.control else ""
                    lines.append(f"    - {mark}{s.what}{times}, {count}")
                    lines.append(f"          {sql}")
        lines.append("")
    return "\n".join(lines)


def unsupported_reason(scenario: type[Any], orm: str) -> str | None:
    """Why `orm` cannot run `scenario` on SQL Server, as the scenario says (None: it can)."""
    return scenario(BULK_ROWS, 42).unsupported(orm, "mssql")


def as_json(compiled: dict[str, Compiled]) -> dict[str, Any]:
    """`compiled` as plain data: ORM -> scenario -> idiom ("documented", "equal") -> statements,
    each a dict of Statement's fields."""
    return {
        orm: {
            name: {idiom: [asdict(s) for s in stmts] for idiom, stmts in groups.items()}
            for name, groups in by_scenario.items()
        }
        for orm, by_scenario in compiled.items()
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m harness.tools.tsql", description=__doc__)
    parser.add_argument("--driver", choices=("pyodbc", "mssqlpython"), default="pyodbc")
    parser.add_argument("--django", action="store_true", help="Django only, in this process")
    parser.add_argument("--json", action="store_true", help="JSON instead of text")
    parser.add_argument("--full", action="store_true", help="do not shorten long statements")
    parser.add_argument(
        "--rows", type=int, default=BULK_ROWS, help="the run's size (default %(default)s)"
    )
    args = parser.parse_args(argv)
    if args.django:
        compiled = {"django": django_tsql(offline_target(args.driver), args.rows)}
    else:
        compiled = {
            orm: with_transaction_control(orm, compile_tsql(orm, args.driver, args.rows))
            for orm in ORMS
        }
    if args.json:
        data = as_json(compiled)
        print(json.dumps(data["django"] if args.django else data))
    else:
        print(render(compiled, width=10**9 if args.full else 400, shorten=not args.full))


if __name__ == "__main__":
    main()
