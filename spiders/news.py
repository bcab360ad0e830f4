"""The one news spider: discovery through feeds, sitemaps and listing pages, then articles.

A spider only crawls. Turning a page into an item is the extractor's job
(:func:`aggregator.extract.extract_article`), and cleaning, dedup and storage belong to
the pipelines. Every outlet in the source registry gets a subclass of
:class:`NewsSpider` with its :class:`~aggregator.sources.Source` attached.

Spider arguments (``scrapy crawl NAME -a since=2d``): ``since``/``until`` (ISO date or
span such as ``12h``, ``2d``), ``max_pages`` (listing pagination bound).

Whatever a site sends, the crawl goes on: every page that is not turned into an item is
logged in one line and counted in the run's stats under ``aggregator/dropped/<reason>``
(our decision: not HTML, empty, too large, too complex to extract, forbidden by
robots.txt, off the source's domains) or ``aggregator/errors/<kind>`` (the site's fault:
HTTP status, timeout, redirect loop, unreadable feed or sitemap); both end up in
``crawl_runs.details``. Big pages are extracted in a thread of their own, so a slow one does
not hold up the downloads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import scrapy
from scrapy import signals
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from twisted.internet.defer import Deferred

from aggregator.crawl import stats
from aggregator.crawl.pages import extract_page, not_extracted
from aggregator.discovery import DiscoveryError, Entry, parse_feed, parse_listing, read_sitemap
from aggregator.extract import TooComplexError
from aggregator.extract.page import decode_html
from aggregator.items import ArticleItem
from aggregator.normalize.dates import parse_since
from aggregator.normalize.urls import canonicalize_url
from aggregator.sources import Source

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from twisted.python.failure import Failure
    from typing_extensions import Self


def page_text(response: TextResponse) -> str:
    """The page as text (see :func:`aggregator.extract.page.decode_html`)."""
    ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
    return decode_html(response.body, ctype)


T = TypeVar("T")
# Big pages are decoded and extracted in this thread, not the reactor's, where a page
# that takes seconds (one within the extraction budget) stops every download of every
# source in the process meanwhile: the longest pause between requests of another source
# while a 2 MB page is extracted is 2.4 s there, 0.3 s here (0.1 s without the page).
# One thread: extraction holds the GIL, so more would not be faster, and one page's tree
# at a time stays in memory.
_EXTRACTION = ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract")
# Pages up to this size and number of tags ("<") are extracted at once in the reactor's
# thread: every page of the corpora (up to 8,100 tags; all but one under 1 MB), in at
# most about 0.5 s. Handing every page to the thread cost 13% of the crawl's pages/s
# and 25-50 MB (the GIL passed back and forth, responses queued for the one thread).
INLINE_MAX_BYTES = 1024 * 1024
INLINE_MAX_TAGS = 10_000


async def in_extraction_thread(fn: Callable[[], T]) -> T:
    """``fn()``, run in the extraction thread while the caller's event loop goes on."""
    future = _EXTRACTION.submit(fn)
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # a Twisted reactor other than the asyncio one (not the default)
        return await _in_reactor(future)
    return await asyncio.wrap_future(future)


def _in_reactor(future: Future[T]) -> Deferred[T]:
    """A Deferred that fires in the reactor's thread when ``future`` is done."""
    from twisted.internet import reactor

    done: Deferred[T] = Deferred()

    def settle(finished: Future[T]) -> None:
        exc = finished.exception()
        if exc is not None:
            done.errback(exc)
        else:
            done.callback(finished.result())

    future.add_done_callback(lambda finished: reactor.callFromThread(settle, finished))
    return done


