"""``aggregator extract``: saved pages to JSON lines, without a database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aggregator.cli.app import app, fail


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
            raise fail(str(exc)) from exc
    if not specs:
        raise fail("give saved pages or --manifest PAGES.jsonl")
    _ok, failed = run(specs)
    if failed:
        raise typer.Exit(1)
