"""Feeds out: the aggregate as Atom 1.0, RSS 2.0 or JSON Feed 1.1, one entry per story.

Each entry carries the story's representative headline, its first-seen and last-updated
times, its category, and a summary linking every outlet that reported it; the entry's
link is the earliest article. Built with the standard library's XML writer, so titles
and URLs are always escaped. Characters XML forbids are removed (``sanitize``): the
normalizer keeps them out of what a crawl stores, and the feed removes them again because
the database may hold text from elsewhere (another program, an older version).

Dates: every Atom ``published``/``updated``, RSS ``pubDate`` and JSON Feed
``date_published``/``date_modified`` is a story's first-seen or last-updated time, which
the aggregator records itself to the microsecond, so each is a full timestamp as the
formats require, whatever precision the outlets gave their articles. An article's own
publication time appears only in JSON Feed's ``_aggregator`` extension, with its
``published_precision``; a day- or month-precision one is written at its page's offset
(``2022-06-06T00:00:00+09:00``) so that its date part is the page's date.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from html import escape
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from aggregator.normalize.dates import iso_date
from aggregator.normalize.text import sanitize

if TYPE_CHECKING:
    from aggregator.storage.query import StoryView

FORMATS = ("atom", "rss", "jsonfeed")
ATOM_NS = "http://www.w3.org/2005/Atom"


def _clean(value: Any) -> Any:
    """``value`` (JSON-ready: dicts, lists, strings, scalars) with :func:`sanitize` applied
    to every string in it, keys included."""
    if isinstance(value, str):
        return sanitize(value)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


@dataclass
class FeedArticle:
    """One outlet's article in a story."""

    title: str
    url: str
    source: str | None
    site_name: str | None
    published: datetime | None
    duplicate: bool = False
    published_precision: str | None = None
    """How finely the page gave ``published`` (see ``ArticleItem.published_precision``)."""
    published_offset: int | None = None
    """The page's UTC offset for ``published``, in minutes (its calendar date is read there)."""


@dataclass
class FeedStory:
    """One story as a feed entry."""

    id: int
    headline: str
    first_seen: datetime
    updated: datetime
    category: str | None
    articles: list[FeedArticle] = field(default_factory=list)

    @property
    def outlets(self) -> list[str]:
        """Distinct outlets in order of first report."""
        seen: list[str] = []
        for a in self.articles:
            name = a.site_name or a.source or ""
            if name and name not in seen:
                seen.append(name)
        return seen

    @property
    def link(self) -> str:
        return self.articles[0].url if self.articles else ""


def feed_stories(views: Iterable[StoryView]) -> list[FeedStory]:
    """Feed entries of stored stories, newest update first (a feed reader's order)."""
    ordered = sorted(views, key=lambda v: (v.story.updated, v.story.id), reverse=True)
    return [
        FeedStory(
            id=v.story.id,
            headline=v.story.headline,
            first_seen=v.story.first_seen,
            updated=v.story.updated,
            category=v.story.category,
            articles=[
                FeedArticle(
                    a.title,
                    a.canonical_url,
                    a.source,
                    a.site_name,
                    a.published,
                    a.duplicate_of is not None,
                    a.published_precision,
                    a.published_offset,
                )
                for a in v.articles
            ],
        )
        for v in ordered
    ]


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _article_time(a: FeedArticle) -> str | None:
    """An article's publication time for the JSON Feed extension: RFC 3339 UTC; a month-
    or day-precision date at its page's offset instead, so that its date part is the
    page's date (the precision beside it says that the time of day is no statement)."""
    if a.published is None:
        return None
    if a.published_precision in ("month", "day"):
        return iso_date(a.published, a.published_precision, a.published_offset)
    return _iso(a.published)


def _summary_html(story: FeedStory) -> str:
    items = "".join(
        f'<li><a href="{escape(a.url)}">{escape(a.title)}</a>'
        f" ({escape(a.site_name or a.source or '')})"
        + (" [syndicated copy]" if a.duplicate else "")
        + "</li>"
        for a in story.articles
    )
    n = len(story.outlets)
    return f"<p>Reported by {n} outlet{'s' if n != 1 else ''}:</p><ul>{items}</ul>"


def _summary_text(story: FeedStory) -> str:
    return "Reported by " + ", ".join(story.outlets) + "."


