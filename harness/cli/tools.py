"""`ormbench doctor` and `ormbench list`."""

from __future__ import annotations

import click
from rich.console import Console
from rich.markup import escape

from backends import BACKENDS, load_backend
from harness.cli.common import CONNECT_TIMEOUT_OPTION
from scenarios import REGISTRY
from scenarios.idioms import IDIOM_TITLES, IDIOMS


@click.command()
@click.option("--db", "dbs", multiple=True, metavar="URL", help="Database URL to try; repeatable.")
@CONNECT_TIMEOUT_OPTION
def doctor(dbs: tuple[str, ...], connect_timeout: float) -> int:
    """Show versions, drivers and ODBC drivers, how to install what is missing, and whether
    each --db connects. Exit 0 when every --db connects, 2 otherwise."""
    from harness.tools.doctor import run_doctor

    out = Console(highlight=False, soft_wrap=True)
    return run_doctor(list(dbs), connect_timeout, lambda line: out.print(line, markup=False))


@click.command(name="list")
def list_command() -> None:
    """Show the scenarios and backends, with what each one does."""
    out = Console(highlight=False, soft_wrap=True)
    out.print("[bold]Scenarios[/]")
    for name, cls in REGISTRY.items():
        # Docstrings quote code (`[off:off + size]`), which is not Rich markup.
        out.print(f"  [cyan]{name}[/]: {escape(cls.description())}")
    out.print("[bold]Backends[/]")
    for name in BACKENDS:
        cls = load_backend(name)
        doc = " ".join((cls.__doc__ or "").split())
        out.print(f"  [cyan]{name}[/] ({cls.title}): {escape(doc)}")
        for scenario in REGISTRY.values():
            if not cls.supports(scenario):
                continue
            for idiom in (IDIOMS[0],) if cls.is_floor else IDIOMS:
                if not cls.has_own_idiom(scenario, idiom):
                    continue
                label = scenario.name if cls.is_floor else f"{scenario.name}, {IDIOM_TITLES[idiom]}"
                out.print(f"      {label}: {escape(cls.idiom_doc(scenario, idiom))}")
