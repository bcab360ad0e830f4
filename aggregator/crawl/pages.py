"""A fetched page to an article item: what the spider and ``aggregator import-warc`` share.

Which pages are not extracted (and the stats key each is counted under), and the
extraction itself with the source's registry binding, so that a page archived in a WARC
becomes the item a crawl of the same page makes.
"""

from __future__ import annotations

from datetime import datetime

from aggregator.extract import extract_article, extractor_for_source
from aggregator.extract.page import decode_html
from aggregator.items import ArticleItem
from aggregator.sources import Source


def not_extracted(body: bytes, content_type: str, text: bool = True) -> str | None:
    """The key under ``aggregator/`` of a page that is not extracted: empty
    (``dropped/empty_page``), or not HTML (``dropped/not_html``; ``text``: the response was
    taken for text); None for a page that is."""
    if not body.strip():
        return "dropped/empty_page"
    ctype = content_type.lower()
    if not text or (ctype and "html" not in ctype):
        return "dropped/not_html"
    return None


def extract_page(
    src: Source, body: bytes, content_type: str, url: str, fetched_at: datetime | None
) -> ArticleItem:
    """The article of one page of ``src`` (raises what
    :func:`~aggregator.extract.extract_article` raises)."""
    return extract_article(
        decode_html(body, content_type),
        url,
        fetched_at,
        source=src.name,
        tz=src.timezone,
        site_names=src.site_names,
        extractor=extractor_for_source(src),
    )
