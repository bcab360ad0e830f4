"""Discovery on the fixture site's real feed, sitemap and listing files."""

from __future__ import annotations

import gzip
from datetime import datetime, timezone

import pytest

from aggregator.discovery import (
    MAX_SITEMAP_URLS,
    DiscoveryError,
    parse_feed,
    parse_listing,
    parse_sitemap,
    read_sitemap,
    sitemap_date,
)
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


def _urlset(n: int, extra: str = "") -> bytes:
    urls = "".join(f"<url><loc>/news/{i}/</loc>{extra}</url>" for i in range(n))
    return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()


def test_sitemap_read_up_to_the_cap_and_the_rest_counted() -> None:
    sitemap = read_sitemap(gzip.compress(_urlset(25)), "https://ex.com/s.xml.gz", max_urls=10)
    assert sitemap.kind == "urlset"
    assert [e.url for e in sitemap.entries] == [f"https://ex.com/news/{i}/" for i in range(10)]
    assert sitemap.over_cap == 15
    uncapped = read_sitemap(_urlset(25), "https://ex.com/", max_urls=0)
    assert len(uncapped.entries) == 25 and uncapped.over_cap == 0
    # The protocol's limit is the default, for the old two-value form too.
    assert MAX_SITEMAP_URLS == 50_000
    kind, entries = parse_sitemap(_urlset(MAX_SITEMAP_URLS + 3), "https://ex.com/")
    assert kind == "urlset" and len(entries) == MAX_SITEMAP_URLS


def test_sitemap_index_children_capped_too() -> None:
    children = "".join(f"<sitemap><loc>https://ex.com/s{i}.xml</loc></sitemap>" for i in range(7))
    xml = f"<sitemapindex>{children}</sitemapindex>".encode()
    sitemap = read_sitemap(xml, "https://ex.com/", max_urls=3)
    assert sitemap.kind == "index"
    assert [e.url for e in sitemap.entries] == [f"https://ex.com/s{i}.xml" for i in range(3)]
    assert sitemap.over_cap == 4


def test_sitemap_entries_are_the_roots_children_only() -> None:
    """A ``<url>`` nested in something else (an image block, an unknown wrapper) is not a
    page of the sitemap, and does not count against the cap."""
    xml = (
        b"<urlset><url><loc>/a/</loc><image><url>/img.png</url></image></url>"
        b"<wrap><url><loc>/deep/</loc></url></wrap><url><loc>/b/</loc></url></urlset>"
    )
    sitemap = read_sitemap(xml, "https://ex.com/", max_urls=2)
    assert [e.url for e in sitemap.entries] == ["https://ex.com/a/", "https://ex.com/b/"]
    assert sitemap.over_cap == 0


def test_sitemap_dates_are_w3c_or_rfc822_only() -> None:
    """Free-form dates are no date: dateparser costs ~0.7 ms each, 35 s for 50,000."""
    assert sitemap_date("2022-06-06") == datetime(2022, 6, 6)
    assert sitemap_date("2022-06-06T16:05:00+00:00") == datetime(
        2022, 6, 6, 16, 5, tzinfo=timezone.utc
    )
    assert sitemap_date("Mon, 06 Jun 2022 16:05:00 GMT") == datetime(
        2022, 6, 6, 16, 5, tzinfo=timezone.utc
    )
    for raw in ("yesterday", "06/06/2022", "June 6, 2022", "garbage"):
        assert sitemap_date(raw) is None, raw
    sitemap = read_sitemap(_urlset(3, "<lastmod>2 days ago</lastmod>"), "https://ex.com/")
    assert [e.date for e in sitemap.entries] == [None, None, None]


def test_corrupt_gzip_sitemap_is_a_clear_error() -> None:
    with pytest.raises(DiscoveryError, match="bad gzip data"):
        read_sitemap(gzip.compress(_urlset(5))[:40], "https://ex.com/")


def test_broken_sitemap_tail_keeps_the_entries_before_it() -> None:
    cut = _urlset(3).removesuffix(b"</urlset>") + b"<url><loc>/x</lo"
    sitemap = read_sitemap(cut, "https://ex.com/")
    assert [e.url for e in sitemap.entries][:3] == [f"https://ex.com/news/{i}/" for i in range(3)]


def test_streamed_sitemap_resolves_no_entities() -> None:
    """The streaming reader has the same defences as the feed parser: no XXE, no
    billion laughs."""
    xxe = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
    <urlset><url><loc>https://ex.com/a/&x;</loc></url></urlset>"""
    assert [e.url for e in read_sitemap(xxe, "https://ex.com/").entries] == ["https://ex.com/a/"]
    # &l9; expanded would be 10^9 "lol"s.
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    laughs = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{lol}]>'
        "<urlset><url><loc>https://ex.com/&l9;</loc></url></urlset>"
    ).encode()
    assert [e.url for e in read_sitemap(laughs, "https://ex.com/").entries] == ["https://ex.com/"]
