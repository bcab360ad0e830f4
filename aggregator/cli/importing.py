"""``aggregator import-warc``: backfill the database from web archives (WARC/ARC, CC-NEWS)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from aggregator.cli.app import DbOpt, SinceOpt, UntilOpt, app, fail
from aggregator.cli.output import Column, print_table

CC_NEWS_BASE = "https://data.commoncrawl.org"
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

FILE_COLUMNS = (
    Column("file", lambda f: f.file),
    Column("result", lambda f: f.status),
    Column("records", lambda f: str(f.records), "right"),
    Column("pages", lambda f: str(f.pages), "right"),
    Column("new", lambda f: str(f.new), "right"),
    Column("updated", lambda f: str(f.updated), "right"),
    Column("dropped", lambda f: str(f.dropped), "right"),
    Column("errors", lambda f: str(f.errors), "right"),
)


def cc_news_files(month: str, base: str) -> list[str]:
    """The URLs of a CC-NEWS month's WARC files, oldest first, from its ``warc.paths.gz``
    listing (``OSError`` when it cannot be read)."""
    import gzip
    import urllib.error
    import urllib.request

    from aggregator.crawl.settings import USER_AGENT

    year, mm = month.split("-")
    base = base.rstrip("/")
    listing = f"{base}/crawl-data/CC-NEWS/{year}/{mm}/warc.paths.gz"
    request = urllib.request.Request(listing, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            data = gzip.decompress(response.read(64 * 1024 * 1024))
    except urllib.error.HTTPError as exc:
        raise OSError(f"{listing}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, EOFError) as exc:
        raise OSError(f"{listing}: {getattr(exc, 'reason', exc)}") from exc
    paths = [line.strip() for line in data.decode("utf-8", "replace").splitlines()]
    return sorted(f"{base}/{p.lstrip('/')}" for p in paths if p and not p.startswith("#"))


def _is_url(name: str) -> bool:
    return name.lower().startswith(("http://", "https://"))


@app.command()
def import_warc(
    files: Annotated[
        list[str] | None,
        typer.Argument(help="WARC or ARC files (.warc, .warc.gz, .arc.gz) or http(s) URLs."),
    ] = None,
    db: DbOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    sources_file: Annotated[
        Path | None, typer.Option("--sources", help="Use this source registry file.")
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", help="Only pages of this source (repeatable)."),
    ] = None,
    any_domain: Annotated[
        bool,
        typer.Option(
            "--any-domain", help="Also store pages of hosts outside the registry (as the host)."
        ),
    ] = False,
    cc_news: Annotated[
        str | None,
        typer.Option("--cc-news", help="Import this month of Common Crawl's CC-NEWS (YYYY-MM)."),
    ] = None,
    cc_news_base: Annotated[
        str, typer.Option("--cc-news-base", help="Where CC-NEWS is served from.")
    ] = CC_NEWS_BASE,
    log_file: Annotated[
        Path | None, typer.Option("--log-file", help="Write the import log (INFO) here.")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress line; only the results table.")
    ] = False,
) -> None:
    """Import web archives: each HTML page (a 200 response, or a revisit of one) of a
    registry source goes through the crawl's extraction, pipelines and story indexing.

    The page's fetch time is the record's WARC-Date. Pages of other hosts are skipped and
    counted (stored under their host with --any-domain). Damaged parts of a file (a
    corrupt gzip member, a wrong Content-Length, a truncated end) are counted and skipped;
    the rest of the file is imported. Each import is one run in `aggregator runs`, with
    per-file figures. With --cc-news, files imported before are skipped: an interrupted
    import continues at its next unfinished file. Exit status: 0 every file was read, 1
    a file could not be read, 2 a usage error, 130 interrupted.
    """
    import logging

    from aggregator.cli.database import open_engine, since_option
    from aggregator.crawl.interrupt import CtrlC
    from aggregator.sources import SourceError, load_sources
    from aggregator.storage.url import resolve

    # Installed first: a Ctrl-C lost while the import is being set up still stops it.
    with CtrlC() as ctrl_c:
        window = since_option(since), since_option(until)
        # A file is known (in the run's record, in import_files) by its absolute path.
        names = [f if _is_url(f) else str(Path(f).resolve()) for f in files or []]
        if cc_news is not None and not _MONTH.match(cc_news):
            raise fail(f"--cc-news takes a month as YYYY-MM, not {cc_news!r}")
        if not names and cc_news is None:
            raise fail("name WARC files or URLs, or a CC-NEWS month with --cc-news YYYY-MM")
        try:
            registry = load_sources(str(sources_file) if sources_file else None)
        except SourceError as exc:
            raise fail(str(exc)) from exc
        if source:
            unknown = [n for n in source if n not in registry]
            if unknown:
                raise fail(f"unknown source: {', '.join(unknown)}; known: {', '.join(registry)}")
            registry = {n: registry[n] for n in source}
        url = resolve(db)
        open_engine(url, write=True).dispose()  # a database that cannot take writes: exit 2 now
        if cc_news is not None:
            try:
                names += cc_news_files(cc_news, cc_news_base)
            except OSError as exc:
                raise fail(f"cannot list CC-NEWS {cc_news}: {exc}", 1) from exc
        handler: logging.Handler = (
            logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
        )
        handler.setFormatter(logging.Formatter("%(asctime)s [%(name)s] %(levelname)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO if log_file else logging.ERROR if quiet else logging.WARNING)
        from aggregator.crawl.warcimport import CloseSpider, Progress, WarcImport, run_import

        overrides: dict[str, Any] = {"AGGREGATOR_DB_URL": url, "LOG_LEVEL": "WARNING"}
        if sources_file:
            overrides["AGGREGATOR_SOURCES"] = str(sources_file)
        imp = WarcImport(
            registry,
            overrides=overrides,
            any_domain=any_domain,
            since=window[0],
            until=window[1],
        )
        try:
            imp.open()
        except CloseSpider as exc:
            raise fail(f"cannot open the database ({exc})", 1) from exc
        interactive = sys.stderr.isatty() and not quiet and log_file is None
        progress = Progress(len(names)) if interactive else None
        result = run_import(
            names, imp, skip_done=cc_news is not None, progress=progress, ctrl_c=ctrl_c
        )
        print_table(result.files, FILE_COLUMNS, title=f"Import results (run {result.run_id})")
        failed = [f for f in result.files if f.status == "failed"]
        for f in failed:
            typer.echo(f"aggregator: {f.file}: not read ({f.detail})", err=True)
        if result.interrupted:
            raise typer.Exit(130)
        raise typer.Exit(1 if failed else 0)