def render(stories: Sequence[FeedStory], fmt: str, *, title: str, home: str, feed_url: str) -> str:
    """The feed document for ``stories`` (newest first as given) in ``fmt``."""
    if fmt == "atom":
        return _atom(stories, title, home, feed_url)
    if fmt == "rss":
        return _rss(stories, title, home, feed_url)
    if fmt == "jsonfeed":
        return _jsonfeed(stories, title, home, feed_url)
    raise ValueError(f"unknown feed format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _updated(stories: Sequence[FeedStory]) -> datetime:
    return max((s.updated for s in stories), default=datetime.now(timezone.utc))


def _atom(stories: Sequence[FeedStory], title: str, home: str, feed_url: str) -> str:
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    ET.SubElement(feed, f"{{{ATOM_NS}}}title").text = title
    ET.SubElement(feed, f"{{{ATOM_NS}}}id").text = feed_url
    ET.SubElement(feed, f"{{{ATOM_NS}}}updated").text = _iso(_updated(stories))
    ET.SubElement(feed, f"{{{ATOM_NS}}}link", href=home, rel="alternate")
    ET.SubElement(feed, f"{{{ATOM_NS}}}link", href=feed_url, rel="self")
    author = ET.SubElement(feed, f"{{{ATOM_NS}}}author")
    ET.SubElement(author, f"{{{ATOM_NS}}}name").text = "entertainment-news-aggregator"
    for s in stories:
        entry = ET.SubElement(feed, f"{{{ATOM_NS}}}entry")
        ET.SubElement(entry, f"{{{ATOM_NS}}}title").text = s.headline
        ET.SubElement(entry, f"{{{ATOM_NS}}}id").text = f"{feed_url}#story-{s.id}"
        ET.SubElement(entry, f"{{{ATOM_NS}}}published").text = _iso(s.first_seen)
        ET.SubElement(entry, f"{{{ATOM_NS}}}updated").text = _iso(s.updated)
        if s.link:
            ET.SubElement(entry, f"{{{ATOM_NS}}}link", href=s.link, rel="alternate")
        for a in s.articles:
            ET.SubElement(entry, f"{{{ATOM_NS}}}link", href=a.url, rel="related", title=a.title)
        if s.category:
            ET.SubElement(entry, f"{{{ATOM_NS}}}category", term=s.category)
        ET.SubElement(entry, f"{{{ATOM_NS}}}summary", type="html").text = _summary_html(s)
    return _xml_document(feed)


def _rss(stories: Sequence[FeedStory], title: str, home: str, feed_url: str) -> str:
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = title
    ET.SubElement(channel, "link").text = home
    ET.SubElement(channel, "description").text = "Entertainment stories, one per event"
    ET.SubElement(channel, "lastBuildDate").text = format_datetime(
        _updated(stories).astimezone(timezone.utc)
    )
    for s in stories:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = s.headline
        if s.link:
            ET.SubElement(item, "link").text = s.link
        ET.SubElement(item, "guid", isPermaLink="false").text = f"{feed_url}#story-{s.id}"
        ET.SubElement(item, "pubDate").text = format_datetime(s.first_seen.astimezone(timezone.utc))
        if s.category:
            ET.SubElement(item, "category").text = s.category
        ET.SubElement(item, "description").text = _summary_html(s)
    return _xml_document(rss)


def _xml_document(root: ET.Element) -> str:
    """The document of ``root``, without the characters XML forbids wherever they came
    from (removing them from the serialized text is safe: ElementTree has escaped the
    markup characters around them, and never writes them as character references)."""
    return sanitize(
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")
    )


def _jsonfeed(stories: Sequence[FeedStory], title: str, home: str, feed_url: str) -> str:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": home,
        "feed_url": feed_url,
        "items": [
            {
                "id": f"{feed_url}#story-{s.id}",
                "url": s.link or None,
                "title": s.headline,
                "content_html": _summary_html(s),
                "summary": _summary_text(s),
                "date_published": _iso(s.first_seen),
                "date_modified": _iso(s.updated),
                "tags": [s.category] if s.category else [],
                "_aggregator": {
                    "outlets": s.outlets,
                    "articles": [
                        {
                            "title": a.title,
                            "url": a.url,
                            "source": a.source,
                            "published": _article_time(a),
                            "published_precision": a.published_precision,
                            "duplicate": a.duplicate,
                        }
                        for a in s.articles
                    ],
                },
            }
            for s in stories
        ],
    }
    return json.dumps(_clean(doc), ensure_ascii=False, indent=2)
