"""Progress lines for interactive crawls (``aggregator crawl`` on a terminal).

A Scrapy extension, on when ``AGGREGATOR_PROGRESS`` is set: every few seconds it prints
one line per source with pages fetched, articles stored, drops and errors so far.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from aggregator.crawl.stats import SKIPPED_FRESH, run_figures

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
        """The figures so far, as the results table and the run record count them."""
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        figures = run_figures(stats, "finished")
        name = getattr(self.crawler.spider, "name", "?")
        return (
            f"{name}: {figures.pages} pages, {figures.new} new, {figures.updated} updated, "
            f"{stats.get(SKIPPED_FRESH, 0)} skipped, {figures.dropped} dropped, "
            f"{figures.errors} errors"
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
