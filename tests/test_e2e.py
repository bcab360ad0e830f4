"""End to end: real `scrapy crawl` and `aggregator` processes against the local mirror."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aggregator.mirror import MirrorServer
from tests.conftest import FIXTURES, PROJECT

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent
SEED_URL = "https://www.dualshockers.com/all-of-us-are-dead-season-2-confirmed-netflix/"


def run(args: list[str], env: dict[str, str] | None = None, cwd: Path = PROJECT,
        check: bool = True) -> subprocess.CompletedProcess[str]:  # fmt: skip
    full_env = {**os.environ, "AGGREGATOR_LOG_LEVEL": "INFO", **(env or {})}
    proc = subprocess.run(
        args, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=180, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def stats_from_log(stderr: str) -> dict[str, Any]:
    """The 'Dumping Scrapy stats' dict from a crawl log."""
    start = stderr.index("Dumping Scrapy stats:")
    body = stderr[stderr.index("{", start) : stderr.index("}", start) + 1]
    import ast

    value: dict[str, Any] = ast.literal_eval(body.replace("datetime.datetime", "").replace(
        "tzinfo=datetime.timezone.utc", ""))  # fmt: skip
    return value


def expected_seed() -> dict[str, Any]:
    path = FIXTURES / "expected/dualshockers/all-of-us-are-dead-season-2-confirmed-netflix.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_scrapy_list_shows_sources() -> None:
    out = run([str(BIN / "scrapy"), "list"]).stdout.split()
    assert "dualshockers" in out


def test_scrapy_crawl_feed_export_and_recrawl(mirror: MirrorServer, tmp_path: Path) -> None:
    env = {"AGGREGATOR_HOST_MAP": mirror.host_map(), "AGGREGATOR_DB_URL": str(tmp_path / "c.db")}
    cmd = [str(BIN / "scrapy"), "crawl", "dualshockers", "-O", str(tmp_path / "out.jsonl"),
           "-s", "AUTOTHROTTLE_ENABLED=False"]  # fmt: skip
    first = run(cmd, env)
    items = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(items) == 5
    seed = next(i for i in items if i["canonical_url"] == SEED_URL)
    exp = expected_seed()
    for field in ("title", "subtitle", "authors", "body", "published", "source"):
        assert seed[field] == exp[field], field
    s1 = stats_from_log(first.stderr)
    assert s1["aggregator/stored/new"] == 5
    assert s1["aggregator/discovery/feed"] == 4 and s1["aggregator/discovery/sitemap"] == 5
    # Again: every article was fetched moments ago, so none is fetched a second time.
    before = len(mirror.requests)
    second = run(cmd, env)
    fetched = {path for host, path in mirror.requests[before:] if host == "www.dualshockers.com"}
    articles = {"/" + item["canonical_url"].split("/", 3)[3] for item in items}
    assert fetched and not fetched & articles, fetched  # feeds and sitemaps only
    s2 = stats_from_log(second.stderr)
    assert s2["aggregator/skipped/fresh"] == 5
    assert "aggregator/pages/article" not in s2 and "aggregator/stored/new" not in s2
    # With no revisit window, articles are revisited with a conditional GET: unchanged.
    third = run([*cmd, "-s", "AGGREGATOR_REVISIT=0"], env)
    s3 = stats_from_log(third.stderr)
    assert s3["aggregator/pages/not_modified"] == 5 and "aggregator/stored/new" not in s3
    # --refresh fetches and extracts everything again: the rows are updated, not added.
    fourth = run([*cmd, "-s", "AGGREGATOR_REFRESH=True"], env)
    s4 = stats_from_log(fourth.stderr)
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
    demo = run([str(BIN / "aggregator"), "demo", "--db", str(db)], cwd=tmp_path)
    assert "dualshockers" in demo.stderr and "finished" in demo.stderr
    search = [str(BIN / "aggregator"), "search", "All of Us Are Dead", "--db", str(db), "--json"]
    found = run(search, cwd=tmp_path)
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
    run([str(BIN / "aggregator"), "demo", "--db", str(db)], cwd=tmp_path)
    out = run([str(BIN / "aggregator"), "runs", "--db", str(db), "--json", "--limit", "500"])
    second = [json.loads(x) for x in out.stdout.splitlines()][:sources]
    assert second and all(r["status"] == "finished" for r in second), second
    assert all(r["new"] == 0 and r["details"]["articles_fetched"] == 0 for r in second), second
    assert sum(r["details"]["skipped_fresh"] for r in second) >= stored
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from articles").fetchone() == (stored,)
