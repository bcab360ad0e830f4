"""Feeds out: the aggregate as Atom 1.0, RSS 2.0 or JSON Feed 1.1, one entry per story.

Each entry carries the story's representative headline, its dek and lead image, the
authors and outlets of its reports, its first-seen and last-updated times, its category,
and a summary linking every outlet's article; the entry's link is the earliest article.

Entry ids (Atom ``id``, RSS ``guid``, JSON Feed ``id``) are the same in every format and
do not depend on the database's row ids, which ``aggregator db reindex --all`` renumbers:
a ``urn:uuid:`` derived from the canonical URL of the story's first stored article
(:attr:`FeedStory.key`). A story keeps it as more reports join (they are stored later),
and a reader keeps its read state across reindexing.

Written with lxml's element tree (already the extractor's parser), so titles and URLs
are always escaped. Not feedgen: its latest release (1.0.0) drops the ``rel``, ``type``
and ``title`` of every Atom entry link (lkiesow/python-feedgen#135, open), which turns
the links to each outlet's article and the image enclosure into several ``alternate``
links, invalid Atom (RFC 4287 4.1.1); and its RSS channel ``link`` is whichever link was
set last. The tests parse the output back (lxml without recovery, feedparser, json).
Characters XML forbids are removed (``sanitize``): the normalizer keeps them out of what
a crawl stores, and the feed removes them again because the database may hold text from
elsewhere (another program, an older version).

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
import mimetypes
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lxml import etree

from aggregator.normalize.dates import iso_date
from aggregator.normalize.text import sanitize

if TYPE_CHECKING:
    from aggregator.storage.query import StoryView

FORMATS = ("atom", "rss", "jsonfeed")
FILE_NAMES = {"atom": "atom.xml", "rss": "rss.xml", "jsonfeed": "feed.json"}
ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
DC_NS = "http://purl.org/dc/elements/1.1/"
# Authors named on one entry at most (a story of many reports names many people).
MAX_AUTHORS = 12
# When the image URL's name says nothing of its type: lead images (og:image) are JPEG far
# most often, and readers only need to know it is a picture.
DEFAULT_IMAGE_TYPE = "image/jpeg"


def _el(parent: Any, tag: str, text: str | None = None, **attrib: str) -> Any:
    """A new child of ``parent``, its text and attributes without the characters XML
    forbids (lxml refuses them)."""
    el = etree.SubElement(parent, tag, {k: sanitize(v) for k, v in attrib.items()})
    if text is not None:
        el.text = sanitize(text)
    return el


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
    first_seen: datetime | None = None
    """When the aggregator first stored it (the story's id is its first stored article's)."""
    subtitle: str | None = None
    image: str | None = None
    authors: list[str] = field(default_factory=list)

    @property
    def outlet(self) -> str:
        return self.site_name or self.source or ""


def story_key(articles: Sequence[FeedArticle]) -> str | None:
    """The stable id of a story of ``articles``: a name-based UUID of the canonical URL of
    its first stored article (first seen, then the smallest URL), None without articles."""
    if not articles:
        return None
    far = datetime.max.replace(tzinfo=timezone.utc)
    first = min(articles, key=lambda a: (_utc(a.first_seen) if a.first_seen else far, a.url))
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, sanitize(first.url))}"


def _utc(dt: datetime) -> datetime:
    """``dt`` as an aware UTC time (SQLite hands stored times back naive, in UTC)."""
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _web_url(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL, else None (a feed links nothing else)."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


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
    def key(self) -> str:
        """The entry's id in every format (see the module's docstring)."""
        return story_key(self.articles) or f"urn:x-aggregator:story:{self.id}"

    @property
    def outlets(self) -> list[str]:
        """Distinct outlets in order of first report."""
        seen: list[str] = []
        for a in self.articles:
            if a.outlet and a.outlet not in seen:
                seen.append(a.outlet)
        return seen

    @property
    def link(self) -> str:
        return self.articles[0].url if self.articles else ""

    def _lead_first(self) -> list[FeedArticle]:
        """The articles, the one whose title is the headline first."""
        lead = [a for a in self.articles if a.title == self.headline][:1]
        return lead + [a for a in self.articles if a not in lead]

    @property
    def dek(self) -> str | None:
        """The headline article's dek, else the first report's that has one."""
        return next((a.subtitle.strip() for a in self._lead_first()
                     if a.subtitle and a.subtitle.strip()), None)  # fmt: skip

    @property
    def image(self) -> str | None:
        """The lead image: the headline article's, else the first report's."""
        return next((u for a in self._lead_first() if (u := _web_url(a.image))), None)

    @property
    def authors(self) -> list[str]:
        """Distinct author names, the headline article's first (at most ``MAX_AUTHORS``)."""
        names: list[str] = []
        for a in self._lead_first():
            for name in a.authors or []:
                if isinstance(name, str) and name.strip() and name.strip() not in names:
                    names.append(name.strip())
        return names[:MAX_AUTHORS]

    @property
    def outlet_sources(self) -> list[tuple[str, str]]:
        """Distinct outlets as (source key or name, display name), in order of report."""
        seen: dict[str, str] = {}
        for a in self.articles:
            if a.outlet and a.outlet not in seen.values():
                seen.setdefault(a.source or a.outlet, a.outlet)
        return list(seen.items())


