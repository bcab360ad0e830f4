"""Distributed crawling: ``aggregator worker``, which joins a run that ``aggregator crawl
--redis`` (:func:`aggregator.cli.crawling.coordinator_session`) began (see
:mod:`aggregator.crawl.distributed`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from aggregator.cli.app import DbOpt, SettingOpt, app, parse_settings
from aggregator.cli.crawling import (
    exit_status,
    postgres_url,
    print_results,
    reach_redis,
    redis_prefix,
)


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
    setting: SettingOpt = None,
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

    url = postgres_url(db, "aggregator worker")
    client = reach_redis(redis_url)
    prefix = redis_prefix()
    local: dict[str, Any] = parse_settings(setting)
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
