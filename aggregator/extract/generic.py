"""The generic extractor: structured data first, then the DOM.

Each field has its own method with a fallback chain (JSON-LD, then OpenGraph/meta, then
``<time>``/bylines/DOM). Per-site extractors subclass :class:`GenericExtractor` and
override only the methods (or class attributes) that differ for their outlet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from functools import cached_property
from itertools import islice
from typing import Any, ClassVar, NamedTuple
from urllib.parse import urlsplit

from aggregator.extract.body import drop_keep_tail, extract_body
from aggregator.extract.body.lexicon import LONG_WORD
from aggregator.extract.page import HtmlElement, Page, check_complexity
from aggregator.extract.subtree import SubtreeText, may_be_shorter, solid_length
from aggregator.items import ArticleItem
from aggregator.normalize.authors import clean_authors, clean_organisations
from aggregator.normalize.dates import (
    date_from_url,
    date_problem,
    finer,
    has_time_of_day,
    parse_date_precision,
)
from aggregator.normalize.text import clean_body, clean_text, sanitize
from aggregator.normalize.titles import name_key, site_keys, strip_site_name
from aggregator.normalize.urls import canonicalize_url, domain_of

# No byline names more people; a longer author list is broken data.
MAX_AUTHORS = 20
# Bylines are under 100 characters; an element with more than this many characters
# other than whitespace cleans to longer (see SubtreeText.short_text) and is not read.
_BYLINE_SOLID = 4 * 100 + 64
# parse_date_precision() refuses longer strings.
MAX_DATE = 200
# Date candidates read per page and field: a page names its dates in a few places (the
# corpora's pages need at most 10), and free text costs dateparser up to 20 ms (27 s for
# 4,000 different <span itemprop="datePublished">).
MAX_DATE_CANDIDATES = 30
# A DOM body shorter than this sends the extractor to the page's embedded data.
MIN_DOM_BODY = 200
# What may follow a clean headline in a padded one: a spaced separator and more text, or
# one short unspaced segment ("Headline-Politics" once "ㅣSite" is gone).
_TITLE_SEPARATOR = re.compile(r"^\s+(?:[|\-–—·»•/~]|::)\s+\S|^[|\-–—/]\w{1,20}$")
_LANG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_].*)?$")


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

    The item comes out clean: every field is cleaned here, once, as
    :func:`~aggregator.normalize.item.clean_fields` states (text, the title's site-name
    segments, author names, tags, URLs), and normalization does not clean it again. A
    subclass that overrides a field method returns its value clean too (with the
    functions of :mod:`aggregator.normalize`).
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
        # The author sources read so far and the rest (see _sources).
        self._read_sources: list[tuple[list[str], bool]] = []
        self._unread_sources: Iterator[tuple[list[str], bool]] | None = None

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
        names.extend(self._home_headings())
        names.append(domain_of(self.page.url))
        return names

    def _home_headings(self) -> list[str]:
        """Texts of ``<h1>`` elements that are wholly a link to a site's home page (a
        blog's name over its posts, linked to its front page): the site's name, where a
        headline would link to the article, if anywhere."""
        own = domain_of(self.page.url)
        names = []
        for h in self.tree.iter("h1"):
            links = h.findall(".//a[@href]")
            if len(links) != 1:
                continue
            text = clean_text(h.text_content())
            if not text or clean_text(links[0].text_content()) != text:
                continue
            try:
                parts = urlsplit(links[0].get("href", "").strip())
            except ValueError:
                continue
            host = parts.netloc.lower().removeprefix("www.")
            if not (host or parts.path) or parts.path.strip("/") or parts.query:
                continue  # "#top", an article, a search
            if own and host and host != own:
                continue
            names.append(text)
        return names

    # Per-page values more than one field needs, computed once per extractor. Each calls
    # the public method, so a subclass's override is what gets cached. All are first
    # computed by extract() before body() prunes the tree.

    @cached_property
    def _site_names(self) -> list[str]:
        """:meth:`site_names`, computed once."""
        return self.site_names()

    @cached_property
    def _site_keys(self) -> set[str]:
        """The site's names as :func:`name_key` compares them, computed once."""
        return site_keys(self._site_names)

    @cached_property
    def _stripped_title_candidates(self) -> list[str | None]:
        """:meth:`title_candidates` without the site name, computed once."""
        names = self._site_names
        return [strip_site_name(x, names) for x in self.title_candidates()]

    @cached_property
    def _title(self) -> str | None:
        """:meth:`title`, computed once."""
        return self.title()

    @cached_property
    def _language(self) -> str | None:
        """:meth:`language`, computed once."""
        return self.language()

    @cached_property
    def _texts(self) -> SubtreeText:
        """Text facts of the page's elements, for the metadata rules that read the text
        of many nested elements (each read once, not once per enclosing element). Only
        before body() prunes the tree."""
        return SubtreeText()

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

    def title_candidates(self) -> list[str | None]:
        """Raw headline candidates in order of preference: og:title (the headline the
        outlet shares, without kickers or SEO padding more often than any other
        source), JSON-LD headline, twitter:title, the visible ``<h1>``, ``<title>``."""
        return [
            self.page.meta_first("og:title"),
            _first_str(self.jsonld_value("headline")) or self._meta_headline(),
            self.page.meta_first("twitter:title"),
            self._h1(),
            self.tree.findtext(".//title"),
        ]

    def _meta_headline(self) -> str | None:
        """``<meta name="headline">`` in the head: the CMS's headline field, where a page
        has no JSON-LD (itemprop metas in the body may belong to teasers, so not those)."""
        for v in self.tree.xpath("/html/head/meta[@name='headline']/@content"):
            text = clean_text(str(v))
            if text:
                return text
        return None

    def _h1(self) -> str | None:
        for h in self.tree.iter("h1"):
            text = self._texts.short_text(h, 5)
            if text is None:  # longer than 5: read in full, once
                text = clean_text(h.text_content())
            if text and len(text) > 5:
                return text
        return None

    def title(self) -> str | None:
        present = [c for c in self._stripped_title_candidates if c]
        if not present:
            return None
        # A candidate that is only the outlet's name (og:title "Example News", a blog's
        # name in its <h1>) is no headline: the next candidate is, unless all are the name.
        sites = self._site_keys
        present = [c for c in present if name_key(c) not in sites] or present
        best = present[0]
        h1, doc_title = self._stripped_title_candidates[3:5]
        if h1 and doc_title and present == [h1, doc_title]:
            # Only the <h1> and the <title> name the page, and they share no word: the
            # <h1> is the blog's or the section's name set as the page's heading ("TED
            # Blog", "News & Events", "Allergies Health Center"); the <title> names it.
            doc_words = set(LONG_WORD.findall(doc_title.casefold()))
            if len(doc_words) >= 3 and not doc_words & set(LONG_WORD.findall(h1.casefold())):
                best = doc_title
        # Leftovers the site-name list did not catch ("Headline | Section" when only the
        # <title> carries the section): another candidate that is exactly the start of
        # this one, followed by a separator, is the clean headline.
        for other in present[1:]:
            rest = best[len(other) :]
            if other != best and best.startswith(other) and _TITLE_SEPARATOR.match(rest):
                best = other
        return best

    def subtitle(self) -> str | None:
        """The dek as shown under the headline: an element named as one (by class words,
        see :func:`_dek_class`), else the meta description when the page shows it near
        the headline. None when the page shows no dek."""
        if self.subtitle_xpath:
            found = self.tree.xpath(self.subtitle_xpath)
            if found:
                return clean_text(_text_of(found[0]))
        for el in self._header_region.iter("p", "h2", "div", "span"):
            if not _dek_class(el.get("class")):
                continue
            text = self._texts.short_text(el, 400)
            if text and 20 <= len(text) <= 400 and not _CREDIT.match(text):
                return text
        v = self.page.meta_first("og:description", "description", "twitter:description")
        if not v:
            v = _first_str(self.jsonld_value("description"))
        v = clean_text(v)
        if v and _words(v)[:12] and _contains_words(self._header_text, _words(v)[:12]):
            return v
        return None

    @cached_property
    def _header_text(self) -> str:
        """Visible text around the headline (the header region), casefolded words."""
        return " ".join(_words(self._header_region.text_content()))

    _ORG_TYPES = frozenset({"organization", "newsmediaorganization", "corporation"})
    _AUTHOR_META = (
        "author", "article:author", "article:byline", "parsely-author", "sailthru.author",
        "dc.creator", "dcterms.creator", "byl", "cxenseparse:author", "citation_author",
        "articleauthor", "article:author_name", "author_name",
    )  # fmt: skip
    _AUTHOR_XPATHS = (
        # Not "//*[@itemprop='author']//*[@itemprop='name']": libxml2 merges the subtrees of
        # nested authors quadratically (8,000 of them: 9 s). The same elements, by ancestry.
        "//*[@itemprop='name'][ancestor::*[@itemprop='author']]",
        "//*[@itemprop='author' and not(.//*[@itemprop='name'])]",
        "//a[@rel='author']",
        "//*[contains(@class,'author-name') or contains(@class,'byline__name')"
        " or contains(@class,'author__name') or contains(@class,'authorName')]",
        "//*[contains(@class,'byline') and not(.//*[contains(@class,'byline')])]",
        "//*[(contains(@class,'author') or contains(@class,'autor'))"
        " and not(.//*[contains(@class,'author') or contains(@class,'autor')])]",
    )

    def author_sources(self) -> Iterator[list[str]]:
        """Raw author strings, one list per source, most trusted source first: JSON-LD
        (Person names; an Organization only when it is a news agency), meta tags, then
        bylines in the DOM."""
        for values, _loose in self._sources():
            yield values

    def _sources(self) -> Iterator[tuple[list[str], bool]]:
        """:meth:`_author_sources`, each source read once however often this is walked:
        the organisation pass walks again what the person pass read."""
        if self._unread_sources is None:
            self._unread_sources = self._author_sources()
        i = 0
        while True:
            if i == len(self._read_sources):
                source = next(self._unread_sources, None)
                if source is None:
                    return
                self._read_sources.append(source)
            yield self._read_sources[i]
            i += 1

    def _author_sources(self) -> Iterator[tuple[list[str], bool]]:
        """:meth:`author_sources`, each list with whether it is a loose match: an element
        whose class merely contains "author" or "byline", or a "By" label anywhere."""
        from aggregator.normalize.authors import is_agency

        for obj in self.page.articles:
            out: list[str] = []
            for a in _as_list(obj.get("author")) + _as_list(obj.get("creator")):
                if isinstance(a, dict):
                    name = a.get("name")
                    names = [name] if isinstance(name, str) else _as_list(name)
                    names = [n for n in names if isinstance(n, str)]
                    if self.page.jsonld_types(a) & self._ORG_TYPES:
                        names = [n for n in names if is_agency(n)]
                    out.extend(names)
                elif isinstance(a, str) and not a.startswith("http"):
                    out.append(a)
            if out:
                yield out, False
                break
        meta: list[str] = []
        for key in self._AUTHOR_META:
            meta.extend(v for v in self.page.meta.get(key, []) if not v.startswith("http"))
        if meta:
            yield meta, False
        xpaths = ((self.author_xpath,) if self.author_xpath else ()) + self._AUTHOR_XPATHS
        related: list[str | None] = []  # bylines in modules of other articles
        for i, xp in enumerate(xpaths):
            found: list[str | None] = []
            for e in self.tree.xpath(xp):
                (related if self._in_related(e) else found).append(self._byline(e))
            values = [v for v in found if v and len(v) < 100]
            if not values:
                continue
            if i >= len(xpaths) - 2:
                # Class-name matches are loose (photo credits, teaser bylines further
                # down): each element is tried alone, the first with a name wins.
                for v in values:
                    yield [v], True
            else:
                yield values[:6], False
        labelled = self._labelled_author()
        if labelled:
            yield [labelled], True
        # Last, for a page crediting no one elsewhere: the modules beside the article,
        # when they name one person alone (a blog's sidebar "By John Gruber", the site's
        # author); a module of other articles names their several authors.
        beside = [v for v in related if v and len(v) < 100]
        labelled = self._labelled_author(beside=True)
        if labelled:
            beside.append(labelled)
        if len({n.casefold() for n in clean_authors(beside, self._site_names)}) == 1:
            yield beside, True

    # A class or id word naming a module of other articles: related, recommended, more
    # stories, teasers, cards, a sidebar ("vcard", a person's markup, is none). Not
    # "widget": Blogger's post is one ("widget Blog"), as WordPress's author boxes are.
    _RELATED = re.compile(
        r"(?<![a-z])(?:related|recommend|teaser|cards?(?![a-z])|sidebar|promo"
        r"|more[-_]?(?:stories|news|articles|reviews|from|on|in|like))",
        re.IGNORECASE,
    )

    def _in_related(self, el: Any) -> bool:
        """True for a byline candidate in a related-content module beside the article (a
        teaser's credit is another article's): an ancestor below ``<body>`` that is a
        ``<nav>``, has a class or id naming such a module, or is one of a list's teaser
        cards (an item holding a link to another page beside the candidate). Not any
        ``<aside>``: the article's own byline sits in one as often ("post-meta"). An
        ancestor holding the page's headline, or half the page's text, is the article's
        own."""
        if isinstance(el, str):
            return False  # a text node's string: no element to place
        headline = self._headline_holders
        for e in el.iterancestors():
            if e.tag in ("body", "html") or e in headline:
                return False
            if (
                e.tag == "nav"
                or self._RELATED.search(f"{e.get('class') or ''} {e.get('id') or ''}")
                or (e.tag == "li" and self._teaser_card(e, el))
            ):
                body = self.tree.find("body")
                page = self._solid_text(self.tree if body is None else body)
                return 2 * self._solid_text(e) < page
        return False

    def _solid_text(self, el: HtmlElement) -> int:
        """``solid_length(el.text_content())``, once per element (not recursive: a page
        nested thousands deep is read as any other)."""
        n = self._solid_cache.get(el)
        if n is None:
            n = self._solid_cache[el] = solid_length(el.text_content())
        return n

    @cached_property
    def _solid_cache(self) -> dict[HtmlElement, int]:
        return {}

    @cached_property
    def _headline_holders(self) -> set[HtmlElement]:
        """The page's first ``<h1>`` (its headline as often as not) and its ancestors."""
        h1 = self.tree.find(".//h1")
        return set() if h1 is None else {h1, *h1.iterancestors()}

    def _teaser_card(self, item: HtmlElement, el: HtmlElement) -> bool:
        """True for a list item that is one of several teaser cards: it and two siblings
        each hold a link of two words or more (another article's headline), the item's
        not ``el`` (the byline candidate) nor around or inside it."""
        if not any(
            a is not el and a not in el.iterancestors() and el not in a.iterancestors()
            for a in self._headline_links(item)
        ):
            return False
        near = [*islice(item.itersiblings("li"), 10)]
        near += islice(item.itersiblings("li", preceding=True), 10)
        return sum(1 for s in near if self._headline_links(s)) >= 2

    def _headline_links(self, item: HtmlElement) -> list[HtmlElement]:
        """The first few links of two words or more in ``item``, once per element."""
        links = self._links_cache.get(item)
        if links is None:
            links = []
            for a in item.iter("a"):
                text = self._texts.short_text(a, 200) if a.get("href") else None
                if text and len(text.split()) >= 2:
                    links.append(a)
                    if len(links) == 3:
                        break
            self._links_cache[item] = links
        return links

    @cached_property
    def _links_cache(self) -> dict[HtmlElement, list[HtmlElement]]:
        return {}

    def _byline(self, el: Any) -> str | None:
        """:func:`_byline_text` of an XPath result; None for a text too long to be a
        byline (not read: nested matches each read their whole subtree)."""
        if not isinstance(el, str) and self._texts.solid(el) > _BYLINE_SOLID:
            return None
        return _byline_text(el)

    _AUTHOR_LABEL = re.compile(
        r"^(?:autor(?:in)?(?:/autor(?:in)?)?|authors?|verfasser(?:in)?|text|written by|von|by)"
        r"\s*:?$",
        re.IGNORECASE,
    )

    def _labelled_author(self, *, beside: bool = False) -> str | None:
        """A byline given as a label and a value: ``<strong>Autor</strong> Jane Doe``, or
        ``<li>Von: <a>Jane Doe</a></li>``; with ``beside``, one in a module of other
        articles (:meth:`_in_related`), else one outside them."""
        texts = self._texts
        for label in self.tree.iter("strong", "b", "dt", "th", "span"):
            # A label is a word or two ("Autorin/Autorin:" at most): a longer text is none.
            text = texts.short_text(label, 20)
            if not text or not self._AUTHOR_LABEL.match(text):
                continue
            if self._in_related(label) != beside:
                continue
            value = clean_text(label.tail)
            if not value:
                nxt = label.getnext()
                value = texts.short_text(nxt, 100) if nxt is not None else None
            if value and len(value) < 100:
                return value
        # The label as the element's own leading text: <li>Von: <a>Jane Doe</a>, <a>...</a></li>.
        for el in self.tree.iter("li", "p", "div", "span"):
            if not el.text or not may_be_shorter(el.text, 20):
                continue  # no label, or too long a text for one: not cleaned
            own = clean_text(el.text)
            if not own or len(el) == 0 or not self._AUTHOR_LABEL.match(own):
                continue
            if self._in_related(el) != beside:
                continue
            if texts.solid(el) - len("".join(el.text.split())) > _BYLINE_SOLID:
                continue  # more than a byline after the label: not read
            value = clean_text(el.text_content()[len(el.text or "") :])  # after the label
            if value and len(value) < 100:
                return value
        return None

    # A CMS's administrator account ("/author/admin/"): whatever its display name, the
    # person who posted, not who wrote.
    _ACCOUNT_URL = re.compile(r"/(?:author|authors|user|users)/(?:admin|administrator)/?$", re.I)

    def _account_names(self) -> set[str]:
        """Casefolded names the page's JSON-LD gives to administrator accounts."""
        out: set[str] = set()
        for obj in self.page.jsonld:
            for a in [*_as_list(obj.get("author")), obj]:
                if not isinstance(a, dict) or not isinstance(a.get("name"), str):
                    continue
                ref = a.get("url") or a.get("@id")
                if isinstance(ref, str) and self._ACCOUNT_URL.search(ref.split("#")[0]):
                    out.add(a["name"].strip().casefold())
        return out

    def authors(self) -> list[str]:
        names = self._site_names
        accounts = self._account_names()
        for raw in self.author_sources():
            cleaned = clean_authors(raw[: MAX_AUTHORS + 1], names)
            cleaned = [n for n in cleaned if n.casefold() not in accounts]
            if cleaned and len(cleaned) <= MAX_AUTHORS:
                return cleaned
            # More names than any byline has: a broken or hostile source; try the next.
        return []

    def organisation_authors(self) -> list[str]:
        """The organisation or desk the page credits as its author, for a page that credits
        no person: a JSON-LD author typed as an organisation ("Contributors to Wikimedia
        projects"), or a credit in JSON-LD, meta or a byline that names the outlet itself
        ("DER SPIEGEL", "ndr.de") or a desk ("Guardian staff reporter"). Sources in the
        order of :meth:`author_sources`. The outlet's name found only as its site name
        (og:site_name, the publisher) is no credit: it never becomes the author."""
        names = self._site_names
        accounts = self._account_names()

        def credited(raw: list[str], any_name: bool = False) -> list[str]:
            found = clean_organisations(raw[: MAX_AUTHORS + 1], names, any_name=any_name)
            found = [n for n in found if n.casefold() not in accounts]
            return found if len(found) <= MAX_AUTHORS else []

        for obj in self.page.articles:  # the first that names authors, as author_sources
            credits = _as_list(obj.get("author")) + _as_list(obj.get("creator"))
            if not credits:
                continue
            typed: list[str] = []
            for a in credits:
                if isinstance(a, dict) and self.page.jsonld_types(a) & self._ORG_TYPES:
                    typed.extend(n for n in _as_list(a.get("name")) if isinstance(n, str))
            found = credited(typed, any_name=True)
            if found:
                return found
            break
        outlet = self._site_keys
        for raw, loose in self._sources():
            found = credited(raw)
            if loose:
                # A loose match naming only the outlet is a comment's poster or a social
                # widget's account more often than a byline; a desk credit is explicit.
                found = [n for n in found if name_key(n) not in outlet]
            if found:
                return found
        return []

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

    def _jsonld_any(self, key: str) -> str | None:
        """``key`` from any JSON-LD object (a fact-check's ClaimReview, an unusual type)."""
        for obj in self.page.jsonld:
            v = _first_str(obj.get(key))
            if v:
                return v
        return None

    def published_candidates(self) -> Iterator[str]:
        """Raw publication-date strings in order of trust."""
        for key in ("datePublished", "dateCreated", "uploadDate"):
            v = _first_str(self.jsonld_value(key))
            if v:
                yield v
        v = self._jsonld_any("datePublished")
        if v:
            yield v
        for key in self._PUBLISHED_META:
            v = self.page.meta_first(key)
            if v:
                yield v
        # Texts as parse_date_precision() will see them, and none it refuses as too long: nested
        # elements each cleaned their whole text.
        for el in self.tree.xpath("//*[@itemprop='datePublished']"):
            # <abbr title="2012-08-09T08:57:00-05:00">8:57 AM</abbr>: hAtom's machine date.
            title = el.get("title") if el.tag == "abbr" else None
            v = (
                el.get("datetime")
                or el.get("content")
                or title
                or self._texts.short_text(el, MAX_DATE)
            )
            if v:
                yield v
        for el in self.tree.iter("time"):
            if self._not_the_articles_date(el):
                continue
            v = el.get("datetime") or self._texts.short_text(el, MAX_DATE)
            if v:
                yield v
        yield from self._visible_dates()

    # An update's label or class: "Updated: June 8", "Last modified", "aktualisiert am",
    # hAtom's class="updated" (a class naming "published" too is the publication's).
    _UPDATED = re.compile(
        r"(?:last[\s-]*)?(?:updated?|modified|revised|aktualisiert|geändert"
        r"|mis à jour|actualizado|actualización|aggiornato|bijgewerkt|zaktualizowano"
        r"|更新|수정)",
        re.IGNORECASE,
    )
    _PUBLISHED_CLASS = re.compile(r"publish|posted|created|pubdate", re.IGNORECASE)

    def _updated_class(self, el: HtmlElement) -> bool:
        """True for an element whose class, id or itemprop marks an update time."""
        marks = f"{el.get('class') or ''} {el.get('id') or ''} {el.get('itemprop') or ''}"
        return bool(self._UPDATED.search(marks)) and not self._PUBLISHED_CLASS.search(marks)

    def _published_match(self, text: str) -> re.Match[str] | None:
        """The first date in ``text`` not labelled as an update ("Published June 6,
        updated June 8" and "Updated June 8 | Published June 6" both give June 6)."""
        start = 0
        for m in self._DATE_TEXT.finditer(text):
            if not self._UPDATED.search(text, start, m.start()):
                return m
            start = m.end()
        return None

    @cached_property
    def _update_texts(self) -> list[str]:
        """Update times printed near the headline: a ``<time>`` whose class marks an
        update, or a short text whose label or class does ("Updated: June 8"). Read once
        per page; the text is tested before the element's place (ancestor walks cost
        more than a pattern on a short text). A wrapper printing one of these texts
        ("<div class='entry-meta'>" around "<li class='modified-date'>") prints an
        update, not a publication."""
        found: list[str] = []
        texts = self._texts
        region = self._header_region
        for el in region.iter("time"):
            v = el.get("datetime")
            if v and self._updated_class(el) and not self._elsewhere(el):
                found.append(v)
        for el in region.iter("span", "div", "p", "li", "small", "em"):
            text = texts.short_text(el, 80, with_digit=True)
            if not text or len(text) > 80:
                continue
            start = 0
            for m in self._DATE_TEXT.finditer(text):
                if self._UPDATED.search(text, start, m.start()) or self._updated_class(el):
                    if not self._elsewhere(el):
                        found.append(m.group(0))
                        return found
                    break
                start = m.end()
        return found

    def _elsewhere(self, el: HtmlElement) -> bool:
        """True for an element in a reader-comment thread or a related-content module."""
        return self._in_comments(el) or self._in_related(el)

    def _not_the_articles_date(self, el: HtmlElement) -> bool:
        """True for a date element that is not the article's publication date: an update
        time, a reader comment's, or another article's in a related-content module."""
        return self._updated_class(el) or self._elsewhere(el)

    # A date printed in a byline ("By Jane Doe | 2019/04/04") is the article's too.
    _DATE_CLASS = re.compile(
        r"date|time|datum|zeit|published|publish|posted|fecha|meta|byline|author|writer", re.I
    )
    _DATE_TEXT = re.compile(
        r"\d{4}\s*[年년]\s*\d{1,2}\s*[月월]\s*\d{1,2}\s*[日일]"  # 2019年4月22日, 2019년 4월 22일
        r"(?:\s*[(（][^)）]{1,4}[)）])?(?:\s*(?:오전|오후|午前|午後|上午|下午)?\s*\d{1,2}:\d{2})?"
        r"|\d{1,2}\.\s?\d{1,2}\.\s?\d{4}(?:,?\s+\d{1,2}[:.]\d{2})?"
        r"|\d{4}[./-]\d{1,2}[./-]\d{1,2}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?"
        r"|\d{1,2}\.?\s+[^\W\d_]{3,12}\.?\s+\d{4}(?:,?\s+\d{1,2}[:.]\d{2})?"
        r"|[^\W\d_]{3,12}\.?\s+\d{1,2},\s+\d{4}"
        r"(?:,?\s+(?:at\s+)?\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?)?",
        re.IGNORECASE,
    )

    _PUBLISHED_LABEL = re.compile(
        r"(?:published|posted|first published|veröffentlicht|publiziert|erschienen|publié"
        r"|publicado|pubblicato|gepubliceerd|opublikowano"
        r"|입력|등록|게재|발행|公開|公开|投稿|配信|発行|發行|发行|发布|發布|发表|發表)"
        r"(?:\s*(?:时间|時間|日期|日時|일시|시간))?(?:\s+(?:on|am|le|el|il|op))?\s*[:：]?",
        re.IGNORECASE,
    )

    @cached_property
    def _header_region(self) -> HtmlElement:
        """The part of the page around the headline, where bylines and dates sit: the
        ``<article>``/``<main>`` holding the ``<h1>``, else a few levels above it."""
        h1 = self.tree.find(".//h1")
        if h1 is None:
            return self.tree
        region = h1
        for depth, anc in enumerate(h1.iterancestors()):
            region = anc
            if anc.tag in ("article", "main") or depth >= 3:
                break
        return region

    # A byline before a date in the same element: "by Jane Doe on", "by Jane Doe,".
    _BYLINE_BEFORE = re.compile(
        r"(?:(?:posted|published|written|geschrieben|publié|publicado)\s+)?"
        r"(?:by|von|par|por|di|door)\s+[^\d|]{2,60}?(?:\s+(?:on|am|le|el|il|op)|,)?",
        re.IGNORECASE,
    )
    # A publication label after a word ("Story Published:", "Originally posted").
    _LABEL_BEFORE = re.compile(r"(?:\w+\s+)?" + _PUBLISHED_LABEL.pattern, re.IGNORECASE)
    # What may follow a date and its time: a zone's abbreviation ("PDT", "GMT", "CET").
    _ZONE_AFTER = re.compile(r"[A-Z]{2,4}")
    # A class or id word starting "comment": comment, comments, comment-body, commentlist,
    # comment_time, comment176204 (not "post-comments", a count in the article's header).
    _COMMENT = re.compile(r"(?:^|\s)comment", re.IGNORECASE)

    def _in_comments(self, el: HtmlElement) -> bool:
        """True for an element in a reader-comment thread (an ancestor below ``<body>``
        has a class or id word starting "comment"): a date there is a reader's. The
        element's own class is a style as often ("story-date comments-grey-italic")."""
        for e in el.iterancestors():
            if e.tag in ("body", "html"):
                return False
            if self._COMMENT.search(f"{e.get('class') or ''} {e.get('id') or ''}"):
                return True
        return False

    def _visible_dates(self) -> Iterator[str]:
        """Dates printed on the page: in the headline tags (some outlets append the date
        to the title), then near the headline in short elements whose class names a
        date."""
        for raw in (self.page.meta_first("og:title"), self.tree.findtext(".//title")):
            m = self._DATE_TEXT.search(raw or "")
            if m:
                yield m.group(0)
        seen = 0
        texts = self._texts
        # h2/h3: a blog's date header ("<h2 class='date-header'>October 26, 2012</h2>").
        for el in self._header_region.iter("span", "div", "p", "li", "small", "em", "h2", "h3"):
            cls = f"{el.get('class') or ''} {el.get('id') or ''}"
            if not self._DATE_CLASS.search(cls):
                continue
            text = texts.short_text(el, 80, with_digit=True)
            if not text or len(text) > 80:
                continue
            m = self._published_match(text)
            if m and m.group(0) not in self._update_texts and not self._not_the_articles_date(el):
                yield m.group(0)
                seen += 1
                if seen >= 3:
                    break
        # Without such a class: a short element near the headline that is a date and
        # nothing else ("18 NOV 2019"), a publication label and a date ("publiziert am
        # 30. Juli 2018", "Published on March 4, 2024"), or a byline and a date ("by Jane
        # Doe on March 4, 2024", "by Jane Doe, Aug 09, 2012 10:00am PDT").
        seen = 0
        for el in self._header_region.iter("span", "div", "p", "li", "small", "em"):
            text = texts.short_text(el, 60, with_digit=True)
            if not text or len(text) > 60:
                continue
            m = self._DATE_TEXT.search(text)
            if not m:
                continue
            rest = (text[: m.start()] + text[m.end() :]).strip(" ,|·•-–—")
            before = text[: m.start()].strip(" ,|·•-–—")
            after = text[m.end() :].strip(" ,|·•-–—.")
            bylined = bool(
                self._BYLINE_BEFORE.fullmatch(before) or self._LABEL_BEFORE.fullmatch(before)
            ) and (not after or bool(self._ZONE_AFTER.fullmatch(after)))
            if (
                (not rest or bylined or self._PUBLISHED_LABEL.fullmatch(rest))
                and m.group(0) not in self._update_texts
                and not self._not_the_articles_date(el)
            ):
                yield m.group(0)
                seen += 1
                if seen >= 3:
                    break

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
        yield from self._update_texts

    def _parse_first(self, raws: Iterable[str]) -> FoundDate:
        """The first candidate that parses to a possible publication time (see
        :func:`~aggregator.normalize.dates.date_problem`: not before 1990 nor after the
        fetch), else the first that parses at all (normalization then leaves it empty and
        says why, its raw text kept). A date without a time of day is completed by a later
        candidate that states it more finely and agrees with it (``<time
        datetime="2024-08-22">`` before a JSON-LD ``2024-08-22T12:00+02:00``; "March 2019"
        before "2019-03-14"). The precision is the parse's own (see
        :func:`~aggregator.normalize.dates.parse_date_precision`). Only the first
        :data:`MAX_DATE_CANDIDATES` different candidates are read."""
        lang = self._language
        langs = [lang] if lang else None
        first: FoundDate | None = None
        seen: set[str] = set()
        now = self.page.fetched_at or datetime.now(timezone.utc)
        rejected: FoundDate | None = None
        for raw in raws:
            raw = clean_text(raw) or ""
            if raw in seen:
                continue  # parsed already, to the same effect
            seen.add(raw)
            if len(seen) > MAX_DATE_CANDIDATES:
                break
            parsed = parse_date_precision(raw, now=self.page.fetched_at, languages=langs)
            if parsed is None:
                continue
            found = FoundDate(parsed.value, raw, parsed.precision)
            if date_problem(parsed.value, now) is not None:  # normalization would drop it
                rejected = rejected or found  # said, if no later candidate holds
                continue
            if first is not None and not (
                finer(found.precision, first.precision) and _agrees(found, first)
            ):
                continue  # a later date that does not complete the first
            first = found
            if has_time_of_day(first.precision):
                return first
        return first or rejected or FoundDate(None, None, None)

    def published(self) -> FoundDate:
        """The publication time, the raw text it came from, and its precision. A date in
        the URL (``/2016/nov/29/``) stands in when the page's own dates give none that is
        possible; it is day precision, its raw text the ISO date. Failing that, a page
        that prints only its update time ("Updated: January 11, 2008") is dated by it:
        that is the latest it vouches for, better than no date to sort by."""
        found = self._parse_first(self.published_candidates())
        dt = found.value
        now = self.page.fetched_at or datetime.now(timezone.utc)
        if dt is None or date_problem(dt, now):
            url_dt = date_from_url(self.page.url)
            if url_dt is not None:
                return FoundDate(url_dt, url_dt.date().isoformat(), "day")
            updated = self._parse_first(self._update_texts)
            if updated.value is not None and not date_problem(updated.value, now):
                return updated
        return found

    def modified(self) -> FoundDate:
        """The update time, its raw text and its precision (see :meth:`_parse_first`)."""
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
        """The outlet's section: meta tags and JSON-LD first, then the breadcrumb trail
        (its last step before the article itself)."""
        v = self.page.meta_first("article:section", "parsely-section", "section")
        if not v:
            v = _first_str(self.jsonld_value("articleSection"))
        if not v:
            v = self._breadcrumb_section()
        return clean_text(v)

    def _breadcrumb_section(self) -> str | None:
        names: list[str] = []
        for obj in self.page.jsonld:
            if "breadcrumblist" in self.page.jsonld_types(obj):
                items = [i for i in _as_list(obj.get("itemListElement")) if isinstance(i, dict)]
                items.sort(key=_position)
                for i in items:
                    name = i.get("name") or _first_str(i.get("item"))
                    if isinstance(name, str) and not name.startswith("http"):
                        names.append(name)
                break
        if not names:
            for nav in self.tree.xpath(
                "//*[contains(@class,'breadcrumb') or contains(@id,'breadcrumb')]"
            ):
                if not self._texts.has(nav, "a"):
                    continue  # nor any breadcrumb nested in it
                # A step longer than 40 characters is never taken (below): not read.
                names = [self._texts.short_text(a, 40) or "" for a in nav.iter("a")]
                break
        if not names:
            # A section label (kicker) linked above the headline: class "...category...".
            for el in self._header_region.xpath(
                ".//a[contains(@class,'category') or contains(@class,'kicker')"
                " or contains(@class,'eyebrow') or ../@class[contains(.,'category')]]"
            ):
                text = self._texts.short_text(el, 30)
                if text and len(text) <= 30:
                    names = [text]
                    break
        title_words = _words(self._title or "")
        steps = [
            n for n in names
            if n and n.strip().casefold() not in ("home", "homepage", "start", "startseite")
            and _words(n) != title_words and len(n) <= 40
        ]  # fmt: skip
        return steps[-1] if steps else None

    def language(self) -> str | None:
        for v in (
            self.tree.get("lang"),
            self.tree.get("xml:lang"),
            self.page.meta_first("og:locale", "content-language", "language", "dc.language"),
            _first_str(self.jsonld_value("inLanguage")),
        ):
            if v:
                m = _LANG.match(v.strip())
                if m:
                    return m.group(1).lower()
        return None

    def body_container(self) -> HtmlElement | None:
        if self.body_xpath:
            found = self.tree.xpath(self.body_xpath)
            if found:
                el: HtmlElement = found[0]
                for xp in self.drop_xpaths:
                    for bad in el.xpath(xp):
                        # Not lxml's drop_tree(): its tail handling raised ValueError
                        # on a control character after the dropped element.
                        drop_keep_tail(bad, blank_tail=True)
                return el
        return None

    def body(self, title: str | None, authors: list[str]) -> str | None:
        """Article text; runs last because it prunes the shared tree."""
        # A candidate that is only the site's name is no headline for the body to match.
        sites = self._site_keys
        headlines = {title} if title else set()
        headlines.update(
            c for c in self._stripped_title_candidates if c and name_key(c) not in sites
        )
        references = [
            self.page.meta_first("og:description", "description", "twitter:description"),
            _first_str(self.jsonld_value("description")),
            self._jsonld_body,
        ]
        body = extract_body(
            self.tree,
            headlines=headlines,
            authors=authors,
            container=self.body_container(),
            references=[r for r in references if r],
        )
        return self._embedded_body(body, headlines, authors)

    @cached_property
    def _jsonld_body(self) -> str | None:
        from aggregator.extract.embedded import jsonld_body

        return jsonld_body(self.page.articles)

    def _embedded_body(
        self, body: str | None, headlines: set[str], authors: list[str]
    ) -> str | None:
        """The article from the page's data when the DOM gave little or less: JSON-LD
        ``articleBody``, Arc/Fusion ``content_elements``, or HTML inside a script
        (client-rendered pages). The longer text wins; scripts are only searched when
        the DOM body is short, as parsing them costs time."""
        from aggregator.extract.embedded import content_elements, script_html

        dom = len(body or "")
        candidates: list[str | None] = [clean_body(self._jsonld_body)]
        fragments = []
        if '"content_elements"' in self.page.html:
            fragments.append(content_elements(self.page.html))
        if dom < MIN_DOM_BODY:
            fragments.append(script_html(self.page.html))
        for fragment in fragments:
            if fragment is not None:
                check_complexity(fragment, self.page.max_elements, "HTML in a script")
                candidates.append(
                    extract_body(fragment, headlines=headlines, authors=authors, container=fragment)
                )
        best = max((c for c in candidates if c), key=len, default=None)
        if best is not None and (dom < MIN_DOM_BODY or len(best) >= 2 * dom):
            return best
        return body

    # -- all together -------------------------------------------------------------------

    def extract(self) -> ArticleItem:
        title = self._title
        subtitle = self.subtitle()
        published = self.published()
        modified = self.modified()
        item = ArticleItem(
            # Sanitized first, as normalization sanitizes it: a non-character in the
            # URL given is dropped, not percent-encoded.
            url=canonicalize_url(sanitize(self.page.url)) or self.page.url,
            canonical_url=self.canonical_url(),
            source=self.source,
            site_name=self.site_name(),
            title=title,
            subtitle=subtitle,
            authors=self.authors(),
            published=published.value,
            published_raw=published.raw,
            published_precision=published.precision,
            modified=modified.value,
            modified_raw=modified.raw,
            modified_precision=modified.precision,
            image=self.image(),
            tags=self.tags(),
            section=self.section(),
            language=self._language,
            fetched_at=self.page.fetched_at,
        )
        # Read before body() prunes the tree; used only if no person is credited at all.
        organisations = [] if item.authors else self.organisation_authors()
        item.body = self.body(title, item.authors)
        if item.subtitle and item.body and _same_start(item.subtitle, item.body):
            # The description is the lede (pages without a dek fill og:description with
            # the first paragraph): not a dek.
            item.subtitle = None
        if item.subtitle and not item.body:
            # A dek is never the whole article: with nothing left for the body, the
            # "dek" was the article's opening (or all of it).
            item.body, item.subtitle = item.subtitle, None
        if not item.authors and item.body:
            item.authors, item.body = _leading_byline(item.body, title, self._site_names)
        if not item.authors:
            item.authors = organisations
        return item


