"""Stories and feeds on the demo database: the seed story reported by several outlets,
syndicated copies linked, and feeds that parse back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import feedparser
import pytest
from typer.testing import CliRunner

from aggregator.cli import app
from tests.conftest import SEED_URL, cli, jsonl

pytestmark = pytest.mark.e2e
runner = CliRunner()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = tmp_path_factory.mktemp("stories") / "demo.db"
    cli("demo", "--db", str(db), timeout=300, check=True)
    return str(db)


def seed_story(db: str) -> dict[str, Any]:
    res = runner.invoke(app, ["stories", "--db", db, "--json", "--limit", "100"])
    assert res.exit_code == 0, res.output
    return next(
        s for s in jsonl(res.stdout) if SEED_URL in {a["canonical_url"] for a in s["articles"]}
    )


def test_seed_story_is_reported_by_several_outlets(demo_db: str) -> None:
    story = seed_story(demo_db)
    assert story["outlet_count"] >= 3
    assert story["headline"] == "All of Us Are Dead Season 2 Officially Confirmed by Netflix"
    outlets = {a["source"] for a in story["articles"]}
    assert {"dualshockers", "collider", "screenrant", "variety", "deadline", "ew"} <= outlets
    # Unrelated news of the same days is not in it.
    assert not any("Squid Game" in a["title"] for a in story["articles"])
    res = runner.invoke(app, ["stories", "--db", demo_db, "--json", "--min-sources", "3"])
    assert all(s["outlet_count"] >= 3 for s in jsonl(res.stdout))
    first = jsonl(res.stdout)[0]
    assert first["outlet_count"] == max(s["outlet_count"] for s in jsonl(res.stdout))


def test_syndicated_copies_are_linked_not_separate_stories(demo_db: str) -> None:
    res = runner.invoke(app, ["stories", "--db", demo_db, "--json", "--limit", "200"])
    stories = jsonl(res.stdout)
    copies = [a for s in stories for a in s["articles"] if a["duplicate_of"]]
    assert {a["source"] for a in copies} >= {"billboard", "people"}
    for s in stories:
        ids = {a["id"] for a in s["articles"]}
        assert all(a["duplicate_of"] in ids for a in s["articles"] if a["duplicate_of"])


def test_show_story_lists_its_articles(demo_db: str) -> None:
    story = seed_story(demo_db)
    res = runner.invoke(app, ["show", f"story:{story['id']}", "--db", demo_db, "--json"])
    (shown,) = jsonl(res.stdout)
    assert [a["id"] for a in shown["articles"]] == [a["id"] for a in story["articles"]]
    text = runner.invoke(app, ["show", f"story:{story['id']}", "--db", demo_db]).stdout
    assert "collider" in text and "variety" in text
    assert runner.invoke(app, ["show", "story:999999", "--db", demo_db]).exit_code == 1


def test_search_grouped_by_story(demo_db: str) -> None:
    res = runner.invoke(app, ["search", "All of Us Are Dead", "--db", demo_db, "--by-story",
                              "--json", "--limit", "50"])  # fmt: skip
    groups = jsonl(res.stdout)
    story = seed_story(demo_db)
    top = next(g for g in groups if g["story_id"] == story["id"])
    assert len(top["articles"]) >= 3
    assert len({g["story_id"] for g in groups}) == len(groups)


@pytest.mark.parametrize("fmt", ["atom", "rss", "jsonfeed"])
def test_feed_is_valid_and_links_every_source(demo_db: str, fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"feed.{fmt}"
    res = runner.invoke(app, ["feed", "--format", fmt, "--db", demo_db, "--out", str(out)])
    assert res.exit_code == 0, res.output
    story = seed_story(demo_db)
    urls = {a["canonical_url"] for a in story["articles"]}
    text = out.read_text(encoding="utf-8")
    if fmt == "jsonfeed":
        entries = _json_feed_entries(text)
    else:
        parsed = feedparser.parse(text)
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert parsed.version == {"atom": "atom10", "rss": "rss20"}[fmt]
        entries = [dict(e) for e in parsed.entries]
    entry = next(e for e in entries if e["title"] == story["headline"])
    assert all(url in json.dumps(entry, default=str) for url in urls)
    ids = [e["id"] for e in entries]
    assert len(ids) == len(set(ids))  # one entry per story


def _json_feed_entries(text: str) -> list[dict[str, Any]]:
    """The items of a JSON Feed 1.1 document, checked against the spec's requirements
    (feedparser 6.0 reads only XML feeds)."""
    doc = json.loads(text)
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(doc["title"], str) and doc["title"]
    assert isinstance(doc["items"], list) and doc["items"]
    for item in doc["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert item.get("content_html") or item.get("content_text")
        for key in ("date_published", "date_modified"):
            from datetime import datetime

            datetime.fromisoformat(item[key].replace("Z", "+00:00"))  # RFC 3339
        assert item["url"].startswith("https://")
    items: list[dict[str, Any]] = doc["items"]
    return items


def test_read_commands_never_index(tmp_path: Path) -> None:
    # Articles stored as a crawl stores them, before its end indexes them: stories, feed
    # and show story:N read what is there, warn, and leave the database as it was.
    from datetime import datetime, timezone

    from aggregator.items import ArticleItem
    from aggregator.storage import ArticleStore, make_engine

    path = tmp_path / "news.db"
    engine = make_engine(f"sqlite:///{path}")
    when = datetime(2022, 6, 6, 12, tzinfo=timezone.utc)
    ArticleStore(engine).upsert(
        [
            ArticleItem(
                url=f"https://variety.com/2022/tv/news/story-{n}/",
                canonical_url=f"https://variety.com/2022/tv/news/story-{n}/",
                source="variety",
                title=f"Story number {n} about a series",
                body=f"Paragraph {n} of an article about a television series. " * 20,
                published=when,
            )
            for n in range(3)
        ],
        when,
    )
    engine.dispose()
    before = path.read_bytes()
    for args in (["stories"], ["feed"], ["show", "story:1"]):
        res = runner.invoke(app, [*args, "--db", str(path)])
        assert res.exit_code in (0, 1), res.output  # show story:1: no such story yet
        assert "some articles are in no story yet (3)" in res.output
        assert path.read_bytes() == before, args
    import sqlite3

    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM stories").fetchone() == (0,)
    res = runner.invoke(app, ["db", "reindex", "--db", str(path)])
    assert res.exit_code == 0 and "indexed 3 articles" in res.output
    res = runner.invoke(app, ["stories", "--db", str(path), "--json"])
    assert len(jsonl(res.stdout)) == 3 and "no story yet" not in res.output