def feed_stories(views: Iterable[StoryView]) -> list[FeedStory]:
    """Feed entries of stored stories, newest update first (a feed reader's order)."""
    stories = [
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
                    a.first_seen,
                    a.subtitle,
                    a.image,
                    list(a.authors) if isinstance(a.authors, list) else [],
                )
                for a in v.articles
            ],
        )
        for v in views
    ]
    # Ties in time go by the stable key, not the row id (which reindexing renumbers).
    return sorted(stories, key=lambda s: (_utc(s.updated), s.key), reverse=True)


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


def _image_type(url: str) -> str:
    guessed, _ = mimetypes.guess_type(urlsplit(url).path)
    return guessed if guessed and guessed.startswith("image/") else DEFAULT_IMAGE_TYPE


def _summary_html(story: FeedStory) -> str:
    """The entry's content: dek, lead image, and every outlet's article with its authors."""
    items = "".join(
        f'<li><a href="{escape(a.url)}">{escape(a.title)}</a>'
        f" ({escape(a.outlet)}"
        + (f", by {escape(', '.join(a.authors))}" if a.authors else "")
        + ")"
        + (" [syndicated copy]" if a.duplicate else "")
        + "</li>"
        for a in story.articles
    )
    n = len(story.outlets)
    dek = f"<p>{escape(story.dek)}</p>" if story.dek else ""
    image = f'<p><img src="{escape(story.image)}" alt=""></p>' if story.image else ""
    return f"{dek}{image}<p>Reported by {n} outlet{'s' if n != 1 else ''}:</p><ul>{items}</ul>"


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


def _outlet_scheme(home: str) -> str:
    """The category scheme (Atom) or domain (RSS) that marks a category as an outlet."""
    return f"{home.rstrip('/')}/outlets"


def _media(parent: Any, image: str) -> None:
    _el(parent, f"{{{MEDIA_NS}}}content", url=image, medium="image",
                  type=_image_type(image))  # fmt: skip
    _el(parent, f"{{{MEDIA_NS}}}thumbnail", url=image)


