"""Retries that back off: a server that answers 429/503 is asked less often, not more.

Scrapy's RetryMiddleware re-queues a failed request at once. This subclass also slows the
whole download slot (the domain) down: its delay doubles on every retryable answer, up to
``AUTOTHROTTLE_MAX_DELAY``, and a ``Retry-After`` header is honoured within that bound.
AutoThrottle then brings the delay back down as responses come back healthy.

A source whose hosts never answer (connection refused, name not found) is given up after
``AGGREGATOR_UNREACHABLE_AFTER`` such failures in a row with no response at all: its run
ends "unreachable" at once instead of backing off through every retry of every start
request (five minutes for a refused host at the default settings), which would hold up
the other sources of an hourly cron run. One response of any status from the source
turns this off for the rest of its crawl: a host that answers is not down.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    IgnoreRequest,
)
from twisted.internet.error import ConnectionRefusedError, DNSLookupError

from aggregator.crawl.stats import BACKOFF, UNREACHABLE

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

logger = logging.getLogger("aggregator.backoff")
# First delay (seconds) when a slot had none.
BASE_DELAY = 1.0
# The host did not answer at all (as opposed to answering badly, or slowly: a timeout may
# be a slow page of a live site). Scrapy 2.19 raises its own classes, older ones Twisted's.
NO_CONNECTION = (
    DownloadConnectionRefusedError,
    CannotResolveHostError,
    ConnectionRefusedError,
    DNSLookupError,
)


class SourceUnreachable(IgnoreRequest):
    """A request not sent because its source was given up as unreachable (its class name
    is the error kind counted in the run record)."""


class BackoffRetryMiddleware(RetryMiddleware):
    """RetryMiddleware plus exponential, per-domain backoff."""

    def _slot(self, request: Request) -> Any:
        engine = getattr(self.crawler, "engine", None)
        downloader = getattr(engine, "downloader", None)
        if downloader is None:
            return None
        key = downloader.get_slot_key(request)
        return downloader.slots.get(key)

    def _back_off(self, request: Request, retry_after: float | None) -> None:
        slot = self._slot(request)
        if slot is None:
            return
        cap = self.crawler.settings.getfloat("AUTOTHROTTLE_MAX_DELAY", 60.0)
        wanted = max(slot.delay * 2, BASE_DELAY)
        if retry_after is not None:
            wanted = max(wanted, retry_after)
        new = min(wanted, cap)
        if new > slot.delay:
            logger.info("Backing off %s: %.1fs between requests", request.url, new)
            slot.delay = new
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(BACKOFF)

    _answered = False
    _unanswered = 0
    _given_up = False

    def _give_up_if_unreachable(self, request: Request) -> None:
        self._unanswered += 1
        limit = self.crawler.settings.getint("AGGREGATOR_UNREACHABLE_AFTER", 3)
        if limit <= 0 or self._unanswered != limit or self.crawler.engine is None:
            return
        logger.warning(
            "Giving up this source: %d connections failed and none answered (last: %s); "
            "AGGREGATOR_UNREACHABLE_AFTER=%d",
            limit,
            request.url,
            limit,
        )
        self._given_up = True
        # What waits in the download slots is tried at once (and fails at once, not
        # retried), rather than after the backed-off delays: the close waits for it.
        downloader = getattr(self.crawler.engine, "downloader", None)
        for slot in getattr(downloader, "slots", {}).values():
            slot.delay = 0
        from scrapy.utils.defer import deferred_from_coro

        deferred_from_coro(self.crawler.engine.close_spider_async(reason=UNREACHABLE))

    def process_request(self, request: Request, *args: Any) -> Any:
        if self._given_up:
            raise SourceUnreachable("not fetched: the source's hosts did not answer")
        return None

    def process_response(self, request: Request, response: Response, *args: Any) -> Any:
        self._answered = True
        if response.status in self.retry_http_codes and not request.meta.get("dont_retry"):
            self._back_off(request, _retry_after(response))
        return super().process_response(request, response, *args)

    def process_exception(self, request: Request, exception: Exception, *args: Any) -> Any:
        if isinstance(exception, NO_CONNECTION) and not self._answered:
            if not self._given_up:
                self._give_up_if_unreachable(request)
            if self._given_up:
                return None  # a failure of its own (counted by the spider), not retried
        if isinstance(exception, self.exceptions_to_retry) and not request.meta.get("dont_retry"):
            self._back_off(request, None)
        return super().process_exception(request, exception, *args)


def _retry_after(response: Response) -> float | None:
    """Seconds from a ``Retry-After: 120`` header (HTTP dates are ignored)."""
    value = response.headers.get(b"Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value.decode("latin-1").strip()))
    except ValueError:
        return None
