"""Progress lines for interactive crawls (``aggregator crawl`` on a terminal).

A Scrapy extension, on when ``AGGREGATOR_PROGRESS`` is set: every few seconds it prints
one line per source with pages fetched, articles stored, drops and errors so far.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self


class Progress:
    """Print ``source: N pages, N new, N updated, N dropped, N errors`` periodically."""

    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self._call: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("AGGREGATOR_PROGRESS"):
            raise NotConfigured
        ext = cls(crawler, crawler.settings.getfloat("AGGREGATOR_PROGRESS_INTERVAL", 5.0))
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        return ext

    def line(self) -> str:
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}

        def total(prefix: str) -> int:
            return sum(int(v) for k, v in stats.items() if k.startswith(prefix))

        name = getattr(self.crawler.spider, "name", "?")
        return (
            f"{name}: {stats.get('response_received_count', 0)} pages, "
            f"{stats.get('aggregator/stored/new', 0)} new, "
            f"{total('aggregator/stored/updated') + total('aggregator/stored/duplicate')} updated, "
            f"{stats.get('aggregator/skipped/fresh', 0)} skipped, "
            f"{total('aggregator/dropped/')} dropped, {total('aggregator/errors/')} errors"
        )

    def tick(self) -> None:
        sys.stderr.write(self.line() + "\n")
        sys.stderr.flush()

    def opened(self) -> None:
        from twisted.internet import task

        self._call = task.LoopingCall(self.tick)
        self._call.start(self.interval, now=False)

    def closed(self) -> None:
        if self._call is not None and self._call.running:
            self._call.stop()
        sys.stderr.write(self.line() + " (done)\n")
