"""Read commands: search, latest, show, stories, feed, stats, export. They never write:
stories are indexed at the end of each crawl and by ``aggregator db reindex``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from aggregator.cli.app import (
    MAX_INT32,
    MAX_ROWS,
    AuthorOpt,
    DbOpt,
    JsonOpt,
    LimitOpt,
    SinceOpt,
    SourceOpt,
    UntilOpt,
    app,
    fail,
)
from aggregator.cli.database import filters, open_engine, since_option
from aggregator.cli.output import (
    ARTICLE_COLUMNS,
    Column,
    human,
    nothing,
    output_articles,
    output_file,
    output_rows,
    output_stories,
    plural,
    print_jsonl,
    print_line,
)


def _of_article(col: Column) -> Column:
    """``col`` (a column of articles) for search hits."""
    return Column(col.header, lambda hit: col.cell(hit.article), col.justify)


SEARCH_COLUMNS = (
    *(_of_article(c) for c in ARTICLE_COLUMNS[:4]),
    Column("snippet", lambda hit: hit.marked, marked=True),
)


@app.command()
def search(
    query: Annotated[
        str,
        typer.Argument(
            help='Words to find in title or body (all required); "a phrase", prefix*, '
            "OR between alternatives, -word to exclude."
        ),
    ],
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
    """Full-text search over titles and bodies, best matches first: words (all
    required), "a phrase", prefix*, this OR that, -excluded."""
    from aggregator.storage import Query, SearchSyntaxError
    from aggregator.storage.query import group_by_story, story_group_dict

    try:
        hits = Query(open_engine(db)).search_hits(
            query, filters(source, author, since, until, limit)
        )
    except SearchSyntaxError as exc:
        raise fail(f"cannot search for {query!r}: {exc}") from None
    rows = [hit.article for hit in hits]
    empty = f"no articles match {query!r}"
    if not by_story:
        title = f"{plural(len(rows), 'result')} for {query!r}"
        output_rows(
            hits,
            SEARCH_COLUMNS,
            title=title,
            as_json=as_json,
            to_dict=lambda h: h.to_dict(),
            empty=empty,
        )
        return
    groups = group_by_story(rows)  # best match first: a story ranks by its best article
    if as_json:
        print_jsonl(story_group_dict(story_id, group) for story_id, group in groups)
        return
    if not groups:
        nothing(empty)
    for story_id, group in groups:
        label = f"story:{story_id}" if story_id is not None else "no story"
        matches = plural(len(group), "match", "matches")
        print_line((group[0].title or "", "bold"), " ", (f"({label}, {matches})", "dim"))
        for a in group:
            print_line(f"   {a.source or '-'}: {a.title}  ", (a.canonical_url, "dim"))


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
    from aggregator.storage import Query

    rows = Query(open_engine(db)).latest(filters(source, author, since, until, limit))
    output_articles(rows, "Latest articles", as_json=as_json, empty="no articles match")


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
    a = Query(open_engine(db)).get(key)
    if a is None:
        raise fail(f"no article with id or URL {key!r}", 1)
    d = article_dict(a)
    if as_json:
        print_jsonl([d])
        return
    from aggregator.normalize.dates import format_date

    print_line((a.title or "", "bold"))
    if a.subtitle:
        print_line((a.subtitle, "italic"))
    for k, v in d.items():
        if k in ("title", "subtitle", "body"):
            continue
        when = getattr(a, k) if k in ("published", "modified") else None
        if when is not None:
            # As finely as the page gave it ("2022-06-06"), then the stored instant.
            shown = format_date(when, getattr(a, f"{k}_precision"), getattr(a, f"{k}_offset"))
            v = f"{shown} ({v})"
        print_line((f"{k}:", "dim"), f" {human(v)}")
    print_line()
    for line in (a.body or "").splitlines():
        print_line(line)


def _show_story(ident: str, db: str | None, as_json: bool) -> None:
    from aggregator.storage.query import StoryQuery

    if not (ident.isascii() and ident.isdigit()):  # "²".isdigit() too; int() refuses it
        raise fail(f"story ids are numbers: story:12, not story:{ident}")
    story_id = int(ident)
    engine = _stories_engine(db)
    # Beyond the id column's range (INTEGER on PostgreSQL, 64 bits on SQLite) there is no
    # story, and the database would refuse the number.
    top = MAX_INT32 if engine.dialect.name == "postgresql" else MAX_ROWS
    view = StoryQuery(engine).story(story_id) if story_id <= top else None
    if view is None:
        raise fail(f"no story {ident}", 1)
    output_stories([view], f"story:{view.story.id}", as_json=as_json, details=True)


def _stories_engine(db: str | None) -> Any:
    """The engine, and a warning when some stored articles are in no story yet: this
    command only reads, and indexing them is ``aggregator db reindex``'s (a crawl does it
    at its end)."""
    from aggregator.storage.query import StoryQuery

    engine = open_engine(db)
    missing = StoryQuery(engine).unindexed()
    if missing:
        typer.echo(
            f"aggregator: warning: some articles are in no story yet ({missing}); "
            "`aggregator db reindex` indexes them",
            err=True,
        )
    return engine


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
    from aggregator.storage.query import StoryQuery

    since_dt = since_option(since)
    views = StoryQuery(_stories_engine(db)).stories(
        since=since_dt, category=category, min_sources=min_sources, limit=limit
    )
    title = plural(len(views), "story", "stories")
    output_stories(views, title, as_json=as_json, empty="no stories match")


BASE_URL_ENV = "AGGREGATOR_BASE_URL"


def _base_url(value: str | None) -> str:
    """The feed's published address, or a usage error saying what to pass: a feed's
    self link and home page must be where readers fetch it, so there is no default."""
    from urllib.parse import urlsplit

    if not value or not value.strip():
        raise fail(
            "a feed needs the address it is published at: pass --base-url "
            f"https://your.site/news (or set {BASE_URL_ENV})"
        )
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise fail(f"--base-url must be an http(s) address such as https://your.site/news, "
                   f"not {value!r}")  # fmt: skip
    return value.strip()


@app.command()
def feed(
    fmt: Annotated[str, typer.Option("--format", help="atom, rss or jsonfeed.")] = "atom",
    since: SinceOpt = None,
    category: Annotated[str | None, typer.Option("--category", help="Only this category.")] = None,
    min_sources: Annotated[
        int,
        typer.Option(
            "--min-sources", min=1, max=MAX_INT32, help="Only stories from N or more outlets."
        ),
    ] = 1,
    limit: LimitOpt = 50,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File to write.")] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            envvar=BASE_URL_ENV,
            show_envvar=True,
            help="Where the feed will be published (https://...): its home and self links.",
        ),
    ] = None,
    db: DbOpt = None,
) -> None:
    """A feed of stories (one entry per story, linking every outlet's article)."""
    from aggregator.aggregate.feeds import FILE_NAMES, FORMATS, feed_stories, render
    from aggregator.storage.query import StoryQuery

    if fmt not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    home = _base_url(base_url)
    since_dt = since_option(since)
    views = StoryQuery(_stories_engine(db)).stories(
        since=since_dt, category=category, min_sources=min_sources, limit=limit
    )
    entries = feed_stories(views)
    text = render(
        entries,
        fmt,
        title="Entertainment news: stories",
        home=home,
        feed_url=f"{home.rstrip('/')}/{FILE_NAMES[fmt]}",
    )
    if out:
        with output_file(out) as fh:
            fh.write(text)
        typer.echo(f"wrote {plural(len(entries), 'story', 'stories')} to {out}", err=True)
    else:
        with output_file(None) as fh:
            fh.write(text + "\n")


STATS_COLUMNS = (
    Column("source", lambda r: str(r["source"])),
    Column("articles", lambda r: str(r["articles"])),
    Column("newest", lambda r: str(r["newest"] or "-")[:16]),
    Column("oldest", lambda r: str(r["oldest"] or "-")[:16]),
    Column(
        "missing (share of articles)",
        lambda r: ", ".join(f"{k} {v:.0%}" for k, v in r["missing"].items() if v) or "none",
    ),
)


@app.command()
def stats(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Per source: article count, newest and oldest, missing-field rates."""
    from aggregator.storage import Query

    rows = Query(open_engine(db)).stats()
    output_rows(
        rows,
        STATS_COLUMNS,
        title="Articles per source",
        as_json=as_json,
        empty="no articles stored yet",
    )


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
        raise fail(f"--format must be jsonl or csv, not {fmt!r}")
    q = Query(open_engine(db))
    rows = q.iter_all(filters(source, author, since, until, None))
    n = 0
    with output_file(out) as fh:
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
    typer.echo(f"exported {plural(n, 'article')}", err=True)
