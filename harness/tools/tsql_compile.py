"""Compiling each ORM's statements for SQL Server offline, for `python -m harness.tools.tsql`:
SQLAlchemy's mssql dialect in this process, mssql-django's SQL compiler in a child process of its
own (Django's settings are per process), with no server and no connection."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from backends.base import Backend
from harness.targets.connection import BULK_BATCH_ROWS
from harness.targets.urls import Target, parse_target
from scenarios import REGISTRY
from scenarios.data import FILTER_PREFIX, make_rows
from scenarios.idioms import DOCUMENTED, EQUAL
from scenarios.schema import DATA_COLUMNS

# Any unreachable address will do: nothing here may connect, and a test checks that none did.
OFFLINE_URL = "mssql://ormbench:offline@127.0.0.1:1/ormbench?TrustServerCertificate=yes"
# SQL Server 2022, the compose file's image: ProductVersion 16.x, which mssql-django calls 2022.
SQL_SERVER_VERSION = 2022
SQL_SERVER_VERSION_INFO = (16, 0)
MAX_PARAMETERS = 2100  # SQL Server's limit on parameters in one request
BULK_ROWS = 1000  # the default --rows, so the bulk batches are the ones a default run sends
# Rows per INSERT the equal-work bulk idioms ask for (each ORM may send fewer: its own cap wins).
EQUAL_BATCH_ROWS = BULK_BATCH_ROWS["mssql"]
ORMS = ("sqlalchemy", "django")


@dataclass(frozen=True)
class Statement:
    """One statement an ORM sends for a scenario's operation."""

    what: str  # the ORM call that sends it
    sql: str
    parameters: int  # bound parameters in this one statement
    times: int = 1  # how many such statements one bulk operation of BULK_ROWS rows sends
    # Transaction control, not the operation's own work: a T-SQL statement the ORM or its
    # database backend sends around the work, or a driver call that reaches the server
    # without T-SQL text of its own (`sql` then says so, starting with "--").
    control: bool = False


# scenario name -> idiom (DOCUMENTED, EQUAL) -> statements, in the order sent. EQUAL is present
# only where the backend runs code of its own for it; elsewhere DOCUMENTED serves both idioms.
Compiled = dict[str, dict[str, list[Statement]]]


def compile_tsql(orm: str, driver: str = "pyodbc", rows: int = BULK_ROWS) -> Compiled:
    """Every scenario's statements as `orm` compiles them for SQL Server (driver: pyodbc or
    mssqlpython, the SQLAlchemy dialect or mssql-django option that goes with it), for a run
    of `rows` rows (the bulk batches and the pages depend on it)."""
    if orm == "sqlalchemy":
        return sqlalchemy_tsql(offline_target(driver), rows)
    if orm == "django":
        return _django_in_child(driver, rows)
    raise ValueError(f"unknown ORM {orm!r}; choose from {ORMS}")


def offline_target(driver: str) -> Target:
    scheme = "mssql" if driver == "pyodbc" else f"mssql+{driver}"
    return parse_target(OFFLINE_URL.replace("mssql://", f"{scheme}://", 1))


def _one_line(sql: str) -> str:
    return " ".join(sql.split())


def _as_sent(sql: str, params: Any) -> str:
    # mssql-django's CursorWrapper.format_sql: Django's %s placeholders become pyodbc's '?'.
    return _one_line(sql % tuple("?" * len(params)) if params else sql)


def _by_idiom(
    backend: type[Backend],
    documented: dict[str, list[Statement]],
    equal: dict[str, list[Statement]],
) -> Compiled:
    """Each scenario's statements per idiom: the documented idiom's always, the equal-work
    idiom's where `backend` runs code of its own for it. Fails when this module and the backend
    disagree on which scenarios those are, so that a new or removed equal-work idiom cannot leave
    the listing silently wrong."""
    own = {
        name
        for name, cls in REGISTRY.items()
        if name in documented and backend.has_own_idiom(cls, EQUAL)
    }
    if own != set(equal):
        raise RuntimeError(
            f"{backend.name} has equal-work code for {sorted(own)}, but "
            f"harness/tools/tsql_compile.py compiles it for {sorted(equal)}: update "
            "harness/tools/tsql_compile.py"
        )
    return {
        name: {DOCUMENTED: documented[name], **({EQUAL: equal[name]} if name in own else {})}
        for name in REGISTRY
        if name in documented
    }