class FoundDate(NamedTuple):
    """A date the extractor settled on: the value, the page's text it was read from, and
    how finely that text states it (all None when the page gives no date)."""

    value: datetime | None
    raw: str | None
    precision: str | None


def _agrees(finer_date: FoundDate, coarse: FoundDate) -> bool:
    """True when ``finer_date`` falls within the day or month ``coarse`` names, read as
    each is written (a bare date has no zone to convert from)."""
    a, b = finer_date.value, coarse.value
    if a is None or b is None:
        return False
    if coarse.precision == "month":
        return (a.year, a.month) == (b.year, b.month)
    if coarse.precision == "day":
        return a.date() == b.date()
    return False  # a time of day is not completed by another


_CLASS_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_NOT_LOWER = re.compile(r"[^a-z]")
_DEK_WORDS = frozenset(
    [
        "dek",
        "subtitle",
        "standfirst",
        "subheadline",
        "subhead",
        "excerpt",
        "summary",
        "lede",
        "teaser",
        "intro",
        "strapline",
    ]
)
_NOT_DEK_WORDS = frozenset(
    [
        "image",
        "img",
        "photo",
        "media",
        "figure",
        "caption",
        "credit",
        "video",
        "card",
        "bio",
        "author",
        "contributor",
        "byline",
    ]
)


