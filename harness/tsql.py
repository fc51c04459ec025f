"""The T-SQL each ORM sends to SQL Server for every scenario, compiled offline: SQLAlchemy's
mssql dialect and mssql-django's SQL compiler, with no server and no connection.

SQLAlchemy compiles in this process. Django's settings are per process, so the Django side runs
in a child process (`python -m harness.tsql --django`) that configures Django for SQL Server and
answers mssql-django's server-version look-up from its own cache, never from a connection.

`python -m harness.tsql` prints both, scenario by scenario, for a person to read.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from typing import Any

from harness.targets import Target, parse_target
from scenarios import REGISTRY
from scenarios.data import FILTER_PREFIX, make_rows
from scenarios.schema import DATA_COLUMNS

# Any unreachable address will do: nothing here may connect, and a test checks that none did.
OFFLINE_URL = "mssql://ormbench:offline@127.0.0.1:1/ormbench?TrustServerCertificate=yes"
# SQL Server 2022, the compose file's image: ProductVersion 16.x, which mssql-django calls 2022.
SQL_SERVER_VERSION = 2022
SQL_SERVER_VERSION_INFO = (16, 0)
MAX_PARAMETERS = 2100  # SQL Server's limit on parameters in one request
BULK_ROWS = 1000  # the default --rows, so the bulk batches are the ones a default run sends
ORMS = ("sqlalchemy", "django")


@dataclass(frozen=True)
class Statement:
    """One statement an ORM sends for a scenario's operation."""

    what: str  # the ORM call that sends it
    sql: str
    parameters: int  # bound parameters in this one statement
    times: int = 1  # how many such statements one bulk operation of BULK_ROWS rows sends


Compiled = dict[str, list[Statement]]  # scenario name -> statements, in the order sent


def compile_tsql(orm: str, driver: str = "pyodbc") -> Compiled:
    """Every scenario's statements as `orm` compiles them for SQL Server (driver: pyodbc or
    mssqlpython, the SQLAlchemy dialect or mssql-django option that goes with it)."""
    if orm == "sqlalchemy":
        return sqlalchemy_tsql(_offline_target(driver))
    if orm == "django":
        return _django_in_child(driver)
    raise ValueError(f"unknown ORM {orm!r}; choose from {ORMS}")


def _offline_target(driver: str) -> Target:
    scheme = "mssql" if driver == "pyodbc" else f"mssql+{driver}"
    return parse_target(OFFLINE_URL.replace("mssql://", f"{scheme}://", 1))


def _one_line(sql: str) -> str:
    return " ".join(sql.split())


def _as_sent(sql: str, params: Any) -> str:
    # mssql-django's CursorWrapper.format_sql: Django's %s placeholders become pyodbc's '?'.
    return _one_line(sql % tuple("?" * len(params)) if params else sql)


# --- SQLAlchemy ---------------------------------------------------------------------------------


def sqlalchemy_dialect(target: Target) -> Any:
    """The mssql dialect `target` selects, with the version facts it would learn on connecting
    to SQL Server 2022 (`initialize()` reads them from the server; without them the dialect
    assumes an old server, e.g. ROW_NUMBER() instead of OFFSET/FETCH for limits)."""
    from sqlalchemy import create_engine

    engine = create_engine(target.sqlalchemy_url(), connect_args=target.sqlalchemy_connect_args())
    dialect = engine.dialect
    dialect.server_version_info = SQL_SERVER_VERSION_INFO
    dialect._setup_version_attributes()
    return dialect


def sqlalchemy_tsql(target: Target) -> Compiled:
    """The statements the SQLAlchemy backend's ORM calls send, compiled by the mssql dialect
    that `target` selects (create_engine connects lazily: nothing here connects)."""
    from sqlalchemy import delete, insert, select, update

    from backends.sqlalchemy_orm import Item

    dialect = sqlalchemy_dialect(target)
    table = Item.__table__
    row = make_rows(1, 42)[0]

    def single(stmt: Any, what: str, column_keys: list[str] | None = None) -> Statement:
        compiled = stmt.compile(dialect=dialect, column_keys=column_keys)
        count = len(compiled.positiontup or ()) if compiled.positional else len(compiled.params)
        return Statement(what, _one_line(str(compiled)), count)

    # The unit of work inserts one object with the table's INSERT, fetching the new id back.
    create = single(
        table.insert().return_defaults(table.c.id),
        "Session.add() + Session.commit()",
        list(DATA_COLUMNS),
    )
    by_pk = single(select(Item).where(Item.id == 1), "Session.get(Item, pk)")
    result: Compiled = {
        "create": [create],
        "bulk_create": _sqlalchemy_bulk(dialect, insert(Item), BULK_ROWS),
        "get": [by_pk],
        "filter": [
            single(
                select(Item).where(Item.name.startswith(FILTER_PREFIX)).order_by(Item.id),
                "select(Item).where(Item.name.startswith(prefix)).order_by(Item.id)",
            )
        ],
        "update": [
            by_pk,
            single(
                update(table).where(table.c.id == 1).values(quantity=row["quantity"]),
                "Session.commit() flushing the changed quantity",
            ),
        ],
        "delete": [
            by_pk,
            single(
                delete(table).where(table.c.id == 1),
                "Session.delete() + Session.commit()",
            ),
        ],
    }
    return {name: result[name] for name in REGISTRY}