@dataclass(frozen=True)
class SqlAlchemyTools:
    """What a scenario module's SQLAlchemy compiler gets: the mssql dialect, and `single`,
    which compiles one statement (`stmt`, labelled `what`) into a Statement."""

    dialect: Any
    single: Callable[..., Statement]
    rows: int = BULK_ROWS  # the run's size: the pages and bulk batches depend on it


@dataclass(frozen=True)
class DjangoTools:
    """What a scenario module's Django compiler gets (in the child process, Django configured
    for SQL Server): the connection wrapper, which never connects, and helpers that compile a
    queryset, an INSERT of model objects, or a save()'s UPDATE of an Item."""

    connection: Any
    select_sql: Callable[..., Statement]
    insert_sql: Callable[..., list[Statement]]
    update_sql: Callable[..., Statement]
    rows: int = BULK_ROWS  # the run's size: the pages and bulk batches depend on it

    def statement(self, sql: str, params: Any, what: str) -> Statement:
        """A statement from a compiler's (sql, params), as mssql-django sends it."""
        return Statement(what, _as_sent(sql, params), len(params))


def _add_scenario_compiled(
    orm: str,
    tools: Any,
    documented: dict[str, list[Statement]],
    equal: dict[str, list[Statement]],
) -> None:
    """The statements of scenarios whose module compiles them itself (`Scenario.compiles`)."""
    for name, cls in REGISTRY.items():
        compile_offline = cls.offline.get(orm)
        if compile_offline is None:
            continue
        groups = compile_offline(tools)
        documented[name] = groups[DOCUMENTED]
        if EQUAL in groups:
            equal[name] = groups[EQUAL]


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


