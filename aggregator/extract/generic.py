"""The generic extractor: structured data first, then the DOM.

Each field has its own method with a fallback chain (JSON-LD, then OpenGraph/meta, then
``<time>``/bylines/DOM). Per-site extractors subclass :class:`GenericExtractor` and
override only the methods (or class attributes) that differ for their outlet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, ClassVar

from aggregator.extract.body import extract_body
from aggregator.extract.page import HtmlElement, Page
from aggregator.items import ArticleItem
from aggregator.normalize.authors import clean_authors
from aggregator.normalize.dates import date_from_url, parse_date
from aggregator.normalize.text import clean_text
from aggregator.normalize.titles import strip_site_name
from aggregator.normalize.urls import canonicalize_url, domain_of

_LANG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_].*)?$")
_WS = re.compile(r"\s+")


def _str_values(value: Any) -> Iterator[str]:
    """Strings in a JSON-LD value: a string, a list of them, or objects with name/url."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _str_values(v)
    elif isinstance(value, dict):
        for key in ("name", "url", "@id", "contentUrl"):
            v = value.get(key)
            if isinstance(v, str):
                yield v
                return


def _first_str(value: Any) -> str | None:
    return next(_str_values(value), None)


class GenericExtractor:
    """Turns a :class:`Page` into an :class:`ArticleItem` with general rules.

    Subclasses may set ``body_xpath`` (the body container), ``drop_xpaths`` (furniture
    inside it), ``author_xpath`` and ``subtitle_xpath`` instead of overriding methods.
    """

    body_xpath: ClassVar[str | None] = None
    drop_xpaths: ClassVar[tuple[str, ...]] = ()
    author_xpath: ClassVar[str | None] = None
    subtitle_xpath: ClassVar[str | None] = None

    def __init__(
        self,
        page: Page,
        *,
        source: str | None = None,
        tz: str | None = None,
        site_names: Iterable[str] = (),
    ) -> None:
        self.page = page
        self.source = source
        self.tz = tz
        self._extra_site_names = list(site_names)

    # -- helpers ------------------------------------------------------------------------

    @property
    def tree(self) -> HtmlElement:
        return self.page.tree

    def jsonld_value(self, *keys: str) -> Any:
        """The first value among ``keys`` in the page's article JSON-LD objects."""
        for obj in self.page.articles:
            for k in keys:
                v = obj.get(k)
                if v not in (None, "", []):
                    return v
        return None

    def site_names(self) -> list[str]:
        """Names the outlet goes by: meta/JSON-LD names, the source's names, the domain."""
        names = list(self._extra_site_names)
        for key in ("og:site_name", "application-name", "twitter:site", "publisher"):
            v = self.page.meta_first(key)
            if v:
                names.append(v.lstrip("@"))
        pub = self.jsonld_value("publisher")
        names.extend(n for n in _str_values(pub) if not n.startswith("http"))
        names.append(domain_of(self.page.url))
        return names

    # -- fields -------------------------------------------------------------------------

    def canonical_url(self) -> str | None:
        for link in self.tree.iterfind(".//link[@rel]"):
            if "canonical" in (link.get("rel") or "").lower().split():
                url = canonicalize_url(link.get("href"), self.page.url)
                if url:
                    return url
        og = canonicalize_url(self.page.meta_first("og:url"), self.page.url)
        return og or canonicalize_url(self.page.url)

    def site_name(self) -> str | None:
        v = self.page.meta_first("og:site_name")
        if not v:
            v = _first_str(self.jsonld_value("publisher"))
            if v and v.startswith("http"):
                v = None
        return clean_text(v)

    def title_candidates(self) -> list[str]:
        """Headline candidates in order of trust."""
        out: list[str] = []
        for v in (
            _first_str(self.jsonld_value("headline")),
            self.page.meta_first("og:title"),
            self.page.meta_first("twitter:title"),
        ):
            if v:
                out.append(v)
        h1 = self._h1()
        if h1:
            out.append(h1)
        t = self.tree.findtext(".//title")
        if t:
            out.append(t)
        return out

    def _h1(self) -> str | None:
        for h in self.tree.iter("h1"):
            text = clean_text(h.text_content())
            if text and len(text) > 5:
                return text
        return None

    def title(self) -> str | None:
        names = self.site_names()
        cands = [c for c in (strip_site_name(x, names) for x in self.title_candidates()) if c]
        if not cands:
            return None
        h1 = strip_site_name(self._h1(), names)
        if h1:
            key = h1.casefold()
            # The visible headline wins when structured data agrees with it (they often
            # differ only by a suffix or by SEO rewording, where h1 is the reader's view).
            for c in cands:
                if c.casefold() == key:
                    return c
        return cands[0]

    def subtitle(self) -> str | None:
        if self.subtitle_xpath:
            found = self.tree.xpath(self.subtitle_xpath)
            if found:
                return clean_text(_text_of(found[0]))
        for el in self.tree.xpath(
            "//*[contains(@class,'dek') or contains(@class,'subtitle')"
            " or contains(@class,'standfirst')"
            " or contains(@class,'subheadline') or contains(@class,'sub-headline')"
            " or contains(@class,'excerpt') or contains(@class,'article-summary')"
            " or contains(@class,'lede') or contains(@class,'teaser-text')][self::p or self::h2"
            " or self::div or self::span]"
        ):
            text = clean_text(_text_of(el))
            if text and 20 <= len(text) <= 400:
                return text
        v = self.page.meta_first("og:description", "description", "twitter:description")
        if not v:
            v = _first_str(self.jsonld_value("description"))
        return clean_text(v)

    def author_candidates(self) -> list[str]:
        """Raw author strings, structured data first; the DOM only when it has none."""
        out: list[str] = []
        for obj in self.page.articles[:1] or []:
            for a in _as_list(obj.get("author")) + _as_list(obj.get("creator")):
                if isinstance(a, dict):
                    types = self.page.jsonld_types(a)
                    if types & {"organization", "newsmediaorganization", "corporation"}:
                        continue
                    name = a.get("name")
                    if isinstance(name, str):
                        out.append(name)
                    elif isinstance(name, list):
                        out.extend(x for x in name if isinstance(x, str))
                elif isinstance(a, str) and not a.startswith("http"):
                    out.append(a)
        if out:
            return out
        for key in (
            "author",
            "article:author",
            "parsely-author",
            "sailthru.author",
            "dc.creator",
            "byl",
            "dcterms.creator",
        ):
            for v in self.page.meta.get(key, []):
                if not v.startswith("http"):
                    out.append(v)
            if out:
                return out
        return self._dom_authors()

    def _dom_authors(self) -> list[str]:
        xpaths = [self.author_xpath] if self.author_xpath else []
        xpaths += [
            "//*[@itemprop='author']//*[@itemprop='name']",
            "//*[@itemprop='author' and not(.//*[@itemprop='name'])]",
            "//a[@rel='author']",
            "//*[contains(@class,'author-name') or contains(@class,'byline__name')"
            " or contains(@class,'author__name')]",
            "//*[contains(@class,'byline') and not(.//*[contains(@class,'byline')])]",
        ]
        for xp in xpaths:
            found = [clean_text(_text_of(e)) for e in self.tree.xpath(xp)]
            values = [v for v in found if v and len(v) < 120]
            if values:
                return values[:6]
        return []

    def authors(self) -> list[str]:
        return clean_authors(self.author_candidates(), self.site_names())

    _PUBLISHED_META = (
        "article:published_time",
        "og:published_time",
        "datepublished",
        "pubdate",
        "publishdate",
        "publish-date",
        "publish_date",
        "date",
        "dc.date",
        "dc.date.issued",
        "dcterms.created",
        "dcterms.issued",
        "sailthru.date",
        "parsely-pub-date",
        "article.published",
        "published_time",
        "cxenseparse:recs:publishtime",
        "originalpublicationdate",
    )
    _MODIFIED_META = (
        "article:modified_time",
        "og:updated_time",
        "datemodified",
        "last-modified",
        "dcterms.modified",
        "article.updated",
        "modified_time",
    )

    def published_candidates(self) -> Iterator[str]:
        """Raw publication-date strings in order of trust."""
        for key in ("datePublished", "dateCreated", "uploadDate"):
            v = _first_str(self.jsonld_value(key))
            if v:
                yield v
        for key in self._PUBLISHED_META:
            v = self.page.meta_first(key)
            if v:
                yield v
        for el in self.tree.xpath("//*[@itemprop='datePublished']"):
            v = el.get("datetime") or el.get("content") or el.text_content()
            if v:
                yield v
        for el in self.tree.iter("time"):
            v = el.get("datetime") or el.text_content()
            if v:
                yield v

    def modified_candidates(self) -> Iterator[str]:
        v = _first_str(self.jsonld_value("dateModified"))
        if v:
            yield v
        for key in self._MODIFIED_META:
            v = self.page.meta_first(key)
            if v:
                yield v
        for el in self.tree.xpath("//*[@itemprop='dateModified']"):
            v = el.get("datetime") or el.get("content")
            if v:
                yield v

    def _parse_first(self, raws: Iterable[str]) -> tuple[datetime | None, str | None]:
        lang = self.language()
        langs = [lang] if lang else None
        for raw in raws:
            raw = clean_text(raw) or ""
            dt = parse_date(raw, now=self.page.fetched_at, languages=langs, tz=None)
            if dt is not None:
                return dt, raw
        return None, None

    def published(self) -> tuple[datetime | None, str | None]:
        """(publication time, the raw text it came from)."""
        dt, raw = self._parse_first(self.published_candidates())
        if dt is None:
            url_dt = date_from_url(self.page.url)
            if url_dt is not None:
                return url_dt, url_dt.date().isoformat()
        return dt, raw

    def modified(self) -> tuple[datetime | None, str | None]:
        return self._parse_first(self.modified_candidates())

    def image(self) -> str | None:
        v = self.page.meta_first("og:image", "og:image:url", "twitter:image", "twitter:image:src")
        if not v:
            v = _first_str(self.jsonld_value("image", "thumbnailUrl"))
        return canonicalize_url(v, self.page.url) if v else None

    def tags(self) -> list[str]:
        raw: list[str] = list(self.page.meta.get("article:tag", []))
        kw = self.jsonld_value("keywords")
        if isinstance(kw, str):
            raw.extend(kw.split(","))
        elif isinstance(kw, list):
            raw.extend(x for x in kw if isinstance(x, str))
        if not raw:
            for key in ("news_keywords", "keywords"):
                v = self.page.meta_first(key)
                if v:
                    raw.extend(v.split(","))
                    break
        out: list[str] = []
        seen: set[str] = set()
        for t in raw:
            c = clean_text(t)
            if c and c.casefold() not in seen and len(c) < 80:
                seen.add(c.casefold())
                out.append(c)
        return out

    def section(self) -> str | None:
        v = self.page.meta_first("article:section", "parsely-section", "section")
        if not v:
            v = _first_str(self.jsonld_value("articleSection"))
        return clean_text(v)

    def language(self) -> str | None:
        cached: str | bool | None = getattr(self, "_language", False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        lang = None
        for v in (
            self.tree.get("lang"),
            self.tree.get("xml:lang"),
            self.page.meta_first("og:locale", "content-language", "language", "dc.language"),
            _first_str(self.jsonld_value("inLanguage")),
        ):
            if v:
                m = _LANG.match(v.strip())
                if m:
                    lang = m.group(1).lower()
                    break
        self._language = lang
        return lang

    def body_container(self) -> HtmlElement | None:
        if self.body_xpath:
            found = self.tree.xpath(self.body_xpath)
            if found:
                el: HtmlElement = found[0]
                for xp in self.drop_xpaths:
                    for bad in el.xpath(xp):
                        bad.drop_tree()
                return el
        return None

    def body(self, title: str | None, subtitle: str | None) -> str | None:
        """Article text; runs last because it prunes the shared tree."""
        return extract_body(
            self.tree, title=title, subtitle=subtitle, container=self.body_container()
        )

    # -- all together -------------------------------------------------------------------

    def extract(self) -> ArticleItem:
        title = self.title()
        subtitle = self.subtitle()
        published, published_raw = self.published()
        modified, modified_raw = self.modified()
        item = ArticleItem(
            url=self.page.url,
            canonical_url=self.canonical_url(),
            source=self.source,
            site_name=self.site_name(),
            title=title,
            subtitle=subtitle,
            authors=self.authors(),
            published=published,
            published_raw=published_raw,
            modified=modified,
            modified_raw=modified_raw,
            image=self.image(),
            tags=self.tags(),
            section=self.section(),
            language=self.language(),
            fetched_at=self.page.fetched_at,
        )
        item.body = self.body(title, subtitle)
        return item


def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def _text_of(el: Any) -> str:
    if isinstance(el, str):
        return el
    text: str = el.text_content()
    return text
