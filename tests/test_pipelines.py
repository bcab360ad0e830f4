"""The pipelines (validate -> normalize -> dedup -> store) on a real crawler and SQLite file."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from aggregator.crawl import project_settings
from aggregator.items import ArticleItem
from aggregator.normalize.item import clean_fields
from aggregator.pipelines.dedup import DedupPipeline
from aggregator.pipelines.normalize import NormalizePipeline
from aggregator.pipelines.store import StorePipeline
from aggregator.pipelines.validate import ValidatePipeline
from aggregator.sources import load_sources
from aggregator.spiders.news import spider_for
from tests.conftest import distinct_body

NOW = datetime(2022, 6, 6, 20, 0, tzinfo=timezone.utc)


def make_crawler(db: Path, **settings: Any) -> Crawler:
    spidercls = spider_for(load_sources()["dualshockers"])
    base = project_settings().copy_to_dict()
    # The pipelines need no network, so no reactor either.
    base.update({"AGGREGATOR_DB_URL": f"sqlite:///{db}", "AGGREGATOR_STORE_BATCH": 2,
                 "TWISTED_REACTOR_ENABLED": False, **settings})  # fmt: skip
    crawler = get_crawler(spidercls, base)
    crawler.spider = spidercls.from_crawler(crawler)
    return crawler


def article(n: int, **kw: Any) -> ArticleItem:
    data: dict[str, Any] = {
        "url": f"https://www.dualshockers.com/story-{n}/?utm_source=rss",
        "title": f"Story {n} | DualShockers",
        "authors": ["By Shivam Gulati"],
        "published": datetime(2022, 6, 6, 12, 0),  # naive: the source's zone applies
        "body": distinct_body(n),
        "fetched_at": NOW,
    }
    data.update(kw)
    # As the extractor hands it over: cleaned (title, byline and URL above are raw).
    return clean_fields(ArticleItem(**data), site_names=["DualShockers"])


def run_chain(crawler: Crawler, items: list[ArticleItem]) -> tuple[list[ArticleItem], list[str]]:
    pipes = [cls.from_crawler(crawler) for cls in
             (ValidatePipeline, NormalizePipeline, DedupPipeline, StorePipeline)]  # fmt: skip
    store = pipes[-1]
    assert isinstance(store, StorePipeline)
    store.open_spider()
    assert crawler.stats is not None
    # What the downloader would have counted for the pages these items came from.
    crawler.stats.set_value("downloader/response_status_count/200", len(items))
    kept: list[ArticleItem] = []
    drops: list[str] = []
    for it in items:
        try:
            for p in pipes:
                it = p.process_item(it)
            kept.append(it)
        except DropItem as exc:
            drops.append(str(exc).split(":")[0])
    store.close_spider()
    store.spider_closed("finished")  # the signal Scrapy sends once the spider has closed
    return kept, drops


def test_chain_validates_normalizes_dedups_and_stores(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    crawler = make_crawler(db)
    items = [
        article(1),
        article(2),
        article(1),  # same canonical URL again
        article(3, url="https://www.dualshockers.com/copy-of-2/", body=distinct_body(2)),
        article(4, title=None),
        article(5, body="Too short."),
        article(6, url=""),
        article(7, url="https://www.dualshockers.com/" + "x" * 2048),
    ]
    kept, drops = run_chain(crawler, items)
    assert drops == [
        "duplicate_url", "duplicate_body", "missing_title", "missing_body", "missing_url",
        "url_too_long",
    ]  # fmt: skip
    assert [k.title for k in kept] == ["Story 1", "Story 2"]
    assert kept[0].authors == ["Shivam Gulati"]
    assert kept[0].canonical_url == "https://www.dualshockers.com/story-1/"
    # 12:00 New York time (the source's zone) is 16:00 UTC.
    assert kept[0].published == datetime(2022, 6, 6, 16, 0, tzinfo=timezone.utc)
    assert crawler.stats is not None
    stats = crawler.stats.get_stats()
    assert stats["aggregator/dropped/duplicate_url"] == 1
    assert stats["aggregator/dropped/missing_body"] == 1
    assert stats["aggregator/stored/new"] == 2
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select canonical_url, title from articles order by id").fetchall()
        run = conn.execute("select source, status, new, dropped from crawl_runs").fetchall()
    assert rows == [
        ("https://www.dualshockers.com/story-1/", "Story 1"),
        ("https://www.dualshockers.com/story-2/", "Story 2"),
    ]
    assert run == [("dualshockers", "finished", 2, 6)]


def test_recrawl_updates_instead_of_adding(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    run_chain(make_crawler(db), [article(1), article(2)])
    _, drops = run_chain(make_crawler(db), [article(1, title="Story 1 (updated)"), article(2)])
    assert drops == []
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from articles").fetchone() == (2,)
        assert conn.execute("select title from articles where id = 1").fetchone() == (
            "Story 1 (updated)",
        )
        assert conn.execute("select count(*) from crawl_runs").fetchone() == (2,)
        # The recrawl refreshed the story of the article it updated (indexed at the end).
        headline = conn.execute(
            "select s.headline from stories s join articles a on a.story_id = s.id where a.id = 1"
        ).fetchone()
    assert headline == ("Story 1 (updated)",)


def test_storage_off(tmp_path: Path) -> None:
    crawler = make_crawler(tmp_path / "unused.db", AGGREGATOR_DB_URL="none")
    kept, _ = run_chain(crawler, [article(1)])
    assert len(kept) == 1
    assert not (tmp_path / "unused.db").exists()


@pytest.mark.parametrize("since", ["2022-06-07"])
def test_window_drops_older_items(tmp_path: Path, since: str) -> None:
    crawler = make_crawler(tmp_path / "w.db")
    spidercls = spider_for(load_sources()["dualshockers"])
    crawler.spider = spidercls.from_crawler(crawler, since=since)
    _kept, drops = run_chain(crawler, [article(1)])
    assert drops == ["outside_window"]
