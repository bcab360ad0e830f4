"""The ``aggregator`` command: crawl, query, export, extract, demo.

Every listing command prints a readable table, or JSON Lines with ``--json`` (one object
per line, every field). Heavy modules (Scrapy, SQLAlchemy, rich) are imported inside the
commands that need them, so ``aggregator extract`` starts fast.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

app = typer.Typer(
    name="aggregator",
    help="Entertainment news aggregator: crawl outlets, extract articles, query the database.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

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


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"aggregator: {message}", err=True)
    return typer.Exit(code)


def _engine(db: str | None, *, write: bool = False) -> Any:
    """The engine of ``db``, or one clear line and exit 2; with ``write`` (commands that
    store), also when the database takes no writes."""
    from sqlalchemy.exc import SQLAlchemyError

    from aggregator.storage import make_engine, safe_url
    from aggregator.storage.engine import (
        StorageError,
        db_url,
        failure_reason,
        require_writable,
        storage_disabled,
    )

    if storage_disabled(_raw_db(db)):
        raise _fail("storage is off (--db none or AGGREGATOR_DB_URL=none): name a database")
    url = db_url(db)
    try:
        engine = make_engine(url)
    except (SQLAlchemyError, OSError, StorageError, ValueError) as exc:
        # The driver's own first line says what is wrong (no password: drivers never echo
        # it); SQLAlchemy's wrapper would add the statement and a documentation link.
        raise _fail(f"cannot open database {safe_url(url)}: {failure_reason(exc, url)}") from exc
    if write:
        try:
            require_writable(engine)
        except (SQLAlchemyError, StorageError) as exc:
            engine.dispose()
            reason = failure_reason(exc, url)
            raise _fail(f"cannot write to database {safe_url(url)}: {reason}") from exc
    return engine


def _raw_db(db: str | None) -> str | None:
    """The database as the user gave it (``--db``, else ``AGGREGATOR_DB_URL``), before
    :func:`~aggregator.storage.engine.db_url` reads it: ``none`` turns storage off."""
    from aggregator.storage.engine import ENV_DB_URL

    return db if db is not None else os.environ.get(ENV_DB_URL)


def _filters(
    source: str | None, author: str | None, since: str | None, until: str | None, limit: int | None
) -> Any:
    from aggregator.normalize.dates import parse_since
    from aggregator.storage import Filters

    now = datetime.now(timezone.utc)
    try:
        return Filters(source, author, parse_since(since, now), parse_since(until, now), limit)
    except ValueError as exc:
        raise _fail(str(exc)) from exc


@contextmanager
def _output(out: Path | None) -> Iterator[TextIO]:
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
        raise _fail(f"cannot write {out}: it is a directory; give a file name")
    # A device or a pipe (/dev/stdout, /dev/fd/3 of a process substitution) is opened by
    # the name given: resolved, it names a /proc entry that cannot be opened.
    in_place = existing is not None and not stat.S_ISREG(existing.st_mode)
    target = out if in_place else Path(os.path.realpath(out))  # a symlink stays a link
    existed = existing is not None
    if existed and not os.access(target, os.W_OK):  # renaming over it would succeed
        raise _fail(f"cannot write {out}: permission denied")
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
        raise _fail(f"cannot write {out}: {reason}") from None
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
        raise _fail(f"cannot write {out}: {exc.strerror or exc}; {kept}") from None


def _print_jsonl(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        sys.stdout.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")


def _short(value: Any, n: int) -> str:
    s = "" if value is None else str(value)
    return s if len(s) <= n else s[: n - 1] + "…"


def _when(a: Any) -> str:
    """A stored article's publication date as finely as its page gave it (``2022-06-06``
    for a date without a time; see ``normalize.dates.format_date``), or "-"."""
    from aggregator.normalize.dates import format_date

    if a.published is None:
        return "-"
    return format_date(a.published, a.published_precision, a.published_offset)


def _article_table(articles: list[Any], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    table.add_column("id", justify="right")
    table.add_column("published")
    table.add_column("source")
    table.add_column("title")
    table.add_column("authors")
    for a in articles:
        table.add_row(
            str(a.id),
            _when(a),
            a.source or "-",
            _short(a.title, 70),
            _short(", ".join(a.authors or []), 30),
        )
    Console().print(table)


# -- crawling ------------------------------------------------------------------------------


@app.command()
def crawl(
    sources: Annotated[
        list[str] | None, typer.Argument(help="Source names (see `aggregator sources`).")
    ] = None,
    all_sources: Annotated[
        bool, typer.Option("--all", help="Crawl every registered source.")
    ] = False,
    db: DbOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Fetch articles again even if fetched recently.")
    ] = False,
    revisit: Annotated[
        str | None,
        typer.Option("--revisit", help="Refetch articles last fetched longer ago (default 7d)."),
    ] = None,
    sources_file: Annotated[
        Path | None, typer.Option("--sources", help="Use this source registry file.")
    ] = None,
    log_file: Annotated[
        Path | None, typer.Option("--log-file", help="Write the crawl log (INFO) here.")
    ] = None,
    log_level: Annotated[
        str | None,
        typer.Option(
            "--log-level",
            help="DEBUG, INFO, WARNING, ERROR (default: INFO to a "
            "--log-file, WARNING to the terminal).",
        ),
    ] = None,
    lock_file: Annotated[
        Path | None,
        typer.Option(
            "--lock-file",
            help="One lock file for the whole run (default: a lock per source, kept in "
            "<database>.locks/ beside a SQLite file).",
        ),
    ] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="Extra Scrapy setting NAME=VALUE (repeatable)."),
    ] = None,
) -> None:
    """Crawl sources into the database, all of them in one process.

    Exit status: 0 when every source finished, 1 when a source failed (nothing could be
    fetched) or stopped early, 2 on a usage error, 75 when another crawl holds a source's
    lock, 130 when interrupted (Ctrl-C; what was scraped is committed).
    """
    import os
    import sys

    from aggregator.sources import SourceError, load_sources
    from aggregator.storage.engine import db_url, storage_disabled

    if sources_file is not None:
        os.environ["AGGREGATOR_SOURCES"] = str(sources_file)
    try:
        registry = load_sources(str(sources_file) if sources_file else None)
    except SourceError as exc:
        raise _fail(str(exc)) from exc
    names = list(registry) if all_sources else list(sources or [])
    if not names:
        raise _fail("name at least one source, or use --all (see `aggregator sources`)")
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise _fail(f"unknown source(s): {', '.join(unknown)}; known: {', '.join(registry)}")
    interactive = sys.stderr.isatty() and log_file is None
    level = log_level or ("INFO" if log_file else "WARNING")
    overrides: dict[str, Any] = {
        "LOG_LEVEL": level.upper(),
        "AGGREGATOR_DB_URL": "none" if storage_disabled(_raw_db(db)) else db_url(db),
        "AGGREGATOR_PROGRESS": interactive,
        "AGGREGATOR_REFRESH": refresh,
    }
    if revisit:
        overrides["AGGREGATOR_REVISIT"] = revisit
    if sources_file:
        overrides["AGGREGATOR_SOURCES"] = str(sources_file)
    if log_file:
        overrides["LOG_FILE"] = str(log_file)
    for item in setting or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise _fail(f"--set takes NAME=VALUE, not {item!r}")
        overrides[key.strip()] = value
    spider_args = {k: v for k, v in {"since": since, "until": until}.items() if v}
    results = _run_locked(names, overrides, spider_args, lock_file)
    _print_results(results)
    raise typer.Exit(_exit_status(results))


def _exit_status(results: list[Any]) -> int:
    """0 all finished; 130 interrupted (Ctrl-C: what was scraped is committed); 1 a
    source failed or stopped early (a person should look)."""
    if any(r.finish_reason == "shutdown" for r in results):
        return 130
    return 0 if all(r.status == "finished" for r in results) else 1


def _run_locked(
    names: list[str],
    overrides: dict[str, Any],
    spider_args: dict[str, Any] | None = None,
    lock_file: Path | None = None,
) -> list[Any]:
    """Run the crawls holding the database's crawl lock; exit 75 if another run holds it."""
    from aggregator.crawl import run_crawls
    from aggregator.crawl.lock import (
        EXIT_LOCKED,
        CrawlLock,
        LockedError,
        PgSourceLocks,
        SourceLocks,
        source_locks,
    )
    from aggregator.storage.engine import storage_disabled

    url = overrides["AGGREGATOR_DB_URL"]
    # Without storage there is nothing shared to protect, unless a lock file is named.
    engine = None if storage_disabled(url) else _engine(url, write=True)  # now, not mid-crawl
    lock: CrawlLock | SourceLocks | PgSourceLocks | None = (
        CrawlLock(lock_file) if lock_file else source_locks(url, names) if engine else None
    )
    try:
        if lock is not None:
            lock.acquire()
    except LockedError as exc:
        typer.echo(f"aggregator: {exc}", err=True)
        if engine is not None:
            from aggregator.storage.runs import RunRecorder

            RunRecorder(engine).refused(names, str(exc))
        raise typer.Exit(EXIT_LOCKED) from None
    finally:
        if engine is not None:
            engine.dispose()  # the crawl's pipelines open their own
    try:
        return run_crawls(names, overrides=overrides, spider_args=spider_args)
    finally:
        if lock is not None:
            lock.release()


