"""Page -> ArticleItem, without Scrapy: testable on a saved HTML string.

``extract_article(html, url)`` picks the extractor registered for the URL's domain
(falling back to the generic one) and returns the item with every field extracted and
normalized as far as the page alone allows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from aggregator.extract.generic import GenericExtractor
from aggregator.extract.page import Page, decode_html
from aggregator.extract.registry import extractor_for, register
from aggregator.items import ArticleItem

__all__ = [
    "GenericExtractor",
    "Page",
    "decode_html",
    "extract_article",
    "extractor_for",
    "register",
]


def extract_article(
    html: str,
    url: str,
    fetched_at: datetime | None = None,
    *,
    source: str | None = None,
    tz: str | None = None,
    site_names: Iterable[str] = (),
    extractor: type[GenericExtractor] | None = None,
) -> ArticleItem:
    """Extract one article from HTML text fetched from ``url`` at ``fetched_at``."""
    cls = extractor or extractor_for(url)
    page = Page(html, url, fetched_at)
    return cls(page, source=source, tz=tz, site_names=site_names).extract()
