"""Incremental crawling: skip articles fetched recently, revisit older ones conditionally.

:class:`SkipFreshArticles` (spider middleware) drops discovered article requests whose URL
was fetched (or stored) within the revisit window (``AGGREGATOR_REVISIT``, default 7 days;
``AGGREGATOR_REFRESH=True`` or ``aggregator crawl --refresh`` fetches everything again);
older ones go out with the ETag / Last-Modified the server gave last time. It also records
the canonical URL of the article each address gave where the two differ, so that another
address of an article stored once counts as settled in the next run.
:class:`FetchStateMiddleware` (downloader middleware) adds those conditional headers and
records what each article fetch returned, for the next run.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from scrapy import Request, signals
from scrapy.http import Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from aggregator.crawl import stats
from aggregator.items import ArticleItem
from aggregator.normalize.dates import parse_since
from aggregator.normalize.urls import canonicalize_url
from aggregator.storage.database import shared_engine
from aggregator.storage.fetchstate import FetchStateStore, Seen
from aggregator.storage.url import storage_disabled

if TYPE_CHECKING:
    from collections.abc import Callable

    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger("aggregator.incremental")
Row = dict[str, object]
# Revisit window when the setting is absent.
DEFAULT_REVISIT = "7d"


class _Batches:
    """Rows for ``fetch_state``, written ``size`` at a time, the rest by :meth:`flush` at
    spider close. Rows come only while storage is on, so a disabled store writes none."""

    SIZE = 50

    def __init__(self, url: str | None, write: Callable[[FetchStateStore, list[Row]], None]):
        self.url = url
        self.write = write
        self.rows: list[Row] = []
        self._store: FetchStateStore | None = None

    def add(self, row: Row) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.SIZE:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        batch, self.rows = self.rows, []
        if self._store is None:  # on first write: a crawl that stores nothing opens nothing
            self._store = FetchStateStore(shared_engine(self.url))
        self.write(self._store, batch)


def _stats_inc(crawler: Crawler, key: str) -> None:
    if crawler.stats is not None:
        crawler.stats.inc_value(stats.PREFIX + key)


def revisit_window(value: Any) -> timedelta:
    """``AGGREGATOR_REVISIT`` ("12h", "7d", "0" for always) as a timedelta."""
    text = str(value if value not in (None, "") else DEFAULT_REVISIT).strip()
    if text in ("0", "0d", "0h"):
        return timedelta(0)
    now = datetime.now(timezone.utc)
    since = parse_since(text, now)
    return now - since if since else timedelta(0)


def _settled(seen: Seen) -> bool:
    """Whether the last fetch needs no repeat within the window: the article is stored,
    or the page answered a client error (gone, forbidden) that retrying soon won't change.
    A page fetched but never stored (the crawl was killed before the commit, or a server
    error) is fetched again."""
    return seen.stored or (400 <= seen.status < 500 and seen.status != 429)


class SkipFreshArticles(BaseSpiderMiddleware):
    """Drop article requests for URLs seen within the revisit window; record the canonical
    URL of each article item whose page was fetched under another address."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.url = settings.get("AGGREGATOR_DB_URL")
        self.enabled = not storage_disabled(self.url)
        self.refresh = settings.getbool("AGGREGATOR_REFRESH")
        self.window = revisit_window(settings.get("AGGREGATOR_REVISIT"))
        self._known: dict[str, Seen] | None = None
        self._skipped: set[str] = set()
        self._canonicals = _Batches(self.url, FetchStateStore.record_canonical)
        crawler.signals.connect(self._canonicals.flush, signal=signals.spider_closed)

    def known(self) -> dict[str, Seen]:
        if self._known is None:
            name = getattr(self.crawler.spider, "name", "")
            self._known = FetchStateStore(shared_engine(self.url)).load(name)
            logger.info("%s: %d URLs known from earlier runs", name, len(self._known))
        return self._known

    def get_processed_request(self, request: Request, response: Response | None) -> Request | None:
        if not self.enabled or request.meta.get("kind") != "article":
            return request
        seen = self.known().get(request.url)
        if seen is None:
            return request
        if self.refresh:
            return request  # fetched in full: the point is usually to extract again
        if _settled(seen) and datetime.now(timezone.utc) - seen.fetched_at < self.window:
            if request.url not in self._skipped:  # feeds and sitemaps repeat URLs
                self._skipped.add(request.url)
                _stats_inc(self.crawler, "skipped/fresh")
            return None
        # Only for a stored article: a 304 for one that is not (the database failed, or
        # refused it) would leave it unstored for good.
        if seen.stored and (seen.etag or seen.last_modified):
            request.meta["conditional"] = (seen.etag, seen.last_modified)
            request.meta["handle_httpstatus_list"] = [304]
        return request

    def get_processed_item(self, item: Any, response: Response | None) -> Any:
        if not self.enabled or response is None or not isinstance(item, ArticleItem):
            return item
        # The form the normalize pipeline stores it in: the next run compares the two.
        canonical = canonicalize_url(item.canonical_url or item.url)
        if canonical and canonical != response.url:
            self._canonicals.add({
                "url": response.url,
                "source": getattr(self.crawler.spider, "name", None),
                "canonical_url": canonical,
            })  # fmt: skip
        return item


class FetchStateMiddleware:
    """Send conditional headers for revisits; remember each article fetch's outcome."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.url = crawler.settings.get("AGGREGATOR_DB_URL")
        self.enabled = not storage_disabled(self.url)
        self.buffer = _Batches(self.url, FetchStateStore.record)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        mw = cls(crawler)
        crawler.signals.connect(mw.buffer.flush, signal=signals.spider_closed)
        return mw

    def process_request(self, request: Request) -> None:
        conditional = request.meta.get("conditional")
        if conditional:
            etag, last_modified = conditional
            if etag:
                request.headers[b"If-None-Match"] = etag
            if last_modified:
                request.headers[b"If-Modified-Since"] = last_modified

    def process_response(self, request: Request, response: Response) -> Response:
        if not self.enabled or request.meta.get("kind") != "article":
            return response
        if response.status == 304:
            _stats_inc(self.crawler, "pages/not_modified")
        headers = response.headers
        etag = headers.get(b"ETag")
        last_modified = headers.get(b"Last-Modified")
        self.buffer.add({
            "url": request.url,
            "source": getattr(self.crawler.spider, "name", None),
            "kind": "article",
            "status": response.status,
            "etag": etag.decode("latin-1")[:512] if etag else None,
            "last_modified": last_modified.decode("latin-1")[:64] if last_modified else None,
            "fetched_at": datetime.now(timezone.utc),
        })  # fmt: skip
        return response
