"""Network failures are facts about a website, not bugs: log them in one line.

Scrapy logs some download failures (robots.txt fetches, for one) with a full traceback.
This extension installs a logging filter that keeps the message ("Error downloading
<GET https://x/robots.txt>: User timeout caused connection failure") and drops the stack
trace for network-level exceptions, so users and cron mail see what happened, not where
in Twisted it happened. Tracebacks of real bugs are untouched.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self


def _network_errors() -> tuple[type[BaseException], ...]:
    from scrapy.exceptions import IgnoreRequest
    from twisted.internet import error as tx_error
    from twisted.web import _newclient

    names = (
        "TimeoutError", "DNSLookupError", "ConnectionRefusedError", "ConnectionDone",
        "ConnectError", "ConnectionLost", "TCPTimedOutError", "NoRouteError",
    )  # fmt: skip
    found: list[type[BaseException]] = [getattr(tx_error, n) for n in names if hasattr(tx_error, n)]
    found += [_newclient.ResponseNeverReceived, _newclient.ResponseFailed, IgnoreRequest]
    found += [OSError]
    try:
        from scrapy.exceptions import DownloadTimeoutError

        found.append(DownloadTimeoutError)
    except ImportError:  # pragma: no cover - older Scrapy
        pass
    return tuple(found)


class NetworkErrorFilter(logging.Filter):
    """Drop ``exc_info`` from records about network-level failures."""

    def __init__(self) -> None:
        super().__init__()
        self.kinds = _network_errors()

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and isinstance(exc, self.kinds):
            record.exc_info = None
            record.exc_text = None
        return True


class QuietNetworkErrors:
    """Scrapy extension: install :class:`NetworkErrorFilter` on Scrapy's download loggers."""

    # Scrapy loggers that report download failures. Filters go on the loggers, not on
    # handlers: Scrapy replaces the root handler whenever a crawler starts.
    LOGGERS = (
        "scrapy.downloadermiddlewares.robotstxt",
        "scrapy.downloadermiddlewares.retry",
        "scrapy.core.scraper",
        "scrapy.core.engine",
        "scrapy.core.downloader",
    )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        flt = NetworkErrorFilter()
        for name in cls.LOGGERS:
            log = logging.getLogger(name)
            if not any(isinstance(f, NetworkErrorFilter) for f in log.filters):
                log.addFilter(flt)
        return cls()
