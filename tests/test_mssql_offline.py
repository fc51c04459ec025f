"""SQL Server without a server: each scenario compiled to T-SQL by both ORMs offline, in both
idioms (harness/tools/tsql.py), and the connection settings each ORM and the raw DB-API backend get.

Django's settings are per process, so everything that configures Django runs in a child
process; this test process never imports django.conf settings for SQL Server."""

from __future__ import annotations

import json
import math
import pickle
import re
import subprocess
import sys
import textwrap

import pytest

from backends.sqlalchemy_orm import SqlAlchemyOrm
from harness.targets.connection import BULK_BATCH_ROWS
from harness.targets.errors import ConfigurationError
from harness.targets.urls import MSSQL_PYTHON, PYODBC, parse_target
from harness.tools.tsql import (
    DJANGO_TRANSACTIONS,
    SQLALCHEMY_TRANSACTIONS,
    TRANCOUNT,
    main,
    unsupported_reason,
    with_transaction_control,
)
from harness.tools.tsql_compile import (
    BULK_ROWS,
    MAX_PARAMETERS,
    Compiled,
    Statement,
    compile_tsql,
    sqlalchemy_dialect,
)
from scenarios import REGISTRY
from scenarios.idioms import DOCUMENTED, EQUAL
from scenarios.schema import ALL_COLUMNS, DATA_COLUMNS

DRIVERS = ("pyodbc", "mssqlpython")


