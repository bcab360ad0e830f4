"""Feeds a reader keeps (issue 14): entry ids that survive `aggregator db reindex --all`
and agree across formats, entries that carry the dek, lead image, authors and outlets,
RSS's self link, and no made-up publishing address. Every command runs as a user runs it,
in a subprocess, on the demo database."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree

from tests.conftest import BIN, PROJECT, SEED_URL, cli, jsonl

pytestmark = pytest.mark.e2e
BASE = "https://news.example.org/entertainment"
FORMATS = ("atom", "rss", "jsonfeed")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = tmp_path_factory.mktemp("feeds") / "demo.db"
    cli("demo", "--db", str(db), timeout=300, check=True)
    return str(db)


def feed(db: str, fmt: str, *args: str) -> str:
    res = cli("feed", "--format", fmt, "--db", db, "--limit", "500", "--base-url", BASE, *args)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    return res.stdout


def entries(doc: str, fmt: str) -> list[dict[str, Any]]:
    """The entries of a feed document, each as {id, link, title, ...}, after checking it
    parses: strict lxml and feedparser without complaint for Atom and RSS, JSON for JSON
    Feed (feedparser 6 reads only XML)."""
    if fmt == "jsonfeed":
        items: list[dict[str, Any]] = json.loads(doc)["items"]
        return [{**item, "link": item["url"]} for item in items]
    etree.fromstring(doc.encode("utf-8"), etree.XMLParser(recover=False))
    parsed = feedparser.parse(doc)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return list(parsed.entries)  # FeedParserDict: e["enclosures"] is derived on access


def ids_by_link(db: str, fmt: str) -> dict[str, str]:
    """Entry id per entry link (the story's earliest article: one per story)."""
    found = {e["link"]: e["id"] for e in entries(feed(db, fmt), fmt)}
    assert len(set(found.values())) == len(found)  # one id per story
    return found


def story_ids(db: str) -> dict[str, int]:
    """The stories' row ids by their earliest article's URL."""
    res = cli("stories", "--json", "--limit", "500", "--db", db, check=True)
    return {s["articles"][0]["canonical_url"]: s["id"] for s in jsonl(res.stdout)}


def test_entry_ids_survive_reindex_all_and_agree_across_formats(demo_db: str) -> None:
    before = {fmt: ids_by_link(demo_db, fmt) for fmt in FORMATS}
    assert len(before["atom"]) > 50
    rows_before = story_ids(demo_db)
    res = cli("db", "reindex", "--all", "--db", demo_db)
    assert res.returncode == 0, res.stderr
    rows_after = story_ids(demo_db)
    # Reindexing renumbered the stories (the entry ids were "<feed URL>#story-N")...
    assert rows_after.keys() == rows_before.keys()
    assert sum(rows_before[k] != rows_after[k] for k in rows_before) > len(rows_before) / 2
    # ...and a reader sees the same entries as before,
    for fmt in FORMATS:
        assert ids_by_link(demo_db, fmt) == before[fmt], fmt
    # with the same id for the same story whichever format it reads.
    assert before["atom"] == before["rss"] == before["jsonfeed"]
    assert all(i.startswith("urn:uuid:") for i in before["atom"].values())


def _seed_articles(db: str) -> list[dict[str, Any]]:
    """Every field of the seed story's articles."""
    res = cli("stories", "--json", "--limit", "500", "--db", db, check=True)
    story = next(
        s for s in jsonl(res.stdout) if SEED_URL in {a["canonical_url"] for a in s["articles"]}
    )
    urls = {a["canonical_url"] for a in story["articles"]}
    exported = jsonl(cli("export", "--db", db, check=True).stdout)
    return [a for a in exported if a["canonical_url"] in urls]


def test_entries_carry_dek_lead_image_authors_and_outlets(demo_db: str) -> None:
    articles = _seed_articles(demo_db)
    lead = next(a for a in articles if a["canonical_url"] == SEED_URL)
    assert lead["subtitle"] and lead["image"] and lead["authors"]  # the demo page has them
    authors = {name for a in articles for name in a["authors"]}
    outlets = {a["site_name"] or a["source"] for a in articles}
    assert len(outlets) >= 3

    docs = {fmt: feed(demo_db, fmt) for fmt in FORMATS}
    atom = next(e for e in entries(docs["atom"], "atom") if e["link"] == SEED_URL)
    assert atom["summary"] == lead["subtitle"]
    assert {a["name"] for a in atom["authors"]} == authors
    assert [e["href"] for e in atom["enclosures"]] == [lead["image"]]
    assert atom["media_content"][0]["url"] == lead["image"]
    assert {t["label"] for t in atom["tags"] if t.get("scheme") == f"{BASE}/outlets"} == outlets
    assert lead["subtitle"].replace("'", "&#x27;") in atom["content"][0]["value"]

    rss = next(e for e in entries(docs["rss"], "rss") if e["link"] == SEED_URL)
    assert {a["name"] for a in rss["authors"]} == authors  # dc:creator
    assert [(e["href"], e["type"]) for e in rss["enclosures"]] == [(lead["image"], "image/jpeg")]
    assert {t["term"] for t in rss["tags"] if t.get("scheme") == f"{BASE}/outlets"} == outlets

    item = next(e for e in entries(docs["jsonfeed"], "jsonfeed") if e["link"] == SEED_URL)
    assert item["summary"] == lead["subtitle"]
    assert item["image"] == lead["image"]
    assert {a["name"] for a in item["authors"]} == authors
    assert set(item["_aggregator"]["outlets"]) == outlets


def test_rss_names_itself_with_atom_link_self(demo_db: str) -> None:
    for fmt, name in (("rss", "rss.xml"), ("atom", "atom.xml")):
        parsed = feedparser.parse(feed(demo_db, fmt))
        links = {(link["rel"], link["href"]) for link in parsed.feed.links}
        assert ("self", f"{BASE}/{name}") in links, links
        assert ("alternate", BASE) in links, links
    root = etree.fromstring(feed(demo_db, "rss").encode("utf-8"))
    (self_link,) = root.findall("channel/{http://www.w3.org/2005/Atom}link")
    assert self_link.get("rel") == "self" and self_link.get("type") == "application/rss+xml"


def _run_without_base_url(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``aggregator feed`` with no AGGREGATOR_BASE_URL in its environment (the tests'
    conftest sets one for the tests that are not about it), plus ``env``."""
    clean = {k: v for k, v in os.environ.items() if k != "AGGREGATOR_BASE_URL"}
    return subprocess.run(
        [str(BIN / "aggregator"), "feed", *args], cwd=PROJECT, env={**clean, **env},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_a_feed_needs_a_real_base_url(demo_db: str, tmp_path: Path) -> None:
    out = tmp_path / "feed.xml"
    res = _run_without_base_url("--db", demo_db, "-o", str(out))
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and not res.stdout and not out.exists()
    assert "--base-url" in res.stderr and "AGGREGATOR_BASE_URL" in res.stderr
    for bad in ("example.org/news", "ftp://example.org/", "   "):
        res = _run_without_base_url("--db", demo_db, "--base-url", bad)
        assert res.returncode == 2 and "Traceback" not in res.stderr, (bad, res.stderr)
        assert "--base-url" in res.stderr
    # The setting instead of the option; the option wins over it.
    res = _run_without_base_url("--db", demo_db, AGGREGATOR_BASE_URL="https://set.example/n")
    assert res.returncode == 0, res.stderr
    assert "https://set.example/n/atom.xml" in res.stdout and "example.invalid" not in res.stdout
    res = _run_without_base_url("--db", demo_db, "--base-url", BASE,
                                AGGREGATOR_BASE_URL="https://set.example/n")  # fmt: skip
    assert f"{BASE}/atom.xml" in res.stdout and "set.example" not in res.stdout
