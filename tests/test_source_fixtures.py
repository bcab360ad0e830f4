"""Every registered outlet against its fixture site: discovery finds its articles, and
extraction yields the expected title, authors, date and body for each of them.

Fixture layout (served by :mod:`aggregator.mirror`): ``fixtures/site/<host>/...`` holds the
outlet's feed / sitemap / listing pages and article pages; ``fixtures/expected/<source>/
<slug>.json`` holds, per article, ``page`` (path under ``fixtures/``), ``url`` and the
expected item fields, written from what a reader sees on the page.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aggregator.discovery import DiscoveryError, parse_feed, parse_listing, parse_sitemap
from aggregator.extract.batch import PageSpec, extract_file
from aggregator.mirror import MirrorServer
from aggregator.sources import Source, load_sources
from tests.conftest import FIXTURES

SOURCES = load_sources()
SITE = FIXTURES / "site"
EXPECTED = FIXTURES / "expected"
# Fields every expected file must state; every other field it states is compared too.
CORE = ("title", "authors", "published", "body")
NOT_FIELDS = ("page", "url", "_file")


def expected_for(src: Source) -> list[dict[str, Any]]:
    cases = []
    for path in sorted((EXPECTED / src.name).glob("*.json")):
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        data["_file"] = path
        cases.append(data)
    return cases


def fixture_hosts(src: Source) -> list[Path]:
    return [
        p for p in SITE.iterdir() if p.is_dir() and any(
            p.name == d or p.name.endswith("." + d) for d in src.domains
        )
    ]  # fmt: skip


def test_at_least_thirty_outlets_have_fixtures() -> None:
    with_fixtures = [s for s in SOURCES.values() if fixture_hosts(s) and expected_for(s)]
    assert len(SOURCES) >= 30, f"{len(SOURCES)} sources registered"
    assert len(with_fixtures) == len(SOURCES), sorted(
        set(SOURCES) - {s.name for s in with_fixtures}
    )


def _fetch(server: MirrorServer, url: str) -> bytes | None:
    """The mirror's bytes for a real URL (None for 404), without the network."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    target = server.resolve(server.root / (parts.hostname or ""), parts.path)
    return target.read_bytes() if target is not None else None


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_discovery_finds_every_fixture_article(name: str, mirror: MirrorServer) -> None:
    """Feeds, sitemaps (with their indexes) and listing pages (with pagination) lead to
    every article the fixtures hold, and only article URLs pass the outlet's pattern."""
    src = SOURCES[name]
    found: set[str] = set()
    queue = [(u, "feed") for u in src.feeds] + [(u, "sitemap") for u in src.sitemaps]
    queue += [(u, "listing") for u in src.listings]
    pages = 0
    while queue:
        url, kind = queue.pop(0)
        data = _fetch(mirror, url)
        if data is None:
            continue
        try:
            if kind == "feed":
                found.update(e.url for e in parse_feed(data, url) if src.is_article(e.url))
            elif kind == "sitemap":
                what, entries = parse_sitemap(data, url)
                if what == "index":
                    queue += [(e.url, "sitemap") for e in entries]
                else:
                    found.update(e.url for e in entries if src.is_article(e.url))
            else:
                pages += 1
                links, nxt = parse_listing(data.decode("utf-8", "replace"), url)
                found.update(u for u in links if src.is_article(u))
                if nxt and pages < src.max_pages:
                    queue.append((nxt, "listing"))
        except DiscoveryError as exc:
            pytest.fail(f"{name}: {kind} {url} unreadable: {exc}")
    wanted = {c["url"] for c in expected_for(src)}
    assert wanted, f"{name} has no expected articles"
    assert wanted <= found, f"{name}: not discovered: {sorted(wanted - found)}"
    stray = {u for u in found if _fetch(mirror, u) is None}
    assert not stray, f"{name}: discovered URLs the fixture site does not serve: {sorted(stray)}"


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_extraction_matches_expected(name: str) -> None:
    cases = expected_for(SOURCES[name])
    assert cases, name
    for case in cases:
        missing = [f for f in CORE if f not in case]
        assert not missing, f"{case['_file'].name} does not state {missing}"
        got = extract_file(PageSpec(FIXTURES / case["page"], case["url"], None))
        fields = [f for f in case if f not in NOT_FIELDS]
        diff = {f: (got.get(f), case.get(f)) for f in fields if got.get(f) != case.get(f)}
        assert not diff, f"{case['_file'].name}: " + json.dumps(diff, indent=1, ensure_ascii=False)
