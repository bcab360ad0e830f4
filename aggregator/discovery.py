"""Finding article URLs: RSS/Atom feeds, sitemaps (index, urlset, Google News), listing pages.

Pure functions over response bytes, so the spider stays a thin crawler and discovery is
tested on saved files. XML is parsed with entity resolution and network access off
(no XXE), in recover mode so a slightly broken feed still yields its good entries.
"""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime

from lxml import etree
from lxml import html as lxml_html

from aggregator.normalize.dates import parse_date, parse_iso
from aggregator.normalize.urls import canonicalize_url

_XML_PARSER = etree.XMLParser(
    recover=True,
    resolve_entities=False,
    no_network=True,
    remove_comments=True,
    remove_pis=True,
    huge_tree=False,
)
# Same options for the streaming sitemap reader (etree.iterparse takes no parser object).
_XML_OPTIONS = {
    "recover": True,
    "resolve_entities": False,
    "no_network": True,
    "remove_comments": True,
    "remove_pis": True,
    "huge_tree": False,
}
# Gzip bombs: a sitemap may not inflate beyond this (the sitemap protocol caps files at 50 MB).
MAX_SITEMAP_BYTES = 50 * 1024 * 1024
# The sitemap protocol's limit of URLs per file (urlset) and of sitemaps per index.
MAX_SITEMAP_URLS = 50_000
_SITEMAP_ENTRIES = ("{*}url", "{*}sitemap")


class DiscoveryError(ValueError):
    """A feed or sitemap that cannot be read at all (not XML, empty, too large)."""


@dataclass(frozen=True)
class Entry:
    """A URL found by discovery, with the date the listing gave it (if any)."""

    url: str
    date: datetime | None = None


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def _xml_bytes(data: bytes) -> bytes:
    """The document, gunzipped when it is gzip (up to MAX_SITEMAP_BYTES)."""
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
                data = fh.read(MAX_SITEMAP_BYTES + 1)
        except (OSError, EOFError) as exc:  # a truncated or corrupt gzip stream
            raise DiscoveryError(f"bad gzip data: {exc}") from exc
        if len(data) > MAX_SITEMAP_BYTES:
            raise DiscoveryError("sitemap inflates beyond 50 MB")
    data = data.lstrip()
    if not data:
        raise DiscoveryError("empty document")
    return data


