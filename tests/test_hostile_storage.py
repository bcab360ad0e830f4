"""Storing and indexing what hostile pages send: one bad item never costs another.

The pages are in ``fixtures/hostile/store.hostile.example/`` (lone surrogates in JSON-LD,
non-characters in the markup, publication years 0001 and 999) plus a page with a 1 MB
headline generated here; its feed lists them among ordinary articles, so before items
were isolated one page lost the whole batch. Crawls go through ``aggregator crawl``
against the local mirror, on SQLite and on PostgreSQL; the database failures that no page
can cause (a value the database rejects, a database that refuses writes) come from
triggers, so the errors are the databases' own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import Engine, create_engine, select, text, update

from aggregator.aggregate.index import catch_up, indexed_store
from aggregator.items import ArticleItem
from aggregator.mirror import MirrorServer
from aggregator.storage.database import make_engine
from aggregator.storage.engine import StorageUnavailableError
from aggregator.storage.models import Article, CrawlRun
from aggregator.storage.runs import RunRecorder, this_host
from aggregator.storage.store import ArticleStore
from tests.conftest import FIXTURES, PROJECT, cli, distinct_body, jsonl

pytestmark = pytest.mark.e2e

HOST = "store.hostile.example"
NEWS = f"https://{HOST}/news/"
SOURCES = f"""
[[source]]
name = "hostile_store"
title = "Hostile Store"
domains = ["{HOST}"]
feeds = ["https://{HOST}/feed/"]
article_pattern = '^https://store\\.hostile\\.example/news/'
"""
GOOD = ["good-1", "good-2", "good-3"]
HOSTILE = ["jsonld-surrogate", "nonchar-title", "date-year-0001", "date-year-0999", "huge-title"]
HUGE_TITLE = ("A headline that goes on and on " * 40_000)[:1_000_000].strip()
T0 = datetime(2022, 6, 6, 12, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def store_mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MirrorServer]:
    """``fixtures/hostile/store.hostile.example`` plus the 1 MB headline page."""
    root = tmp_path_factory.mktemp("store") / "site"
    shutil.copytree(FIXTURES / "hostile" / HOST, root / HOST)
    template = (root / HOST / "news/good-1/index.html").read_text(encoding="utf-8")
    page = template.replace("Premiere dates announced for the autumn season", HUGE_TITLE)
    (root / HOST / "news/huge-title").mkdir()
    (root / HOST / "news/huge-title/index.html").write_text(page, encoding="utf-8")
    with MirrorServer(root) as server:
        yield server


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(SOURCES, encoding="utf-8")
    return path


def crawl(
    mirror: MirrorServer, registry: Path, db: str, *args: str, cwd: Path = PROJECT
) -> subprocess.CompletedProcess[str]:
    return cli(
        "crawl", "hostile_store", "--sources", str(registry), "--db", db, "--log-level", "INFO",
        "--set", "AUTOTHROTTLE_ENABLED=False", *args,
        env={"AGGREGATOR_HOST_MAP": mirror.host_map()}, cwd=cwd,
    )  # fmt: skip


def articles(url: str) -> dict[str, Article]:
    """Stored articles by slug."""
    engine = make_engine(url, create=False)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(Article.__table__)).all()
    finally:
        engine.dispose()
    return {r.url.removeprefix(NEWS).strip("/"): r for r in rows}  # type: ignore[misc]


def runs(url: str) -> list[dict[str, Any]]:
    listing = cli("runs", "--db", url, "--json", check=True)
    return jsonl(listing.stdout)


def upgrade(url: str) -> None:
    cli("db", "upgrade", "--db", url, check=True)


def add_trigger(url: str, table: str, condition: str, sqlstate: str) -> None:
    """Make the database itself refuse inserts into ``table`` where ``condition`` holds
    (SQL on the new row, ``new.column``), with PostgreSQL error ``sqlstate`` (SQLite's
    RAISE is always a constraint failure)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(
                f"CREATE TRIGGER refuse BEFORE INSERT ON {table} WHEN {condition} "
                "BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END"
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                    f"IF {condition} THEN RAISE EXCEPTION 'refused by trigger' "
                    f"USING ERRCODE = '{sqlstate}'; END IF; RETURN new; END $$ LANGUAGE plpgsql"
                )
            )
            conn.exec_driver_sql(
                f"CREATE TRIGGER refuse BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
    engine.dispose()


def assert_feeds_well_formed(url: str) -> None:
    for fmt in ("atom", "rss"):
        out = cli("feed", "--db", url, "--format", fmt, check=True)
        etree.fromstring(out.stdout.encode("utf-8"))  # strict: raises on any bad character


# -- the crawl ------------------------------------------------------------------------------


def test_hostile_values_cost_no_neighbour_and_poison_nothing(
    store_mirror: MirrorServer, registry: Path, backend_url: str
) -> None:
    result = crawl(store_mirror, registry, backend_url)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    stored = articles(backend_url)
    assert sorted(stored) == sorted(GOOD + HOSTILE)  # every page, in one batch
    (run,) = runs(backend_url)
    assert (run["status"], run["new"]) == ("finished", len(GOOD + HOSTILE))
    assert run["details"]["errors"] == {} and run["details"]["dropped"] == {}

    surrogate = stored["jsonld-surrogate"]
    assert surrogate.title == "Lone surrogate in the headline"
    assert (surrogate.section, surrogate.authors, surrogate.tags) == (
        "TV", ["Jane Doe"], ["drama", "series"],
    )  # fmt: skip
    title = stored["nonchar-title"].title
    assert title.startswith("Non-characters") and title.endswith("in the headline")
    assert not set(title) & {"\ufffe", "\uffff", "\x85", "\x9f"}
    for slug, raw in [("date-year-0001", "0001-01-01T00:00:00Z"),
                      ("date-year-0999", "0999-06-01T12:00:00Z")]:  # fmt: skip
        assert (stored[slug].published, stored[slug].published_raw) == (None, raw)
        assert f"is before 1990; left empty: {NEWS}{slug}/" in result.stderr
    huge = stored["huge-title"].title
    assert 100 < len(huge) <= 500 and HUGE_TITLE.startswith(huge.rstrip("…"))
    assert f"Title too long; cut: {NEWS}huge-title/" in result.stderr
    assert all(a.story_id is not None for a in stored.values())

    for command in (["stories"], ["db", "reindex", "--all"], ["stories", "--json"]):
        out = cli(*command, "--db", backend_url)
        assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert_feeds_well_formed(backend_url)


def test_an_item_the_database_rejects_is_dropped_alone_and_counted(
    store_mirror: MirrorServer, registry: Path, backend_url: str
) -> None:
    upgrade(backend_url)
    add_trigger(backend_url, "articles", "new.title LIKE 'Band reunites%'", "22023")
    result = crawl(store_mirror, registry, backend_url)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert sorted(articles(backend_url)) == sorted(set(GOOD + HOSTILE) - {"good-3"})
    (run,) = runs(backend_url)
    assert run["status"] == "finished"
    assert run["details"]["dropped"] == {"unstorable": 1}
    assert f"the database rejects it: {NEWS}good-3/" in result.stderr
    assert "refused by trigger" in result.stderr


def test_a_database_that_fails_makes_the_run_incomplete(
    store_mirror: MirrorServer, registry: Path, pg_url: str
) -> None:
    """SQLSTATE 53100 (disk full): every item would fail, so none is taken for bad data;
    the run says what was lost and the crawl exits 1."""
    upgrade(pg_url)
    add_trigger(pg_url, "articles", "true", "53100")
    result = crawl(store_mirror, registry, pg_url)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "close failure" not in result.stderr
    assert "8 article(s) not stored: the database failed" in result.stderr
    (run,) = runs(pg_url)
    assert (run["status"], run["new"]) == ("incomplete", 0)
    assert run["details"]["errors"] == {"not_stored": 8}
    # Once the database is back, the next run fetches them in full (a conditional GET
    # would get 304 for pages it never stored) and stores them.
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER refuse ON articles")
    engine.dispose()
    again = crawl(store_mirror, registry, pg_url)
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(articles(pg_url)) == 8
    assert runs(pg_url)[0]["details"]["articles_not_modified"] == 0


def test_storage_off_stores_nothing_anywhere(
    store_mirror: MirrorServer, registry: Path, tmp_path: Path
) -> None:
    """``--db none`` and ``AGGREGATOR_DB_URL=none``: items reach the feed export, no
    database file appears (it used to be a SQLite file named ``none``)."""
    for args, env in ((["--db", "none"], {}), ([], {"AGGREGATOR_DB_URL": "none"})):
        work = tmp_path / f"run{len(args)}"
        work.mkdir()
        feed = work / "items.jsonl"
        result = cli(
            "crawl", "hostile_store", "--sources", str(registry), *args,
            "--set", f'FEEDS={{"{feed}": {{"format": "jsonlines"}}}}',
            env={"AGGREGATOR_HOST_MAP": store_mirror.host_map(), **env}, cwd=work,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        assert len(jsonl(feed.read_text(encoding="utf-8"))) == len(GOOD + HOSTILE)
        assert sorted(p.name for p in work.iterdir()) == ["items.jsonl"]
        for command in (["latest"], ["stories"], ["db", "current"], ["demo"]):
            res = cli(*command, *args, env=env, cwd=work)
            assert res.returncode == 2 and "none" in res.stderr, (command, res.stderr)
        assert sorted(p.name for p in work.iterdir()) == ["items.jsonl"]


# -- storage and the index, without a crawl --------------------------------------------------


def item(n: int, **fields: Any) -> ArticleItem:
    values: dict[str, Any] = {
        "url": f"https://outlet.example/news/{n}/", "source": "outlet",
        "title": f"Story number {n} about Dune Messiah casting", "body": distinct_body(n),
        "published": T0, "fetched_at": T0,
    }  # fmt: skip
    return ArticleItem(**{**values, **fields})


def test_store_isolates_an_item_the_driver_cannot_send(engine: Engine) -> None:
    results = indexed_store(engine).upsert(
        [item(1), item(2, title="Lone \ud800 surrogate"), item(3), item(4, body="x\udfff" * 99)],
        now=T0,
    )
    assert [r.outcome for r in results] == ["new", "failed", "new", "failed"]
    assert "surrogates not allowed" in (results[1].error or "")
    with engine.connect() as conn:
        urls = conn.execute(select(Article.url).order_by(Article.id)).scalars().all()
        stories = conn.execute(select(Article.story_id)).scalars().all()
    assert urls == [item(1).url, item(3).url] and None not in stories


def test_store_raises_when_the_database_refuses_writes(backend_url: str, tmp_path: Path) -> None:
    """A read-only SQLite file; a PostgreSQL refusing for reasons of its own (disk full,
    no privilege, a lock timeout, corrupt data, a missing table): nothing is taken for bad
    data, the caller learns that the database failed."""
    make_engine(backend_url).dispose()
    if backend_url.startswith("sqlite"):
        readonly = create_engine(f"sqlite:///file:{tmp_path / 'news.db'}?mode=ro&uri=true")
        with pytest.raises(StorageUnavailableError) as failed:
            ArticleStore(readonly).upsert([item(1), item(2)], now=T0)
        assert failed.value.done == []
        readonly.dispose()
        return
    engine = create_engine(backend_url)
    for sqlstate in ("53100", "42501", "55P03", "XX001", "42P01"):
        add_trigger(backend_url, "articles", "true", sqlstate)
        with pytest.raises(StorageUnavailableError) as failed:
            ArticleStore(engine).upsert([item(1), item(2)], now=T0)
        assert failed.value.done == [], sqlstate
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP FUNCTION refuse() CASCADE")
    engine.dispose()


def test_index_survives_any_stored_date(engine: Engine) -> None:
    """Dates the normalizer refuses can still be in a database (written by the Python API
    or an older version): indexing them never fails, and what comes after gets stories."""
    store = ArticleStore(engine)
    year_one = datetime(1, 1, 1, tzinfo=timezone.utc)
    last = datetime(9999, 12, 31, 23, 59, tzinfo=timezone.utc)
    store.upsert([item(1, published=year_one), item(2), item(3, published=last)], now=T0)
    assert catch_up(engine) == 3
    store.upsert([item(4, published=year_one), item(5)], now=T0)
    assert catch_up(engine) == 2
    with engine.connect() as conn:
        assert None not in conn.execute(select(Article.story_id)).scalars().all()
    assert catch_up(engine, everything=True) == 5


def test_times_no_program_of_ours_wrote_read_as_no_time(tmp_path: Path) -> None:
    """SQLite keeps whatever text another program puts in a time column: indexing and the
    listings read it as no time instead of failing every query that touches it."""
    url = f"sqlite:///{tmp_path / 'news.db'}"
    engine = make_engine(url)
    ArticleStore(engine).upsert([item(1), item(2), item(3)], now=T0)
    with engine.begin() as conn:
        conn.exec_driver_sql("update articles set published = 'next tuesday' where id = 2")
    assert catch_up(engine) == 3
    engine.dispose()
    for command in (["stories", "--json"], ["latest", "--json"], ["show", "2"]):
        res = cli(*command, "--db", url)
        assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr[-2000:]
    rows = {row["url"]: row for row in jsonl(cli("latest", "--json", "--db", url).stdout)}
    assert rows[item(2).url]["published"] is None and rows[item(1).url]["published"]


def test_index_gives_an_article_it_cannot_index_a_story_of_its_own(
    engine: Engine, backend_url: str
) -> None:
    add_trigger(backend_url, "story_terms", "new.term = 'poisoned'", "22023")
    store = ArticleStore(engine)
    store.upsert([item(1), item(2, title="Poisoned headline for Dune Messiah"), item(3)], now=T0)
    failed: list[int] = []
    assert catch_up(engine, on_failure=lambda aid, _exc: failed.append(aid)) == 3
    with engine.connect() as conn:
        rows = conn.execute(select(Article.id, Article.story_id).order_by(Article.id)).all()
        poisoned_story = conn.execute(
            text("select headline, article_count from stories where id = :s"),
            {"s": rows[1].story_id},
        ).one()
    assert failed == [rows[1].id]
    assert None not in [r.story_id for r in rows]
    assert rows[1].story_id not in (rows[0].story_id, rows[2].story_id)
    assert tuple(poisoned_story) == ("Poisoned headline for Dune Messiah", 1)
    assert catch_up(engine) == 0  # not tried again and again


# -- runs of killed crawls ---------------------------------------------------------------------


def test_running_rows_of_dead_processes_are_marked_interrupted(engine: Engine) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    recorder = RunRecorder(engine)
    ghost = RunRecorder(engine).start("ghost")
    live = RunRecorder(engine).start("live")  # this process: running
    with engine.begin() as conn:  # the ghost's process has ended (its pid is free)
        ghost_process = json.dumps({"process": {"host": this_host(), "pid": dead.pid}})
        conn.execute(text("update crawl_runs set details = :d where id = :i"),
                     {"d": ghost_process, "i": ghost})  # fmt: skip
    reused = RunRecorder(engine).start("reused")  # this pid, but another process's start
    legacy = RunRecorder(engine).start("legacy")  # no process details, two days old
    recent = RunRecorder(engine).start("recent")  # no process details, an hour old
    with engine.begin() as conn:
        here = {"host": this_host(), "pid": os.getpid(), "pid_start": "1"}
        for run_id, details, age in [(reused, {"process": here}, 0), (legacy, {}, 48),
                                     (recent, {}, 1)]:  # fmt: skip
            conn.execute(
                update(CrawlRun)
                .where(CrawlRun.id == run_id)
                .values(
                    details=details, started_at=datetime.now(timezone.utc) - timedelta(hours=age)
                )
            )
    recorder.start("next")
    with engine.connect() as conn:
        status = {r.source: r.status for r in conn.execute(select(CrawlRun))}
    assert status == {
        "ghost": "interrupted", "live": "running", "next": "running", "reused": "interrupted",
        "legacy": "interrupted", "recent": "running",
    }  # fmt: skip
    assert recorder.run_id not in (ghost, live)


def test_extract_prints_every_page_after_a_hostile_one(tmp_path: Path) -> None:
    """``aggregator extract`` crashed on the lone surrogate and printed nothing after it."""
    pages = [FIXTURES / "hostile" / HOST / "news" / slug / "index.html"
             for slug in ("jsonld-surrogate", "nonchar-title", "good-1")]  # fmt: skip
    result = cli("extract", *map(str, pages), "--url", f"{NEWS}page/")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = jsonl(result.stdout)
    assert [row["title"] for row in rows] == [
        "Lone surrogate in the headline",
        "Non-characters and controls … in the headline",
        "Premiere dates announced for the autumn season",
    ]
    assert rows[0]["section"] == "TV" and rows[0]["authors"] == ["Jane Doe"]
