"""The article item: what one news page becomes.

A plain dataclass, so the extractor has no Scrapy dependency; Scrapy handles
dataclass items natively (itemadapter), so spiders yield it and feed exports
(``scrapy crawl x -O out.jsonl``) write it as is.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class ArticleItem:
    """One article, as extracted from a page and then normalized."""

    url: str
    """The URL the page was fetched from (after redirects), absolute http(s), in canonical
    form (tracking parameters and fragment removed, as ``canonical_url``)."""

    canonical_url: str | None = None
    """The article's canonical URL: rel=canonical or og:url resolved against ``url``, with
    tracking parameters (utm_*, fbclid, ...) and the fragment removed. The dedup key."""

    source: str | None = None
    """Short name of the outlet in the source registry (``dualshockers``); None when the
    page was extracted outside a crawl and its domain is not registered."""

    site_name: str | None = None
    """The outlet's display name as the page states it (og:site_name / JSON-LD publisher),
    e.g. ``DualShockers``."""

    title: str | None = None
    """The headline: plain text, Unicode NFC, single spaces, without the site-name suffix
    or prefix (``Headline | Site`` gives ``Headline``)."""

    subtitle: str | None = None
    """The dek (standfirst): one plain-text sentence or two under the headline, or None."""

    authors: list[str] = field(default_factory=list)
    """Who the page credits as the author, one per entry, clean (no "By", roles, e-mail
    addresses or handles), order as on the page: person names and news agencies (``dpa``,
    ``Associated Press``). Only when the page credits no person or agency, the organisation
    or desk it names as the author instead: a JSON-LD author typed as an organisation, or a
    JSON-LD, meta or byline credit naming the outlet or a desk (``DER SPIEGEL``,
    ``Guardian staff reporter``). Never invented: the outlet's name found only as its site
    name (og:site_name, the publisher) is no credit. Empty when nothing is credited."""

    published: datetime | None = None
    """First publication time, timezone-aware. Extraction keeps the page's own offset;
    storage converts to UTC and records the offset separately. Naive page dates get the
    source's timezone. None when the page states no date or only a future one."""

    published_raw: str | None = None
    """The text the publication time was read from, exactly as on the page
    (``2022-06-06T12:00:00-04:00``, ``June 6, 2022``)."""

    published_precision: str | None = None
    """How finely the page states ``published``, as the parse of ``published_raw`` found:
    ``"month"`` (``March 2019``, ``4 months ago``; the value is the month's first day),
    ``"day"`` (``June 6, 2022``, ``2022-06-06``, ``2019年4月22日``, ``3 days ago``, a URL's
    ``/2016/nov/29/``), ``"hour"`` (``3 hours ago``, ``3 pm``), ``"minute"`` (``14:03``,
    ``2022-06-06T12:05-04:00``, ``5 minutes ago``) or ``"second"`` (a time with seconds,
    ``2022-06-06T00:00:00Z`` included, as the page states them). A month- or day-precision
    value's time of day (midnight where the page is) is no statement of the page's: it is
    shown as ``2019-03`` / ``2022-06-06`` and scored as a date. None when ``published`` is
    None or the precision is unknown (items stored before it was recorded)."""

    modified: datetime | None = None
    """Last update time, same format and rules as ``published``."""

    modified_raw: str | None = None
    """The text the update time was read from, as on the page."""

    modified_precision: str | None = None
    """How finely the page states ``modified``: same values and rules as
    ``published_precision``."""

    body: str | None = None
    """The article text: its paragraphs, headings and list items as plain text, one block per
    paragraph, blocks separated by one blank line (``\\n\\n``). No page furniture."""

    image: str | None = None
    """Absolute URL of the lead image (og:image / JSON-LD image), or None."""

    tags: list[str] = field(default_factory=list)
    """Keywords/tags as the outlet lists them (article:tag, JSON-LD keywords), deduplicated
    case-insensitively, order kept."""

    section: str | None = None
    """The outlet's section or category for the article (article:section,
    JSON-LD articleSection), e.g. ``TV``."""

    language: str | None = None
    """Language of the article as a lowercase BCP 47 primary tag (``en``, ``de``), from
    ``<html lang>``, og:locale or JSON-LD inLanguage; None when the page does not say."""

    fetched_at: datetime | None = None
    """When the page was fetched, timezone-aware UTC. The "now" for relative dates."""

    def to_dict(self) -> dict[str, Any]:
        """Every field, with datetimes as ISO 8601 strings (their own offset kept)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.isoformat() if isinstance(value, datetime) else value
        return out

    @classmethod
    def field_names(cls) -> list[str]:
        """Names of all item fields, in declaration order."""
        return [f.name for f in dataclasses.fields(cls)]
