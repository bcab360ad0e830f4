"""The ``aggregator`` Typer application, its shared options, and the entry point.

Heavy modules (Scrapy, SQLAlchemy, rich) are imported inside the commands that need them,
so ``aggregator extract`` starts fast.
"""

from __future__ import annotations

import errno
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
    help="The database schema: upgrade it to this version's, show its revision.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")

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


def main() -> None:
    """Console-script entry point. Standard output that cannot be written (a full disk,
    ``> /dev/full``) is one line and exit 2, not a traceback; a reader that stopped early
    (``| head``) is not an error worth a line (exit 1, as Click does)."""
    try:
        try:
            app()
        finally:
            sys.stdout.flush()  # here, not at interpreter exit, where it cannot be reported
    except OSError as exc:
        if exc.filename is not None or exc.errno not in _OUTPUT_ERRNOS:
            raise
        # What is still buffered would fail again at exit: send it nowhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        if exc.errno == errno.EPIPE:
            raise SystemExit(1) from None
        typer.echo(f"aggregator: cannot write the output: {exc.strerror}", err=True)
        raise SystemExit(2) from None
