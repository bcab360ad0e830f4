"""Discovery on the fixture site's real feed, sitemap and listing files."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from aggregator.discovery import DiscoveryError, parse_feed, parse_listing, parse_sitemap
from aggregator.sources import load_sources
from tests.conftest import FIXTURES

SITE = FIXTURES / "site" / "www.dualshockers.com"
BASE = "https://www.dualshockers.com/"


def test_feed_links_are_canonical_with_dates() -> None:
    entries = parse_feed((SITE / "feed" / "index.xml").read_bytes(), BASE + "feed/")
    assert len(entries) == 4
    assert all("utm_" not in e.url for e in entries)
    first = entries[0]
    assert first.url == BASE + "squid-game-season-2-netflix/"
    assert first.date == datetime(2022, 6, 12, 18, 20, tzinfo=timezone.utc)


def test_atom_feed() -> None:
    atom = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">
    <entry><title>x</title><link rel="alternate" href="/a-b/"/>
      <published>2022-06-06T10:00:00Z</published></entry>
    <entry><link href="https://ex.com/c-d/"/></entry></feed>"""
    entries = parse_feed(atom, "https://ex.com/feed")
    assert [e.url for e in entries] == ["https://ex.com/a-b/", "https://ex.com/c-d/"]
    assert entries[0].date is not None and entries[1].date is None


def test_news_sitemap_prefers_publication_date() -> None:
    kind, entries = parse_sitemap((SITE / "sitemap_news.xml").read_bytes(), BASE)
    assert kind == "urlset"
    assert len(entries) == 5
    seed = next(e for e in entries if "all-of-us-are-dead" in e.url)
    assert seed.date == datetime(2022, 6, 6, 16, 5, tzinfo=timezone.utc)


def test_sitemap_index() -> None:
    xml = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>https://ex.com/s1.xml</loc><lastmod>2022-06-01</lastmod></sitemap>
    </sitemapindex>"""
    kind, entries = parse_sitemap(xml, "https://ex.com/")
    assert kind == "index" and entries[0].url == "https://ex.com/s1.xml"


@pytest.mark.parametrize("data", [b"", b"<html><body>not xml</body></html>", b"\x00\x01garbage"])
def test_bad_sitemaps_raise_clear_error(data: bytes) -> None:
    with pytest.raises(DiscoveryError):
        parse_sitemap(data, "https://ex.com/")


def test_xml_entities_not_resolved() -> None:
    """An external entity (XXE) is never fetched or expanded."""
    xml = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
    <rss><channel><item><link>https://ex.com/a-b/&x;</link></item></channel></rss>"""
    entries = parse_feed(xml, "https://ex.com/")
    assert all("root:" not in e.url for e in entries)


def test_listing_links_and_next_page() -> None:
    html = (SITE / "news" / "index.html").read_text()
    links, next_url = parse_listing(html, BASE + "news/")
    src = load_sources()["dualshockers"]
    articles = [u for u in links if src.is_article(u)]
    assert len(articles) == 3
    assert next_url == BASE + "news/2/"
    html2 = (SITE / "news" / "2" / "index.html").read_text()
    links2, next2 = parse_listing(html2, BASE + "news/2/")
    assert len([u for u in links2 if src.is_article(u)]) == 2
    assert next2 is None


def test_article_pattern_rejects_non_articles() -> None:
    src = load_sources()["dualshockers"]
    assert src.is_article(BASE + "all-of-us-are-dead-season-2-confirmed-netflix/")
    for url in (BASE + "news/", BASE + "author/shivam-gulati/", BASE + "privacy-policy/",
                "https://evil.example/all-of-us-are-dead/"):  # fmt: skip
        assert not src.is_article(url), url