def run_child(code: str) -> dict:
    """Run `code` in a fresh interpreter (Django configured there only); it prints JSON."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module", params=DRIVERS)
def tsql(request: pytest.FixtureRequest) -> dict[str, Compiled]:
    return {orm: compile_tsql(orm, request.param) for orm in ("sqlalchemy", "django")}


def on_sql_server(orm: str) -> list[str]:
    """The scenarios `orm` can run on SQL Server: all but those whose module says why not
    (upsert: neither ORM has an upsert for SQL Server)."""
    return [name for name, cls in REGISTRY.items() if unsupported_reason(cls, orm) is None]


def test_every_scenario_compiles_for_both_orms(tsql: dict[str, Compiled]) -> None:
    for orm, compiled in tsql.items():
        assert list(compiled) == on_sql_server(orm), orm
        for scenario, groups in compiled.items():
            assert DOCUMENTED in groups and set(groups) <= {DOCUMENTED, EQUAL}, (orm, scenario)
            tables = [t.name for t in REGISTRY[scenario].tables]
            for idiom, statements in groups.items():
                assert statements, (orm, scenario, idiom)
                for s in statements:  # each statement works on the scenario's own tables
                    assert any(name in s.sql for name in tables), (orm, scenario, idiom, s.sql)


def django_own_equal_idioms() -> set[str]:
    """The scenarios whose equal-work idiom runs Django code of its own, asked of the Django
    backend in a child process (importing it here would pull Django into this process)."""
    return set(
        run_child(
            """
            import json
            from scenarios.idioms import EQUAL
            from backends.django_orm import DjangoOrm
            from scenarios import REGISTRY
            print(json.dumps([n for n, c in REGISTRY.items() if DjangoOrm.has_own_idiom(c, EQUAL)]))
            """
        )
    )


def test_equal_work_is_listed_wherever_a_backend_has_code_of_its_own(
    tsql: dict[str, Compiled],
) -> None:
    own = {
        "sqlalchemy": {n for n, c in REGISTRY.items() if SqlAlchemyOrm.has_own_idiom(c, EQUAL)},
        "django": django_own_equal_idioms(),
    }
    own = {orm: names & set(on_sql_server(orm)) for orm, names in own.items()}
    for orm, compiled in tsql.items():
        assert own[orm], orm  # each ORM has at least one equal-work idiom of its own
        listed = {name for name, groups in compiled.items() if EQUAL in groups}
        assert listed == own[orm], orm


def test_create_gets_the_new_identity_back(tsql: dict[str, Compiled]) -> None:
    # Both read the identity from the INSERT itself: SQLAlchemy always; mssql-django with the
    # policy's OPTIONS return_rows_bulk_insert (without it, SELECT SCOPE_IDENTITY() after it).
    (sa,) = tsql["sqlalchemy"]["create"][DOCUMENTED]
    assert sa.sql.startswith("INSERT INTO ormbench_item")
    assert "OUTPUT inserted.id VALUES" in sa.sql
    (dj,) = tsql["django"]["create"][DOCUMENTED]
    assert "INSERT INTO [ormbench_item]" in dj.sql
    assert "OUTPUT INSERTED.[id] VALUES" in dj.sql
    assert "SCOPE_IDENTITY" not in dj.sql


def test_equal_work_create_sends_the_documented_insert(tsql: dict[str, Compiled]) -> None:
    # SQLAlchemy's equal-work create changes the transactions (an AUTOCOMMIT Engine, flush
    # instead of commit), not the statement.
    (documented,) = tsql["sqlalchemy"]["create"][DOCUMENTED]
    (equal,) = tsql["sqlalchemy"]["create"][EQUAL]
    assert equal.sql == documented.sql and equal.parameters == documented.parameters
    assert "Session.flush()" in equal.what and "AUTOCOMMIT" in equal.what


def rows_in(statement: Statement) -> int:
    """Rows one multi-row INSERT carries, counted from its VALUES list."""
    values = statement.sql.split(" VALUES ", 1)[1]
    return values.count("), (") + 1


def test_bulk_batches_stay_under_the_parameter_limit(tsql: dict[str, Compiled]) -> None:
    columns = len(DATA_COLUMNS)
    for orm, statements in tsql.items():
        for idiom, bulk in statements["bulk_create"].items():
            assert all(s.parameters < MAX_PARAMETERS for s in bulk), (orm, idiom)
            assert sum(s.times * s.parameters for s in bulk) == BULK_ROWS * columns, (orm, idiom)
            assert sum(s.times * rows_in(s) for s in bulk) == BULK_ROWS, (orm, idiom)
    # As documented, SQLAlchemy's bulk INSERT fetches nothing back; Django's returns the ids.
    documented = tsql["sqlalchemy"]["bulk_create"][DOCUMENTED]
    assert all("OUTPUT" not in s.sql and "SCOPE_IDENTITY" not in s.sql for s in documented)
    assert all("OUTPUT INSERTED.[id]" in s.sql for s in tsql["django"]["bulk_create"][DOCUMENTED])
    # SQLAlchemy's insertmanyvalues fills each batch up to its limit of 2,099 parameters ...
    first = tsql["sqlalchemy"]["bulk_create"][DOCUMENTED][0]
    assert first.parameters == (2099 // columns) * columns
    assert first.sql.count("VALUES") == 1 and first.sql.count("), (") == 2099 // columns - 1
    # ... where mssql-django caps a batch at 2,050 parameters, halved (bulk_batch_size).
    first = tsql["django"]["bulk_create"][DOCUMENTED][0]
    assert first.parameters == (2050 // columns // 2) * columns


def test_sqlalchemy_equal_work_bulk_returns_the_rows_in_django_sized_batches(
    tsql: dict[str, Compiled],
) -> None:
    batch = BULK_BATCH_ROWS["mssql"]
    assert batch == 2050 // len(DATA_COLUMNS) // 2  # mssql-django's cap: both ORMs can send it
    equal = tsql["sqlalchemy"]["bulk_create"][EQUAL]
    sent = [s for s in equal for _ in range(s.times)]
    # insert(Item).returning(Item): SQL Server's OUTPUT clause hands back every column of
    # each new row, the id first, so the ORM can build the objects without another SELECT.
    output = "OUTPUT " + ", ".join(f"inserted.{c}" for c in ALL_COLUMNS) + " VALUES"
    assert all(output in s.sql for s in sent)
    assert all(s.parameters <= MAX_PARAMETERS for s in sent)
    full, rest = divmod(BULK_ROWS, batch)
    assert [rows_in(s) for s in sent] == [batch] * full + ([rest] if rest else [])
    assert len(sent) == math.ceil(BULK_ROWS / batch)
    assert all(f"insertmanyvalues_page_size={batch}" in s.what for s in equal)


def test_django_equal_work_bulk_sends_the_batches_sqlalchemy_sends(
    tsql: dict[str, Compiled],
) -> None:
    equal = tsql["django"]["bulk_create"][EQUAL]
    cap = 2050 // len(DATA_COLUMNS) // 2  # mssql-django's bulk_batch_size
    sent = [s for s in equal for _ in range(s.times)]
    assert all(rows_in(s) == cap for s in sent[:-1]) and rows_in(sent[-1]) <= cap
    assert all(f"batch_size={BULK_BATCH_ROWS['mssql']}" in s.what for s in equal)
    # The policy's OPTIONS return_rows_bulk_insert: the new ids come back with OUTPUT.
    assert all("OUTPUT INSERTED.[id]" in s.sql for s in sent)
    sqlalchemy = [s for s in tsql["sqlalchemy"]["bulk_create"][EQUAL] for _ in range(s.times)]
    assert [rows_in(s) for s in sent] == [rows_in(s) for s in sqlalchemy]


def test_get_by_primary_key(tsql: dict[str, Compiled]) -> None:
    # QuerySet.get() caps the rows read at 21; mssql-django renders that cap as TOP.
    (dj,) = tsql["django"]["get"][DOCUMENTED]
    assert dj.sql.startswith("SELECT TOP 21 ")
    assert dj.sql.endswith("WHERE [ormbench_item].[id] = ?")
    (sa,) = tsql["sqlalchemy"]["get"][DOCUMENTED]
    assert "TOP" not in sa.sql and "FETCH" not in sa.sql
    assert sa.parameters == dj.parameters == 1


def test_filter_prefix_and_order(tsql: dict[str, Compiled]) -> None:
    (sa,) = tsql["sqlalchemy"]["filter"][DOCUMENTED]
    assert "LIKE" in sa.sql and sa.sql.endswith("ORDER BY ormbench_item.id")
    (dj,) = tsql["django"]["filter"][DOCUMENTED]
    # mssql-django appends OFFSET 0 ROWS to every ordered query without a limit.
    assert "LIKE ? ESCAPE '\\'" in dj.sql
    assert dj.sql.endswith("ORDER BY [ormbench_item].[id] ASC OFFSET 0 ROWS")


def test_equal_work_filter_sends_the_documented_select(tsql: dict[str, Compiled]) -> None:
    # SQLAlchemy's equal-work filter only drops the transaction around the SELECT; Django's
    # documented filter already runs in autocommit, so it is its equal work too.
    compiled = tsql["sqlalchemy"]
    (documented,) = compiled["filter"][DOCUMENTED]
    (equal,) = compiled["filter"][EQUAL]
    assert (equal.sql, equal.parameters) == (documented.sql, documented.parameters)
    assert equal.what != documented.what
    assert EQUAL not in tsql["django"]["filter"]


def test_django_documented_reads_run_in_autocommit(tsql: dict[str, Compiled]) -> None:
    # Django's documentation teaches reads in autocommit; atomic() belongs to the equal-work
    # idioms whose contract has one transaction around the reads.
    for scenario in ("get", "relationships_naive", "relationships_prefetch"):
        documented = tsql["django"][scenario][DOCUMENTED]
        equal = tsql["django"][scenario][EQUAL]
        assert DJANGO_TRANSACTIONS[(scenario, DOCUMENTED)] == "autocommit", scenario
        assert DJANGO_TRANSACTIONS[(scenario, EQUAL)] == "run", scenario
        assert [s.sql for s in documented] == [s.sql for s in equal], scenario
    for scenario in ("filter", "aggregates"):
        assert DJANGO_TRANSACTIONS[(scenario, DOCUMENTED)] == "autocommit", scenario


def set_columns(statement: Statement) -> list[str]:
    """The columns an UPDATE sets, in order, without quoting."""
    match = re.search(r"UPDATE \S+ SET (.*) WHERE ", statement.sql)
    assert match, statement.sql
    return [part.split("=")[0].strip(" []") for part in match.group(1).split(", ")]


def test_update_and_delete_statements(tsql: dict[str, Compiled]) -> None:
    sa_update = tsql["sqlalchemy"]["update"][DOCUMENTED][-1]
    assert sa_update.sql.startswith("UPDATE ormbench_item SET quantity=")
    dj_update = tsql["django"]["update"][DOCUMENTED][-1]
    # save() without update_fields writes every column.
    assert dj_update.parameters == len(DATA_COLUMNS) + 1
    assert set_columns(dj_update) == list(DATA_COLUMNS)
    assert "DELETE FROM ormbench_item WHERE" in tsql["sqlalchemy"]["delete"][DOCUMENTED][-1].sql
    assert "DELETE FROM [ormbench_item] WHERE [ormbench_item].[id] IN (?)" in (
        tsql["django"]["delete"][DOCUMENTED][-1].sql
    )


def test_django_equal_work_update_sets_only_quantity(tsql: dict[str, Compiled]) -> None:
    documented = tsql["django"]["update"][DOCUMENTED]
    equal = tsql["django"]["update"][EQUAL]
    # The same read first, then save(update_fields=["quantity"]): one column, as SQLAlchemy's
    # unit of work sends it, where plain save() sets all six.
    assert [s.sql for s in equal[:-1]] == [s.sql for s in documented[:-1]]
    assert len(set_columns(documented[-1])) == 6
    assert set_columns(equal[-1]) == ["quantity"]
    assert equal[-1].parameters == 2  # the new quantity and the primary key
    assert equal[-1].sql.endswith("WHERE [ormbench_item].[id] = ?")
    assert set_columns(tsql["sqlalchemy"]["update"][DOCUMENTED][-1]) == ["quantity"]


def test_relationship_loading_strategies(tsql: dict[str, Compiled]) -> None:
    from scenarios.relationships import LISTED_PARENTS

    # N+1: the parents, then one SELECT per parent (the default run's 100 parents).
    for orm, compiled in tsql.items():
        parents, children = compiled["relationships_naive"][DOCUMENTED]
        assert parents.times == 1 and children.times == LISTED_PARENTS, orm
        assert children.parameters == 1, orm
        assert re.search(r"WHERE \S+parent_id\]? = ", children.sql), orm
        # One JOIN (Django's documented load of children as objects is prefetch_related:
        # the parents, then the IN list); the IN list of every parent id in one statement.
        for idiom, statements in compiled["relationships_joined"].items():
            if (orm, idiom) == ("django", DOCUMENTED):
                _, in_list = statements
                assert in_list.parameters == LISTED_PARENTS
                continue
            (joined,) = statements
            assert "LEFT OUTER JOIN" in joined.sql and joined.parameters == 0, (orm, idiom)
        for idiom, (_, in_list) in compiled["relationships_prefetch"].items():
            assert in_list.parameters == LISTED_PARENTS, (orm, idiom)
        (aggregate,) = compiled["aggregates"][DOCUMENTED]
        assert "GROUP BY" in aggregate.sql and "LEFT OUTER JOIN" in aggregate.sql, orm
    # SQLAlchemy's selectinload selects the key it groups by first.
    (_, in_list) = tsql["sqlalchemy"]["relationships_prefetch"][DOCUMENTED]
    assert in_list.sql.startswith("SELECT ormbench_child.parent_id, ormbench_child.id")
    # mssql-django averages a float; SQL Server's AVG of the DECIMAL column gives six decimals.
    (django_mean,) = tsql["django"]["aggregates"][DOCUMENTED]
    assert "AVG(CONVERT(float, [ormbench_child].[amount]))" in django_mean.sql
    (sqlalchemy_mean,) = tsql["sqlalchemy"]["aggregates"][DOCUMENTED]
    assert "avg(ormbench_child.amount)" in sqlalchemy_mean.sql


def test_json_and_text_output_carry_both_idioms(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--json"])
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"sqlalchemy", "django"}
    for orm, by_scenario in data.items():
        assert list(by_scenario) == on_sql_server(orm), orm
    update = [s for s in data["django"]["update"][EQUAL] if not s["control"]][-1]
    assert "SET [quantity] = ? WHERE" in update["sql"] and update["parameters"] == 2
    assert data["django"]["update"][EQUAL][-1]["sql"] == TRANCOUNT
    bulk = [s for s in data["sqlalchemy"]["bulk_create"][EQUAL] if not s["control"]]
    assert [s["times"] for s in bulk] == [5, 1] and "OUTPUT inserted.id" in bulk[0]["sql"]
    assert EQUAL not in data["sqlalchemy"]["update"]

    main([])
    text = capsys.readouterr().out
    # scenario name -> its section of the text
    sections = {part.split("\n", 1)[0]: part for part in text.split("## ")[1:]}
    assert "- sqlalchemy, equal work:" in sections["bulk_create"]
    assert "- django, equal work:" in sections["update"]
    assert "- sqlalchemy, as documented, also the equal work:" in sections["update"]
    assert "- django, as documented, also the equal work:" in sections["create"]
    # Multi-row INSERTs read short, as in the reports (reports.format.short_sql).
    assert "VALUES (?, ?, ?, ?, ?, ?), … 170 rows" in sections["bulk_create"]
    assert "(?, ?, ?, ?, ?, ?), (?" not in text


def test_upsert_is_listed_as_unsupported_with_the_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Neither ORM has an upsert for SQL Server: the listing says so and why, and no run
    # times a cell for it there (scenarios/upsert.py, Upsert.unsupported).
    main([])
    text = capsys.readouterr().out
    section = text.split("## upsert\n", 1)[1].split("\n\n", 1)[0]
    assert "- sqlalchemy: not supported on SQL Server: SQLAlchemy's mssql dialect" in section
    assert "- django: not supported on SQL Server: mssql-django 2.0" in section
    # What the reason says of mssql-django is what its features say, and bulk_create refuses.
    facts = run_child(
        """
        import json
        from django.db import NotSupportedError, connections
        from backends.django_orm import configure
        from harness.targets.urls import parse_target
        from harness.tools.tsql_compile import OFFLINE_URL, _answer_version_lookup
        configure(parse_target(OFFLINE_URL))
        _answer_version_lookup(connections["default"])
        from backends.django_models import Item
        try:
            Item.objects.bulk_create(
                [Item(email="a@example.test")], update_conflicts=True,
                unique_fields=["email"], update_fields=["quantity"],
            )
            refused = ""
        except NotSupportedError as exc:
            refused = str(exc)
        features = connections["default"].features
        print(json.dumps({
            "supports": features.supports_update_conflicts, "refused": refused,
            "connected": connections["default"].connection is not None,
        }))
        """
    )
    assert facts == {
        "supports": False,
        "refused": "This database backend does not support updating conflicts.",
        "connected": False,
    }


def test_streaming_compiles_the_whole_table_in_id_order(tsql: dict[str, Compiled]) -> None:
    (sa,) = tsql["sqlalchemy"]["streaming"][DOCUMENTED]
    assert sa.sql.endswith("FROM ormbench_item ORDER BY ormbench_item.id")
    assert "yield_per=2000" in sa.what and sa.parameters == 0
    for idiom in (DOCUMENTED, EQUAL):
        (dj,) = tsql["django"]["streaming"][idiom]
        ordered = "FROM [ormbench_item] ORDER BY [ormbench_item].[id] ASC OFFSET 0 ROWS"
        assert dj.sql.endswith(ordered)
        assert "iterator(chunk_size=2000)" in dj.what
    assert "atomic()" in tsql["django"]["streaming"][EQUAL][0].what
    # mssql-django streams with pyodbc (MARS on by default) but not with mssql-python.
    chunked = "fetchmany(2000) as it goes" in tsql["django"]["streaming"][DOCUMENTED][0].what
    whole = "whole result read first" in tsql["django"]["streaming"][DOCUMENTED][0].what
    assert chunked != whole


def test_limits_render_as_offset_fetch() -> None:
    """Pagination (a later scenario): both ORMs page with OFFSET ... FETCH NEXT."""
    from sqlalchemy import select

    from backends.sqlalchemy_orm import Item

    dialect = sqlalchemy_dialect(parse_target("mssql://u:p@127.0.0.1:1/db"))
    sa = str(select(Item).order_by(Item.id).offset(10).limit(10).compile(dialect=dialect))
    assert " ".join(sa.split()).endswith(
        "ORDER BY ormbench_item.id OFFSET ? ROWS FETCH FIRST ? ROWS ONLY"
    )
    django = run_child(
        """
        import json
        from django.db import connections
        from backends.django_orm import configure
        from harness.targets.urls import parse_target
        from harness.tools.tsql_compile import _answer_version_lookup
        configure(parse_target("mssql://u:p@127.0.0.1:1/db"))
        _answer_version_lookup(connections["default"])
        from backends.django_models import Item
        sql, _ = Item.objects.order_by("id")[10:20].query.get_compiler("default").as_sql()
        print(json.dumps({"sql": sql, "connected": connections["default"].connection is not None}))
        """
    )
    assert not django["connected"]
    assert django["sql"].endswith("OFFSET 10 ROWS FETCH FIRST 10 ROWS ONLY")


# --- connection settings ----------------------------------------------------------------------

CONNECTION_CHECK = """
    import json, sys
    from django.db import connections
    from sqlalchemy import create_engine
    from backends.django_orm import configure
    from harness.targets.urls import parse_target
    target = parse_target(sys.argv[1], connect_timeout=7)
    configure(target)
    wrapper = connections["default"]
    options = target.django_database()["OPTIONS"]
    django = wrapper._build_connection_string(wrapper.get_connection_params(), options["driver"])
    engine = create_engine(target.sqlalchemy_url(), connect_args=target.sqlalchemy_connect_args())
    (sqlalchemy,), _ = engine.dialect.create_connect_args(engine.url)
    print(json.dumps({
        "django": django, "sqlalchemy": sqlalchemy, "dbapi": target.odbc_connection_string(),
        "uses_mssql_python": wrapper._uses_mssql_python(wrapper.get_connection_params()),
        "options": options, "connect_args": target.sqlalchemy_connect_args(),
        "dialect": engine.dialect.driver, "connected": wrapper.connection is not None,
    }))
