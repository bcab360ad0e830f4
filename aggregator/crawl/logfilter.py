"""Crawl logs sized for people and cron mail.

Network failures are facts about a website, not bugs: log them in one line. Scrapy logs
some download failures (robots.txt fetches, for one) with a full traceback. This
extension installs a logging filter that keeps the message and drops the stack trace for
network-level exceptions, so users and cron mail see what happened, not where in Twisted
it happened; a robots.txt that cannot be fetched becomes one WARNING that names it (Scrapy
names the request that was waiting for it, at ERROR). Tracebacks of real bugs are
untouched.

Set-up listings (settings, add-ons, extensions, middlewares, pipelines) are logged by
every crawler; :func:`log_setup_once` keeps the first of each identical one, for a run
of many sources in one process.
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
    # Scrapy 2.19 wraps the download handlers' failures in its own exceptions (the Twisted
    # one is their __cause__).
    from scrapy import exceptions

    found += [getattr(exceptions, n) for n in _SCRAPY_NETWORK if hasattr(exceptions, n)]
    return tuple(found)


_SCRAPY_NETWORK = (
    "DownloadConnectionRefusedError", "CannotResolveHostError", "DownloadTimeoutError",
    "DownloadFailedError", "ResponseDataLossError",
)  # fmt: skip
_ROBOTS_LOGGER = "scrapy.downloadermiddlewares.robotstxt"


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
            if record.name == _ROBOTS_LOGGER:
                _robots_failure(record, exc)
        return True


def _robots_failure(record: logging.LogRecord, exc: BaseException) -> None:
    """Say which robots.txt failed and what the crawl does about it (Scrapy then fetches
    the site as if robots.txt allowed everything); counted in the run's errors as
    ``robots_txt`` (see :func:`aggregator.crawl.stats.run_figures`)."""
    from urllib.parse import urlsplit

    request = record.args.get("request") if isinstance(record.args, dict) else None
    url = urlsplit(str(getattr(request, "url", "")))
    record.msg = "robots.txt %s failed: %s: %s (the site is crawled as if it allowed all)"
    record.args = (f"{url.scheme}://{url.netloc}/robots.txt", type(exc).__name__, exc)
    record.levelno, record.levelname = logging.WARNING, "WARNING"


class _FirstOnly(logging.Filter):
    """Let through the first record of each set-up listing; drop identical repeats."""

    PREFIXES = ("Overridden settings:", "Enabled ")

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if not message.startswith(self.PREFIXES):
            return True
        if message in self.seen:
            return False
        self.seen.add(message)
        return True


# Scrapy loggers of the listings each crawler logs when it starts.
_SETUP_LOGGERS = ("scrapy.crawler", "scrapy.addons", "scrapy.middleware")


def log_setup_once() -> None:
    """From now on in this process, log each identical set-up listing once."""
    flt = _FirstOnly()
    for name in _SETUP_LOGGERS:
        log = logging.getLogger(name)
        for old in [f for f in log.filters if isinstance(f, _FirstOnly)]:
            log.removeFilter(old)
        log.addFilter(flt)


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
