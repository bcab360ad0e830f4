"""The ``aggregator`` Typer application, its shared options, and the entry point.

Heavy modules (Scrapy, SQLAlchemy, rich) are imported inside the commands that need them,
so ``aggregator extract`` starts fast.
"""

from __future__ import annotations

import errno
import inspect
import os
import sys
from typing import Annotated

import typer

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


# What writing our output can fail with (a full disk or quota, a file size limit, a
# device error, a closed pipe): the OSError of a stream, which names no file.
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EIO, errno.EPIPE} | {
    getattr(errno, "EDQUOT", errno.ENOSPC)  # not on every platform
}


def _stdout_file() -> tuple[int, int] | None:
    """Which file standard output is (device, inode), to see whether it was replaced."""
    try:
        st = os.fstat(sys.__stdout__.fileno() if sys.__stdout__ else 1)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _reader_gone(stdout_was: tuple[int, int] | None) -> bool:
    """Whether the command exited 1 because standard output's reader went away. Typer
    (like Click) answers EPIPE by wrapping both streams in ``PacifyFlushWrapper`` and
    exiting 1; rich (tables, --help) by pointing standard output at /dev/null and exiting
    1. Neither says so otherwise."""
    return type(sys.stdout).__name__ == "PacifyFlushWrapper" or _stdout_file() != stdout_was


def _discard_stdout() -> None:
    """Send what is still buffered for standard output nowhere: written at exit, it would
    fail again ("Exception ignored ... BrokenPipeError")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.__stdout__.fileno() if sys.__stdout__ else 1)


def main() -> None:
    """Console-script entry point. Standard output that cannot be written (a full disk,
    ``> /dev/full``) is one line and exit 2, not a traceback. A reader that stopped early
    (``| head -1``) is not an error: the reader had what it wanted, so the command stops
    quietly with exit 0 and a ``set -o pipefail`` script goes on."""
    stdout_was = _stdout_file()
    try:
        try:
            app()
        finally:
            sys.stdout.flush()  # here, not at interpreter exit, where it cannot be reported
    except SystemExit as exc:
        if exc.code == 1 and _reader_gone(stdout_was):
            _discard_stdout()
            raise SystemExit(0) from None
        raise
    except OSError as exc:
        if exc.filename is not None or exc.errno not in _OUTPUT_ERRNOS:
            raise
        _discard_stdout()
        if exc.errno == errno.EPIPE:
            raise SystemExit(0) from None
        typer.echo(f"aggregator: cannot write the output: {exc.strerror}", err=True)
        raise SystemExit(2) from None
