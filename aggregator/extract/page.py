"""A page parsed once: the lxml tree, its JSON-LD objects and its meta tags.

Everything downstream (metadata, body) reads this one tree. lxml is an order of
magnitude faster than BeautifulSoup at building it, and Scrapy responses can hand us
their text without a second download.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from functools import cached_property
from typing import Any, TypeAlias

from lxml import etree
from lxml import html as lxml_html

# lxml ships no type information; elements are typed by this alias so signatures still
# say what they take.
HtmlElement: TypeAlias = Any

_PARSER = lxml_html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
# lxml.html picks each element's class in Python (a call for every element proxy made,
# a million on a run of the dragnet corpus), to give form controls classes of their own
# whose form API extraction never uses. Decided in C instead: every element is an
# HtmlElement, with all the methods extraction calls.
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=lxml_html.HtmlElement,
        comment=lxml_html.HtmlComment,
        pi=lxml_html.HtmlProcessingInstruction,
        entity=lxml_html.HtmlEntity,
    )
)
# Wrappers some CMSes put around JSON-LD: HTML comments and (commented) CDATA markers.
_WRAPPER_START = re.compile(
    r"^(?:\s*(?:<!--|//\s*<!\[CDATA\[|/\*\s*<!\[CDATA\[\s*\*/|<!\[CDATA\[))+"
)
# The end wrappers, matched on the reversed text from its start: anchored at "$" the
# pattern is tried at every position, quadratic on a run of "-->" (12 s for 80 KB).
_WRAPPER_END_REVERSED = re.compile(r"(?:\s*(?:>\]\]\s*//|/\*\s*>\]\]\s*\*/|>\]\]|>--))+")
_JSON_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# JSON-LD nesting beyond this is hostile or broken; we stop walking there.
MAX_JSONLD_DEPTH = 12
# Elements a page may have. Extraction is linear in elements and text, at up to 45 us
# per element (a flat page of short paragraphs, its costliest shape): about 2 s at this
# limit, where the largest article of the corpora has 4,100 elements. A page with more
# is hostile or no article, and is not extracted (:class:`TooComplexError`).
MAX_ELEMENTS = 50_000
# The largest page read, as downloaded and as decompressed: bigger is no article, and
# unbounded a 2 MB gzip bomb took 4 GB. The crawl's DOWNLOAD_MAXSIZE is this figure.
MAX_PAGE_BYTES = 8 * 1024 * 1024
ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "blogposting",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "reviewnewsarticle",
        "backgroundnewsarticle",
        "socialmediaposting",
        "liveblogposting",
        "techarticle",
        "scholarlyarticle",
        "report",
        "review",
        "posting",
        "webpage",
        "creativework",
        "advertisercontentarticle",
        "satiricalarticle",
        "askpublicnewsarticle",
        "factcheck",
        "medicalwebpage",
        "itempage",
        "videoobject",
    }
)
# Types that are an article proper (preferred over WebPage and the like).
STRONG_ARTICLE_TYPES = ARTICLE_TYPES - {"webpage", "creativework", "itempage", "videoobject"}


# Encodings whose pages may carry UTF-8 too (a template in one, a CMS field in the other).
_LATIN = frozenset({"utf-8", "cp1252"})


# Bytes that are not UTF-8 read as windows-1252: "surrogateescape" marks each byte of an
# undecodable sequence (as U+DC80..U+DCFF), this table turns the marks into windows-1252
# text. A codec error handler doing the same is called once per byte (6 s for 8 MB).
_ESCAPED_AS_CP1252 = {
    0xDC00 + b: bytes([b]).decode("cp1252", "replace") for b in range(0x80, 0x100)
}


def decode_html(data: bytes, content_type: str | None = None) -> str:
    """Bytes to text, decoded the way that gets the words right most often.

    A byte-order mark decides. Bytes that are valid UTF-8 are UTF-8, whatever the page
    declares: a stale ``charset=iso-8859-1`` on a UTF-8 page is common, legacy text that
    happens to be valid UTF-8 is vanishingly rare. A charset other than UTF-8 or
    windows-1252/latin-1 (HTTP header first, then ``<meta>``) is obeyed. Anything else --
    no charset, a charset Python cannot decode text with (``base64``, ``idna``...), or
    UTF-8/windows-1252 declared over bytes that are not valid UTF-8 -- is read as UTF-8
    where the bytes are UTF-8 and as windows-1252 where they are not: a page in
    windows-1252 (the browsers' default for undeclared Western pages) comes out right, and
    so does the text of a UTF-8 page with a few garbage bytes in it.
    """
    from w3lib.encoding import (
        html_body_declared_encoding,
        http_content_type_encoding,
        read_bom,
        resolve_encoding,
    )

    bom_encoding, bom = read_bom(data)
    if bom_encoding and bom:
        return data[len(bom) :].decode(bom_encoding, "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        declared = http_content_type_encoding(content_type or "") or html_body_declared_encoding(
            data
        )
        codec = resolve_encoding(declared) if declared else None
    except (LookupError, ValueError, TypeError):
        codec = None
    if codec and codec not in _LATIN:
        try:
            return data.decode(codec, "replace")
        except (LookupError, ValueError, TypeError):  # base64, idna...: not a text charset
            pass
    return data.decode("utf-8", "surrogateescape").translate(_ESCAPED_AS_CP1252)


def parse_tree(html: str) -> HtmlElement:
    """Parse HTML text into an lxml tree; never raises on malformed markup.

    A ``<title>`` never closed swallows the rest of the document as its text (so a
    browser shows an empty page). When that text holds markup and the page has no body
    besides, the title is closed where its markup starts and the page parsed again: the
    article is in the page, only a lost ``</title>`` hides it.
    """
    root = _parse(html)
    if _title_swallowed_page(root):
        start = _TITLE_OPEN.search(html)
        if start is not None:
            cut = html.find("<", start.end())
            if cut > 0:
                root = _parse(f"{html[:cut]}</title>{html[cut:]}")
    _body_out_of_head(root)
    return root


# What a document's <head> may hold; any other element ends the head in a browser's
# parser (HTML's "in head" insertion mode), and it and all that follows are the body.
_HEAD_TAGS = frozenset(
    {"base", "basefont", "bgsound", "link", "meta", "title", "noscript", "noframes", "style",
     "script", "template"}
)  # fmt: skip


def _body_out_of_head(root: HtmlElement) -> None:
    """Move into the body what libxml2 left in the ``<head>`` after an element that
    does not belong there (an unknown tag, a ``<table>`` before ``<body>``), as a
    browser does: else the page's whole content is lost with the head."""
    body = root.find("body")
    if body is not None and (len(body) or (body.text or "").strip()):
        return
    head = root.find("head")
    if head is None:
        return
    stray = next((c for c in head if not isinstance(c.tag, str) or c.tag not in _HEAD_TAGS), None)
    if stray is None:
        return
    if body is None:
        body = etree.SubElement(root, "body")
    moved = [stray, *stray.itersiblings()]
    for el in moved:
        body.append(el)


def _parse(html: str) -> HtmlElement:
    data = html.encode("utf-8", "replace")
    try:
        return lxml_html.document_fromstring(data, parser=_PARSER)
    except (etree.ParserError, ValueError):
        return lxml_html.document_fromstring(b"<html><body></body></html>", parser=_PARSER)


_TITLE_OPEN = re.compile(r"<title\b[^>]*>", re.IGNORECASE)
# A tag in a title's text: what a title that swallowed its page holds.
_TAG_IN_TEXT = re.compile(r"<(?:[a-zA-Z]+[\s>/]|/[a-zA-Z]+\s*>)")
# Titles are short; one this long with tags in it is the rest of the page.
_SWALLOWED = 500


def _title_swallowed_page(root: HtmlElement) -> bool:
    """Whether the page has no body and its ``<title>`` holds the page's markup as text."""
    body = root.find("body")
    if body is not None and (len(body) or (body.text or "").strip()):
        return False
    title = root.find(".//title")
    text = "" if title is None else title.text or ""
    return len(text) > _SWALLOWED and bool(_TAG_IN_TEXT.search(text))


class TooComplexError(ValueError):
    """A page, or an HTML fragment in it, with more than ``MAX_ELEMENTS`` elements."""


_COUNT_ELEMENTS = etree.XPath("count(descendant-or-self::*)")


def check_complexity(root: HtmlElement, limit: int = MAX_ELEMENTS, what: str = "page") -> None:
    """Raise :class:`TooComplexError` when ``root`` holds more than ``limit`` elements."""
    count = int(_COUNT_ELEMENTS(root))
    if count > limit:
        raise TooComplexError(f"{what} too complex: {count} elements (limit {limit})")


def parse_fragment(html: str) -> HtmlElement | None:
    """Parse an HTML fragment into a ``<div>`` around it; None when lxml refuses it."""
    try:
        fragment: HtmlElement = lxml_html.fragment_fromstring(html, create_parent="div")
    except (ValueError, etree.ParserError):
        return None
    return fragment


def has_class(name: str) -> str:
    """XPath predicate: the element's ``class`` attribute has the token ``name``."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def _types(obj: dict[str, Any]) -> set[str]:
    t = obj.get("@type")
    if isinstance(t, str):
        return {t.lower().rsplit("/", 1)[-1]}
    if isinstance(t, list):
        return {x.lower().rsplit("/", 1)[-1] for x in t if isinstance(x, str)}
    return set()


def _walk(node: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > MAX_JSONLD_DEPTH:
        return
    if isinstance(node, list):
        for x in node:
            yield from _walk(x, depth + 1)
    elif isinstance(node, dict):
        yield node
        graph = node.get("@graph")
        if graph is not None:
            yield from _walk(graph, depth + 1)
        main = node.get("mainEntity")
        if isinstance(main, (dict, list)):
            yield from _walk(main, depth + 1)


class Page:
    """One fetched page: text, URL, fetch time, and views parsed on first use."""

    def __init__(
        self,
        html: str,
        url: str,
        fetched_at: datetime | None = None,
        *,
        max_elements: int = MAX_ELEMENTS,
    ) -> None:
        self.html = html
        self.url = url
        self.fetched_at = fetched_at
        self.max_elements = max_elements

    @cached_property
    def tree(self) -> HtmlElement:
        """The whole document as an lxml tree (parsed once, shared by every field).
        Raises :class:`TooComplexError` for a page over ``max_elements``."""
        root = parse_tree(self.html)
        check_complexity(root, self.max_elements)
        return root

    @cached_property
    def jsonld(self) -> list[dict[str, Any]]:
        """Every JSON-LD object on the page, ``@graph`` members flattened, in page order."""
        out: list[dict[str, Any]] = []
        for script in self.tree.iter("script"):
            if (script.get("type") or "").strip().lower() != "application/ld+json":
                continue
            text = (script.text or "").strip()
            if not text:
                continue
            data = _load_json(text)
            if data is not None:
                out.extend(_walk(data))
        return out

    @cached_property
    def articles(self) -> list[dict[str, Any]]:
        """JSON-LD objects that describe an article, the strongest types first."""
        strong = [o for o in self.jsonld if _types(o) & STRONG_ARTICLE_TYPES]
        taken = {id(o) for o in strong}
        weak = [o for o in self.jsonld if (_types(o) & ARTICLE_TYPES) and id(o) not in taken]
        return strong + weak

    @cached_property
    def meta(self) -> dict[str, list[str]]:
        """``<meta>`` contents keyed by lowercased name/property/itemprop, in page order."""
        out: dict[str, list[str]] = {}
        for m in self.tree.iter("meta"):
            content = m.get("content")
            if content is None:
                continue
            content = content.strip()
            if not content:
                continue
            for attr in ("property", "name", "itemprop", "http-equiv"):
                key = m.get(attr)
                if key:
                    out.setdefault(key.strip().lower(), []).append(content)
        return out

    def meta_first(self, *keys: str) -> str | None:
        """The first non-empty meta content among ``keys``, in the order given."""
        for k in keys:
            values = self.meta.get(k)
            if values:
                return values[0]
        return None

    def jsonld_types(self, obj: dict[str, Any]) -> set[str]:
        """Lowercased ``@type`` names of a JSON-LD object."""
        return _types(obj)


def _unwrap(text: str) -> str:
    """A script's JSON without the comment and CDATA markers around it."""
    text = _WRAPPER_START.sub("", text.strip())
    wrapped = _WRAPPER_END_REVERSED.match(text[::-1])
    if wrapped:
        text = text[: len(text) - wrapped.end()]
    return text.strip().rstrip(";")


def _load_json(text: str) -> Any:
    text = _unwrap(text)
    for candidate in (text, _JSON_CONTROL.sub(" ", text)):
        try:
            return json.loads(candidate, strict=False)
        except (ValueError, RecursionError):
            continue
    return None