def _dek_class(cls: str | None) -> bool:
    """Class names of a dek, word by word: "post-header__subtitle", "ContentHeaderDek-x",
    "heading_excerpt" are; "lede-image-wrapper" (a photo) and "card-excerpt" are not."""
    if not cls:
        return False
    words = {w.lower() for w in _CLASS_WORDS.findall(cls)}
    for name in cls.split():  # "subheadline" written as one token
        words.add(_NOT_LOWER.sub("", name.lower()))
    return bool(words & _DEK_WORDS) and not words & _NOT_DEK_WORDS


_CREDIT = re.compile(r"^(?:photo|image|foto|bild|credit|source)s?\s*:", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_SENTENCE_PUNCT = re.compile(r"[.!?:;]")


def _words(text: str) -> list[str]:
    """The text's words, casefolded."""
    return _WORD.findall(text.casefold())


def _contains_words(haystack: str, words: list[str]) -> bool:
    """True when the word sequence occurs in ``haystack`` (space-joined words)."""
    return f" {' '.join(words)} " in f" {haystack} "


def _leading_byline(body: str, title: str | None, site_names: list[str]) -> tuple[list[str], str]:
    """A body whose opening line is nothing but names ("Mathatisi Sebusi/Mohalenyane
    Phakela") carries its byline there: the names become the authors and leave the body.
    The line may follow up to two short lines (a kicker, a dek set in the body). A name
    the headline or the rest of the text mentions is the story's subject (a photo
    caption "Kate Henshaw" under a story about her), not its writer."""
    paragraphs = body.split("\n\n")
    for i, line in enumerate(paragraphs[:3]):
        if i and len(paragraphs[i - 1]) > 200:
            break
        names = _byline_names(line, site_names)
        if not names or i + 1 >= len(paragraphs):
            continue
        rest = paragraphs[:i] + paragraphs[i + 1 :]
        text = " ".join(_words(" ".join([title or "", *rest])))
        if any(_contains_words(text, _words(n)) for n in names):
            continue
        return names, "\n\n".join(rest)
    return [], body


def _byline_names(line: str, site_names: list[str]) -> list[str]:
    """The names a line consists of, or [] when it is anything else."""
    if len(line) > 60 or _SENTENCE_PUNCT.search(line):
        return []
    if line.isupper() and "," in line:
        return []  # a dateline ("BAAR, SWITZERLAND"), not names
    words = line.replace("/", " ").replace("&", " ").split()
    if not words or any(
        not (w[0].isupper() or w.lower() in ("and", "und", "et", "y")) for w in words
    ):
        return []
    names = clean_authors([line.replace("/", ", ")], site_names)
    if not names or sum(len(n.split()) for n in names) < len(words) - 1:
        return []
    if any(not 2 <= len(n.split()) <= 4 for n in names):
        return []  # "Look What You Made Me Do": a title-cased phrase, not "Given Family"
    if any(w.casefold() in _HEADING_WORDS for w in words):
        return []  # "Key Points", "What We Know": a subheading
    return names


# Words of title-cased subheadings and labels that open a body ("Key Points", "What We
# Know", "Live Updates"); a line with one of them is not a byline. Rare surnames among
# them ("Key", "Story") only cost a byline that the page gives nowhere else.
_HEADING_WORDS = frozenset(
    """key points highlights related contents summary overview introduction background
    update updates watch video listen read more top latest breaking live what why how who
    where when story stories advertisement anzeige share comments newsletter subscribe menu
    search home of in on at for to with is are we you it this that our my your me a an from
    about after before new first part chapter review verdict conclusion photos gallery
    transcript note""".split()
)


def _same_start(subtitle: str, body: str) -> bool:
    """True when the body opens with the subtitle's words (a description cut from the lede
    counts too: "...", "…" endings are ignored)."""
    words = _words(subtitle)
    if len(words) < 6:
        return False
    words = words[:-1] if subtitle.rstrip().endswith(("...", "…")) else words
    return _words(body[: len(subtitle) * 2])[: len(words)] == words


def _position(item: dict[str, Any]) -> int:
    """A ListItem's position; 0 unless it is a plain number. str.isdigit() alone admits
    "²" and 5000-digit strings, on which int() raised ValueError."""
    p = str(item.get("position") or "0")
    return int(p) if p.isascii() and p.isdigit() and len(p) < 20 else 0


def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def _byline_text(el: Any) -> str | None:
    """A byline element's text with its parts kept apart: names on separate lines of
    markup become "A, B", not "A B"; parts separated by a plain space stay together."""
    out: list[str] = []
    for chunk in el.itertext():
        if not chunk:
            continue
        if chunk.strip():
            out.append(chunk)
        elif "\n" in chunk or "\r" in chunk:
            out.append(", ")  # separate lines of markup: separate names
        else:
            out.append(" ")  # "<span>Jane</span> <span>Doe</span>": one name
    return clean_text("".join(out))


def _text_of(el: Any) -> str:
    if isinstance(el, str):
        return el
    text: str = el.text_content()
    return text
