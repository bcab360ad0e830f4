"""Finding article URLs: RSS/Atom feeds, sitemaps (index, urlset, Google News), listing pages.

Pure functions over response bytes, so the spider stays a thin crawler and discovery is
tested on saved files. XML is parsed with entity resolution and network access off
(no XXE), in recover mode so a slightly broken feed still yields its good entries.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from lxml import html as lxml_html

from aggregator.normalize.dates import parse_date
from aggregator.normalize.urls import canonicalize_url

_XML_PARSER = etree.XMLParser(
    recover=True,
    resolve_entities=False,
    no_network=True,
    remove_comments=True,
    remove_pis=True,
    huge_tree=False,
)
# Gzip bombs: a sitemap may not inflate beyond this (the sitemap protocol caps files at 50 MB).
MAX_SITEMAP_BYTES = 50 * 1024 * 1024


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


def _xml_root(data: bytes) -> etree._Element:
    if data[:2] == b"\x1f\x8b":
        with gzip.GzipFile(fileobj=__import__("io").BytesIO(data)) as fh:
            data = fh.read(MAX_SITEMAP_BYTES + 1)
        if len(data) > MAX_SITEMAP_BYTES:
            raise DiscoveryError("sitemap inflates beyond 50 MB")
    data = data.lstrip()
    if not data:
        raise DiscoveryError("empty document")
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


def parse_sitemap(data: bytes, base_url: str) -> tuple[str, list[Entry]]:
    """("index", child sitemaps) or ("urlset", page URLs), each with its date.

    A Google News sitemap's ``news:publication_date`` is preferred to ``lastmod``.
    """
    root = _xml_root(data)
    kind = _local(root.tag)
    if kind not in ("sitemapindex", "urlset"):
        raise DiscoveryError(f"not a sitemap (root element <{kind}>)")
    out: list[Entry] = []
    for el in root:
        if _local(el.tag) not in ("url", "sitemap"):
            continue
        loc = None
        lastmod = None
        published = None
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
            out.append(Entry(url, parse_date(raw) if raw else None))
    return ("index" if kind == "sitemapindex" else "urlset"), out


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
