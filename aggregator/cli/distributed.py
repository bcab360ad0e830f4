"""Distributed crawling: ``aggregator worker`` and the coordinator side of
``aggregator crawl --redis`` (see :mod:`aggregator.crawl.distributed`)."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from aggregator.cli.app import DbOpt, app, fail
from aggregator.cli.database import raw_db

# Settings a run passes on to its workers: what decides what is crawled and how (the
# database, the log and the progress lines are each process's own).
_LOCAL = ("AGGREGATOR_DB_URL", "LOG_LEVEL", "LOG_FILE", "AGGREGATOR_PROGRESS")


def _postgres_url(db: str | None, option: str) -> str:
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


def _redis(url: str) -> Any:
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
        Fleet,
        RunBusyError,
        RunInfo,
        fleet_settings,
        member_id,
    )
    from aggregator.crawl.lock import EXIT_LOCKED
    from aggregator.storage.url import DatabaseURL

    url = _postgres_url(overrides.get("AGGREGATOR_DB_URL"), "--redis")
    client = _redis(redis_url)
    prefix = str(overrides.get("AGGREGATOR_REDIS_PREFIX") or _env_prefix())
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
        fleet.beat(float(overrides.get("AGGREGATOR_FLEET_TTL") or 30.0))
        try:
            fleet.begin_run(info)
        except RunBusyError as exc:
            typer.echo(f"aggregator: {exc}", err=True)
            raise typer.Exit(EXIT_LOCKED) from None
        try:
            yield
        finally:
            fleet.end_run(info)

    return session()


def _env_prefix() -> str:
    import os

    from aggregator.crawl.distributed import DEFAULT_PREFIX

    return os.environ.get("AGGREGATOR_REDIS_PREFIX") or DEFAULT_PREFIX


@app.command()
def worker(
    redis_url: Annotated[
        str,
        typer.Option(
            "--redis",
            envvar="AGGREGATOR_REDIS_URL",
            help="The Redis of the run to join (redis://host:6379/0).",
        ),
    ],
    db: DbOpt = None,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            help="Keep going: after a run, wait for the next one (a long-running fleet).",
        ),
    ] = False,
    wait: Annotated[
        float,
        typer.Option("--wait", help="Seconds to wait for a run to begin (without --follow)."),
    ] = 60.0,
    log_file: Annotated[
        Path | None, typer.Option("--log-file", help="Write the crawl log (INFO) here.")
    ] = None,
    log_level: Annotated[
        str | None,
        typer.Option("--log-level", help="DEBUG, INFO, WARNING, ERROR (default: WARNING)."),
    ] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="Extra Scrapy setting NAME=VALUE (repeatable)."),
    ] = None,
) -> None:
    """Join a distributed crawl (`aggregator crawl --redis`): take requests from the
    shared queue until the run is over, storing into the shared PostgreSQL database.

    The worker crawls the run's sources with no discovery of its own (the run was seeded
    once) and reports its figures to the run's record. Exit status: 0 when every source
    finished (or no run began within --wait seconds), 1 when one failed, 2 on a usage
    error.
    """
    from aggregator.crawl import run_crawls
    from aggregator.crawl.distributed import (
        DEFAULT_OUTAGE,
        WORKER,
        Fleet,
        WorkerResult,
        fleet_settings,
    )

    url = _postgres_url(db, "aggregator worker")
    client = _redis(redis_url)
    prefix = _env_prefix()
    local: dict[str, Any] = {}
    for item in setting or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise fail(f"--set takes NAME=VALUE, not {item!r}")
        local[key.strip()] = value
    fleet = Fleet(client, prefix)
    if follow:
        _follow(fleet, sys.argv[1:])
        return
    run = fleet.wait_for_run(wait)
    if run is None:
        typer.echo(f"aggregator: no run began within {wait:g}s; nothing to do", err=True)
        raise typer.Exit(0)
    level = log_level or ("INFO" if log_file else "WARNING")
    outage = float({**run.settings, **local}.get("AGGREGATOR_REDIS_OUTAGE") or DEFAULT_OUTAGE)
    overrides: dict[str, Any] = {
        **run.settings,
        **fleet_settings(redis_url, prefix, WORKER, outage),
        "LOG_LEVEL": level.upper(),
        "AGGREGATOR_DB_URL": url,
        "AGGREGATOR_PROGRESS": False,
        **local,
    }
    if log_file:
        overrides["LOG_FILE"] = str(log_file)
    typer.echo(
        f"Worker {fleet.member}: joining run {run.token} ({', '.join(run.sources)}) "
        f"coordinated by {run.coordinator}",
        err=True,
    )
    from aggregator.cli.crawling import exit_status, print_results

    try:
        crawled = run_crawls(run.sources, overrides=overrides, spider_args=run.spider_args)
    finally:
        fleet.retire()
    results = [WorkerResult(r.source, r.stats) for r in crawled]
    print_results(results)
    raise typer.Exit(exit_status(results))


def _follow(fleet: Any, argv: list[str]) -> None:
    """Run one worker process per run, for ever: a Scrapy process cannot start its
    reactor twice, so each run gets a fresh one."""
    args = [a for a in argv if a != "--follow"]
    last: str | None = None
    while True:
        run = fleet.wait_for_run(None, after=last)
        if run is None:  # pragma: no cover - waits for ever
            continue
        last = run.token
        cmd = [sys.executable, "-c", "from aggregator.cli import main; main()", *args]
        subprocess.run([*cmd, "--wait", "0"], check=False)
