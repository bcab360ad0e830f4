"""End to end on PostgreSQL: real `scrapy crawl` and `aggregator` processes against the
local mirror store into a PostgreSQL schema of the test's own (the URL's search_path
reaches the subprocesses), and incremental state works there as on SQLite."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from sqlalchemy import text

from aggregator.mirror import MirrorServer
from aggregator.storage import Query, make_engine
from tests.conftest import (
    BIN,
    FIXTURES,
    LOG_INFO,
    PROJECT,
    SEED_URL,
    cli,
    expected_seed,
    pg_schema,
    pg_server_url,
    stats_dump,
)

pytestmark = pytest.mark.e2e


def test_crawl_stores_into_postgresql(mirror: MirrorServer, pg_url: str) -> None:
    env = {**LOG_INFO, "AGGREGATOR_HOST_MAP": mirror.host_map(), "AGGREGATOR_DB_URL": pg_url}
    crawl = ["crawl", "dualshockers", "-s", "AUTOTHROTTLE_ENABLED=False"]
    first = stats_dump(cli(*crawl, prog="scrapy", env=env, check=True).stderr)
    assert first["aggregator/stored/new"] == 5
    engine = make_engine(pg_url, create=False)
    with engine.connect() as conn:
        counts = conn.execute(text("select count(*), count(distinct canonical_url) from articles"))
        assert tuple(counts.one()) == (5, 5)
        fetched = conn.execute(text("select count(*) from fetch_state where status = 200"))
        assert fetched.scalar_one() == 5
        runs = conn.execute(text("select status, new from crawl_runs")).all()
        assert [tuple(r) for r in runs] == [("finished", 5)]
    seed = Query(engine).get(SEED_URL)
    assert seed is not None
    exp = expected_seed()
    for field in ("title", "subtitle", "authors", "body", "tags", "section", "language"):
        assert getattr(seed, field) == exp[field], field
    assert seed.published is not None and seed.published.isoformat() == exp["published"]
    # Full-text search through PostgreSQL's own index, from the command line.
    found = cli("search", "All of Us Are Dead", "--db", pg_url, "--json", env=env, check=True)
    assert found.stdout.splitlines() and SEED_URL in found.stdout.splitlines()[0]
    # Again, through `aggregator crawl`: every article was fetched moments ago.
    again = cli("crawl", "dualshockers", "--db", pg_url, "--set", "AUTOTHROTTLE_ENABLED=False",
                env=env, check=True)  # fmt: skip
    assert "finished" in again.stdout  # the results table
    history = Query(engine)
    with engine.connect() as conn:
        (stored,) = conn.execute(text("select count(*) from articles")).one()
        last = conn.execute(text("select status, new from crawl_runs order by id desc")).first()
    assert stored == 5 and last is not None and tuple(last) == ("finished", 0)
    assert len(history.latest()) == 5
    engine.dispose()


def test_story_indexing_does_not_hold_up_the_other_sources(pg_url: str) -> None:
    """A source that ends indexes its articles for stories in a thread: the process's
    other sources go on downloading meanwhile (indexing thousands of articles takes
    minutes, past their requests' download timeout). Shown with the index's lock held by
    the test for the whole crawl: the small source's indexing waits for it, and the slow
    source is still crawled to its end; once the lock goes, both runs finish and every
    article has a story. (Indexing in the crawl's event loop stopped every download.)"""
    from aggregator.aggregate.index import lock

    with MirrorServer(FIXTURES / "site") as site:
        site.set_behaviour("variety.com", delay=1.0)
        env = {**os.environ, "AGGREGATOR_HOST_MAP": site.host_map()}
        cli("crawl", "variety", "--db", pg_url, "--set", "AUTOTHROTTLE_ENABLED=False", env=env,
            check=True)  # fmt: skip
        whole = sum(host == "variety.com" for host, _ in site.requests)  # without the lock
        with pg_schema(pg_server_url()) as db:
            site.requests.clear()
            cmd = [str(BIN / "aggregator"), "crawl", "tmz", "variety", "--db", db,
                   "--set", "AUTOTHROTTLE_ENABLED=False"]  # fmt: skip
            indexer = make_engine(db, create=True)
            with indexer.connect() as holder:
                lock(holder)  # index writers wait for this transaction to end
                proc = subprocess.Popen(cmd, cwd=PROJECT, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)  # fmt: skip
                try:
                    deadline = time.monotonic() + 90
                    while sum(host == "variety.com" for host, _ in site.requests) < whole:
                        assert time.monotonic() < deadline, "the other source stopped"
                        assert proc.poll() is None
                        time.sleep(0.1)
                finally:
                    holder.rollback()
            _out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err[-3000:]
            with indexer.connect() as conn:
                runs = conn.execute(text("select source, status from crawl_runs")).all()
                unindexed = conn.execute(
                    text("select count(*) from articles where story_id is null")
                ).scalar_one()
            indexer.dispose()
    assert sorted(tuple(r) for r in runs) == [("tmz", "finished"), ("variety", "finished")]
    assert unindexed == 0