def _print_results(results: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Crawl results")
    cols = ("source", "result", "pages", "new", "updated", "skipped", "dropped", "errors")
    for col in cols:
        table.add_column(col, justify="left" if col in ("source", "result") else "right")
    for r in results:
        table.add_row(
            r.source,
            r.status,
            str(r.stat("response_received_count")),
            str(r.articles_new),
            str(r.articles_updated),
            str(r.stat("aggregator/skipped/fresh")),
            str(r.dropped),
            str(r.errors),
        )
    Console(stderr=True).print(table)


# -- queries -------------------------------------------------------------------------------


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words to find in title or body (all required).")],
    source: SourceOpt = None,
    author: AuthorOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    limit: LimitOpt = 20,
    db: DbOpt = None,
    as_json: JsonOpt = False,
    by_story: Annotated[
        bool, typer.Option("--by-story", help="One line per story, its matching articles under it.")
    ] = False,
) -> None:
    """Full-text search over titles and bodies, best matches first."""
    from aggregator.storage import Query, article_dict

    q = Query(_engine(db))
    rows = q.search(query, _filters(source, author, since, until, limit))
    if by_story:
        groups: dict[Any, list[Any]] = {}
        for a in rows:  # best match first: a story ranks by its best article
            groups.setdefault(a.story_id or f"article-{a.id}", []).append(a)
        if as_json:
            _print_jsonl(
                [
                    {
                        "story_id": k if isinstance(k, int) else None,
                        "articles": [article_dict(a) for a in group],
                    }
                    for k, group in groups.items()
                ]
            )
            return
        from rich.console import Console

        console = Console()
        for k, group in groups.items():
            label = f"story:{k}" if isinstance(k, int) else "no story"
            console.print(f"[bold]{group[0].title}[/bold] [dim]({label}, {len(group)} match)[/dim]")
            for a in group:
                console.print(f"   {a.source or '-'}: {a.title}  [dim]{a.canonical_url}[/dim]")
        return
    if as_json:
        _print_jsonl([article_dict(a) for a in rows])
    else:
        _article_table(rows, f"{len(rows)} result(s) for {query!r}")


