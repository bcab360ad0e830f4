"""The CLI's one output layer: rows as a table for people or JSON Lines for programs.

Commands hand over their rows (domain objects or dicts), the columns a person sees, and
how each row becomes a dict for programs (``to_dict``: every field, the same dict the
Python API gives); :func:`output_rows` does the rest, as sqlite-utils' ``output_rows``
does for its many commands. :func:`output_file` is where ``export`` and ``feed`` write.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from aggregator.cli.app import fail


@dataclass(frozen=True)
class Column:
    """One column of a table: its header, the text of a row's cell, its alignment, and
    the most characters a cell shows in a table on a terminal (elsewhere, all of it)."""

    header: str
    cell: Callable[[Any], str]
    justify: Literal["left", "right"] = "left"
    width: int | None = None
    marked: bool = False
    """Cells hold matches between ``storage.query.MARK_OPEN``/``MARK_CLOSE`` (a search
    snippet): bold on a terminal, the marks dropped elsewhere."""


def _unmarked(text: str) -> str:
    from aggregator.storage.query import marked_parts

    return "".join(part for part, _ in marked_parts(text))


def _marked_text(text: str) -> Any:
    """``text`` as rich Text, its marked matches bold (never read as markup)."""
    from rich.text import Text

    from aggregator.storage.query import marked_parts

    out = Text()
    for part, match in marked_parts(text):
        out.append(part, style="bold" if match else "")
    return out


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (a person reads it), not a file or a pipe."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def plural(n: int, one: str, many: str | None = None) -> str:
    """``n`` and the noun that goes with it: "1 result", "4 results", "2 stories"."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _console(stderr: bool = False) -> Any:
    """A rich console for a terminal. Nothing is highlighted automatically (rich would
    colour the years, numbers and quoted words of a headline), and what is printed is
    text, never markup: a headline may hold "[...]"."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


Part = str | tuple[str, str]
"""Text, or (text, rich style) to style it on a terminal."""


def print_line(*parts: Part, stderr: bool = False) -> None:
    """One line of free text. On a terminal each part in its style; elsewhere (a pipe,
    a file) the plain text. Never wrapped by us: a long URL stays one line (a terminal
    wraps it on screen, and it can still be copied whole)."""
    stream = sys.stderr if stderr else sys.stdout
    if not is_terminal(stream):
        stream.write("".join(p if isinstance(p, str) else p[0] for p in parts) + "\n")
        return
    from rich.text import Text

    line = Text()
    for p in parts:
        if isinstance(p, str):
            line.append(p)
        else:
            line.append(p[0], style=p[1])
    _console(stderr).print(line, soft_wrap=True)


def nothing(message: str) -> None:
    """What an empty result prints instead of an empty table: ``message`` on stderr, so
    that standard output holds no line (``| wc -l`` counts 0)."""
    print_line(message, stderr=True)


def print_jsonl(rows: Iterable[dict[str, Any]], fh: TextIO | None = None) -> None:
    """One JSON object per line (non-JSON values, such as datetimes, as their text)."""
    out = fh or sys.stdout
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")


def _one_line(text: str) -> str:
    """A cell as one field of a tab-separated line: no tab, no line break in it."""
    return " ".join(text.split()) if any(c in text for c in "\t\r\n") else text


def print_table(
    rows: Iterable[Any], columns: Sequence[Column], *, title: str, stderr: bool = False
) -> None:
    """A table for people (on stderr with ``stderr``: a summary beside the real output).
    On a terminal, a rich table fitted to its width; elsewhere (a pipe, a file) one
    tab-separated line per row under a header line, every cell whole: no title, no
    frame, no colour, nothing wrapped or cut."""
    stream = sys.stderr if stderr else sys.stdout
    if not is_terminal(stream):
        stream.write("\t".join(col.header for col in columns) + "\n")
        for row in rows:
            cells = (col.cell(row) for col in columns)
            stream.write("\t".join(_one_line(_unmarked(c)) for c in cells) + "\n")
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(title))
    for col in columns:
        table.add_column(col.header, justify=col.justify)
    for row in rows:
        table.add_row(*(_cell_text(col, row) for col in columns))
    _console(stderr).print(table)


def _cell_text(col: Column, row: Any) -> Any:
    from rich.text import Text

    cell = col.cell(row)
    if col.marked:
        return _marked_text(" ".join(cell.split()))
    return Text(short(cell, col.width) if col.width else cell)


def output_rows(
    rows: Sequence[Any],
    columns: Sequence[Column],
    *,
    title: str,
    as_json: bool,
    to_dict: Callable[[Any], dict[str, Any]] = dict,
    empty: str | None = None,
) -> None:
    """``rows`` as JSON Lines (``to_dict`` of each) with ``as_json``, else as a table;
    no rows and an ``empty`` message: that message instead of an empty table."""
    if as_json:
        print_jsonl(to_dict(row) for row in rows)
    elif not rows and empty:
        nothing(empty)
    else:
        print_table(rows, columns, title=title)


def short(value: Any, n: int) -> str:
    """``value`` as text, cut to ``n`` characters with an ellipsis."""
    s = "" if value is None else str(value)
    return s if len(s) <= n else s[: n - 1] + "…"


def when(a: Any) -> str:
    """A stored article's publication date as finely as its page gave it (``2022-06-06``
    for a date without a time; see ``normalize.dates.format_date``), or "-"."""
    from aggregator.normalize.dates import format_date

    if a.published is None:
        return "-"
    return format_date(a.published, a.published_precision, a.published_offset)


def human(value: Any) -> str:
    """A field's value for people: a list comma-separated, nothing as "-" (never a
    Python repr such as ``['…']`` or ``None``)."""
    if value is None or value in ([], ""):
        return "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(human(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


ARTICLE_COLUMNS = (
    Column("id", lambda a: str(a.id), "right"),
    Column("published", when),
    Column("source", lambda a: a.source or "-"),
    Column("title", lambda a: a.title or "", width=70),
    Column("authors", lambda a: ", ".join(a.authors or []), width=30),
)

STORY_COLUMNS = (
    Column("story", lambda v: f"story:{v.story.id}"),
    Column("outlets", lambda v: str(v.story.outlet_count), "right"),
    Column("articles", lambda v: str(v.story.article_count), "right"),
    Column("first seen", lambda v: v.story.first_seen.strftime("%Y-%m-%d %H:%M")),
    Column("category", lambda v: v.story.category or "-"),
    Column("headline", lambda v: v.story.headline or "", width=60),
)


def output_articles(
    articles: Sequence[Any], title: str, *, as_json: bool = False, empty: str | None = None
) -> None:
    """Stored articles as a table, or as ``storage.article_dict`` JSON Lines."""
    from aggregator.storage import article_dict

    output_rows(
        articles,
        ARTICLE_COLUMNS,
        title=title,
        as_json=as_json,
        to_dict=article_dict,
        empty=empty,
    )


def output_stories(
    views: Sequence[Any],
    title: str,
    *,
    as_json: bool = False,
    details: bool = False,
    empty: str | None = None,
) -> None:
    """Stories as a table (with ``details``, each story's articles under it), or as
    ``StoryView.to_dict`` JSON Lines."""
    output_rows(
        views,
        STORY_COLUMNS,
        title=title,
        as_json=as_json,
        to_dict=lambda v: v.to_dict(),
        empty=empty,
    )
    if details and not as_json:
        for v in views:
            for a in v.articles:
                copy = f" (copy of {a.duplicate_of})" if a.duplicate_of else ""
                print_line(f"  {when(a)}  {a.source or '-'}: {a.title}{copy}")
                print_line("      ", (a.canonical_url, "dim"))


@contextmanager
def output_file(out: Path | None) -> Iterator[TextIO]:
    """Where ``export`` and ``feed`` write: standard output, or the file ``out``, written
    whole or not at all. A regular file is written beside itself under a hidden name and
    renamed over ``out`` once complete, so a failure (a full disk) leaves ``out`` as it was,
    never cut short and looking complete, and a reader (a web server publishing the feed)
    never sees half of it. A device or a pipe (/dev/stdout, a FIFO) is written in place,
    as is a file whose directory we may not write, which a failure then leaves empty.
    Errors are one line and exit 2."""
    if out is None:
        yield sys.stdout  # a failure to write it is main()'s
        return
    try:
        existing: os.stat_result | None = os.stat(out)
    except OSError:
        existing = None
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise fail(f"cannot write {out}: it is a directory; give a file name")
    # A device or a pipe (/dev/stdout, /dev/fd/3 of a process substitution) is opened by
    # the name given: resolved, it names a /proc entry that cannot be opened.
    in_place = existing is not None and not stat.S_ISREG(existing.st_mode)
    target = out if in_place else Path(os.path.realpath(out))  # a symlink stays a link
    existed = existing is not None
    if existed and not os.access(target, os.W_OK):  # renaming over it would succeed
        raise fail(f"cannot write {out}: permission denied")
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        fh: TextIO
        if in_place:
            fh = open(target, "w", encoding="utf-8", newline="")  # noqa: SIM115
        else:
            try:
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except PermissionError:
                if not (existed and os.access(target, os.W_OK)):
                    raise
                in_place = True
                fh = open(target, "w", encoding="utf-8", newline="")  # noqa: SIM115
            else:
                if existed:  # the new file keeps the old one's permissions
                    os.chmod(temp, target.stat().st_mode & 0o7777)
                fh = os.fdopen(fd, "w", encoding="utf-8", newline="")
    except OSError as exc:
        missing = isinstance(exc, FileNotFoundError) and not target.parent.is_dir()
        reason = f"directory {target.parent} does not exist" if missing else exc.strerror
        raise fail(f"cannot write {out}: {reason}") from None
    try:
        with fh:
            yield fh
        if not in_place:
            os.replace(temp, target)
    except BaseException as exc:
        if not in_place:
            temp.unlink(missing_ok=True)
        elif target.is_file():
            os.truncate(target, 0)
        if not isinstance(exc, OSError):
            raise
        if not in_place:
            kept = f"{out} was left as it was" if existed else "nothing was written"
        else:
            kept = f"{out} was left empty" if target.is_file() else "the output is incomplete"
        raise fail(f"cannot write {out}: {exc.strerror or exc}; {kept}") from None
