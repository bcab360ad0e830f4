"""Crawling commands: ``crawl`` (the registry's outlets) and ``demo`` (the bundled site)."""

from __future__ import annotations

import secrets
import shlex
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer

from aggregator.cli.app import DbOpt, SettingOpt, SinceOpt, UntilOpt, app, fail, parse_settings
from aggregator.cli.database import open_engine, raw_db
from aggregator.cli.output import Column, output_articles, plural, print_table


def _skipped_fresh(result: Any) -> int:
    # Imported here: the crawl wing loads Scrapy and SQLAlchemy, which `aggregator extract`
    # (the same process start-up) never needs.
    from aggregator.crawl.stats import SKIPPED_FRESH

    return int(result.stat(SKIPPED_FRESH))


RESULT_COLUMNS = (
    Column("source", lambda r: r.source),
    Column("result", lambda r: r.status),
    Column("pages", lambda r: str(r.stat("response_received_count")), "right"),
    Column("new", lambda r: str(r.articles_new), "right"),
    Column("updated", lambda r: str(r.articles_updated), "right"),
    Column("skipped", lambda r: str(_skipped_fresh(r)), "right"),
    Column("dropped", lambda r: str(r.dropped), "right"),
    Column("errors", lambda r: str(r.errors), "right"),
)


def print_results(results: list[Any]) -> None:
    """The crawl's per-source results on standard output (what the command produces:
    cron mails it only if the crontab line keeps it), and one line on stderr per source
    that did not finish, so a run that needs a person is seen whatever happens to stdout."""
    print_table(results, RESULT_COLUMNS, title="Crawl results")
    for r in results:
        if r.status != "finished":
            typer.echo(f"aggregator: {r.source}: {r.status} ({failure_summary(r)})", err=True)


def failure_summary(result: Any) -> str:
    """``0 pages, 4 errors: DownloadConnectionRefusedError 3, robots_txt 1``."""
    errors = result.figures.details.get("errors", {})
    top = sorted(errors.items(), key=lambda e: (-e[1], e[0]))[:4]  # the most frequent kinds
    kinds = ", ".join(f"{k} {n}" for k, n in top)
    pages = result.stat("response_received_count")
    return f"{pages} pages, {result.errors} errors" + (f": {kinds}" if kinds else "")


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
            "--log-file, WARNING to the terminal, ERROR there with --quiet).",
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
    setting: SettingOpt = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="Only failures (stderr) and the results table (stdout): no progress "
            "lines, no log on the terminal below ERROR (a --log-file still gets INFO).",
        ),
    ] = False,
    redis_url: Annotated[
        str | None,
        typer.Option(
            "--redis",
            envvar="AGGREGATOR_REDIS_URL",
            help="Distributed mode: share the run's requests through this Redis "
            "(redis://host:6379/0) with `aggregator worker` processes; needs PostgreSQL.",
        ),
    ] = None,
) -> None:
    """Crawl sources into the database, all of them in one process (or, with --redis,
    seed a run that `aggregator worker` processes on any machine crawl with this one).

    The results table goes to standard output; a source that did not finish is also one
    line on stderr. Exit status: 0 when every source finished, 1 when a source failed
    (nothing could be fetched) or stopped early, 2 on a usage error, 75 when another
    crawl holds a source's lock, 130 when interrupted (Ctrl-C; what was scraped is
    committed).
    """
    import sys

    from aggregator.cli.database import since_option
    from aggregator.sources import SourceError, load_sources
    from aggregator.storage.url import resolve, storage_disabled

    since_option(since)  # a bad --since/--until is exit 2 before anything starts
    since_option(until)
    try:
        registry = load_sources(str(sources_file) if sources_file else None)
    except SourceError as exc:
        raise fail(str(exc)) from exc
    names = list(registry) if all_sources else list(sources or [])
    if not names:
        raise fail("name at least one source, or use --all (see `aggregator sources`)")
    unknown = [n for n in names if n not in registry]
    if unknown:
        noun = "source" if len(unknown) == 1 else "sources"
        raise fail(f"unknown {noun}: {', '.join(unknown)}; known: {', '.join(registry)}")
    interactive = sys.stderr.isatty() and log_file is None and not quiet
    level = log_level or ("INFO" if log_file else "ERROR" if quiet else "WARNING")
    overrides: dict[str, Any] = {
        "LOG_LEVEL": level.upper(),
        "AGGREGATOR_DB_URL": "none" if storage_disabled(raw_db(db)) else resolve(db),
        "AGGREGATOR_PROGRESS": interactive,
        "AGGREGATOR_REFRESH": refresh,
    }
    if revisit:
        overrides["AGGREGATOR_REVISIT"] = revisit
    if sources_file:
        overrides["AGGREGATOR_SOURCES"] = str(sources_file)
    if log_file:
        overrides["LOG_FILE"] = str(log_file)
    overrides.update(parse_settings(setting))
    spider_args = {k: v for k, v in {"since": since, "until": until}.items() if v}
    session = None
    if redis_url:
        session = coordinator_session(redis_url, names, overrides, spider_args)
    results = run_locked(names, overrides, spider_args, lock_file, session)
    print_results(results)
    raise typer.Exit(exit_status(results))


