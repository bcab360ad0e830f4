"""Normalize fields with what only the crawl knows: the source's timezone and names."""

from __future__ import annotations

from typing import Any

from aggregator.items import ArticleItem
from aggregator.normalize.item import normalize_item
from pipelines.base import CrawlerPipeline


class NormalizePipeline(CrawlerPipeline):
    """Text, titles, authors, dates (source timezone, no future dates) and URLs."""

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        spider = self.crawler.spider
        src = getattr(spider, "source", None)
        result = normalize_item(
            item,
            tz=src.timezone if src else None,
            site_names=src.site_names if src else (),
        )
        for note in result.notes:
            self.count(f"normalized/{note}")
        out = result.item
        since, until = getattr(spider, "since", None), getattr(spider, "until", None)
        if out.published is not None and (
            (since and out.published < since) or (until and out.published > until)
        ):
            raise self.drop("outside_window", out, out.published.isoformat())
        return out