def _sqlalchemy_bulk(dialect: Any, stmt: Any, rows: int) -> list[Statement]:
    """The batches `Session.execute(insert(Item), rows)` sends: SQLAlchemy's insertmanyvalues
    rewrites the executemany into multi-row INSERTs sized to the dialect's parameter limit.
    The batching is SQLAlchemy's own (the compiled statement's batch generator, which the
    engine calls at execution), fed here the parameters instead of a cursor."""
    data = [dict(r) for r in make_rows(rows, 42)]
    compiled = stmt.compile(dialect=dialect, column_keys=list(DATA_COLUMNS), for_executemany=True)
    compiled_params = [compiled.construct_params(p) for p in data]
    if compiled.positional:
        parameters: Any = [tuple(p[k] for k in compiled.positiontup) for p in compiled_params]
    else:
        parameters = compiled_params
    batches = list(
        compiled._deliver_insertmanyvalues_batches(  # noqa: SLF001 - see the docstring
            compiled.string,
            parameters,
            compiled_params,
            None,
            dialect.insertmanyvalues_page_size,
            False,
            None,
        )
    )
    statements: list[Statement] = []
    for batch in batches:
        sql = _one_line(batch.replaced_statement)
        count = len(batch.replaced_parameters)
        if statements and statements[-1].sql == sql:
            last = statements[-1]
            statements[-1] = Statement(last.what, last.sql, last.parameters, last.times + 1)
        else:
            what = f"Session.execute(insert(Item), rows): batch of {len(batch.batch)} rows"
            statements.append(Statement(what, sql, count))
    return statements


# --- Django (child process only) ----------------------------------------------------------------


def _django_in_child(driver: str) -> Compiled:
    proc = subprocess.run(
        [sys.executable, "-m", "harness.tsql", "--django", "--json", "--driver", driver],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"compiling Django's T-SQL failed: {proc.stderr.strip()[-2000:]}")
    return {
        name: [Statement(**s) for s in statements]
        for name, statements in json.loads(proc.stdout).items()
    }


def django_tsql(target: Target) -> Compiled:
    """The statements the Django backend's ORM calls send, compiled by mssql-django. Configures
    Django for `target` in this process: call it only in a process of its own."""
    from backends.django_orm import configure

    configure(target)
    from django.db import connections
    from django.db.models import AutoField
    from django.db.models.query import MAX_GET_RESULTS
    from django.db.models.sql import DeleteQuery, InsertQuery, UpdateQuery

    from backends.django_models import Item

    connection = connections["default"]  # the wrapper itself, not the module-level proxy
    _answer_version_lookup(connection)
    row = make_rows(1, 42)[0]

    def select_sql(queryset: Any, what: str) -> Statement:
        sql, params = queryset.query.get_compiler(using="default").as_sql()
        return Statement(what, _as_sent(sql, params), len(params))

    def insert_sql(objs: list[Any], returning: bool, what: str) -> list[Statement]:
        fields = [f for f in Item._meta.concrete_fields if not isinstance(f, AutoField)]
        query = InsertQuery(Item)
        query.insert_values(fields, objs, raw=False)
        compiler = query.get_compiler(using="default")
        # SQLInsertCompiler.execute_sql sets this before as_sql(); create() asks for the pk.
        compiler.returning_fields = [Item._meta.pk] if returning else None
        return [
            Statement(what, _as_sent(sql, params), len(params)) for sql, params in compiler.as_sql()
        ]

    # QuerySet.get() drops the ordering and caps the rows it fetches (MAX_GET_RESULTS), to
    # report "more than one" without reading a whole table.
    get_query = Item.objects.filter(pk=1).order_by()
    get_query.query.set_limits(high=MAX_GET_RESULTS)
    by_pk = select_sql(get_query, "Item.objects.get(pk=pk)")

    update = UpdateQuery(Item)
    item = Item(id=1, **row)
    update.add_update_fields(
        [
            (f, None, f.pre_save(item, False))
            for f in Item._meta.local_concrete_fields
            if not f.primary_key
        ]
    )
    update.add_filter("pk", 1)
    update_sql, update_params = update.get_compiler(using="default").as_sql()

    delete = DeleteQuery(Item)
    delete.add_filter("id__in", [1])  # what Collector.delete() sends via delete_batch()
    delete_sql, delete_params = delete.get_compiler(using="default").as_sql()

    result: Compiled = {
        "create": insert_sql([Item(**row)], True, "Item.objects.create(**row)"),
        "bulk_create": _django_bulk(Item, connection, insert_sql),
        "get": [by_pk],
        "filter": [
            select_sql(
                Item.objects.filter(name__startswith=FILTER_PREFIX).order_by("id"),
                "Item.objects.filter(name__startswith=prefix).order_by('id')",
            )
        ],
        "update": [
            by_pk,
            Statement("item.save()", _as_sent(update_sql, update_params), len(update_params)),
        ],
        "delete": [
            by_pk,
            Statement("item.delete()", _as_sent(delete_sql, delete_params), len(delete_params)),
        ],
    }
    if connection.connection is not None:
        raise RuntimeError("mssql-django opened a connection while compiling")
    return {name: result[name] for name in REGISTRY}


