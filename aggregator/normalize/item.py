"""Normalize a whole item: the pipeline's and ``aggregator extract``'s last step."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from aggregator.items import ArticleItem
from aggregator.normalize.authors import clean_authors
from aggregator.normalize.dates import ensure_aware, is_future
from aggregator.normalize.text import clean_body, clean_text
from aggregator.normalize.titles import strip_site_name
from aggregator.normalize.urls import canonicalize_url


@dataclass
class Normalized:
    """The normalized item and what normalization had to discard (for the run's stats)."""

    item: ArticleItem
    notes: list[str] = field(default_factory=list)


def normalize_item(
    item: ArticleItem,
    *,
    tz: str | None = None,
    site_names: Iterable[str] = (),
    now: datetime | None = None,
    keep_naive: bool = False,
) -> Normalized:
    """Return a normalized copy of ``item``.

    Text fields: entities, NFC, whitespace. Title: site-name suffix/prefix removed.
    Authors: clean person names. Dates: naive ones get ``tz`` (unless ``keep_naive``);
    dates after ``now`` (default: fetch time, else the clock) are dropped as impossible.
    URLs: canonical form, tracking parameters and fragment removed.
    """
    notes: list[str] = []
    names = [*site_names, item.site_name or ""]
    now = now or item.fetched_at or datetime.now(timezone.utc)
    out = replace(item)
    out.title = strip_site_name(item.title, names)
    out.subtitle = clean_text(item.subtitle)
    out.site_name = clean_text(item.site_name)
    out.authors = clean_authors(item.authors, names)
    out.body = clean_body(item.body)
    out.section = clean_text(item.section)
    # Deduplicated after cleaning, as the item documents ("TV", "tv", "TV " are one tag).
    tags: dict[str, str] = {}
    for tag in map(clean_text, item.tags):
        if tag:
            tags.setdefault(tag.casefold(), tag)
    out.tags = list(tags.values())
    out.url = canonicalize_url(item.url) or item.url
    out.canonical_url = canonicalize_url(item.canonical_url or item.url)
    out.image = canonicalize_url(item.image) if item.image else None
    for name in ("published", "modified"):
        dt: datetime | None = getattr(out, name)
        if dt is None:
            continue
        if not keep_naive:
            dt = ensure_aware(dt, tz)
        if dt is not None and is_future(dt, now):
            notes.append(f"future_{name}_date")
            dt = None  # the raw text stays, so the rejected value can be inspected
        setattr(out, name, dt)
    if out.fetched_at is not None and out.fetched_at.tzinfo is None:
        out.fetched_at = out.fetched_at.replace(tzinfo=timezone.utc)
    return Normalized(out, notes)
