"""Retries that back off: a server that answers 429/503 is asked less often, not more.

Scrapy's RetryMiddleware re-queues a failed request at once. This subclass also slows the
whole download slot (the domain) down: its delay doubles on every retryable answer, up to
``AUTOTHROTTLE_MAX_DELAY``, and a ``Retry-After`` header is honoured within that bound.
AutoThrottle then brings the delay back down as responses come back healthy.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.downloadermiddlewares.retry import RetryMiddleware

from aggregator.crawl.stats import BACKOFF

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

logger = logging.getLogger("aggregator.backoff")
# First delay (seconds) when a slot had none.
BASE_DELAY = 1.0


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

    def process_response(self, request: Request, response: Response, *args: Any) -> Any:
        if response.status in self.retry_http_codes and not request.meta.get("dont_retry"):
            self._back_off(request, _retry_after(response))
        return super().process_response(request, response, *args)

    def process_exception(self, request: Request, exception: Exception, *args: Any) -> Any:
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