def exit_status(results: list[Any]) -> int:
    """0 all finished; 130 interrupted (Ctrl-C: what was scraped is committed); 1 a
    source failed or stopped early (a person should look)."""
    if any(r.finish_reason == "shutdown" for r in results):
        return 130
    return 0 if all(r.status == "finished" for r in results) else 1


def run_locked(
    names: list[str],
    overrides: dict[str, Any],
    spider_args: dict[str, Any] | None = None,
    lock_file: Path | None = None,
    session: AbstractContextManager[None] | None = None,
) -> list[Any]:
    """Run the crawls holding the database's crawl lock; exit 75 if another run holds it.
    ``session``: entered once the locks are held, around the crawls (a distributed run's
    publication in Redis)."""
    from aggregator.crawl import run_crawls
    from aggregator.crawl.lock import (
        EXIT_LOCKED,
        CrawlLock,
        LockedError,
        PgSourceLocks,
        SourceLocks,
        source_locks,
    )
    from aggregator.storage.url import storage_disabled

    url = overrides["AGGREGATOR_DB_URL"]
    # Without storage there is nothing shared to protect, unless a lock file is named.
    engine = None if storage_disabled(url) else open_engine(url, write=True)  # now, not mid-crawl
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
        with session or nullcontext():
            return run_crawls(names, overrides=overrides, spider_args=spider_args)
    finally:
        if lock is not None:
            lock.release()


