"""Extract saved pages in one process: the engine behind ``aggregator extract``.

Pages are ``.html`` or ``.html.gz`` files. A manifest (JSON Lines of
``{"path", "url", "fetched_at"}``) lets many pages with their own URLs go through one
process, which is how extraction is debugged and benchmarked.

A file is read as the crawl reads a download: up to
:data:`~aggregator.extract.page.MAX_PAGE_BYTES` bytes as stored and as gunzipped. A larger
one (a gzip bomb, ``/dev/zero``) fails with a one-line error and the next file is read.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from aggregator.extract import extract_article, extractor_for_source
from aggregator.extract.page import MAX_PAGE_BYTES, decode_html
from aggregator.normalize.item import normalize_item
from aggregator.sources import source_for_url

# What `aggregator extract` says when it is given no page (both of its entry points).
NO_PAGES = "give saved pages, - (standard input), URLs or --manifest PAGES.jsonl"


class PageTooLargeError(ValueError):
    """A saved page larger than :data:`MAX_PAGE_BYTES`, as stored or gunzipped."""


@dataclass
class PageSpec:
    """One page to extract: the file ``path``, or what ``load`` returns."""

    path: Path | str
    url: str
    fetched_at: datetime | None = None
    load: Callable[[], tuple[bytes, str | None]] | None = None
    """Where the page comes from when it is not the file ``path`` (standard input, a
    download; ``path`` then names it in the output): its bytes, at most
    :data:`MAX_PAGE_BYTES` + 1, and their HTTP Content-Type (None if unknown)."""


def read_page(path: Path, limit: int = MAX_PAGE_BYTES) -> str:
    """The page's text: gunzipped if it ends in ``.gz``, charset detected from the bytes.
    Raises :class:`PageTooLargeError` for more than ``limit`` bytes, stored or gunzipped
    (reading no more than that: ``/dev/zero`` is a page too)."""
    with path.open("rb") as fh:
        data = fh.read(limit + 1)
    return page_text(data, path, gzipped=path.suffix == ".gz", limit=limit)


def page_text(
    data: bytes,
    name: Path | str,
    *,
    gzipped: bool = False,
    content_type: str | None = None,
    limit: int = MAX_PAGE_BYTES,
) -> str:
    """The text of a page's bytes (see :func:`read_page`); ``name`` says which page in
    errors."""
    if len(data) > limit:
        raise PageTooLargeError(f"{name}: larger than {limit} bytes (DOWNLOAD_MAXSIZE)")
    if gzipped or data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
                data = gz.read(limit + 1)
        except zlib.error as exc:  # a damaged deflate stream, which is no OSError
            raise ValueError(f"{name}: corrupt gzip data: {exc}") from exc
        if len(data) > limit:
            raise PageTooLargeError(
                f"{name}: larger than {limit} bytes once gunzipped (DOWNLOAD_MAXSIZE)"
            )
    return decode_html(data, content_type)


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    from aggregator.normalize.dates import parse_date

    dt = parse_date(str(value))
    if dt is not None and dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt


def read_manifest(manifest: Path) -> Iterator[PageSpec]:
    """Pages listed in a JSON Lines manifest; relative paths are relative to the manifest."""
    base = manifest.parent
    with manifest.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
                path = Path(row["path"])
                url = str(row["url"])
            # RecursionError: a line nested past the recursion limit ("[[[[...").
            except (ValueError, KeyError, TypeError, RecursionError) as exc:
                raise ValueError(
                    f'{manifest}:{lineno}: expected {{"path", "url", "fetched_at"}}: {exc}'
                ) from exc
            if not path.is_absolute():
                path = base / path
            yield PageSpec(path, url, _parse_time(row.get("fetched_at")))


def extract_file(spec: PageSpec) -> dict[str, Any]:
    """Extract and normalize one saved page; the dict has ``path`` and every item field."""

    if spec.load is not None:
        data, content_type = spec.load()
        html = page_text(data, spec.path, content_type=content_type)
    else:
        html = read_page(Path(spec.path))
    src = source_for_url(spec.url)
    item = extract_article(
        html,
        spec.url,
        spec.fetched_at,
        source=src.name if src else None,
        site_names=src.site_names if src else (),
        extractor=extractor_for_source(src),
    )
    item = normalize_item(
        item,
        tz=src.timezone if src else None,
        site_names=src.site_names if src else (),
        now=spec.fetched_at,
        keep_naive=src is None,
    ).item
    return {"path": str(spec.path), **item.to_dict()}


def run(
    specs: Iterable[PageSpec], out: TextIO | None = None, err: TextIO | None = None
) -> tuple[int, int]:
    """Write one JSON line per page to ``out``; a page that fails gets ``{"path", "url",
    "error"}`` there and one line saying why on ``err`` (stderr), and the next page is
    read. Returns (pages extracted, pages failed)."""
    out = out or sys.stdout
    err = err or sys.stderr
    ok = failed = 0
    for spec in specs:
        try:
            row = extract_file(spec)
            ok += 1
        except (OSError, ValueError, EOFError, gzip.BadGzipFile) as exc:
            row = {"path": str(spec.path), "url": spec.url, "error": f"{type(exc).__name__}: {exc}"}
            failed += 1
            reason = str(exc).removeprefix(f"{spec.path}: ") or type(exc).__name__
            # One line, whatever the message holds (a parser's may hold line breaks).
            err.write(f"aggregator extract: {spec.path}: {' '.join(reason.split())}\n")
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return ok, failed


def exit_status(specs: list[PageSpec]) -> int:
    """Extract ``specs`` (:func:`run`) as ``aggregator extract`` does, whichever way it
    started; its exit status: 2 with one line on stderr when there is no page, 1 when
    some page failed, else 0."""
    if not specs:
        print(f"aggregator: {NO_PAGES}", file=sys.stderr)
        return 2
    _ok, failed = run(specs)
    return 1 if failed else 0