def _atom(stories: Sequence[FeedStory], title: str, home: str, feed_url: str) -> str:
    a_ = f"{{{ATOM_NS}}}"
    feed = etree.Element(f"{a_}feed", nsmap={None: ATOM_NS, "media": MEDIA_NS})
    _el(feed, f"{a_}title", title)
    _el(feed, f"{a_}id", feed_url)
    _el(feed, f"{a_}updated", _iso(_updated(stories)))
    _el(feed, f"{a_}link", href=home, rel="alternate")
    _el(feed, f"{a_}link", href=feed_url, rel="self", type="application/atom+xml")
    author = _el(feed, f"{a_}author")
    _el(author, f"{a_}name", "entertainment-news-aggregator")
    for s in stories:
        entry = _el(feed, f"{a_}entry")
        _el(entry, f"{a_}title", s.headline)
        _el(entry, f"{a_}id", s.key)
        _el(entry, f"{a_}published", _iso(s.first_seen))
        _el(entry, f"{a_}updated", _iso(s.updated))
        for name in s.authors:
            _el(_el(entry, f"{a_}author"), f"{a_}name", name)
        if s.link:
            _el(entry, f"{a_}link", href=s.link, rel="alternate")
        for a in s.articles:
            _el(entry, f"{a_}link", href=a.url, rel="related", title=a.title)
        if s.image:
            _el(entry, f"{a_}link", href=s.image, rel="enclosure",
                          type=_image_type(s.image))  # fmt: skip
        if s.category:
            _el(entry, f"{a_}category", term=s.category)
        for source, name in s.outlet_sources:
            _el(entry, f"{a_}category", term=source, label=name,
                          scheme=_outlet_scheme(home))  # fmt: skip
        if s.dek:
            _el(entry, f"{a_}summary", s.dek, type="text")
        _el(entry, f"{a_}content", _summary_html(s), type="html")
        if s.image:
            _media(entry, s.image)
    return _xml_document(feed)


def _rss(stories: Sequence[FeedStory], title: str, home: str, feed_url: str) -> str:
    rss = etree.Element(
        "rss", version="2.0", nsmap={"atom": ATOM_NS, "dc": DC_NS, "media": MEDIA_NS}
    )
    channel = _el(rss, "channel")
    _el(channel, "title", title)
    _el(channel, "link", home)
    _el(channel, "description", "Entertainment stories, one per event")
    _el(channel, f"{{{ATOM_NS}}}link", href=feed_url, rel="self",
                  type="application/rss+xml")  # fmt: skip
    _el(channel, "lastBuildDate", format_datetime(_updated(stories).astimezone(timezone.utc)))
    for s in stories:
        item = _el(channel, "item")
        _el(item, "title", s.headline)
        if s.link:
            _el(item, "link", s.link)
        _el(item, "guid", s.key, isPermaLink="false")
        _el(item, "pubDate", format_datetime(s.first_seen.astimezone(timezone.utc)))
        # RSS's own <author> is an e-mail address; Dublin Core's creator is a name.
        for name in s.authors:
            _el(item, f"{{{DC_NS}}}creator", name)
        if s.category:
            _el(item, "category", s.category)
        for _source, name in s.outlet_sources:
            _el(item, "category", name, domain=_outlet_scheme(home))
        if s.image:
            # The length is unknown without fetching the image; 0 is the convention.
            _el(item, "enclosure", url=s.image, length="0", type=_image_type(s.image))
            _media(item, s.image)
        _el(item, "description", _summary_html(s))
    return _xml_document(rss)


def _xml_document(root: Any) -> str:
    """The document of ``root``. Every text and attribute went through :func:`_el`,
    which removed the characters XML forbids wherever they came from; removing them
    from the serialized text again is safe (the markup around them is escaped, and
    lxml writes none of them as character references) and keeps the promise whatever
    a future change adds."""
    text = etree.tostring(root, encoding="unicode")
    return sanitize('<?xml version="1.0" encoding="utf-8"?>\n' + text)


def _jsonfeed(stories: Sequence[FeedStory], title: str, home: str, feed_url: str) -> str:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": home,
        "feed_url": feed_url,
        "items": [
            {
                "id": s.key,
                "url": s.link or None,
                "title": s.headline,
                "content_html": _summary_html(s),
                "summary": s.dek or _summary_text(s),
                **({"image": s.image} if s.image else {}),
                **({"authors": [{"name": n} for n in s.authors]} if s.authors else {}),
                "date_published": _iso(s.first_seen),
                "date_modified": _iso(s.updated),
                "tags": [s.category] if s.category else [],
                "_aggregator": {
                    "story": s.id,
                    "outlets": s.outlets,
                    "articles": [
                        {
                            "title": a.title,
                            "url": a.url,
                            "source": a.source,
                            "authors": a.authors,
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
