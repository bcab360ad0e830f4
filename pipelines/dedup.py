"""Drop repeats within one run: the same canonical URL or the same body text.

Repeats against the database are not dropped here: the store updates the existing row
(so a re-crawl refreshes an article instead of adding a second one).
"""

from __future__ import annotations

from typing import Any

from aggregator.items import ArticleItem
from aggregator.normalize.text import body_hash

from .base import CrawlerPipeline


class DedupPipeline(CrawlerPipeline):
    """Within-run dedup on canonical URL and normalized body hash."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.urls: set[str] = set()
        self.hashes: set[str] = set()

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        url = item.canonical_url or item.url
        if url in self.urls:
            raise self.drop("duplicate_url", item, url)
        h = body_hash(item.body)
        if h is not None and h in self.hashes:
            raise self.drop("duplicate_body", item)
        self.urls.add(url)
        if h is not None:
            self.hashes.add(h)
        return item