@app.command()
def demo(db: DbOpt = None) -> None:
    """Crawl the bundled fixture site (offline) through the real spiders and pipelines."""
    from aggregator.mirror import MirrorServer
    from aggregator.sources import load_sources
    from aggregator.storage import Filters, Query
    from aggregator.storage.engine import safe_url
    from aggregator.storage.url import resolve, storage_disabled

    if storage_disabled(raw_db(db)):
        raise fail("the demo stores what it crawls: name a database, not none")
    try:
        server = MirrorServer()
    except FileNotFoundError as exc:
        raise fail(str(exc)) from exc
    with server:
        hosts = set(server.hosts())
        names = [
            s.name for s in load_sources().values() if any(s.owns(f"https://{h}/") for h in hosts)
        ]
        url = resolve(db)
        typer.echo(
            f"Demo: serving {plural(len(hosts), 'site')} on 127.0.0.1:{server.port}; "
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
        results = run_locked(names, overrides)
    print_results(results)
    rows = Query(open_engine(url)).latest(Filters(limit=20))
    output_articles(rows, f"Collected articles (newest 20) in {safe_url(url)}")
    # As the user named the database (a password masked: it is on screen, not in a script).
    named = (safe_url(db) if "://" in db else shlex.quote(db)) if db else None
    browse = "aggregator serve" + (f" --db {named}" if named else "")
    typer.echo(f"Read them in a browser: {browse}  (then open http://127.0.0.1:8080/)", err=True)
    raise typer.Exit(exit_status(results))


# Settings a run passes on to its workers: what decides what is crawled and how (the
# database, the log and the progress lines are each process's own).
_LOCAL = ("AGGREGATOR_DB_URL", "LOG_LEVEL", "LOG_FILE", "AGGREGATOR_PROGRESS")


def postgres_url(db: str | None, option: str) -> str:
    """The database URL, or exit 2 unless it is PostgreSQL."""
    from aggregator.storage.url import DatabaseURL, resolve, storage_disabled

    if storage_disabled(raw_db(db)):
        raise fail(f"{option} stores into a shared database: name a PostgreSQL one, not none")
    url = resolve(db)
    if DatabaseURL.of(url).backend != "postgresql":
        raise fail(
            f"{option} needs a PostgreSQL database that every machine reaches (--db "
            f"postgresql+psycopg://...): {DatabaseURL.of(url).shown} is SQLite, which "
            "stays the single-machine default"
        )
    return url


def reach_redis(url: str) -> Any:
    from aggregator.crawl.distributed import connect

    try:
        return connect(url)  # no retries: a Redis that is not there now is said now
    except ConnectionError as exc:
        raise fail(str(exc), code=1) from None


def coordinator_session(
    redis_url: str,
    names: list[str],
    overrides: dict[str, Any],
    spider_args: dict[str, Any],
) -> AbstractContextManager[None]:
    """Check a distributed crawl's database and Redis now (exit 2 / 1), add the fleet's
    settings to ``overrides``, and return what publishes the run around the crawls."""
    from aggregator.crawl.distributed import (
        COORDINATOR,
        DEFAULT_OUTAGE,
        DEFAULT_TTL,
        Fleet,
        RunBusyError,
        RunInfo,
        fleet_settings,
        member_id,
    )
    from aggregator.crawl.lock import EXIT_LOCKED
    from aggregator.storage.url import DatabaseURL

    url = postgres_url(overrides.get("AGGREGATOR_DB_URL"), "--redis")
    client = reach_redis(redis_url)
    prefix = str(overrides.get("AGGREGATOR_REDIS_PREFIX") or redis_prefix())
    shared = {k: v for k, v in overrides.items() if k not in _LOCAL}
    outage = float(overrides.get("AGGREGATOR_REDIS_OUTAGE") or DEFAULT_OUTAGE)
    overrides.update(fleet_settings(redis_url, prefix, COORDINATOR, outage))
    member = member_id()
    info = RunInfo(
        token=secrets.token_hex(8),
        sources=list(names),
        spider_args=dict(spider_args),
        settings=shared,
        coordinator=member,
        database=DatabaseURL.of(url).shown,
    )
    fleet = Fleet(client, prefix, member)

    @contextmanager
    def session() -> Iterator[None]:
        begun = False
        try:
            with fleet.alive_meanwhile(float(overrides.get("AGGREGATOR_FLEET_TTL") or DEFAULT_TTL)):
                try:
                    fleet.begin_run(info)
                except RunBusyError as exc:
                    typer.echo(f"aggregator: {exc}", err=True)
                    raise typer.Exit(EXIT_LOCKED) from None
                begun = True
                yield
        finally:
            if begun:  # after the heartbeat's last beat: the run's keys all go
                fleet.end_run(info)

    return session()


def redis_prefix() -> str:
    import os

    from aggregator.crawl.distributed import DEFAULT_PREFIX

    return os.environ.get("AGGREGATOR_REDIS_PREFIX") or DEFAULT_PREFIX
