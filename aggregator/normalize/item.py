"""Normalize a whole item: the pipeline's and ``aggregator extract``'s last step.

The extractor cleans each field it reads from the page (:func:`clean_fields` says how);
:func:`normalize_item` adds what needs the crawl (the source's timezone, the fetch time)
and the guards for values from anywhere (sanitizing, length caps).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from aggregator.items import ArticleItem
from aggregator.normalize.authors import clean_authors, clean_organisations
from aggregator.normalize.dates import PRECISIONS, date_problem, ensure_aware
from aggregator.normalize.text import clean_body, clean_text, sanitize, truncate
from aggregator.normalize.titles import strip_site_name
from aggregator.normalize.urls import canonicalize_url

# Longest values kept, in characters: far above any real page's, so only a hostile or
# broken page is cut (a 1 MB "headline"). MAX_BODY also keeps PostgreSQL's search
# document under its 1 MB limit (a longer body of distinct words fails the insert).
MAX_TITLE = 500
MAX_SUBTITLE = 2_000
MAX_NAME = 200  # an author, the site name, the section, a tag
MAX_AUTHORS = 30
MAX_TAGS = 100
MAX_BODY = 200_000
MAX_URL = 2_048  # the database's column size; a longer image URL is dropped


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
    """Return a normalized copy of ``item``, an item as the extractor hands it over.

    The extractor owns the cleaning of what it reads from the page (each field's text:
    entities, NFC, whitespace; the title without its site-name segments; clean author
    names; tags deduplicated; canonical URLs): :func:`clean_fields` states it, and every
    extracted item is a fixed point of it. That is not done again here. What is done
    here needs the crawl's context, or guards values that may come from anywhere:

    Every text: characters no text may hold removed (:func:`sanitized`); a field that
    lost any is cleaned again (:func:`clean_fields`), as the removal can leave what
    cleaning removes (two spaces, an empty value, a repeated tag). Every text cut at the
    ``MAX_*`` lengths. Dates: naive ones get ``tz`` (unless ``keep_naive``); dates that
    do not exist in UTC, lie before 1990 or after ``now`` (default: fetch time, else the
    clock) are left empty, their raw text kept. A date's precision
    (``published_precision``, ``modified_precision``) is kept as the extractor found it,
    and emptied with the date (or when it is no known precision).

    A month- or day-precision date is the start of its month or day where the page is:
    midnight in ``tz`` (the extractor reads a bare date naive, as local; the month's
    first day for a month). Storage keeps that instant in UTC with its offset
    (``published_offset``), so the page's calendar date is read back exactly (the UTC
    instant plus the offset) in any zone, and the row needs no rewriting. Noon UTC, the
    other convention, would need no offset but names the page's date only in zones within
    12 hours of UTC, and sorts the date by UTC noon rather than by the publisher's day.
    Sorted by instant, a day-precision article comes at the start of its day (the
    earliest instant the page allows), before that day's timed articles; "same day"
    compares calendar dates, each where its page is.

    ``notes`` name what was discarded: ``<problem>_<field>_date`` (``future``,
    ``implausible``, ``impossible``) and ``truncated_<field>``.
    """
    notes: list[str] = []
    clean = sanitized(item)
    if clean is not item:  # a hostile page's character removed: clean those fields again
        touched = {f.name for f in dataclasses.fields(item)}
        touched = {n for n in touched if getattr(clean, n) != getattr(item, n)}
        clean = clean_fields(clean, site_names, only=touched)
    item = clean
    now = now or item.fetched_at or datetime.now(timezone.utc)
    out = dataclasses.replace(item)
    out.title = _capped(item.title, MAX_TITLE, "title", notes)
    out.subtitle = _capped(item.subtitle, MAX_SUBTITLE, "subtitle", notes)
    out.site_name = _capped(item.site_name, MAX_NAME, "site_name", notes)
    authors = [a for a in item.authors if len(a) <= MAX_NAME]  # a 1 MB "name" is no name
    if len(authors) > MAX_AUTHORS or len(authors) < len(item.authors):
        notes.append("truncated_authors")
    out.authors = authors[:MAX_AUTHORS]
    out.body = _capped(item.body, MAX_BODY, "body", notes)
    out.section = _capped(item.section, MAX_NAME, "section", notes)
    tags = [t for t in item.tags if len(t) <= MAX_NAME]
    if len(tags) > MAX_TAGS or len(tags) < len(item.tags):
        notes.append("truncated_tags")
    out.tags = tags[:MAX_TAGS]
    if out.canonical_url and len(out.canonical_url) > MAX_URL:
        out.canonical_url = out.url  # the storage key must fit its column
    if out.image and len(out.image) > MAX_URL:
        out.image = None
    for name in ("published", "modified"):
        dt: datetime | None = getattr(out, name)
        if dt is not None:
            if not keep_naive:
                dt = ensure_aware(dt, tz)
            problem = date_problem(dt, now) if dt is not None else None
            if problem:
                notes.append(f"{problem}_{name}_date")
                dt = None  # the raw text stays, so the rejected value can be inspected
            setattr(out, name, dt)
        # A precision belongs to a date: none without one, and none but the known values.
        precision = getattr(out, f"{name}_precision")
        if dt is None or precision not in PRECISIONS:
            setattr(out, f"{name}_precision", None)
    if out.fetched_at is not None and out.fetched_at.tzinfo is None:
        out.fetched_at = out.fetched_at.replace(tzinfo=timezone.utc)
    return Normalized(out, notes)


# The fields the extractor cleans; and what a field's cleaning reads besides the field (the
# title and the authors drop the site's names, the canonical URL falls back to the URL).
_FIELDS = (
    "title", "subtitle", "site_name", "section", "authors", "body", "tags", "url",
    "canonical_url", "image",
)  # fmt: skip
_CLEANED_WITH = {"site_name": ("title", "authors"), "url": ("canonical_url",)}


def clean_fields(
    item: ArticleItem, site_names: Iterable[str] = (), *, only: Iterable[str] | None = None
) -> ArticleItem:
    """A copy of ``item`` with each field cleaned as the extractor cleans it, which every
    item the extractor hands over already is (cleaning it again changes nothing).

    Text fields: entities, NFC, whitespace (:func:`clean_text`, :func:`clean_body`).
    Title: site-name suffix/prefix removed (``site_names`` and the item's site name).
    Authors: clean person and agency names, else the organisation credited (see
    :attr:`ArticleItem.authors`). Tags: cleaned, empty ones dropped, deduplicated
    case-insensitively. URLs: canonical form, tracking parameters and fragment removed.
    With ``only``, just those fields (and the fields cleaned with them).

    For :func:`normalize_item`, on a field sanitizing changed; for an item that did not
    come from the extractor (a test's, a benchmark's) before it is normalized."""
    names = [*site_names, item.site_name or ""]
    wanted = set(_FIELDS if only is None else only)
    for name in list(wanted):
        wanted.update(_CLEANED_WITH.get(name, ()))
    changes: dict[str, Any] = {}
    if "title" in wanted:
        changes["title"] = strip_site_name(item.title, names)
    for name in ("subtitle", "site_name", "section"):
        if name in wanted:
            changes[name] = clean_text(getattr(item, name))
    if "authors" in wanted:
        # Persons and agencies; else the organisation the extractor found credited (it
        # gives one only when the page credits no person).
        changes["authors"] = clean_authors(item.authors, names) or clean_organisations(
            item.authors, names, any_name=True
        )
    if "body" in wanted:
        changes["body"] = clean_body(item.body)
    if "tags" in wanted:
        # Deduplicated after cleaning, as the item documents ("TV", "tv", "TV " are one tag).
        tags: dict[str, str] = {}
        for tag in map(clean_text, item.tags):
            if tag:
                tags.setdefault(tag.casefold(), tag)
        changes["tags"] = list(tags.values())
    if "url" in wanted:
        changes["url"] = canonicalize_url(item.url) or item.url
    if "canonical_url" in wanted:
        changes["canonical_url"] = canonicalize_url(item.canonical_url or item.url)
    if "image" in wanted:
        changes["image"] = canonicalize_url(item.image) if item.image else None
    return dataclasses.replace(item, **changes)


def sanitized(item: ArticleItem) -> ArticleItem:
    """A copy of ``item`` whose every text (and list of texts) is cleaned with :func:`sanitize`:
    what a hostile page puts in any field (a lone surrogate in JSON-LD) never reaches the
    database, a feed or the terminal."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(item):
        value = getattr(item, f.name)
        if isinstance(value, str):
            clean: Any = sanitize(value)
        elif isinstance(value, list):
            clean = [sanitize(v) if isinstance(v, str) else v for v in value]
        else:
            continue
        if clean != value:
            changes[f.name] = clean
    return dataclasses.replace(item, **changes) if changes else item


def _capped(value: str | None, limit: int, name: str, notes: list[str]) -> str | None:
    if value is None or len(value) <= limit:
        return value
    notes.append(f"truncated_{name}")
    return truncate(value, limit)
