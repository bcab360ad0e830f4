"""Shared plumbing for the pipelines: the crawler, stats and counted drops."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem

from aggregator.crawl import stats

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger("aggregator.pipelines")


class CrawlerPipeline:
    """A pipeline that keeps its crawler (for settings, stats and the spider)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def count(self, key: str, n: int = 1) -> None:
        """Add ``n`` to the ``aggregator/<key>`` stat."""
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(stats.PREFIX + key, n)

    def drop(self, reason: str, item: Any, detail: str = "") -> DropItem:
        """A DropItem for ``reason``, counted in ``aggregator/dropped/<reason>``; Scrapy logs
        it (one INFO line, see :mod:`aggregator.crawl.logformat`)."""
        self.count(f"dropped/{reason}")
        url = getattr(item, "url", "?")
        return DropItem(f"{reason}: {url}{f' ({detail})' if detail else ''}")
