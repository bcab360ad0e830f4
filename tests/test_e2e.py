"""End to end: real `scrapy crawl` and `aggregator` processes against the local mirror."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from aggregator.mirror import MirrorServer
from tests.conftest import LOG_INFO, SEED_URL, cli, expected_seed, stats_dump

pytestmark = pytest.mark.e2e


def test_scrapy_list_shows_sources() -> None:
    out = cli("list", prog="scrapy", env=LOG_INFO, check=True).stdout.split()
    assert "dualshockers" in out


def test_scrapy_crawl_feed_export_and_recrawl(mirror: MirrorServer, tmp_path: Path) -> None:
    env = {**LOG_INFO, "AGGREGATOR_HOST_MAP": mirror.host_map(),
           "AGGREGATOR_DB_URL": str(tmp_path / "c.db")}  # fmt: skip
    cmd = ["crawl", "dualshockers", "-O", str(tmp_path / "out.jsonl"),
           "-s", "AUTOTHROTTLE_ENABLED=False"]  # fmt: skip
    first = cli(*cmd, prog="scrapy", env=env, check=True)
    items = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(items) == 5
    seed = next(i for i in items if i["canonical_url"] == SEED_URL)
    exp = expected_seed()
    for field in ("title", "subtitle", "authors", "body", "published", "source"):
        assert seed[field] == exp[field], field
    s1 = stats_dump(first.stderr)
    assert s1["aggregator/stored/new"] == 5
    assert s1["aggregator/discovery/feed"] == 4 and s1["aggregator/discovery/sitemap"] == 5
    # Again: every article was fetched moments ago, so none is fetched a second time.
    before = len(mirror.requests)
    second = cli(*cmd, prog="scrapy", env=env, check=True)
    fetched = {path for host, path in mirror.requests[before:] if host == "www.dualshockers.com"}
    articles = {"/" + item["canonical_url"].split("/", 3)[3] for item in items}
    assert fetched and not fetched & articles, fetched  # feeds and sitemaps only
    s2 = stats_dump(second.stderr)
    assert s2["aggregator/skipped/fresh"] == 5
    assert "aggregator/pages/article" not in s2 and "aggregator/stored/new" not in s2
    # With no revisit window, articles are revisited with a conditional GET: unchanged.
    third = cli(*cmd, "-s", "AGGREGATOR_REVISIT=0", prog="scrapy", env=env, check=True)
    s3 = stats_dump(third.stderr)
    assert s3["aggregator/pages/not_modified"] == 5 and "aggregator/stored/new" not in s3
    # --refresh fetches and extracts everything again: the rows are updated, not added.
    fourth = cli(*cmd, "-s", "AGGREGATOR_REFRESH=True", prog="scrapy", env=env, check=True)
    s4 = stats_dump(fourth.stderr)
    assert s4["aggregator/stored/updated"] == 5 and "aggregator/stored/new" not in s4
    with sqlite3.connect(tmp_path / "c.db") as db:
        counts = db.execute("select count(*), count(distinct canonical_url) from articles")
        assert counts.fetchone() == (5, 5)
        first_seen, last_seen = db.execute(
            "select first_seen, last_seen from articles where canonical_url = ?", (SEED_URL,)
        ).fetchone()
        assert first_seen < last_seen
        finished = db.execute("select count(*) from crawl_runs where status='finished'")
        assert finished.fetchone() == (4,)


def test_demo_then_search(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    demo = cli("demo", "--db", str(db), env=LOG_INFO, cwd=tmp_path, check=True)
    assert "dualshockers" in demo.stdout and "finished" in demo.stdout  # the results table
    # It ends by saying how to read what it collected (on stderr: stdout stays data).
    assert f"aggregator serve --db {db}" in demo.stderr.splitlines()[-1]
    search = ["search", "All of Us Are Dead", "--db", str(db), "--json"]
    found = cli(*search, env=LOG_INFO, cwd=tmp_path, check=True)
    rows = {r["canonical_url"]: r for r in map(json.loads, found.stdout.splitlines())}
    seed = rows[SEED_URL]
    exp = expected_seed()
    for field in ("title", "subtitle", "authors", "body", "image", "tags", "section", "language"):
        assert seed[field] == exp[field], field
    assert seed["published"] == "2022-06-06T16:05:00+00:00"
    with sqlite3.connect(db) as conn:
        (stored,) = conn.execute("select count(*) from articles").fetchone()
        (sources,) = conn.execute("select count(*) from crawl_runs").fetchone()
    # A second demo into the same database fetches no stored article again: nothing new.
    cli("demo", "--db", str(db), env=LOG_INFO, cwd=tmp_path, check=True)
    out = cli("runs", "--db", str(db), "--json", "--limit", "500", env=LOG_INFO, check=True)
    all_runs = [json.loads(x) for x in out.stdout.splitlines()]
    second = all_runs[:sources]
    assert second and all(r["status"] == "finished" for r in second), second
    # Nothing new and nothing fetched again, an article the first demo fetched under two
    # addresses (gamespot's feed adds a tracking parameter) and kept once included.
    again = [r for r in second if r["new"] or r["details"]["articles_fetched"]]
    assert not again, [(r, first) for r in again for first in all_runs[sources:]
                       if first["source"] == r["source"]]  # fmt: skip
    assert sum(r["details"]["skipped_fresh"] for r in second) >= stored
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from articles").fetchone() == (stored,)
