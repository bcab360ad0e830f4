"""``aggregator extract``: pages (saved, on standard input, or fetched) to JSON lines,
without a database."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from aggregator.cli.app import app, fail

if TYPE_CHECKING:
    from aggregator.extract.batch import PageSpec

# How long one network operation of a fetch (connecting, each read) may take.
FETCH_TIMEOUT_S = 30
# What a fetched page may be: HTML, and XHTML served as XML.
HTML_TYPES = ("text/html", "application/xhtml+xml")


def is_url(arg: str) -> bool:
    """Whether a page argument is a URL to fetch rather than a file."""
    return arg.lower().startswith(("http://", "https://"))


def read_stdin() -> tuple[bytes, str | None]:
    """The page on standard input (at most the crawl's size limit, plus one byte to tell
    that it is over)."""
    from aggregator.extract.page import MAX_PAGE_BYTES

    return sys.stdin.buffer.read(MAX_PAGE_BYTES + 1), None


def fetch(url: str) -> tuple[str, bytes, str | None]:
    """One page over HTTP(S), as the crawl would fetch it: one request with the crawl's
    User-Agent (which names the tool), a timeout, redirects followed, at most the crawl's
    size limit read. Returns the final URL (after redirects), the bytes (at most the
    limit + 1) and the Content-Type. An HTTP error status, or a response that is not
    HTML, raises ``OSError``/``ValueError`` saying which. robots.txt is not read: like a
    browser, this fetches the one page a person named, which is not crawling."""
    import urllib.error
    import urllib.request

    from aggregator.crawl.settings import USER_AGENT
    from aggregator.extract.page import MAX_PAGE_BYTES

    request = urllib.request.Request(
        url, headers={"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml"}
    )
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as response:
            content_type = response.headers.get("Content-Type")
            mime = (content_type or "").split(";")[0].strip().lower()
            if mime and mime not in HTML_TYPES:
                raise ValueError(f"not an HTML page (Content-Type: {mime})")
            return response.geturl(), response.read(MAX_PAGE_BYTES + 1), content_type
    except urllib.error.HTTPError as exc:
        raise OSError(f"HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:  # no such host, refused, timed out
        raise OSError(f"cannot fetch: {exc.reason}") from exc
    except TimeoutError as exc:  # a read that timed out
        raise OSError(f"cannot fetch: timed out after {FETCH_TIMEOUT_S} s") from exc


@app.command()
def extract(
    pages: Annotated[
        list[str] | None,
        typer.Argument(
            help="Saved pages (.html or .html.gz), - for a page on standard input, or "
            "http(s) URLs to fetch.",
            show_default=False,
        ),
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help="The URL the page(s) came from.")] = None,
    manifest: Annotated[
        Path | None, typer.Option("--manifest", help="JSON Lines of {path, url, fetched_at}.")
    ] = None,
) -> None:
    """Extract pages and print one JSON line per page (path plus every item field).

    A page is a saved file, "-" (standard input) or an http(s) URL, fetched once with a
    timeout, following redirects, with a User-Agent that names this tool (robots.txt is
    not read: one page a person asked for is not a crawl). The URL of a page on standard
    input is --url, else "stdin"; of a fetched page, where the redirects ended.

    A page that cannot be extracted (missing, corrupt, over the crawl's 8 MiB size limit
    as stored or gunzipped, too complex; an HTTP error or not HTML when fetched) gets a
    line with its "error" instead, and one line on stderr; the pages after it are
    extracted. Exit status: 0 every page was extracted, 1 some page failed, 2 a usage
    error (no pages, unreadable manifest).
    """
    from aggregator.extract.batch import PageSpec, exit_status, read_manifest

    specs: list[PageSpec] = []
    for page in pages or []:
        if page == "-":
            specs.append(PageSpec("-", url or "stdin", load=read_stdin))
        elif is_url(page):
            specs.append(_fetched(page, url))
        else:
            specs.append(PageSpec(Path(page), url or Path(page).resolve().as_uri()))
    if manifest is not None:
        try:
            specs.extend(read_manifest(manifest))
        except (OSError, ValueError) as exc:
            raise fail(str(exc)) from exc
    status = exit_status(specs)
    if status:
        raise typer.Exit(status)


def _fetched(page: str, url: str | None) -> PageSpec:
    """The spec of a page to fetch when its turn comes; its URL is where the redirects
    ended (``--url`` if given)."""
    from aggregator.extract.batch import PageSpec

    spec = PageSpec(page, url or page)

    def load() -> tuple[bytes, str | None]:
        final, data, content_type = fetch(page)
        if url is None:
            spec.url = final
        return data, content_type

    spec.load = load
    return spec