def spider_arguments(
    since: str | None, until: str | None, max_pages: str | int | None
) -> tuple[datetime | None, datetime | None, int | None]:
    """The spider arguments ``since``/``until`` as times and ``max_pages`` as a number
    (None when not given); ValueError naming the argument for a value that is neither."""
    now = datetime.now(timezone.utc)
    window = []
    for name, value in (("since", since), ("until", until)):
        try:
            window.append(parse_since(value, now))
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    pages = None
    if max_pages not in (None, ""):
        try:
            pages = int(str(max_pages))
        except ValueError:
            pages = 0
        if pages < 1:
            raise ValueError(f"max_pages: {max_pages!r} is not a whole number of pages (1 or more)")
    return window[0], window[1], pages


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
        self.since, self.until, pages = spider_arguments(since, until, max_pages)
        self.max_pages = pages or self.source.max_pages
        self.allowed_domains = list(self.source.domains)
        # This run's sitemap budgets (AGGREGATOR_SITEMAP_MAX_REQUESTS / _MAX_FILES); a
        # sitemap listed again (by another index, by itself) is not charged twice.
        self.sitemap_requests = 0
        self.sitemap_files = 0
        self.sitemaps_seen = {canonicalize_url(u) or u for u in self.source.sitemaps}

    @classmethod
    def check_arguments(cls, **kwargs: Any) -> None:
        """Raise ValueError, naming the argument, for a spider argument the spider
        cannot use: what entry points call before anything starts (a spider that fails
        in ``__init__`` is a traceback in the middle of Scrapy's start-up)."""
        spider_arguments(kwargs.get("since"), kwargs.get("until"), kwargs.get("max_pages"))

    @classmethod
    def handles_request(cls, request: Request) -> bool:
        """Whether the URL is one of the source's (``scrapy shell URL`` picks its spider
        so; Scrapy's default looks for ``allowed_domains`` on the class, which is set
        per instance here)."""
        return cls.source.owns(request.url)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.request_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(spider.request_dropped, signal=signals.request_dropped)
        return spider

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
            self.crawler.stats.inc_value(stats.PREFIX + key, n)

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
        if not entries:  # an HTML page where the feed was, a feed emptied by an outage
            self._count("errors/empty_feed")
            self.logger.warning("Feed %s lists no items; skipping it", response.url)
            return
        yield from self._articles(entries, "feed")

    def _setting(self, name: str) -> int:
        return self.settings.getint(name) if self.settings else 0

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        # Bounded work per file and per run, whatever a site lists: a file is read up to
        # AGGREGATOR_SITEMAP_MAX_URLS entries, and only article URLs in the since/until
        # window become requests, up to AGGREGATOR_SITEMAP_MAX_REQUESTS per run (a queued
        # request costs memory until it is fetched).
        max_urls = self._setting("AGGREGATOR_SITEMAP_MAX_URLS")
        try:
            sitemap = read_sitemap(response.body, response.url, max_urls)
        except DiscoveryError as exc:
            self._count("errors/bad_sitemap")
            self.logger.warning("Sitemap %s unreadable (%s); skipping it", response.url, exc)
            return
        if sitemap.over_cap:
            self._count("discovery/sitemap_over_file_cap", sitemap.over_cap)
            self.logger.warning(
                "Sitemap %s: read its first %d entries, skipped %d more "
                "(AGGREGATOR_SITEMAP_MAX_URLS=%d)",
                response.url, max_urls, sitemap.over_cap, max_urls,
            )  # fmt: skip
        if sitemap.kind == "index":
            yield from self._child_sitemaps(sitemap.entries, response.url)
        else:
            yield from self._sitemap_articles(sitemap.entries, response.url)

    def _child_sitemaps(self, entries: list[Entry], index_url: str) -> Iterator[Request]:
        """Requests for an index's sitemaps. Nested indexes end: a sitemap seen before is
        not followed again (indexes listing each other), DEPTH_LIMIT bounds a chain of new
        ones, and a run follows at most AGGREGATOR_SITEMAP_MAX_FILES of them in all."""
        cap = self._setting("AGGREGATOR_SITEMAP_MAX_FILES")
        follow: list[str] = []
        over = 0
        for e in entries:
            if e.url in self.sitemaps_seen:
                continue
            if not (self._in_window(e.date) and self.source.owns(e.url)):
                continue
            if cap and self.sitemap_files >= cap:
                over += 1
                continue
            self.sitemap_files += 1
            self.sitemaps_seen.add(e.url)
            follow.append(e.url)
        if over:
            self._count("discovery/sitemap_files_over_cap", over)
            self.logger.warning(
                "Sitemap index %s: not following %d sitemaps (AGGREGATOR_SITEMAP_MAX_FILES=%d "
                "reached)", index_url, over, cap,
            )  # fmt: skip
        for url in follow:
            yield Request(
                url,
                callback=self.parse_sitemap,
                errback=self.on_error,
                meta={"kind": "sitemap"},
                priority=10,
            )

    def _sitemap_articles(self, entries: list[Entry], sitemap_url: str) -> Iterator[Request]:
        """Article requests from one urlset. Entries are sorted out (and counted once per
        file, not per URL) before any request exists."""
        cap = self._setting("AGGREGATOR_SITEMAP_MAX_REQUESTS")
        urls: list[str] = []
        not_article = outside = over = 0
        for e in entries:
            if not self.source.is_article(e.url):
                not_article += 1
            elif not self._in_window(e.date):
                outside += 1
            elif cap and self.sitemap_requests >= cap:
                over += 1
            else:
                self.sitemap_requests += 1
                urls.append(e.url)
        for key, n in (
            ("sitemap", len(urls)),
            ("sitemap_not_article", not_article),
            ("outside_window", outside),
            ("sitemap_over_run_cap", over),
        ):
            if n:
                self._count(f"discovery/{key}", n)
        if over:
            self.logger.warning(
                "Sitemap %s: not requesting %d articles (AGGREGATOR_SITEMAP_MAX_REQUESTS=%d "
                "reached for this run)", sitemap_url, over, cap,
            )  # fmt: skip
        for url in urls:
            yield self.article_request(url)

    def parse_listing(self, response: Response) -> Iterator[Request]:
        if not isinstance(response, TextResponse):
            self._count("errors/bad_listing")
            return
        links, next_url = parse_listing(page_text(response), response.url)
        yield from self._articles([Entry(u) for u in links], "listing")
        if not next_url or not self.source.owns(next_url):
            return
        # Pagination is where spider traps live (endless calendars, "next" forever): it
        # stops at the source's max_pages, and at DEPTH_LIMIT whatever max_pages says.
        page = int(response.meta.get("page", 1))
        depth_limit = self.settings.getint("DEPTH_LIMIT") if self.settings else 0
        bound = None
        if page >= self.max_pages:
            bound = f"max_pages={self.max_pages}"
        elif depth_limit and int(response.meta.get("depth", 0)) >= depth_limit:
            bound = f"DEPTH_LIMIT={depth_limit}"
        if bound is not None:
            self._count(f"discovery/{bound.split('=')[0].lower()}_reached")
            self.logger.info(
                "Listing %s: not following %s (%s reached)", response.url, next_url, bound
            )
            return
        yield Request(
            next_url,
            callback=self.parse_listing,
            errback=self.on_error,
            meta={"kind": "listing", "page": page + 1},
            priority=5,
        )

    # -- articles ------------------------------------------------------------------------

    async def parse_article(self, response: Response) -> AsyncIterator[Any]:
        if response.status == 304:
            return  # revisited, unchanged since the last run (counted by the middleware)
        self._count("pages/article")
        ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        skip = not_extracted(response.body, ctype, isinstance(response, TextResponse))
        if skip is not None:
            self._count(skip)
            if skip == "dropped/empty_page":
                self.logger.info("Empty page (HTTP %d, no content): %s", response.status,
                                 response.url)  # fmt: skip
            else:
                self.logger.info("Not an HTML page (%s): %s", ctype.lower() or "unknown type",
                                 response.url)  # fmt: skip
            return
        src = self.source
        fetched_at = datetime.now(timezone.utc)

        def extract() -> ArticleItem:
            return extract_page(src, response.body, ctype, response.url, fetched_at)

        try:
            body = response.body
            if len(body) <= INLINE_MAX_BYTES and body.count(b"<") <= INLINE_MAX_TAGS:
                item = extract()
            else:
                item = await in_extraction_thread(extract)
        except TooComplexError as exc:  # over the work budget of one page
            self._count("dropped/too_complex")
            self.logger.warning("Page skipped, %s: %s", exc, response.url)
            return
        except Exception:  # one broken page never stops a crawl
            self._count("errors/extract")
            self.logger.exception("Extraction failed for %s; page skipped", response.url)
            return
        yield item

    def on_error(self, failure: Failure) -> None:
        """Count and log a failed request; the crawl goes on."""
        request = getattr(failure, "request", None)
        kind = request.meta.get("kind", "page") if request is not None else "page"
        url = request.url if request is not None else "?"
        key, reason, level = self._failure_reason(failure.value or Exception("unknown failure"))
        self._count(key)
        self.logger.log(
            level,
            "%s %s %s: %s",
            kind,
            url,
            "skipped" if key.startswith("dropped/") else "failed",
            reason,
        )

    def _failure_reason(self, exc: BaseException) -> tuple[str, str, int]:
        """(stats key under ``aggregator/``, reason for the log, log level) for a failure."""
        response = getattr(exc, "response", None)
        if response is not None:  # HttpError: a status the spider does not handle
            return f"errors/http_{response.status}", f"HTTP {response.status}", logging.WARNING
        message = str(exc)
        if isinstance(exc, IgnoreRequest):
            if "robots.txt" in message:
                return "dropped/robots_forbidden", "forbidden by robots.txt", logging.INFO
            if "max redirections" in message:
                limit = self.settings.getint("REDIRECT_MAX_TIMES") if self.settings else 0
                reason = f"more than REDIRECT_MAX_TIMES={limit} redirects"
                return "errors/too_many_redirects", reason, logging.WARNING
            if "offsite" in message.lower():
                return "dropped/offsite", message, logging.INFO
        if isinstance(exc, DownloadCancelledError):  # the HTTP handler cancels for size only
            limit = self.settings.getint("DOWNLOAD_MAXSIZE") if self.settings else 0
            return (
                "dropped/too_large",
                f"larger than DOWNLOAD_MAXSIZE ({limit} bytes); download aborted",
                logging.WARNING,
            )
        return f"errors/{type(exc).__name__}", f"{type(exc).__name__}: {message}", logging.WARNING

    def request_scheduled(self, request: Request) -> None:
        """Count requests that leave the source's domains (a redirect elsewhere): Scrapy's
        OffsiteMiddleware drops them before they are sent, without calling the errback."""
        if (
            request.dont_filter
            or request.meta.get("allow_offsite")
            or self.source.owns(request.url)
        ):
            return
        self._count("dropped/offsite")
        came_from = (request.meta.get("redirect_urls") or ["?"])[0]
        self.logger.info(
            "Not following %s off the source's domains (from %s)", request.url, came_from
        )

    def request_dropped(self, request: Request) -> None:
        """Count redirect loops: a redirect back to a URL of the same chain is dropped by the
        duplicate filter before REDIRECT_MAX_TIMES is reached, without an errback."""
        chain = request.meta.get("redirect_urls") or []
        if request.url not in chain:
            return  # an ordinary duplicate (the same article in a feed and a sitemap)
        self._count("errors/redirect_loop")
        self.logger.warning(
            "%s %s failed: redirect loop (%s)",
            request.meta.get("kind", "page"),
            chain[0],
            " -> ".join([*chain, request.url]),
        )


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
