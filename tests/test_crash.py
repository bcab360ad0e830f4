"""Crash safety and concurrent writers, on real crawls of generated outlets.

- SIGKILL mid-crawl: the SQLite file passes ``PRAGMA integrity_check``, every article
  committed before the kill is still there, and a re-run completes without duplicates.
- Ctrl-C (SIGINT): the crawl stops cleanly and commits what it scraped.
- Two crawls of different outlets writing one SQLite file at once: no "database is
  locked", no duplicate rows.

The sites are generated with :mod:`aggregator.sitegen`, the crawl benchmark's generator
(distinct article bodies, the DualShockers template), and served by the mirror.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.mirror import MirrorServer
from aggregator.sitegen import HOST, generate_pages, write_site, write_sitemap
from aggregator.sources import DEFAULT_SOURCES
from tests.conftest import BIN, PROJECT, cli

pytestmark = pytest.mark.e2e
TWIN = "twin.example"
TWIN_SOURCE = f"""
[[source]]
name = "twinshockers"
title = "Twin Shockers"
domains = ["{TWIN}"]
sitemaps = ["https://{TWIN}/sitemap_news.xml"]
article_pattern = '^https://twin\\.example/[a-z0-9]+(?:-[a-z0-9]+)+/$'
category = "games"
extractor = "aggregator.extract.sites.valnet:ValnetExtractor"
"""
PAGES = 240


def _site(root: Path, count: int, seed: int, host: str = HOST) -> None:
    """A generated outlet of ``count`` articles under ``root/<host>``."""
    pages = generate_pages(count, seed=seed)
    build = root / "_build"
    site = write_site(build, pages)
    write_sitemap(site, pages)
    if host == HOST:
        shutil.move(str(site), str(root / host))
    else:
        for path in site.rglob("*"):
            if path.is_file():
                target = root / host / path.relative_to(site)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(path.read_text(encoding="utf-8").replace(HOST, host))
    shutil.rmtree(build)


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MirrorServer]:
    root = tmp_path_factory.mktemp("crashsites")
    _site(root, PAGES, seed=1)
    _site(root, PAGES, seed=2, host=TWIN)
    with MirrorServer(root) as server:
        yield server


def _env(server: MirrorServer, db: Path) -> dict[str, str]:
    return {**os.environ, "AGGREGATOR_HOST_MAP": server.host_map(), "AGGREGATOR_DB_URL": str(db)}


def _count(db: Path, sql: str = "select count(*) from articles") -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # not created yet


def _scrapy(server: MirrorServer, db: Path, *settings: str) -> subprocess.Popen[str]:
    args = [str(BIN / "scrapy"), "crawl", "dualshockers", "-s", "AUTOTHROTTLE_ENABLED=False",
            "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8"]  # fmt: skip
    for s in settings:
        args += ["-s", s]
    return subprocess.Popen(
        args, cwd=PROJECT, env=_env(server, db), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_sigkill_mid_crawl_loses_nothing_committed(sites: MirrorServer, tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    # 50 ms per page at 8 concurrent requests: the 240 pages take >= 1.5 s, so the kill
    # lands part-way even on a loaded machine (polled every 20 ms, a batch is 10 rows).
    sites.set_behaviour(HOST, delay=0.05)
    try:
        proc = _scrapy(sites, db, "AGGREGATOR_STORE_BATCH=10")
        deadline = time.monotonic() + 60
        while _count(db) < 40 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "the crawl ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        sites.set_behaviour(HOST)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        before = {row[0] for row in conn.execute("select canonical_url from articles")}
    assert 40 <= len(before) < PAGES, f"killed with {len(before)} of {PAGES} stored"
    rerun = _scrapy(sites, db, "AGGREGATOR_STORE_BATCH=10")
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err[-3000:]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        after = {row[0] for row in conn.execute("select canonical_url from articles")}
        total, distinct = conn.execute(
            "select count(*), count(distinct body_hash) from articles"
        ).fetchone()
    assert before <= after
    assert len(after) == total == distinct == PAGES
    # The killed run could not record its end; the next run found its process gone.
    runs = cli("runs", "--db", str(db), "--json", check=True).stdout.splitlines()
    assert [json.loads(line)["status"] for line in runs] == ["finished", "interrupted"]


def test_ctrl_c_stops_cleanly_and_commits(sites: MirrorServer, tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    sites.set_behaviour(HOST, delay=0.05)
    try:
        start = len(sites.requests)
        proc = subprocess.Popen(
            [str(BIN / "aggregator"), "crawl", "dualshockers", "--db", str(db),
             "--set", "AUTOTHROTTLE_ENABLED=False", "--set", "AGGREGATOR_STORE_BATCH=1000"],
            cwd=PROJECT, env=_env(sites, db), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while len(sites.requests) - start < 60 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        sites.set_behaviour(HOST)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err
    runs = cli("runs", "--db", str(db), "--json", check=True).stdout.splitlines()
    (run,) = [json.loads(line) for line in runs]
    stored = _count(db)
    assert run["status"] == "shutdown"
    assert 0 < stored < PAGES  # interrupted part-way...
    assert run["new"] == stored  # ...and everything it scraped was committed at the stop


def test_two_crawls_write_one_database_at_once(sites: MirrorServer, tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    registry = tmp_path / "sources.toml"
    registry.write_text(DEFAULT_SOURCES.read_text(encoding="utf-8") + TWIN_SOURCE)
    env = _env(sites, db)
    procs = [
        subprocess.Popen(
            [
                str(BIN / "aggregator"),
                "crawl",
                name,
                "--sources",
                str(registry),
                "--db",
                str(db),
                "--set",
                "AUTOTHROTTLE_ENABLED=False",
                "--set",
                "AGGREGATOR_STORE_BATCH=5",
                "--log-level",
                "INFO",
            ],
            cwd=PROJECT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("dualshockers", "twinshockers")
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-3000:]
        assert "database is locked" not in err and "Traceback" not in err
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        per_source = dict(conn.execute("select source, count(*) from articles group by source"))
        total, urls = conn.execute(
            "select count(*), count(distinct canonical_url) from articles"
        ).fetchone()
        runs = conn.execute("select source, status, new from crawl_runs order by source").fetchall()
    assert per_source == {"dualshockers": PAGES, "twinshockers": PAGES}
    assert total == urls == 2 * PAGES
    assert runs == [("dualshockers", "finished", PAGES), ("twinshockers", "finished", PAGES)]