def _answer_version_lookup(connection: Any) -> None:
    """mssql-django asks the server for its version (`sql_server_version`, `to_azure_sql_db`)
    and caches the answer per alias in class-level dicts; fill that cache instead, and make any
    attempt to connect fail loudly."""
    wrapper = type(connection)
    wrapper._known_versions[connection.alias] = SQL_SERVER_VERSION
    wrapper._known_azures[connection.alias] = False

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("offline T-SQL compilation tried to connect to SQL Server")

    connection.get_new_connection = refuse


def _django_bulk(item_model: Any, connection: Any, insert_sql: Any) -> list[Statement]:
    """The batches `Item.objects.bulk_create(objs)` sends: QuerySet._batched_insert() splits
    the objects by `connection.ops.bulk_batch_size(fields, objs)` (no RETURNING: mssql-django
    does not return rows from bulk inserts unless told to)."""
    from django.db.models import AutoField

    objs = [item_model(**row) for row in make_rows(BULK_ROWS, 42)]
    fields = [f for f in item_model._meta.concrete_fields if not isinstance(f, AutoField)]
    size = max(connection.ops.bulk_batch_size(fields, objs), 1)
    statements: list[Statement] = []
    for start in range(0, len(objs), size):
        batch = objs[start : start + size]
        (statement,) = insert_sql(
            batch, False, f"Item.objects.bulk_create(objs): batch of {len(batch)} rows"
        )
        if statements and statements[-1].sql == statement.sql:
            last = statements[-1]
            statements[-1] = Statement(last.what, last.sql, last.parameters, last.times + 1)
        else:
            statements.append(statement)
    return statements


# --- printing -----------------------------------------------------------------------------------


def render(compiled: dict[str, Compiled], width: int = 400) -> str:
    """Scenario by scenario, each ORM's statements: what sends it, how often, the T-SQL."""
    lines: list[str] = []
    for scenario in REGISTRY:
        lines.append(f"## {scenario}")
        for orm, statements in compiled.items():
            for s in statements[scenario]:
                times = f" (x{s.times})" if s.times > 1 else ""
                sql = s.sql if len(s.sql) <= width else s.sql[:width] + " …"
                lines.append(f"- {orm}: {s.what}{times}, {s.parameters} parameters")
                lines.append(f"      {sql}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m harness.tsql", description=__doc__)
    parser.add_argument("--driver", choices=("pyodbc", "mssqlpython"), default="pyodbc")
    parser.add_argument("--django", action="store_true", help="Django only, in this process")
    parser.add_argument("--json", action="store_true", help="JSON instead of text")
    parser.add_argument("--full", action="store_true", help="do not shorten long statements")
    args = parser.parse_args(argv)
    if args.django:
        compiled = {"django": django_tsql(_offline_target(args.driver))}
    else:
        compiled = {orm: compile_tsql(orm, args.driver) for orm in ORMS}
    if args.json:
        data = {
            orm: {name: [asdict(s) for s in stmts] for name, stmts in by_scenario.items()}
            for orm, by_scenario in compiled.items()
        }
        print(json.dumps(data["django"] if args.django else data))
    else:
        print(render(compiled, width=10**9 if args.full else 400))


if __name__ == "__main__":
    main()
