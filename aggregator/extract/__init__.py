"""Page -> ArticleItem, without Scrapy: testable on a saved HTML string.

``extract_article(html, url)`` picks the extractor the source registry binds to the
outlet that owns the URL (falling back to the generic one) and returns the item with
every field extracted and normalized as far as the page alone allows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from aggregator.extract.generic import GenericExtractor
from aggregator.extract.page import MAX_ELEMENTS, Page, TooComplexError, decode_html
from aggregator.extract.registry import extractor_for, extractor_for_source
from aggregator.items import ArticleItem

__all__ = [
    "MAX_ELEMENTS",
    "GenericExtractor",
    "Page",
    "TooComplexError",
    "decode_html",
    "extract_article",
    "extractor_for",
    "extractor_for_source",
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
    max_elements: int = MAX_ELEMENTS,
) -> ArticleItem:
    """Extract one article from HTML text fetched from ``url`` at ``fetched_at``.

    Raises :class:`TooComplexError` for a page with more than ``max_elements`` elements
    (its HTML fragments included): the work per page is bounded by that and by the
    length of the text, as every step is linear in both."""
    cls = extractor or extractor_for(url)
    page = Page(html, url, fetched_at, max_elements=max_elements)
    return cls(page, source=source, tz=tz, site_names=site_names).extract()