"""


def connection_settings(url: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CONNECTION_CHECK), url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def keywords(connection_string: str) -> dict[str, str]:
    """key=value pairs of an ODBC connection string; a {braced} value may hold ';'."""
    found = re.findall(r"([^=;]+)=(\{(?:[^}]|\}\})*\}|[^;]*)", connection_string)
    return {key.strip().lower(): value for key, value in found}


def test_pyodbc_every_backend_sends_the_same_connection_string() -> None:
    url = "mssql://sa:Secret_pw1@db.example:14333/bench?TrustServerCertificate=yes&encrypt=no"
    facts = connection_settings(url)
    assert facts["dialect"] == "pyodbc"
    assert facts["django"] == facts["sqlalchemy"] == facts["dbapi"]
    assert facts["dbapi"] == (
        "DRIVER=ODBC Driver 18 for SQL Server;SERVER=db.example,14333;UID=sa;PWD=Secret_pw1;"
        "DATABASE=bench;TrustServerCertificate=yes;Encrypt=no"
    )
    assert not facts["uses_mssql_python"]
    # Login timeout: pyodbc's connect(timeout=) for SQLAlchemy and the DB-API backend,
    # mssql-django's connection_timeout (passed on as the same argument); no retries.
    assert facts["connect_args"] == {"timeout": 7}
    assert facts["options"]["connection_timeout"] == 7
    assert facts["options"]["connection_retries"] == 0
    assert not facts["connected"]


def test_pyodbc_driver_option_picks_the_odbc_driver() -> None:
    facts = connection_settings("mssql://sa:pw@h/db?driver=ODBC+Driver+17+for+SQL+Server")
    assert facts["django"] == facts["sqlalchemy"] == facts["dbapi"]
    assert facts["dbapi"].startswith("DRIVER=ODBC Driver 17 for SQL Server;")


def test_mssql_python_is_selected_for_every_backend() -> None:
    url = "mssql+mssqlpython://sa:Se;cret@db.example:14333/bench?TrustServerCertificate=yes"
    facts = connection_settings(url)
    assert facts["dialect"] == "mssqlpython"
    assert facts["uses_mssql_python"]  # mssql-django 2.0's OPTIONS["python_driver"]
    assert facts["options"]["python_driver"] == "mssql_python"
    assert facts["django"] == facts["dbapi"]
    # SQLAlchemy's mssqlpython dialect builds the string from the URL itself (it has no
    # odbc_connect): the same keywords and values, in its own order and spelling.
    assert (
        keywords(facts["sqlalchemy"])
        == keywords(facts["dbapi"])
        == {
            "server": "db.example,14333",
            "uid": "sa",
            "pwd": "{Se;cret}",
            "database": "bench",
            "trustservercertificate": "yes",
        }
    )
    assert "DRIVER" not in facts["dbapi"]  # mssql-python rejects it: it brings its own
    assert facts["connect_args"] == {"timeout": 7}


@pytest.mark.parametrize(
    ("url", "driver"), [("mssql://h/db", PYODBC), ("mssql+mssqlpython://h/db", MSSQL_PYTHON)]
)
def test_placeholder_and_pickling(url: str, driver: object) -> None:
    target = parse_target(url)
    # Both drivers take positional parameters as "?" (mssql-python declares "pyformat").
    assert target.placeholder == "?"
    # Workers receive the target pickled: the copy must pick the same driver and dialect.
    copy = pickle.loads(pickle.dumps(target))
    assert copy.driver == driver
    assert copy.sqlalchemy_url().drivername == target.sqlalchemy_url().drivername


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mssql://h/db?Encrpyt=yes", "URL option 'Encrpyt' is not understood"),
        ("mssql+mssqlpython://h/db?driver=x", r"takes no \?driver= option"),
        ("mssql+pymssql://h/db", "driver 'pymssql' is not supported"),
    ],
)
def test_bad_mssql_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_target(url)


# --- transaction control: every statement a backend sends ---------------------------------------


def test_listing_marks_every_transaction_control_statement(tsql: dict[str, Compiled]) -> None:
    for orm, compiled in tsql.items():
        full = with_transaction_control(orm, compiled)
        for scenario, groups in full.items():
            for idiom, statements in groups.items():
                work = [s for s in statements if not s.control]
                assert work == compiled[scenario][idiom]  # the queries, in their order
                control = [s for s in statements if s.control]
                # A control entry is either T-SQL mssql-django sends or a driver call that
                # says it has no T-SQL of its own here.
                for s in control:
                    assert s.sql == TRANCOUNT or s.sql.startswith("-- driver"), s
                trancount = [s for s in control if s.sql == TRANCOUNT]
                if orm == "django":
                    # mssql-django asks for @@TRANCOUNT on leaving every atomic block.
                    atomic = DJANGO_TRANSACTIONS[(scenario, idiom)] != "autocommit"
                    assert len(trancount) == (1 if atomic else 0), (scenario, idiom)
                    if atomic:
                        assert statements[-1].sql == TRANCOUNT
                else:
                    assert not trancount  # SQLAlchemy sends no T-SQL for its transactions
                    assert control and "rollback()" in control[-1].sql  # pool reset-on-return


def test_text_listing_shows_trancount_marked(capsys: pytest.CaptureFixture[str]) -> None:
    main([])
    text = capsys.readouterr().out
    sections = {part.split("\n", 1)[0]: part for part in text.split("## ")[1:]}
    django_update = sections["update"].split("- django, as documented:")[1]
    assert "[transaction control] atomic() exit, per operation" in django_update
    assert TRANCOUNT in django_update
    # Django's create runs in autocommit: no transaction control listed for it.
    django_create = sections["create"].split("- django, as documented")[1]
    assert "[transaction control]" not in django_create


def test_transaction_table_matches_the_trace_on_sqlite(cli, tmp_path, sqlite_url) -> None:
    """The table of transaction shapes (harness/tools/tsql.py) against what the DB-API trace counts
    for the same idioms on SQLite, where both ORMs send an explicit BEGIN for each transaction
    (Django's atomic(), SQLAlchemy's documented pysqlite recipe)."""
    result = cli(
        "run", "--db", sqlite_url, "--scenarios", "all", "--rows", "20", "--rounds", "1",
        "--warmup", "0", "--backends", "sqlalchemy,django", "--output", str(tmp_path / "r"),
    )  # fmt: skip
    assert result.code == 0, result.stderr
    cells = json.loads((tmp_path / "r/results.json").read_text())["cells"]
    checked = 0
    for cell in cells:
        if cell["same_code_as"] or cell["trace"] is None:
            continue
        trace, ops = cell["trace"], cell["operations"]
        key = (cell["scenario"], cell["idiom"])
        if cell["backend"] == "django":
            scope = DJANGO_TRANSACTIONS[key]
            ending = "close" if scope == "autocommit" else "commit"  # atomic() commits
        else:
            scope, ending = SQLALCHEMY_TRANSACTIONS[key]
        per_run = {"operation": ops, "run": 1, "autocommit": 0}[scope]
        assert trace["by_kind"].get("BEGIN", 0) == per_run, (cell["backend"], key)
        commits = (per_run or 1) if ending == "commit" else 0
        assert trace["commits"] == commits, (cell["backend"], key)
        checked += 1
    assert checked == len(DJANGO_TRANSACTIONS) + len(SQLALCHEMY_TRANSACTIONS)
