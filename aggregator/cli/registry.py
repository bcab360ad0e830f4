"""The registry and the crawl history: ``sources`` and ``runs``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from aggregator.cli.app import DbOpt, JsonOpt, LimitOpt, app, fail
from aggregator.cli.database import missing_sqlite_file, open_engine
from aggregator.cli.output import Column, output_rows, plural


def _last_crawl(row: dict[str, Any]) -> str:
    lr = row["last_run"]
    if lr is None:
        return "never"
    return f"{lr['started_at'][:16]} {lr['status']} (+{lr['new']} new, {lr['errors']} errors)"


SOURCE_COLUMNS = (
    Column("name", lambda r: r["name"]),
    Column("title", lambda r: r["title"]),
    Column("category", lambda r: r["category"]),
    Column("last crawl", _last_crawl),
)


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
        raise fail(str(exc)) from exc
    last: dict[str, Any] = {}
    missing = missing_sqlite_file(db)
    if missing is not None:
        # The registry is this command's answer; a database only adds the last crawls,
        # and listing the outlets must not create one.
        typer.echo(
            f"aggregator: no database at {missing.absolute()} yet: no crawl history", err=True
        )
    else:
        for past in RunRecorder(open_engine(db)).history(limit=1000):
            last.setdefault(past.source, past)
    rows = [
        {**s.to_dict(), "last_run": run.summary() if (run := last.get(s.name)) else None}
        for s in registry.values()
    ]
    output_rows(rows, SOURCE_COLUMNS, title=plural(len(rows), "source"), as_json=as_json)


RUN_COLUMNS = (
    Column("id", lambda r: str(r.id)),
    Column("source", lambda r: r.source),
    Column("started", lambda r: r.started_at.isoformat()[:19]),
    Column("status", lambda r: r.status),
    Column("pages", lambda r: str(r.pages)),
    Column("new", lambda r: str(r.new)),
    Column("updated", lambda r: str(r.updated)),
    Column("dropped", lambda r: str(r.dropped)),
    Column("errors", lambda r: str(r.errors)),
)


@app.command()
def runs(db: DbOpt = None, limit: LimitOpt = 20, as_json: JsonOpt = False) -> None:
    """Crawl history: one row per source per run."""
    from aggregator.storage.runs import RunRecorder

    history = RunRecorder(open_engine(db)).history(limit)
    output_rows(
        history,
        RUN_COLUMNS,
        title="Crawl runs",
        as_json=as_json,
        to_dict=lambda r: r.to_dict(),
        empty="no crawl runs yet",
    )