def sqlalchemy_tsql(target: Target, rows: int = BULK_ROWS) -> Compiled:
    """The statements the SQLAlchemy backend's ORM calls send, per idiom, compiled by the mssql
    dialect that `target` selects (create_engine connects lazily: nothing here connects)."""
    from sqlalchemy import delete, insert, select, update

    from backends.sqlalchemy_models import Item
    from backends.sqlalchemy_orm import SqlAlchemyOrm

    dialect = sqlalchemy_dialect(target)
    table = Item.__table__
    row = make_rows(1, 42)[0]

    def single(stmt: Any, what: str, column_keys: list[str] | None = None) -> Statement:
        # An IN list renders one placeholder per value, as the statement is sent.
        compiled = stmt.compile(
            dialect=dialect,
            column_keys=column_keys,
            compile_kwargs={"render_postcompile": True},
        )
        count = len(compiled.positiontup or ()) if compiled.positional else len(compiled.params)
        return Statement(what, _one_line(str(compiled)), count)

    # The unit of work inserts one object with the table's INSERT, fetching the new id back.
    create = single(
        table.insert().return_defaults(table.c.id),
        "Session.add() + Session.commit()",
        list(DATA_COLUMNS),
    )
    by_pk = single(select(Item).where(Item.id == 1), "Session.get(Item, pk)")
    by_prefix = select(Item).where(Item.name.startswith(FILTER_PREFIX)).order_by(Item.id)
    documented: dict[str, list[Statement]] = {
        "create": [create],
        "bulk_create": _sqlalchemy_bulk(
            dialect, insert(Item), rows, "Session.execute(insert(Item), rows)"
        ),
        "get": [by_pk],
        "filter": [
            single(by_prefix, "select(Item).where(Item.name.startswith(prefix)).order_by(Item.id)")
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
    # The equal-work idioms: the same INSERT and SELECT on the AUTOCOMMIT Engine (the statement
    # commits itself, no BEGIN or COMMIT around it), and a bulk INSERT that returns the objects.
    equal: dict[str, list[Statement]] = {
        "create": [replace(create, what="Session.add() + Session.flush(), AUTOCOMMIT Engine")],
        "bulk_create": _sqlalchemy_bulk(
            dialect,
            insert(Item).returning(Item),
            rows,
            "Session.scalars(insert(Item).returning(Item), rows, "
            f"insertmanyvalues_page_size={EQUAL_BATCH_ROWS})",
            page_size=EQUAL_BATCH_ROWS,
        ),
        "filter": [single(by_prefix, "the same select() via Session.scalars(), AUTOCOMMIT Engine")],
    }
    tools = SqlAlchemyTools(dialect, single, rows)
    _add_scenario_compiled("sqlalchemy", tools, documented, equal)
    return _by_idiom(SqlAlchemyOrm, documented, equal)


def _orm_bulk_statement(stmt: Any) -> Any:
    """`stmt` as the ORM's bulk INSERT strategy hands it to the Connection when
    `Session.execute(stmt, rows)` runs it: annotated with the strategy and the table and mapper
    it inserts into (_BulkORMInsert.orm_pre_session_exec, persistence._emit_insert_statements),
    which is what makes `returning(Item)` render Item's columns; with RETURNING, also asked for
    the primary key (`return_defaults`), as the ORM asks of every executemany that returns rows.
    Without RETURNING the ORM has every value it needs and sends the statement as it is."""
    mapper = stmt._propagate_attrs["plugin_subject"].mapper
    table = mapper.local_table
    annotated = stmt._annotate({"dml_strategy": "bulk"})._annotate(
        {"_emit_insert_table": table, "_emit_insert_mapper": mapper}
    )
    if not stmt._returning:
        return annotated
    return annotated.return_defaults(*table.primary_key, sort_by_parameter_order=False)


def _sqlalchemy_bulk(
    dialect: Any, stmt: Any, rows: int, call: str, page_size: int | None = None
) -> list[Statement]:
    """The batches `Session.execute(stmt, rows)` sends (`call` names it): SQLAlchemy's
    insertmanyvalues rewrites the executemany into multi-row INSERTs of at most `page_size`
    rows (the execution option; the dialect's default without it), fewer where the dialect's
    parameter limit says so. The batching is SQLAlchemy's own (the compiled statement's batch
    generator, which the engine calls at execution), fed here the parameters instead of a
    cursor."""
    data = [dict(r) for r in make_rows(rows, 42)]
    compiled = _orm_bulk_statement(stmt).compile(
        dialect=dialect, column_keys=list(DATA_COLUMNS), for_executemany=True
    )
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
            page_size or dialect.insertmanyvalues_page_size,
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
            statements[-1] = replace(last, times=last.times + 1)
        else:
            statements.append(Statement(f"{call}: batch of {len(batch.batch)} rows", sql, count))
    return statements


# --- Django (child process only) ----------------------------------------------------------------


def _django_in_child(driver: str, rows: int = BULK_ROWS) -> Compiled:
    proc = subprocess.run(
        [sys.executable, "-m", "harness.tools.tsql", "--django", "--json", "--driver", driver]
        + ["--rows", str(rows)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"compiling Django's T-SQL failed: {proc.stderr.strip()[-2000:]}")
    return {
        name: {idiom: [Statement(**s) for s in statements] for idiom, statements in by.items()}
        for name, by in json.loads(proc.stdout).items()
    }


def django_tsql(target: Target, rows: int = BULK_ROWS) -> Compiled:
    """The statements the Django backend's ORM calls send, per idiom, compiled by mssql-django.
    Configures Django for `target` in this process: call it only in a process of its own."""
    from backends.django_orm import DjangoOrm, configure

    configure(target)
    from django.db import connections
    from django.db.models.query import MAX_GET_RESULTS
    from django.db.models.sql import DeleteQuery

    from backends.django_models import Item

    connection = connections["default"]  # the wrapper itself, not the module-level proxy
    _answer_version_lookup(connection)
    _apply_connect_time_features(connection)
    row = make_rows(1, 42)[0]

    select_sql, insert_sql, update_sql = _django_compilers(Item, row)

    # QuerySet.get() drops the ordering and caps the rows it fetches (MAX_GET_RESULTS), to
    # report "more than one" without reading a whole table.
    get_query = Item.objects.filter(pk=1).order_by()
    get_query.query.set_limits(high=MAX_GET_RESULTS)
    by_pk = select_sql(get_query, "Item.objects.get(pk=pk)")
    by_prefix = Item.objects.filter(name__startswith=FILTER_PREFIX).order_by("id")

    delete = DeleteQuery(Item)
    delete.add_filter("id__in", [1])  # what Collector.delete() sends via delete_batch()
    delete_sql, delete_params = delete.get_compiler(using="default").as_sql()

    documented: dict[str, list[Statement]] = {
        "create": insert_sql([Item(**row)], True, "Item.objects.create(**row)"),
        "bulk_create": _django_bulk(
            Item, connection, insert_sql, None, "Item.objects.bulk_create(objs)", rows
        ),
        "get": [by_pk],
        "filter": [
            select_sql(by_prefix, "Item.objects.filter(name__startswith=prefix).order_by('id')")
        ],
        "update": [by_pk, update_sql(None, "item.save()")],
        "delete": [
            by_pk,
            Statement("item.delete()", _as_sent(delete_sql, delete_params), len(delete_params)),
        ],
    }
    equal: dict[str, list[Statement]] = {
        "bulk_create": _django_bulk(
            Item,
            connection,
            insert_sql,
            EQUAL_BATCH_ROWS,
            f"Item.objects.bulk_create(objs, batch_size={EQUAL_BATCH_ROWS})",
            rows,
        ),
        "get": [replace(by_pk, what="the same lookup inside transaction.atomic()")],
        "update": [by_pk, update_sql(["quantity"], "item.save(update_fields=['quantity'])")],
    }
    tools = DjangoTools(connection, select_sql, insert_sql, update_sql, rows)
    _add_scenario_compiled("django", tools, documented, equal)
    if connection.connection is not None:
        raise RuntimeError("mssql-django opened a connection while compiling")
    return _by_idiom(DjangoOrm, documented, equal)


def _django_compilers(model: Any, row: dict[str, Any]) -> tuple[Callable[..., Any], ...]:
    """The three ways Django's ORM calls turn into statements for the model `model`, compiled
    by mssql-django on the configured connection: a queryset's SELECT, the INSERTs of
    create()/bulk_create(), and the UPDATE of save() (for a loaded `row`)."""
    from django.db.models import AutoField
    from django.db.models.sql import InsertQuery, UpdateQuery

    def select_sql(queryset: Any, what: str) -> Statement:
        sql, params = queryset.query.get_compiler(using="default").as_sql()
        return Statement(what, _as_sent(sql, params), len(params))

    def insert_sql(objs: list[Any], returning: bool, what: str) -> list[Statement]:
        fields = [f for f in model._meta.concrete_fields if not isinstance(f, AutoField)]
        query = InsertQuery(model)
        query.insert_values(fields, objs, raw=False)
        compiler = query.get_compiler(using="default")
        # SQLInsertCompiler.execute_sql sets this before as_sql(); create() asks for the pk,
        # bulk_create() too where the features say the ids can come back in bulk.
        compiler.returning_fields = [model._meta.pk] if returning else None
        return [
            Statement(what, _as_sent(sql, params), len(params)) for sql, params in compiler.as_sql()
        ]

    def update_sql(update_fields: list[str] | None, what: str) -> Statement:
        """The UPDATE `item.save(update_fields=...)` sends for a loaded row: Model._save_table
        writes every non-pk column, or only those `update_fields` names."""
        item = model(id=1, **row)
        fields = [f for f in model._meta.local_concrete_fields if not f.primary_key]
        if update_fields is not None:
            fields = [f for f in fields if f.name in update_fields or f.attname in update_fields]
        query = UpdateQuery(model)
        query.add_update_fields([(f, None, f.pre_save(item, False)) for f in fields])
        query.add_filter("pk", 1)
        sql, params = query.get_compiler(using="default").as_sql()
        return Statement(what, _as_sent(sql, params), len(params))

    return select_sql, insert_sql, update_sql


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


def _apply_connect_time_features(connection: Any) -> None:
    """mssql-django decides on connecting (init_connection_state) whether bulk_create() gets
    the new ids back with OUTPUT: only with OPTIONS `return_rows_bulk_insert` (tables with
    triggers reject it). Nothing connects here, so take the same decision from the settings."""
    if connection.settings_dict["OPTIONS"].get("return_rows_bulk_insert", False):
        connection.features_class.can_return_rows_from_bulk_insert = True


def _django_bulk(
    item_model: Any,
    connection: Any,
    insert_sql: Any,
    batch_size: int | None,
    call: str,
    rows: int = BULK_ROWS,
) -> list[Statement]:
    """The batches `bulk_create(objs, batch_size=batch_size)` (`call` names it) sends, as
    QuerySet._batched_insert() splits them: `batch_size` capped by the backend's
    `connection.ops.bulk_batch_size(fields, objs)`, the cap alone without one. Each batch asks
    for the new ids back only where mssql-django's features say it can return rows from a bulk
    insert (not by default)."""
    from django.db.models import AutoField

    objs = [item_model(**row) for row in make_rows(rows, 42)]
    fields = [f for f in item_model._meta.concrete_fields if not isinstance(f, AutoField)]
    cap = max(connection.ops.bulk_batch_size(fields, objs), 1)
    size = min(batch_size, cap) if batch_size else cap
    returning = bool(connection.features.can_return_rows_from_bulk_insert)
    statements: list[Statement] = []
    for start in range(0, len(objs), size):
        batch = objs[start : start + size]
        (statement,) = insert_sql(batch, returning, f"{call}: batch of {len(batch)} rows")
        if statements and statements[-1].sql == statement.sql:
            last = statements[-1]
            statements[-1] = replace(last, times=last.times + 1)
        else:
            statements.append(statement)
    return statements
