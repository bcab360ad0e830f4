"""Drop items that are not articles: no URL (or one too long to store), no title or no body."""

from __future__ import annotations

from typing import Any

from aggregator.items import ArticleItem
from aggregator.normalize.item import MAX_URL

from .base import CrawlerPipeline

# A body shorter than this is a stub (video page, gallery, paywall teaser), not an article.
MIN_BODY_CHARS = 80


class ValidatePipeline(CrawlerPipeline):
    """Required fields present; anything else is a counted drop with its reason."""

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        if not item.url:
            raise self.drop("missing_url", item)
        if len(item.url) > MAX_URL:  # no database column takes it; nor do browsers
            raise self.drop("url_too_long", item, f"{len(item.url)} chars")
        if not item.title or not item.title.strip():
            raise self.drop("missing_title", item)
        if not item.body or len(item.body.strip()) < MIN_BODY_CHARS:
            raise self.drop("missing_body", item, f"{len((item.body or '').strip())} chars")
        return item
