"""The one news spider: discovery through feeds, sitemaps and listing pages, then articles.

A spider only crawls. Turning a page into an item is the extractor's job
(:func:`aggregator.extract.extract_article`), and cleaning, dedup and storage belong to
the pipelines. Every outlet in the source registry gets a subclass of
:class:`NewsSpider` with its :class:`~aggregator.sources.Source` attached.

Spider arguments (``scrapy crawl NAME -a since=2d``): ``since``/``until`` (ISO date or
span such as ``12h``, ``2d``), ``max_pages`` (listing pagination bound).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from typing import Any, ClassVar

import scrapy
from scrapy.http import Request, Response, TextResponse

from aggregator.discovery import DiscoveryError, Entry, parse_feed, parse_listing, parse_sitemap
from aggregator.extract import extract_article
from aggregator.normalize.dates import parse_since
from aggregator.sources import Source


class NewsSpider(scrapy.Spider):
    """Crawl one source: feeds, sitemaps and listing pages lead to article pages."""

    source: ClassVar[Source]

    def __init__(
        self,
        *args: Any,
        since: str | None = None,
        until: str | None = None,
        max_pages: str | int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        now = datetime.now(timezone.utc)
        self.since = parse_since(since, now)
        self.until = parse_since(until, now)
        self.max_pages = int(max_pages) if max_pages else self.source.max_pages
        self.allowed_domains = list(self.source.domains)

    # -- discovery -----------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        src = self.source
        for url in src.feeds:
            yield Request(
                url,
                callback=self.parse_feed,
                errback=self.on_error,
                meta={"kind": "feed"},
                priority=10,
            )
        for url in src.sitemaps:
            yield Request(
                url,
                callback=self.parse_sitemap,
                errback=self.on_error,
                meta={"kind": "sitemap"},
                priority=10,
            )
        for url in src.listings:
            yield Request(
                url,
                callback=self.parse_listing,
                errback=self.on_error,
                meta={"kind": "listing", "page": 1},
                priority=5,
            )

    def _count(self, key: str, n: int = 1) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"aggregator/{key}", n)

    def _in_window(self, date: datetime | None) -> bool:
        if date is None:
            return True
        if date.tzinfo is None:
            date = date.replace(tzinfo=timezone.utc)
        if self.since and date < self.since:
            return False
        return not (self.until and date > self.until)

    def _articles(self, entries: list[Entry], via: str) -> Iterator[Request]:
        for e in entries:
            if not self.source.is_article(e.url):
                continue
            if not self._in_window(e.date):
                self._count("discovery/outside_window")
                continue
            self._count(f"discovery/{via}")
            yield self.article_request(e.url)

    def article_request(self, url: str) -> Request:
        """The request for one article page (subclasses may add headers or meta)."""
        return Request(
            url, callback=self.parse_article, errback=self.on_error, meta={"kind": "article"}
        )

    def parse_feed(self, response: Response) -> Iterator[Request]:
        try:
            entries = parse_feed(response.body, response.url)
        except DiscoveryError as exc:
            self._count("errors/bad_feed")
            self.logger.warning("Feed %s unreadable (%s); skipping it", response.url, exc)
            return
        yield from self._articles(entries, "feed")

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        try:
            kind, entries = parse_sitemap(response.body, response.url)
        except DiscoveryError as exc:
            self._count("errors/bad_sitemap")
            self.logger.warning("Sitemap %s unreadable (%s); skipping it", response.url, exc)
            return
        if kind == "index":
            for e in entries:
                if self._in_window(e.date) and self.source.owns(e.url):
                    yield Request(
                        e.url,
                        callback=self.parse_sitemap,
                        errback=self.on_error,
                        meta={"kind": "sitemap"},
                        priority=10,
                    )
            return
        yield from self._articles(entries, "sitemap")

    def parse_listing(self, response: Response) -> Iterator[Request]:
        if not isinstance(response, TextResponse):
            self._count("errors/bad_listing")
            return
        links, next_url = parse_listing(response.text, response.url)
        yield from self._articles([Entry(u) for u in links], "listing")
        page = int(response.meta.get("page", 1))
        if next_url and page < self.max_pages and self.source.owns(next_url):
            yield Request(
                next_url,
                callback=self.parse_listing,
                errback=self.on_error,
                meta={"kind": "listing", "page": page + 1},
                priority=5,
            )

    # -- articles ------------------------------------------------------------------------

    def parse_article(self, response: Response) -> Iterator[Any]:
        if response.status == 304:
            return  # revisited, unchanged since the last run (counted by the middleware)
        self._count("pages/article")
        ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
        if not isinstance(response, TextResponse) or (ctype and "html" not in ctype):
            self._count("dropped/not_html")
            self.logger.info("Not an HTML page (%s): %s", ctype or "unknown type", response.url)
            return
        src = self.source
        try:
            item = extract_article(
                response.text,
                response.url,
                datetime.now(timezone.utc),
                source=src.name,
                tz=src.timezone,
                site_names=src.site_names,
                extractor=src.extractor_class(),
            )
        except Exception:  # one broken page never stops a crawl
            self._count("errors/extract")
            self.logger.exception("Extraction failed for %s; page skipped", response.url)
            return
        yield item

    def on_error(self, failure: Any) -> None:
        """Count and log a failed request; the crawl goes on."""
        request = getattr(failure, "request", None)
        kind = request.meta.get("kind", "page") if request is not None else "page"
        response = getattr(failure.value, "response", None)
        if response is not None:
            self._count(f"errors/http_{response.status}")
            reason = f"HTTP {response.status}"
        else:
            self._count(f"errors/{type(failure.value).__name__}")
            reason = f"{type(failure.value).__name__}: {failure.value}"
        self.logger.warning("%s %s failed: %s", kind, request.url if request else "?", reason)


def spider_for(src: Source) -> type[NewsSpider]:
    """A NewsSpider subclass for one source (what ``scrapy list`` shows)."""
    cls_name = "".join(p.capitalize() for p in src.name.split("_")) + "Spider"
    return type(
        cls_name,
        (NewsSpider,),
        {
            "name": src.name,
            "source": src,
            "__module__": __name__,
            "__doc__": f"Crawl {src.title} ({', '.join(src.domains)}).",
        },
    )