def _xml_root(data: bytes) -> etree._Element:
    data = _xml_bytes(data)
    try:
        root = etree.fromstring(data, parser=_XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise DiscoveryError(f"not XML: {exc}") from exc
    if root is None:
        raise DiscoveryError("not XML")
    return root


def parse_feed(data: bytes, base_url: str) -> list[Entry]:
    """Item links of an RSS 2.0, RSS 1.0 (RDF) or Atom feed, with their dates."""
    root = _xml_root(data)
    out: list[Entry] = []
    for el in root.iter():
        name = _local(el.tag)
        if name not in ("item", "entry"):
            continue
        link = None
        date_text = None
        for child in el:
            cname = _local(child.tag)
            if cname == "link":
                href = child.get("href")
                rel = (child.get("rel") or "alternate").lower()
                if href and rel == "alternate":
                    link = link or href
                elif child.text and child.text.strip():
                    link = link or child.text.strip()
            elif cname == "guid" and child.get("isPermaLink", "true").lower() == "true":
                if child.text and child.text.strip().startswith("http"):
                    link = link or child.text.strip()
            elif cname in ("pubdate", "published", "date", "updated", "issued") and child.text:
                date_text = date_text or child.text.strip()
        url = canonicalize_url(link, base_url) if link else None
        if url:
            out.append(Entry(url, parse_date(date_text) if date_text else None))
    return out


@dataclass
class Sitemap:
    """One sitemap file as read: its kind and entries, and how many it listed beyond the cap."""

    kind: str  # "index" (entries are sitemaps) or "urlset" (entries are pages)
    entries: list[Entry] = field(default_factory=list)
    over_cap: int = 0  # entries after the first ``max_urls``: counted, never read


def read_sitemap(data: bytes, base_url: str, max_urls: int = MAX_SITEMAP_URLS) -> Sitemap:
    """A sitemap index or urlset, its first ``max_urls`` entries read (0: no cap).

    The document is streamed: each ``<url>``/``<sitemap>`` is freed once read, and the
    entries past the cap are only counted, so a file of a million URLs costs neither a
    tree nor a million entries. A Google News ``news:publication_date`` is preferred to
    ``lastmod``.
    """
    data = _xml_bytes(data)
    kind = _root_name(data)
    if kind not in ("sitemapindex", "urlset"):
        raise DiscoveryError(f"not a sitemap (root element <{kind}>)")
    out = Sitemap("index" if kind == "sitemapindex" else "urlset")
    read = 0
    for el in _sitemap_entries(data):
        if max_urls and read >= max_urls:
            out.over_cap += 1
            continue
        read += 1
        loc = lastmod = published = None
        for child in el.iter():
            cname = _local(child.tag)
            text = (child.text or "").strip()
            if cname == "loc" and text and loc is None:
                loc = text
            elif cname == "lastmod" and text:
                lastmod = text
            elif cname == "publication_date" and text:
                published = text
        url = canonicalize_url(loc, base_url) if loc else None
        if url:
            raw = published or lastmod
            out.entries.append(Entry(url, sitemap_date(raw) if raw else None))
    return out


def parse_sitemap(data: bytes, base_url: str) -> tuple[str, list[Entry]]:
    """("index", child sitemaps) or ("urlset", page URLs), each with its date: the first
    MAX_SITEMAP_URLS entries (see :func:`read_sitemap`)."""
    sitemap = read_sitemap(data, base_url)
    return sitemap.kind, sitemap.entries


def sitemap_date(raw: str) -> datetime | None:
    """A sitemap's ``lastmod``/``publication_date``: W3C Datetime (what the protocol
    requires) or RFC 822, else no date. Free-form text never reaches dateparser, which
    takes ~0.7 ms a string: 50,000 of them would cost half a minute per file."""
    dt = parse_iso(raw)
    if dt is None:
        try:
            dt = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
    return dt


def _root_name(data: bytes) -> str:
    """The local name of the document's root element (parsing stops right after it)."""
    try:
        for _, el in etree.iterparse(io.BytesIO(data), events=("start",), **_XML_OPTIONS):
            return _local(el.tag)
    except etree.XMLSyntaxError as exc:
        raise DiscoveryError(f"not XML: {exc}") from exc
    raise DiscoveryError("not XML")


def _sitemap_entries(data: bytes) -> Iterator[etree._Element]:
    """The root's ``<url>``/``<sitemap>`` children, each complete when yielded and freed
    (with everything before it) right after, so memory stays flat whatever the length."""
    try:
        for _, el in etree.iterparse(
            io.BytesIO(data), events=("end",), tag=_SITEMAP_ENTRIES, **_XML_OPTIONS
        ):
            parent = el.getparent()
            if parent is None or parent.getparent() is not None:
                continue  # the root itself, or nested deeper (an RSS <image><url>)
            yield el
            el.clear(keep_tail=False)
            while el.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError:
        return  # recover mode gave up on a broken tail: keep what was read before it


_NEXT_TEXT = re.compile(
    r"^\s*(next|older|more|nächste|weiter|suivant|siguiente)\b|^\s*[›»→]\s*$", re.I
)


def parse_listing(html: str, base_url: str) -> tuple[list[str], str | None]:
    """All link targets on a listing page (absolute, canonical, in page order, unique)
    and the next page's URL (``rel=next`` first, then a link labelled "Next"/"»")."""
    try:
        root = lxml_html.document_fromstring(html.encode("utf-8", "replace"))
    except (etree.ParserError, ValueError):
        return [], None
    links: list[str] = []
    seen: set[str] = set()
    next_url: str | None = None
    for link in root.iterfind(".//link[@rel]"):
        if "next" in (link.get("rel") or "").lower().split():
            next_url = canonicalize_url(link.get("href"), base_url)
    for a in root.iter("a"):
        href = a.get("href")
        url = canonicalize_url(href, base_url) if href else None
        if not url:
            continue
        rel = (a.get("rel") or "").lower().split()
        classes = (a.get("class") or "").lower()
        if next_url is None and (
            "next" in rel
            or "next" in classes.split()
            or "pagination-next" in classes
            or _NEXT_TEXT.match(a.text_content() or "")
        ):
            next_url = url
        if url not in seen:
            seen.add(url)
            links.append(url)
    return links, next_url
