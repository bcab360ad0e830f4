"""Cron-ready runs: failing outlets are recorded while the rest complete, overlapping
runs are refused by the lock, and every run is in `crawl_runs`."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from aggregator.crawl.lock import (
    EXIT_LOCKED,
    CrawlLock,
    LockedError,
    PgSourceLocks,
    source_lock_path,
    source_locks,
)
from aggregator.mirror import MirrorServer
from aggregator.sources import DEFAULT_SOURCES
from tests.conftest import FIXTURES, LOG_INFO, cli, pg_schema, pg_server_url, stats_dump

pytestmark = pytest.mark.e2e

GAMESPOT = "www.gamespot.com"
BROKEN_SOURCES = """
[[source]]
name = "downsite"
title = "Down Site"
domains = ["down.example"]
feeds = ["https://down.example/feed/"]
article_pattern = '^https://down\\.example/news/'
category = "film"

[[source]]
name = "slowsite"
title = "Slow Site"
domains = ["slow.example"]
feeds = ["https://slow.example/feed/"]
article_pattern = '^https://slow\\.example/news/'
category = "tv"
"""


def runs(db: Path) -> list[dict[str, Any]]:
    out = cli("runs", "--db", str(db), "--json", "--limit", "100")
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_failing_outlets_recorded_while_others_complete(
    mirror: MirrorServer, tmp_path: Path
) -> None:
    registry = tmp_path / "sources.toml"
    registry.write_text(DEFAULT_SOURCES.read_text(encoding="utf-8") + BROKEN_SOURCES)
    mirror.set_behaviour("down.example", status=500)
    mirror.set_behaviour("slow.example", delay=4)
    host_map = f"{mirror.host_map()},down.example=127.0.0.1:{mirror.port},"
    host_map += f"slow.example=127.0.0.1:{mirror.port}"
    db = tmp_path / "news.db"
    out = cli(
        "crawl", "dualshockers", "downsite", "slowsite", "--sources", str(registry),
        "--db", str(db), "--set", "DOWNLOAD_TIMEOUT=1", "--set", "RETRY_TIMES=1",
        "--set", "AUTOTHROTTLE_ENABLED=False", "--set", "AGGREGATOR_PROGRESS=True",
        "--set", "AGGREGATOR_PROGRESS_INTERVAL=0.5",
        env={"AGGREGATOR_HOST_MAP": host_map},
    )  # fmt: skip
    assert out.returncode == 1, out.stderr  # a person should look at the two broken outlets
    assert "Traceback" not in out.stderr
    assert "dualshockers: " in out.stderr and "(done)" in out.stderr  # progress lines
    by_source = {r["source"]: r for r in runs(db)}
    assert by_source["dualshockers"]["status"] == "finished"
    assert by_source["dualshockers"]["new"] == 5
    down, slow = by_source["downsite"], by_source["slowsite"]
    assert down["status"] == "failed" and down["details"]["errors"].get("http_500", 0) >= 1
    assert down["details"]["http_status"].get("500", 0) >= 2  # retried
    assert down["details"]["backoffs"] >= 1  # and the domain was slowed down
    assert slow["status"] == "failed" and slow["errors"] >= 1
    assert any("Timeout" in k for k in slow["details"]["errors"]), slow["details"]


def test_lock_refuses_overlapping_runs(mirror: MirrorServer, tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    env = {"AGGREGATOR_HOST_MAP": mirror.host_map()}
    args = ["crawl", "dualshockers", "--db", str(db), "--set", "AUTOTHROTTLE_ENABLED=False"]
    with CrawlLock(source_lock_path(f"sqlite:///{db}", "dualshockers")):  # a run in progress
        refused = cli(*args, env=env)
    assert refused.returncode == EXIT_LOCKED
    assert "another crawl of dualshockers is running" in refused.stderr
    log = tmp_path / "crawl.log"
    first = cli(*args, "--log-file", str(log), env=env)
    assert first.returncode == 0, first.stderr
    assert "Spider closed (finished)" in log.read_text()  # INFO log written to the file
    second = cli(*args, env=env)
    assert second.returncode == 0, second.stderr
    history = runs(db)  # newest first
    assert [r["status"] for r in history] == ["finished", "finished", "refused"]
    assert history[1]["new"] == 5 and history[1]["details"]["articles_fetched"] == 5
    assert history[0]["new"] == 0 and history[0]["details"]["articles_fetched"] == 0
    assert history[0]["details"]["skipped_fresh"] == 5


def test_postgresql_crawl_locks_are_the_servers(pg_url: str) -> None:
    # Advisory locks: held by a connection, so they exclude crawls from any machine; per
    # database, schema and source.
    assert isinstance(source_locks(pg_url, ["dualshockers"]), PgSourceLocks)
    with PgSourceLocks(pg_url, ["dualshockers"]):
        with pytest.raises(LockedError, match="another crawl of dualshockers is running"):
            PgSourceLocks(pg_url, ["ign", "dualshockers"]).acquire()
        with PgSourceLocks(pg_url, ["ign"]):  # taken together or not at all: ign was freed
            pass
        # Another schema is another database.
        with pg_schema(pg_server_url()) as other, PgSourceLocks(other, ["dualshockers"]):
            pass
    with PgSourceLocks(pg_url, ["dualshockers"]):  # released with its connection
        pass


def test_postgresql_overlapping_crawl_is_refused(mirror: MirrorServer, pg_url: str) -> None:
    env = {"AGGREGATOR_HOST_MAP": mirror.host_map()}
    args = ["crawl", "dualshockers", "--db", pg_url, "--set", "AUTOTHROTTLE_ENABLED=False"]
    with PgSourceLocks(pg_url, ["dualshockers"]):  # a run in progress, as another host's
        refused = cli(*args, env=env)
    assert refused.returncode == EXIT_LOCKED, refused.stderr
    assert "another crawl of dualshockers is running" in refused.stderr
    assert "advisory lock" in refused.stderr
    first = cli(*args, env=env)
    assert first.returncode == 0, first.stderr


def test_bad_registry_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[source]]\nname = "x"\ndomains = ["x.example"]\ncategory = "sports"\n')
    out = cli("crawl", "--all", "--sources", str(bad), "--db", str(tmp_path / "d.db"))
    assert out.returncode == 2
    assert "category 'sports'" in out.stderr and "Traceback" not in out.stderr


def test_another_address_of_an_article_stored_once_is_not_fetched_again(tmp_path: Path) -> None:
    """An article a run fetched under two addresses and kept once (the second dropped as
    its duplicate) is settled under both: the next run fetches neither. Here the feed links
    each of gamespot's two articles under a second address (a slug variant serving the same
    page), answered two seconds late, so the plain address is stored first: the order that
    left the other address unsettled."""
    root = tmp_path / "site"
    shutil.copytree(FIXTURES / "site" / GAMESPOT, root / GAMESPOT)
    feed = root / GAMESPOT / "feeds" / "news" / "index.xml"
    text = feed.read_text(encoding="utf-8")
    for page in (root / GAMESPOT / "articles").glob("*/*/index.html"):
        slug, number = page.parent.parent.name, page.parent.name
        variant = root / GAMESPOT / "articles" / f"{slug}-again" / number
        shutil.copytree(page.parent, variant)
        text = re.sub(rf"/{slug}/{number}/\?ftag=[^<]*", f"/{slug}-again/{number}/", text)
    assert text.count("-again/") == 2
    feed.write_text(text, encoding="utf-8")
    db = tmp_path / "g.db"
    with MirrorServer(root) as site:
        site.set_behaviour(GAMESPOT, paths={"/articles/*-again/*": {"delay": 2}})
        env = {**LOG_INFO, "AGGREGATOR_HOST_MAP": site.host_map(),
               "AGGREGATOR_DB_URL": str(db)}  # fmt: skip
        # All four article requests at once: the late answers come last.
        cmd = ["crawl", "gamespot", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
               "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8"]  # fmt: skip

        def crawl() -> tuple[dict[str, Any], list[str]]:
            before = len(site.requests)
            out = cli(*cmd, prog="scrapy", env=env, check=True)
            fetched = [p for _, p in site.requests[before:] if p.startswith("/articles/")]
            return stats_dump(out.stderr), fetched

        first, fetched = crawl()
        assert len(fetched) == 4 and first["aggregator/stored/new"] == 2, (first, fetched)
        assert first["aggregator/dropped/duplicate_url"] == 2, first
        with sqlite3.connect(db) as conn:  # the plain address was kept, the other dropped
            kept = conn.execute("select url from articles where url like '%-again/%'")
            assert not kept.fetchall()
        second, fetched = crawl()
        assert not fetched and "aggregator/pages/article" not in second, (second, fetched)
        assert second["aggregator/skipped/fresh"] == 4, second
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from articles").fetchone() == (2,)
