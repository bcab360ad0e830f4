"""The ``aggregator`` Typer application, its shared options, and the entry point.

Heavy modules (Scrapy, SQLAlchemy, rich) are imported inside the commands that need them,
so ``aggregator extract`` starts fast.
"""

from __future__ import annotations

import inspect
from typing import Annotated

import typer

from aggregator.stdout import guard_output

app = typer.Typer(
    name="aggregator",
    help="Entertainment news aggregator: crawl outlets, extract articles, query the database.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(
    help="The database: upgrade its schema to this version's (upgrade), show its schema "
    "revision (current), index its articles into stories (reindex).",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("entertainment-news-aggregator")
        except PackageNotFoundError:  # run from a checkout that is not installed
            from aggregator import __version__ as number
        typer.echo(f"aggregator {number}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Entertainment news aggregator: crawl outlets, extract articles, query the database."""


def unwrap(doc: str) -> str:
    """A docstring as help text: each paragraph one line (the terminal wraps it), so the
    line breaks of the source do not break sentences in ``--help``."""
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def unwrap_help(typer_app: typer.Typer) -> None:
    """Give every command of ``typer_app`` (and of its groups) its docstring unwrapped
    as help (see :func:`unwrap`). Called once the commands are registered."""
    for info in typer_app.registered_commands:
        doc = info.help or (info.callback.__doc__ if info.callback else None)
        if doc:
            info.help = unwrap(doc)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            unwrap_help(group.typer_instance)


DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db", help="Database URL or SQLite file (default: $AGGREGATOR_DB_URL or ./aggregator.db)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON Lines (one object per line).")]
SourceOpt = Annotated[
    str | None, typer.Option("--source", help="Only this source (registry name).")
]
AuthorOpt = Annotated[
    str | None, typer.Option("--author", help="Only articles by this author (substring, any case).")
]
SinceOpt = Annotated[
    str | None, typer.Option("--since", help="Published at or after: 2022-06-01, 12h, 2d, 1w.")
]
UntilOpt = Annotated[
    str | None, typer.Option("--until", help="Published at or before (same forms as --since).")
]
SettingOpt = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="Extra Scrapy setting NAME=VALUE (repeatable)."),
]


def parse_settings(items: list[str] | None) -> dict[str, str]:
    """``--set NAME=VALUE`` options as a dict (exit 2 on one without ``=``)."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise fail(f"--set takes NAME=VALUE, not {item!r}")
        out[key.strip()] = value
    return out


# The databases' integer range (a bigger --limit is a usage error, not an overflow
# traceback from the driver), and that of the columns --min-sources is compared with.
MAX_ROWS = 2**63 - 1
MAX_INT32 = 2**31 - 1
LimitOpt = Annotated[
    int, typer.Option("--limit", min=1, max=MAX_ROWS, help="At most this many rows.")
]


def fail(message: str, code: int = 2) -> typer.Exit:
    """One line on stderr and the exit to raise: ``raise fail("...")``."""
    typer.echo(f"aggregator: {message}", err=True)
    return typer.Exit(code)


def main() -> None:
    """The command line behind the console script (:func:`aggregator.console.main`), with
    its standard-output guard (:func:`aggregator.stdout.guard_output`)."""
    guard_output(app)