@app.command()
def latest(
    source: SourceOpt = None,
    author: AuthorOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    limit: LimitOpt = 20,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The most recently published articles."""
    from aggregator.storage import Query, article_dict

    rows = Query(_engine(db)).latest(_filters(source, author, since, until, limit))
    if as_json:
        _print_jsonl([article_dict(a) for a in rows])
    else:
        _article_table(rows, "Latest articles")


@app.command()
def show(
    key: Annotated[str, typer.Argument(help="Article id or URL, or story:ID for a story.")],
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One article with every field, or a story (story:ID) with its articles."""
    from aggregator.storage import Query, article_dict

    if key.startswith("story:"):
        _show_story(key.removeprefix("story:"), db, as_json)
        return
    a = Query(_engine(db)).get(key)
    if a is None:
        raise _fail(f"no article with id or URL {key!r}", 1)
    d = article_dict(a)
    if as_json:
        _print_jsonl([d])
        return
    from rich.console import Console

    from aggregator.normalize.dates import format_date

    console = Console()
    console.print(f"[bold]{a.title}[/bold]")
    if a.subtitle:
        console.print(f"[italic]{a.subtitle}[/italic]")
    for k, v in d.items():
        if k in ("title", "subtitle", "body"):
            continue
        when = getattr(a, k) if k in ("published", "modified") else None
        if when is not None:
            # As finely as the page gave it ("2022-06-06"), then the stored instant.
            shown = format_date(when, getattr(a, f"{k}_precision"), getattr(a, f"{k}_offset"))
            v = f"{shown} ({v})"
        console.print(f"[dim]{k}:[/dim] {v}")
    console.print()
    console.print(a.body)


def _show_story(ident: str, db: str | None, as_json: bool) -> None:
    from aggregator.storage.query import StoryQuery

    if not (ident.isascii() and ident.isdigit()):  # "²".isdigit() too; int() refuses it
        raise _fail(f"story ids are numbers: story:12, not story:{ident}")
    story_id = int(ident)
    engine = _stories_engine(db)
    # Beyond the id column's range (INTEGER on PostgreSQL, 64 bits on SQLite) there is no
    # story, and the database would refuse the number.
    top = MAX_INT32 if engine.dialect.name == "postgresql" else MAX_ROWS
    view = StoryQuery(engine).story(story_id) if story_id <= top else None
    if view is None:
        raise _fail(f"no story {ident}", 1)
    if as_json:
        _print_jsonl([view.to_dict()])
        return
    _story_table([view], f"story:{view.story.id}", details=True)


def _stories_engine(db: str | None) -> Any:
    """The engine, with the articles in no story yet indexed first; on a database that
    takes no writes, the stories as they are, and a warning."""
    from sqlalchemy.exc import SQLAlchemyError

    from aggregator.aggregate.index import catch_up
    from aggregator.sources import source_categories
    from aggregator.storage.engine import db_url, failure_reason, read_only, safe_url

    engine = _engine(db)
    try:
        catch_up(engine, source_categories())
    except SQLAlchemyError as exc:
        url = db_url(db)
        reason = failure_reason(exc, url)
        if not read_only(exc):
            raise _fail(f"database {safe_url(url)}: {reason}") from exc
        typer.echo(
            "aggregator: warning: some articles are in no story yet, and indexing them "
            f"writes: {reason}",
            err=True,
        )
    return engine


def _story_table(views: list[Any], title: str, *, details: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=title)
    for col in ("story", "outlets", "articles", "first seen", "category", "headline"):
        table.add_column(col, justify="right" if col in ("outlets", "articles") else "left")
    for v in views:
        s = v.story
        table.add_row(
            f"story:{s.id}",
            str(s.outlet_count),
            str(s.article_count),
            s.first_seen.strftime("%Y-%m-%d %H:%M"),
            s.category or "-",
            _short(s.headline, 60),
        )
    console.print(table)
    if details:
        for v in views:
            for a in v.articles:
                when = _when(a)
                copy = f" (copy of {a.duplicate_of})" if a.duplicate_of else ""
                console.print(f"  {when}  {a.source or '-'}: {a.title}{copy}")
                console.print(f"      [dim]{a.canonical_url}[/dim]")


@app.command()
def stories(
    since: SinceOpt = None,
    category: Annotated[
        str | None, typer.Option("--category", help="film, tv, music, games, celebrity...")
    ] = None,
    min_sources: Annotated[
        int,
        typer.Option(
            "--min-sources", min=1, max=MAX_INT32, help="Only stories from N or more outlets."
        ),
    ] = 1,
    limit: LimitOpt = 20,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Stories (one event, every outlet that reported it), most outlets and newest first."""
    from aggregator.normalize.dates import parse_since
    from aggregator.storage.query import StoryQuery

    try:
        since_dt = parse_since(since, datetime.now(timezone.utc))
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    views = StoryQuery(_stories_engine(db)).stories(
        since=since_dt, category=category, min_sources=min_sources, limit=limit
    )
    if as_json:
        _print_jsonl([v.to_dict() for v in views])
    else:
        _story_table(views, f"{len(views)} stor{'y' if len(views) == 1 else 'ies'}")


@app.command()
def feed(
    fmt: Annotated[str, typer.Option("--format", help="atom, rss or jsonfeed.")] = "atom",
    since: SinceOpt = None,
    category: Annotated[str | None, typer.Option("--category", help="Only this category.")] = None,
    min_sources: Annotated[int, typer.Option("--min-sources", min=1, max=MAX_INT32)] = 1,
    limit: LimitOpt = 50,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File to write.")] = None,
    base_url: Annotated[
        str, typer.Option("--base-url", help="Where the feed will be published.")
    ] = "https://example.invalid/entertainment-news",
    db: DbOpt = None,
) -> None:
    """A feed of stories (one entry per story, linking every outlet's article)."""
    from aggregator.aggregate.feeds import FORMATS, FeedArticle, FeedStory, render
    from aggregator.normalize.dates import parse_since
    from aggregator.storage.query import StoryQuery

    if fmt not in FORMATS:
        raise _fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    try:
        since_dt = parse_since(since, datetime.now(timezone.utc))
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    views = StoryQuery(_stories_engine(db)).stories(
        since=since_dt, category=category, min_sources=min_sources, limit=limit
    )
    views.sort(key=lambda v: (v.story.updated, v.story.id), reverse=True)  # feeds: newest first
    stories_out = [
        FeedStory(
            id=v.story.id,
            headline=v.story.headline,
            first_seen=v.story.first_seen,
            updated=v.story.updated,
            category=v.story.category,
            articles=[
                FeedArticle(
                    a.title,
                    a.canonical_url,
                    a.source,
                    a.site_name,
                    a.published,
                    a.duplicate_of is not None,
                    a.published_precision,
                    a.published_offset,
                )
                for a in v.articles
            ],
        )
        for v in views
    ]
    ext = {"atom": "atom.xml", "rss": "rss.xml", "jsonfeed": "feed.json"}[fmt]
    text = render(
        stories_out,
        fmt,
        title="Entertainment news: stories",
        home=base_url,
        feed_url=f"{base_url.rstrip('/')}/{ext}",
    )
    if out:
        with _output(out) as fh:
            fh.write(text)
        typer.echo(
            f"wrote {len(stories_out)} stor{'y' if len(stories_out) == 1 else 'ies'} to {out}",
            err=True,
        )
    else:
        sys.stdout.write(text + "\n")


@app.command()
def stats(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Per source: article count, newest and oldest, missing-field rates."""
    from aggregator.storage import Query

    rows = Query(_engine(db)).stats()
    if as_json:
        _print_jsonl(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Articles per source")
    for col in ("source", "articles", "newest", "oldest", "missing (share of articles)"):
        table.add_column(col)
    for r in rows:
        miss = ", ".join(f"{k} {v:.0%}" for k, v in r["missing"].items() if v)
        table.add_row(
            str(r["source"]),
            str(r["articles"]),
            str(r["newest"] or "-")[:16],
            str(r["oldest"] or "-")[:16],
            miss or "none",
        )
    Console().print(table)


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="File to write (default: stdout).")
    ] = None,
    source: SourceOpt = None,
    author: AuthorOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    db: DbOpt = None,
) -> None:
    """Export articles (every field) as JSON Lines or CSV."""
    import csv

    from aggregator.storage import Query, article_dict
    from aggregator.storage.models import Article

    if fmt not in ("jsonl", "csv"):
        raise _fail(f"--format must be jsonl or csv, not {fmt!r}")
    q = Query(_engine(db))
    rows = q.iter_all(_filters(source, author, since, until, None))
    n = 0
    with _output(out) as fh:
        if fmt == "jsonl":
            for a in rows:
                fh.write(json.dumps(article_dict(a), ensure_ascii=False) + "\n")
                n += 1
        else:
            columns = [c.key for c in Article.__table__.columns]
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            for a in rows:
                d = article_dict(a)
                d["authors"] = "; ".join(d["authors"] or [])
                d["tags"] = "; ".join(d["tags"] or [])
                writer.writerow(d)
                n += 1
    typer.echo(f"exported {n} article(s)", err=True)


@app.command()
def sources(
    sources_file: Annotated[
        Path | None, typer.Option("--sources", help="Source registry file.")
    ] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The registered sources, with category and last crawl result."""
    from aggregator.sources import SourceError, load_sources
    from aggregator.storage.runs import RunRecorder

    try:
        registry = load_sources(str(sources_file) if sources_file else None)
    except SourceError as exc:
        raise _fail(str(exc)) from exc
    last: dict[str, Any] = {}
    for past in RunRecorder(_engine(db)).history(limit=1000):
        last.setdefault(past.source, past)
    rows: list[dict[str, Any]] = []
    for s in registry.values():
        run = last.get(s.name)
        rows.append(
            {
                "name": s.name,
                "title": s.title,
                "category": s.category,
                "language": s.language,
                "domains": list(s.domains),
                "feeds": list(s.feeds),
                "sitemaps": list(s.sitemaps),
                "listings": list(s.listings),
                "last_run": None
                if run is None
                else {
                    "started_at": run.started_at.isoformat(),
                    "status": run.status,
                    "new": run.new,
                    "updated": run.updated,
                    "errors": run.errors,
                },
            }
        )
    if as_json:
        _print_jsonl(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rows)} source(s)")
    for col in ("name", "title", "category", "last crawl"):
        table.add_column(col)
    for r in rows:
        lr = r["last_run"]
        desc = (
            "never"
            if lr is None
            else f"{lr['started_at'][:16]} {lr['status']} (+{lr['new']} new, {lr['errors']} errors)"
        )
        table.add_row(r["name"], r["title"], r["category"], desc)
    Console().print(table)


@app.command()
def runs(db: DbOpt = None, limit: LimitOpt = 20, as_json: JsonOpt = False) -> None:
    """Crawl history: one row per source per run."""
    from aggregator.storage.runs import RunRecorder

    history = RunRecorder(_engine(db)).history(limit)
    rows: list[dict[str, Any]] = [
        {
            "id": r.id,
            "source": r.source,
            "started_at": r.started_at.isoformat(),
            "finished_at": r.finished_at.isoformat() if r.finished_at else None,
            "status": r.status,
            "pages": r.pages,
            "new": r.new,
            "updated": r.updated,
            "dropped": r.dropped,
            "errors": r.errors,
            "details": r.details,
        }
        for r in history
    ]
    if as_json:
        _print_jsonl(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Crawl runs")
    for col in (
        "id",
        "source",
        "started",
        "status",
        "pages",
        "new",
        "updated",
        "dropped",
        "errors",
    ):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["source"],
            r["started_at"][:19],
            r["status"],
            str(r["pages"]),
            str(r["new"]),
            str(r["updated"]),
            str(r["dropped"]),
            str(r["errors"]),
        )
    Console().print(table)


# -- extraction ----------------------------------------------------------------------------


@app.command()
def extract(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Saved pages (.html or .html.gz).")
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help="The URL the page(s) came from.")] = None,
    manifest: Annotated[
        Path | None, typer.Option("--manifest", help="JSON Lines of {path, url, fetched_at}.")
    ] = None,
) -> None:
    """Extract saved pages and print one JSON line per page (path plus every item field).

    A page that cannot be extracted (missing, corrupt, over the crawl's 8 MiB size limit
    as stored or gunzipped, too complex) gets a line with its "error" instead, and one
    line on stderr; the pages after it are extracted. Exit status: 0 every page was
    extracted, 1 some page failed, 2 a usage error (no pages, unreadable manifest).
    """
    from aggregator.extract.batch import PageSpec, read_manifest, run

    specs: list[PageSpec] = []
    for f in files or []:
        specs.append(PageSpec(f, url or f.resolve().as_uri()))
    if manifest is not None:
        try:
            specs.extend(read_manifest(manifest))
        except (OSError, ValueError) as exc:
            raise _fail(str(exc)) from exc
    if not specs:
        raise _fail("give saved pages or --manifest PAGES.jsonl")
    _ok, failed = run(specs)
    if failed:
        raise typer.Exit(1)


# -- demo ----------------------------------------------------------------------------------


@app.command()
def demo(db: DbOpt = None) -> None:
    """Crawl the bundled fixture site (offline) through the real spiders and pipelines."""
    from aggregator.mirror import MirrorServer
    from aggregator.sources import load_sources
    from aggregator.storage import Filters, Query
    from aggregator.storage.engine import db_url, safe_url, storage_disabled

    if storage_disabled(_raw_db(db)):
        raise _fail("the demo stores what it crawls: name a database, not none")
    try:
        server = MirrorServer()
    except FileNotFoundError as exc:
        raise _fail(str(exc)) from exc
    with server:
        hosts = set(server.hosts())
        names = [
            s.name
            for s in load_sources().values()
            if any(h == d or h.endswith("." + d) for h in hosts for d in s.domains)
        ]
        url = db_url(db)
        typer.echo(
            f"Demo: serving {len(hosts)} site(s) on 127.0.0.1:{server.port}; "
            f"crawling {', '.join(names)} into {safe_url(url)}",
            err=True,
        )
        overrides = {
            "AGGREGATOR_HOST_MAP": server.host_map(),
            "AGGREGATOR_DB_URL": url,
            "AUTOTHROTTLE_ENABLED": False,
            "DOWNLOAD_DELAY": 0,
            "LOG_LEVEL": "WARNING",
        }
        results = _run_locked(names, overrides)
    _print_results(results)
    rows = Query(_engine(url)).latest(Filters(limit=20))
    _article_table(rows, f"Collected articles (newest 20) in {safe_url(url)}")
    raise typer.Exit(_exit_status(results))


# -- database schema -----------------------------------------------------------------------

db_app = typer.Typer(
    help="The database schema: upgrade it to this version's, show its revision.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")


def _schema_engine(db: str | None, *, must_exist: bool) -> tuple[Any, str]:
    """An engine that leaves the schema alone, and the URL to show (password masked)."""
    from aggregator.storage.engine import (
        StorageError,
        connect,
        db_url,
        safe_url,
        sqlite_file,
        storage_disabled,
    )

    if storage_disabled(_raw_db(db)):
        raise _fail("storage is off (--db none or AGGREGATOR_DB_URL=none): name a database")
    url = db_url(db)
    shown = safe_url(url)
    try:
        path = sqlite_file(url)
        if must_exist and path is not None and not path.exists():
            raise _fail(f"no database at {path}", 1)
        return connect(url), shown
    except (StorageError, ValueError, ImportError) as exc:
        raise _fail(f"cannot open database {shown}: {exc}") from exc


def _schema_failure(engine: Any, shown: str, exc: Exception) -> typer.Exit:
    """The reason in one line: the driver's own (drivers never echo a password), not
    SQLAlchemy's wrapper with its statement and documentation link; for a SQLite file
    that is read-only, or in a read-only directory, what to do."""
    from aggregator.storage.engine import failure_reason

    return _fail(f"database {shown}: {failure_reason(exc, engine.url)}")


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None) -> None:
    """Upgrade the schema to this version's, creating it in a new database.

    Every command does this on start; this one says what it did. A database made before
    schema versions existed is recognized by its tables and stamped first.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from aggregator.storage.engine import StorageError
    from aggregator.storage.migrate import upgrade

    engine, shown = _schema_engine(db, must_exist=False)
    try:
        result = upgrade(engine)
    except (SQLAlchemyError, OSError, StorageError) as exc:
        raise _schema_failure(engine, shown, exc) from exc
    finally:
        engine.dispose()
    typer.echo(f"{shown}: {result.describe()}")


@db_app.command("reindex")
def db_reindex(
    db: DbOpt = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Rebuild the whole aggregation index from scratch.")
    ] = False,
) -> None:
    """Index stored articles for near-duplicates and stories (those not indexed yet)."""
    from sqlalchemy.exc import SQLAlchemyError

    from aggregator.aggregate.index import catch_up
    from aggregator.sources import source_categories
    from aggregator.storage.engine import db_url, failure_reason, safe_url

    engine = _engine(db, write=True)
    try:
        n = catch_up(engine, source_categories(), everything=everything)
    except SQLAlchemyError as exc:
        url = db_url(db)
        raise _fail(f"database {safe_url(url)}: {failure_reason(exc, url)}") from exc
    typer.echo(f"indexed {n} article(s)")


@db_app.command("current")
def db_current(db: DbOpt = None) -> None:
    """Print the database's schema revision; changes nothing.

    "none" means an empty database, or one made before schema versions existed.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from aggregator.storage.engine import StorageError
    from aggregator.storage.migrate import HEAD, current_revision

    engine, shown = _schema_engine(db, must_exist=True)
    try:
        revision = current_revision(engine)
    except (SQLAlchemyError, OSError, StorageError) as exc:
        raise _schema_failure(engine, shown, exc) from exc
    finally:
        engine.dispose()
    typer.echo(revision or "none")
    if revision != HEAD:
        typer.echo(
            f"aggregator: this version's schema is revision {HEAD}; `aggregator db upgrade` "
            "(or any command) brings the database there",
            err=True,
        )


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


if __name__ == "__main__":
    main()
