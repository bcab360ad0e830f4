"""Schema migrations on SQLite and PostgreSQL.

Databases of the first release (commit 78d2f97: articles, crawl_runs, SQLite's FTS5
table) and of the release that added fetch_state, made before migrations existed, are
upgraded in place, by ``aggregator db upgrade`` and by any start (``make_engine``), with
every row and field intact; revision 0001 is exactly the first release's schema; the
migrated schema is exactly the models'; being current costs one query and no Alembic.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, DateTime, Engine, MetaData, Table, TypeDecorator, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SAWarning

from aggregator.aggregate.index import indexed_store
from aggregator.items import ArticleItem
from aggregator.storage import Filters, Query, make_engine
from aggregator.storage.fetchstate import FetchStateStore
from aggregator.storage.migrate import (
    HEAD,
    REVISIONS,
    SchemaError,
    current_revision,
    downgrade,
    upgrade,
)
from aggregator.storage.models import (
    Article,
    CrawlRun,
    FetchState,
    UTCDateTime,
    parse_sqlite_time,
)
from tests.conftest import PROJECT, cli, other_database, require_service

ARTICLES_TABLE: Table = Article.__table__  # type: ignore[assignment]
RUNS_TABLE: Table = CrawlRun.__table__  # type: ignore[assignment]
FETCH_STATE_TABLE_: Table = FetchState.__table__  # type: ignore[assignment]
FIRST_RELEASE = "78d2f97"
UTC = timezone.utc
T0 = datetime(2022, 6, 6, 16, 5, tzinfo=UTC)

# -- the first release's schema, as its code made it -----------------------------------------
# create_all() of its models (the same DDL on both backends but for the types below),
# then on SQLite the FTS5 statements of its storage/engine.py. Copied from what that code
# emits; test_first_release_code_path checks the copy against the code itself.
FIRST_RELEASE_TABLES = """
CREATE TABLE articles (
    id {serial} NOT NULL,
    canonical_url VARCHAR(2048) NOT NULL,
    url VARCHAR(2048) NOT NULL,
    source VARCHAR(64),
    site_name VARCHAR(200),
    title TEXT NOT NULL,
    subtitle TEXT,
    authors JSON NOT NULL,
    published {when},
    published_offset INTEGER,
    published_raw VARCHAR(200),
    modified {when},
    modified_offset INTEGER,
    modified_raw VARCHAR(200),
    body TEXT NOT NULL,
    body_hash VARCHAR(64),
    image VARCHAR(2048),
    tags JSON NOT NULL,
    section VARCHAR(200),
    language VARCHAR(16),
    fetched_at {when},
    first_seen {when} NOT NULL,
    last_seen {when} NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (canonical_url)
);
CREATE INDEX ix_articles_body_hash ON articles (body_hash);
CREATE INDEX ix_articles_last_seen ON articles (last_seen);
CREATE INDEX ix_articles_published ON articles (published);
CREATE INDEX ix_articles_source ON articles (source);
CREATE INDEX ix_articles_source_published ON articles (source, published);
CREATE TABLE crawl_runs (
    id {serial} NOT NULL,
    source VARCHAR(64) NOT NULL,
    started_at {when} NOT NULL,
    finished_at {when},
    status VARCHAR(32) NOT NULL,
    pages INTEGER NOT NULL,
    {new} INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    dropped INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    details JSON NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX ix_crawl_runs_source ON crawl_runs (source)
"""
FIRST_RELEASE_FTS = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5("
    "title, body, content='articles', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS articles_fts_ai AFTER INSERT ON articles BEGIN "
    "INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER IF NOT EXISTS articles_fts_ad AFTER DELETE ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER IF NOT EXISTS articles_fts_au AFTER UPDATE OF title, body ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
)
# fetch_state as create_all() made it from commit 9394fbd until migrations existed.
FETCH_STATE_TABLE = """
CREATE TABLE fetch_state (
    url VARCHAR(2048) NOT NULL,
    source VARCHAR(64),
    kind VARCHAR(16) NOT NULL,
    status INTEGER NOT NULL,
    etag VARCHAR(512),
    last_modified VARCHAR(64),
    fetched_at {when} NOT NULL,
    PRIMARY KEY (url)
);
CREATE INDEX ix_fetch_state_source ON fetch_state (source)
"""
# What differs: the types, and PostgreSQL's quoting of its reserved word "new".
TYPES = {
    "sqlite": {"serial": "INTEGER", "when": "DATETIME", "new": "new"},
    "postgresql": {"serial": "SERIAL", "when": "TIMESTAMP WITH TIME ZONE", "new": '"new"'},
}

# -- rows as the first release stored them ----------------------------------------------------
BODY = " ".join(
    f"Paragraph {i} of a story long enough to be hashed and searched." for i in range(8)
)
ARTICLES: list[dict[str, Any]] = [
    {
        "canonical_url": "https://www.dualshockers.com/all-of-us-are-dead-season-2/",
        "url": "https://www.dualshockers.com/all-of-us-are-dead-season-2/?utm_source=rss",
        "source": "dualshockers",
        "site_name": "DualShockers",
        "title": "All of Us Are Dead Season 2 Officially Confirmed by Netflix",
        "subtitle": "The Korean zombie hit returns for a second term.",
        "authors": ["Shivam Gulati"],
        "published": T0,
        "published_offset": -240,
        "published_raw": "2022-06-06T12:05:00-04:00",
        "modified": T0 + timedelta(hours=3, microseconds=123456),
        "modified_offset": -240,
        "modified_raw": "June 6, 2022 3:05 pm ET",
        "body": "Netflix renewed the zombie series. " + BODY,
        "body_hash": "a" * 64,
        "image": "https://static.dualshockers.com/wp-content/uploads/2022/06/aouad.jpg",
        "tags": ["Netflix", "K-drama", "zombies"],
        "section": "TV",
        "language": "en",
        "fetched_at": T0 + timedelta(days=1),
        "first_seen": T0 + timedelta(days=1),
        "last_seen": T0 + timedelta(days=9, seconds=1),
    },
    {
        "canonical_url": "https://www.musikexpress.de/bjoerk-welttournee/",
        "url": "https://www.musikexpress.de/bjoerk-welttournee/",
        "source": "musikexpress",
        "site_name": "Musikexpress",
        "title": "Björk kündigt Welttournee an – „Cornucopia“ kehrt zurück",
        "subtitle": None,
        "authors": ["Zoë Ångström", "José Núñez", "Łukasz Żółć"],
        "published": None,
        "published_offset": None,
        "published_raw": None,
        "modified": None,
        "modified_offset": None,
        "modified_raw": None,
        "body": "Die isländische Sängerin geht auf Welttournee. Straße, Größe, café. " + BODY,
        "body_hash": None,
        "image": None,
        "tags": [],
        "section": None,
        "language": "de",
        "fetched_at": None,
        "first_seen": datetime(2022, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        "last_seen": datetime(2023, 1, 1, 0, 0, tzinfo=UTC),
    },
    {
        "canonical_url": "https://natalie.mu/eiga/news/490000",
        "url": "https://natalie.mu/eiga/news/490000?from=feed",
        "source": "natalie",
        "site_name": "映画ナタリー",
        "title": "「進撃の巨人」完結編、劇場版が公開決定 🎬",
        "subtitle": "ファン待望の 劇場版",
        "authors": ["山田 太郎"],
        "published": datetime(2022, 6, 6, 1, 0, tzinfo=UTC),
        "published_offset": 540,
        "published_raw": "2022年6月6日 10:00",
        "modified": None,
        "modified_offset": None,
        "modified_raw": None,
        "body": "劇場版 の 公開 が 決定 した 。 " + BODY,
        "body_hash": "b" * 64,
        "image": "https://ogre.natalie.mu/media/news/eiga/2022/0606/shingeki.jpg",
        "tags": ["アニメ", "映画"],
        "section": "映画",
        "language": "ja",
        "fetched_at": datetime(2022, 6, 6, 2, 0, tzinfo=UTC),
        "first_seen": datetime(2022, 6, 6, 2, 0, tzinfo=UTC),
        "last_seen": datetime(2022, 6, 7, 2, 0, tzinfo=UTC),
    },
    {
        "canonical_url": "https://www.igromania.ru/news/rpg-goda/",
        "url": "https://www.igromania.ru/news/rpg-goda/",
        "source": "igromania",
        "site_name": None,
        "title": "Ролевая игра года: итоги голосования",
        "subtitle": "Что выбрали читатели",
        "authors": [],
        "published": datetime(2021, 12, 30, 9, 30, tzinfo=UTC),
        "published_offset": 180,
        "published_raw": "30 декабря 2021",
        "modified": None,
        "modified_offset": None,
        "modified_raw": None,
        "body": "Читатели выбрали лучшую ролевую игру. " + BODY,
        "body_hash": None,
        "image": None,
        "tags": ["RPG"],
        "section": "Новости",
        "language": "ru",
        "fetched_at": datetime(2021, 12, 30, 10, 0, tzinfo=UTC),
        "first_seen": datetime(2021, 12, 30, 10, 0, tzinfo=UTC),
        "last_seen": datetime(2021, 12, 30, 10, 0, tzinfo=UTC),
    },
]
CRAWL_RUNS: list[dict[str, Any]] = [
    {
        "source": "dualshockers",
        "started_at": T0,
        "finished_at": T0 + timedelta(minutes=2, seconds=5),
        "status": "finished",
        "pages": 12,
        "new": 4,
        "updated": 1,
        "dropped": 2,
        "errors": 0,
        "details": {"dropped": {"missing_body": 2}, "errors": {}},
    },
    {
        "source": "musikexpress",
        "started_at": T0 + timedelta(hours=1),
        "finished_at": None,
        "status": "running",
        "pages": 0,
        "new": 0,
        "updated": 0,
        "dropped": 0,
        "errors": 0,
        "details": {},
    },
    {
        "source": "igromania",
        "started_at": T0 + timedelta(hours=2),
        "finished_at": T0 + timedelta(hours=2, minutes=1),
        "status": "failed",
        "pages": 3,
        "new": 0,
        "updated": 0,
        "dropped": 0,
        "errors": 3,
        "details": {"errors": {"http_500": 3}, "note": "Сервер перегружен ✓"},
    },
]
# A word of each article that only it has, in every backend's idea of a word.
SEARCH_WORDS = {
    "https://www.dualshockers.com/all-of-us-are-dead-season-2/": "zombie Netflix",
    "https://www.musikexpress.de/bjoerk-welttournee/": "welttournee",
    "https://natalie.mu/eiga/news/490000": "劇場版",
    "https://www.igromania.ru/news/rpg-goda/": "ролевая",
}


def backend_of(url: str) -> str:
    return make_url(url).get_backend_name()


def run_ddl(engine: Engine, script: str) -> None:
    types = TYPES[engine.dialect.name]
    with engine.begin() as conn:
        for stmt in script.format(**types).split(";"):
            conn.exec_driver_sql(stmt)


class _FirstReleaseTime(TypeDecorator[datetime]):
    """The first release's time type: SQLAlchemy's ``DateTime(timezone=True)`` given naive
    UTC on SQLite (stored as ``2022-06-06 16:05:00.000000``), aware times on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None or dialect.name != "sqlite":
            return value
        return value.astimezone(UTC).replace(tzinfo=None)


def as_first_release(table: Table) -> Table:
    """``table`` (a model's) with the first release's time type, to write rows as it did."""
    columns = [
        Column(c.name, _FirstReleaseTime() if isinstance(c.type, UTCDateTime) else c.type,
               primary_key=c.primary_key)
        for c in table.columns
    ]  # fmt: skip
    return Table(table.name, MetaData(), *columns)


# Time columns: SQLite's text is compared as the time it says (revision 0010 rewrote it).
TIME_COLUMNS = {"published", "modified", "fetched_at", "first_seen", "last_seen",
                "started_at", "finished_at"}  # fmt: skip


def make_first_release_db(url: str, *, fetch_state: bool = False) -> None:
    """The first release's schema and rows (no alembic_version), optionally with the
    fetch_state table of the release after it."""
    engine = make_engine(url, create=False)
    run_ddl(engine, FIRST_RELEASE_TABLES)
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            for stmt in FIRST_RELEASE_FTS:
                conn.exec_driver_sql(stmt)
    if fetch_state:
        run_ddl(engine, FETCH_STATE_TABLE)
    with engine.begin() as conn:  # stored as that release's types did
        conn.execute(as_first_release(ARTICLES_TABLE).insert(), ARTICLES)
        conn.execute(as_first_release(RUNS_TABLE).insert(), CRAWL_RUNS)
        if fetch_state:
            gone = {"url": "https://www.dualshockers.com/gone/", "source": "dualshockers",
                    "kind": "article", "status": 410, "etag": '"x"', "fetched_at": T0}  # fmt: skip
            conn.execute(as_first_release(FETCH_STATE_TABLE_).insert(), gone)
    engine.dispose()


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the first release's tables as the database returns it (no types of
    ours in between: SQLite's stored text, PostgreSQL's values), but SQLite's times read
    as the times they say (revision 0010 rewrote their text; test_sqlite_times_* checks
    that text)."""
    engine = make_engine(url, create=False)
    with engine.connect() as conn:
        # The first release's columns only: later revisions add columns of their own.
        out = {}
        for name, rows in (("articles", ARTICLES), ("crawl_runs", CRAWL_RUNS)):
            columns = ", ".join(["id", *(k for k in rows[0] if k != "id")])
            query = text(f"SELECT {columns} FROM {name} ORDER BY id")
            result = conn.execute(query)
            times = [k in TIME_COLUMNS for k in result.keys()]  # noqa: SIM118 (a Result)
            out[name] = [
                tuple(
                    parse_sqlite_time(v) if t and isinstance(v, str) else v
                    for v, t in zip(row, times, strict=True)
                )
                for row in result
            ]
    engine.dispose()
    return out


def schema(url: str) -> set[tuple[str, ...]]:
    """The schema's tables, columns, constraints and indexes, comparable across databases
    (SQL text with whitespace normalized; PostgreSQL names without the schema)."""
    engine = make_engine(url, create=False)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(text(
                "SELECT type, name, tbl_name, sql FROM sqlite_master "
                "WHERE tbl_name != 'alembic_version'"
            ))  # fmt: skip
            out: set[tuple[str, ...]] = {
                (t, n, tb, " ".join((sql or "").replace("IF NOT EXISTS ", "").split()))
                for t, n, tb, sql in rows
            }
        else:
            name = conn.execute(text("SELECT current_schema()")).scalar_one()
            rows = conn.execute(text("""
                SELECT 'column', table_name::text, column_name::text,
                       data_type || coalesce('(' || character_maximum_length || ')', '')
                       || ' ' || is_nullable || ' ' || coalesce(column_default, '')
                FROM information_schema.columns
                WHERE table_schema = current_schema() AND table_name != 'alembic_version'
                UNION ALL
                SELECT 'constraint', conrelid::regclass::text, conname::text,
                       pg_get_constraintdef(oid)
                FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
                    AND conrelid::regclass::text != 'alembic_version'
                UNION ALL
                SELECT 'index', tablename::text, indexname::text, indexdef
                FROM pg_indexes WHERE schemaname = current_schema()
                    AND tablename != 'alembic_version'
                UNION ALL
                SELECT 'sequence', sequence_name::text, data_type, start_value
                FROM information_schema.sequences WHERE sequence_schema = current_schema()
            """))  # fmt: skip
            out = {tuple(str(v).replace(f"{name}.", "") for v in row) for row in rows}
    engine.dispose()
    return out


# What later revisions change rather than add: PostgreSQL's JSON columns (0008, jsonb).
RETYPED = {("column", "articles", "authors"), ("column", "articles", "tags")}


def assert_upgraded_intact(url: str, before: dict[str, list[tuple[Any, ...]]]) -> None:
    """At the head revision, every old row and field as it was, the old articles found by
    full-text search, fetch_state present."""
    engine = make_engine(url, create=False)
    assert current_revision(engine) == HEAD
    assert dump(url) == before
    q = Query(engine)
    for expected in ARTICLES:
        a = q.get(expected["canonical_url"])
        assert a is not None, expected["canonical_url"]
        assert {k: getattr(a, k) for k in expected} == expected
    with engine.connect() as conn:
        runs = conn.execute(RUNS_TABLE.select().order_by(CrawlRun.id)).mappings().all()
    assert [{k: r[k] for k in CRAWL_RUNS[0]} for r in runs] == CRAWL_RUNS
    for canonical, words in SEARCH_WORDS.items():
        assert [a.canonical_url for a in q.search(words)] == [canonical], words
    assert "fetch_state" in inspect(engine).get_table_names()
    engine.dispose()


def assert_writable(url: str) -> None:
    """After the upgrade, the code of today writes: fetch state, and a new article whose
    id follows the old ones (PostgreSQL's sequence carried over)."""
    engine = make_engine(url)
    fs = FetchStateStore(engine)
    fs.record([{"url": "https://x.example/a/", "source": "x", "kind": "article", "status": 200,
                "etag": None, "last_modified": None, "fetched_at": T0}])  # fmt: skip
    assert fs.load("x")["https://x.example/a/"].status == 200
    item = ArticleItem(url="https://x.example/new/", canonical_url="https://x.example/new/",
                       source="x", title="Brand new", body="Brand new body " + BODY,
                       fetched_at=T0)  # fmt: skip
    (result,) = indexed_store(engine).upsert([item])
    assert (result.outcome, result.article_id) == ("new", len(ARTICLES) + 1)
    assert [a.title for a in Query(engine).search("brand new")] == ["Brand new"]
    engine.dispose()


# -- upgrades of databases made before migrations -------------------------------------------


def test_first_release_database_upgraded_by_cli(backend_url: str) -> None:
    make_first_release_db(backend_url)
    before, old_schema = dump(backend_url), schema(backend_url)
    assert cli("db", "current", "--db", backend_url, cwd=None, timeout=120).stdout == "none\n"
    out = cli("db", "upgrade", "--db", backend_url, cwd=None, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"recognized as revision 0001 and stamped, then upgraded to {HEAD}" in out.stdout
    assert_upgraded_intact(backend_url, before)
    upgraded = schema(backend_url)
    # Only additions: every table, index and trigger is still there (a table's DDL text
    # changes when a revision adds a column, so tables compare by name; their old columns
    # are checked by the row dump below).
    assert {x[1] for x in old_schema if x[0] == "table"} <= {
        x[1] for x in upgraded if x[0] == "table"
    }
    kept = {x for x in old_schema if x[0] != "table" and x[:3] not in RETYPED}
    assert kept <= {x for x in upgraded if x[0] != "table"}
    assert len(upgraded) > len(old_schema)
    # Again: nothing to do, nothing touched.
    again = cli("db", "upgrade", "--db", backend_url, cwd=None, timeout=120)
    assert again.returncode == 0 and "nothing to do" in again.stdout, again
    assert schema(backend_url) == upgraded and dump(backend_url) == before
    assert cli("db", "current", "--db", backend_url, cwd=None, timeout=120).stdout == f"{HEAD}\n"
    assert_writable(backend_url)


def test_first_release_database_upgraded_on_start(backend_url: str) -> None:
    make_first_release_db(backend_url)
    before = dump(backend_url)
    make_engine(backend_url).dispose()  # what every command and crawl does first
    assert_upgraded_intact(backend_url, before)
    make_engine(backend_url).dispose()
    assert_upgraded_intact(backend_url, before)
    assert_writable(backend_url)


def test_fetch_state_release_stamped_at_0002(backend_url: str) -> None:
    make_first_release_db(backend_url, fetch_state=True)
    before = dump(backend_url)
    engine = make_engine(backend_url, create=False)
    result = upgrade(engine)
    assert (result.before, result.stamped, result.after) == (None, "0002", HEAD)
    assert_upgraded_intact(backend_url, before)
    seen = FetchStateStore(engine).load("dualshockers")["https://www.dualshockers.com/gone/"]
    assert (seen.status, seen.etag, seen.fetched_at) == (410, '"x"', T0)
    engine.dispose()


def test_first_release_code_path(backend_url: str, tmp_path: Path) -> None:
    """The first release's own code (checked out of git) makes the database and stores
    articles and a run; this version upgrades it with every row as that code wrote it."""
    old_root = checkout_first_release(tmp_path)
    now = datetime(2022, 6, 10, 8, 0, 0, 250000, tzinfo=UTC)
    items = [{k: v for k, v in a.items() if k in OLD_ITEM_FIELDS} for a in ARTICLES]
    stats = {"response_received_count": 9, "aggregator/stored/new": 4,
             "aggregator/dropped/missing_body": 1, "aggregator/errors/http_404": 2}  # fmt: skip
    data = json.dumps({"items": items, "now": now, "stats": stats}, default=str)
    env = {**os.environ, "PYTHONPATH": str(old_root)}
    proc = subprocess.run([sys.executable, "-c", OLD_CODE, str(old_root), backend_url],
                          input=data, capture_output=True, text=True, env=env, cwd=old_root,
                          timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # The copied DDL is that code's.
    with other_database(backend_of(backend_url), tmp_path) as copy:
        make_first_release_db(copy)
        assert schema(copy) == schema(backend_url)
    before = dump(backend_url)
    out = cli("db", "upgrade", "--db", backend_url, cwd=None, timeout=120)
    assert out.returncode == 0 and "recognized as revision 0001" in out.stdout, out
    assert dump(backend_url) == before
    engine = make_engine(backend_url, create=False)
    q = Query(engine)
    for expected in items:
        a = q.get(expected["canonical_url"])
        assert a is not None and a.first_seen == now and a.last_seen == now
        for key, value in expected.items():
            assert getattr(a, key) == value, key
    for canonical, words in SEARCH_WORDS.items():
        assert [a.canonical_url for a in q.search(words)] == [canonical], words
    with engine.connect() as conn:
        run = conn.execute(RUNS_TABLE.select()).mappings().one()
    assert (run["status"], run["pages"], run["new"], run["dropped"], run["errors"]) == (
        "finished", 9, 4, 1, 2)  # fmt: skip
    engine.dispose()
    assert_writable(backend_url)


OLD_ITEM_FIELDS = {
    "url", "canonical_url", "source", "site_name", "title", "subtitle", "authors", "published",
    "published_raw", "modified", "modified_raw", "body", "image", "tags", "section",
    "language", "fetched_at",
}  # fmt: skip
# Runs in a subprocess with the first release's package first on the path.
OLD_CODE = """
import json, sys
from datetime import datetime

import aggregator
assert aggregator.__file__.startswith(sys.argv[1]), aggregator.__file__
from aggregator.items import ArticleItem
from aggregator.storage import ArticleStore, make_engine
from aggregator.storage.runs import RunRecorder

DATES = ("published", "modified", "fetched_at")
data = json.load(sys.stdin)
engine = make_engine(sys.argv[2])
items = [ArticleItem(**{k: datetime.fromisoformat(v) if k in DATES and v else v
                        for k, v in item.items()}) for item in data["items"]]
ArticleStore(engine).upsert(items, datetime.fromisoformat(data["now"]))
runs = RunRecorder(engine)
runs.start("dualshockers")
runs.finish(data["stats"], "finished")
"""


def checkout_first_release(tmp_path: Path) -> Path:
    """The first release's ``aggregator`` package, from this checkout's history."""
    if shutil.which("git") is None:
        require_service("git is not installed: the first release's code cannot be checked out")
    git = ["git", "-C", str(PROJECT)]
    found = subprocess.run([*git, "cat-file", "-e", f"{FIRST_RELEASE}^{{commit}}"],
                           capture_output=True, check=False)  # fmt: skip
    if found.returncode != 0:
        require_service(f"commit {FIRST_RELEASE} is not in this checkout (a shallow clone?)")
    archive = subprocess.run([*git, "archive", FIRST_RELEASE, "aggregator"],
                             capture_output=True, check=True).stdout  # fmt: skip
    root = tmp_path / "first-release"
    root.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(root)  # our own repository's archive
    return root


# -- the revisions themselves ------------------------------------------------------------------


def test_revision_0001_is_the_first_release_schema(backend_url: str, tmp_path: Path) -> None:
    engine = make_engine(backend_url, create=False)
    assert upgrade(engine, "0001").after == "0001"
    engine.dispose()
    with other_database(backend_of(backend_url), tmp_path) as first_release:
        make_first_release_db(first_release)
        assert schema(backend_url) == schema(first_release)


def test_head_schema_is_the_models(backend_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from aggregator.storage.migrate import include_object
    from aggregator.storage.models import Base

    engine = make_engine(backend_url)
    with engine.connect() as conn, warnings.catch_warnings():
        # SQLite cannot reflect expression indexes; PostgreSQL's is compared by the search
        # test (the query must use it) rather than by the models. include_object leaves the
        # recency index out of the comparison, so SQLAlchemy skipping its reflection on
        # SQLite is expected (an unexpected expression index still warns).
        warnings.filterwarnings("ignore", "autogenerate skipping", UserWarning)
        warnings.filterwarnings(
            "ignore",
            "Skipped unsupported reflection of expression-based index ix_articles_recency$",
            SAWarning,
        )
        ctx = MigrationContext.configure(
            conn, opts={"include_object": include_object, "compare_type": True}
        )
        assert compare_metadata(ctx, Base.metadata) == []
    engine.dispose()


def test_downgrade_to_nothing_and_back(backend_url: str) -> None:
    engine = make_engine(backend_url)
    assert downgrade(engine, "0001") == "0001"
    assert "fetch_state" not in inspect(engine).get_table_names()
    assert downgrade(engine, "base") is None
    assert inspect(engine).get_table_names() == ["alembic_version"]
    assert upgrade(engine).describe() == f"new database: schema created at revision {HEAD}"
    assert Query(engine).search("anything") == []
    engine.dispose()


def test_date_precision_revision_keeps_rows_and_reads_old_ones_as_unknown(
    backend_url: str,
) -> None:
    """0007 adds the precision columns to a database with articles in it: every old row
    intact, its precision NULL (unknown); downgrading drops the columns only."""
    make_first_release_db(backend_url)
    engine = make_engine(backend_url, create=False)
    upgrade(engine, "0006")
    before = dump(backend_url)
    columns = {c["name"] for c in inspect(engine).get_columns("articles")}
    assert "published_precision" not in columns and "modified_precision" not in columns
    upgrade(engine, "0007")
    assert current_revision(engine) == "0007"
    assert dump(backend_url) == before
    for a in Query(engine).iter_all():
        assert (a.published_precision, a.modified_precision) == (None, None)
    # New rows store theirs next to the old ones.
    item = ArticleItem(url="https://x.example/new/", canonical_url="https://x.example/new/",
                       source="x", title="Brand new", body="Brand new body " + BODY,
                       published=T0, published_precision="day", fetched_at=T0)  # fmt: skip
    indexed_store(engine).upsert([item])
    stored = Query(engine).get("https://x.example/new/")
    assert stored is not None and stored.published_precision == "day"
    assert downgrade(engine, "0006") == "0006"
    columns = {c["name"] for c in inspect(engine).get_columns("articles")}
    assert "published_precision" not in columns and "modified_precision" not in columns
    assert dump(backend_url)["articles"][: len(ARTICLES)] == before["articles"]
    engine.dispose()


def test_revisions_constant_matches_the_scripts() -> None:
    from alembic.script import ScriptDirectory

    from aggregator.storage.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config())
    walked = [s.revision for s in scripts.walk_revisions("base", "heads")]
    assert tuple(reversed(walked)) == REVISIONS and scripts.get_heads() == [HEAD]


# -- start-up, concurrency, newer databases -------------------------------------------------

START = """
import json, sys, time
from sqlalchemy import Engine, event
statements = []
event.listen(Engine, "before_cursor_execute", lambda c, cur, s, *a: statements.append(s))
from aggregator.storage import make_engine
make_engine(sys.argv[1])
print(json.dumps({"alembic": any(m.startswith("alembic") for m in sys.modules),
                  "statements": statements}))
"""


def test_start_at_head_costs_one_query_and_no_alembic(tmp_path: Path) -> None:
    db = str(tmp_path / "news.db")
    make_engine(db).dispose()
    proc = subprocess.run([sys.executable, "-c", START, db], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    report = json.loads(proc.stdout)
    assert report["alembic"] is False
    assert [s for s in report["statements"] if "alembic_version" in s] != []
    assert len(report["statements"]) <= 2, report  # table check + version read


def test_concurrent_starts_on_a_new_database(backend_url: str) -> None:
    """Cron runs and a user's query starting at once on a new database: one migrates,
    the others wait for it and find the schema current."""
    code = "import sys; from aggregator.storage import make_engine; make_engine(sys.argv[1])"
    procs = [subprocess.Popen([sys.executable, "-c", code, backend_url], text=True,
                              stderr=subprocess.PIPE) for _ in range(4)]  # fmt: skip
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    engine = make_engine(backend_url, create=False)
    assert current_revision(engine) == HEAD
    engine.dispose()


def test_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "news.db")
    engine = make_engine(db)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    with pytest.raises(SchemaError, match=r"'0999'.*upgrade the aggregator"):
        make_engine(db)
    out = cli("latest", "--db", db, cwd=None, timeout=120)
    assert out.returncode == 2 and "upgrade the aggregator" in out.stderr
    assert "Traceback" not in out.stderr
    engine.dispose()


def test_db_commands_never_show_a_password(tmp_path: Path) -> None:
    url = "postgresql://aggregator:s3cret-pw@127.0.0.1:9/news"
    for args in (["db", "upgrade"], ["db", "current"]):
        out = cli(*args, "--db", url, cwd=None, timeout=120)
        assert out.returncode == 2 and "aggregator:***@127.0.0.1:9/news" in out.stderr, out
        assert "s3cret-pw" not in out.stdout + out.stderr
    out = cli("db", "current", "--db", str(tmp_path / "missing.db"), cwd=None, timeout=120)
    assert out.returncode == 2 and "no database at" in out.stderr
    assert not (tmp_path / "missing.db").exists()


def test_failed_migration_leaves_nothing_behind(backend_url: str) -> None:
    """A revision failing halfway (here 0002: its table is made, then its index name is
    taken) rolls back every step, stamp included, on SQLite as on PostgreSQL."""
    make_first_release_db(backend_url)
    engine = make_engine(backend_url, create=False)
    with engine.begin() as conn:
        conn.execute(text("CREATE INDEX ix_fetch_state_source ON articles (url)"))
    before = schema(backend_url)
    with pytest.raises(Exception, match="ix_fetch_state_source"):
        upgrade(engine)
    assert schema(backend_url) == before
    assert "alembic_version" not in inspect(engine).get_table_names()
    engine.dispose()


def test_postgresql_authors_and_tags_become_jsonb(pg_url: str) -> None:
    """0008 turns the JSON lists into jsonb on a database with articles in it: values
    intact, containment (``@>``) works, the author filter still finds non-ASCII names."""
    make_first_release_db(pg_url)
    engine = make_engine(pg_url, create=False)
    upgrade(engine, "0007")
    before = dump(pg_url)

    def types() -> set[str]:
        with engine.connect() as conn:
            return set(conn.execute(text(
                "SELECT data_type FROM information_schema.columns WHERE table_schema = "
                "current_schema() AND table_name = 'articles' AND column_name IN "
                "('authors', 'tags')"
            )).scalars())  # fmt: skip

    assert types() == {"json"}
    upgrade(engine, "0008")
    assert types() == {"jsonb"}
    assert dump(pg_url) == before
    with engine.connect() as conn:
        found = conn.execute(text(
            "SELECT canonical_url FROM articles WHERE authors @> CAST(:a AS jsonb) "
            "AND tags @> CAST(:t AS jsonb)"
        ), {"a": json.dumps(["Zoë Ångström"]), "t": "[]"}).scalars().all()  # fmt: skip
    assert found == ["https://www.musikexpress.de/bjoerk-welttournee/"]
    upgrade(engine)
    q = Query(engine)
    for name in ("zoë ångström", "ZOË", "Łukasz", "núñez"):
        hits = q.latest(Filters(author=name))
        assert [a.source for a in hits] == ["musikexpress"], name
    downgrade(engine, "0007")
    assert types() == {"json"}
    assert dump(pg_url) == before
    engine.dispose()


def test_search_stemming_revision_rebuilds_the_index_of_existing_rows(backend_url: str) -> None:
    """0009 on a database with articles: SQLite's index is made again (findable by other
    tools, stemmed) from the stored rows, PostgreSQL's documents per language; "renew"
    finds the article that says "renewed"; downgrading restores 0008's search."""
    make_first_release_db(backend_url)
    engine = make_engine(backend_url, create=False)
    upgrade(engine, "0008")
    before = dump(backend_url)
    q = Query(engine)
    assert q.search("renew") == []
    upgrade(engine, "0009")
    assert dump(backend_url) == before
    assert [a.source for a in q.search("renew")] == ["dualshockers"]
    for canonical, words in SEARCH_WORDS.items():
        assert [a.canonical_url for a in q.search(words)] == [canonical], words

    def search_sql() -> str:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                query = "SELECT sql FROM sqlite_master WHERE name = 'articles_fts'"
            else:
                query = (
                    "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute"
                    " a ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE d.adrelid ="
                    " 'articles'::regclass AND a.attname = 'search_vector'"
                )
            return str(conn.execute(text(query)).scalar_one())

    stemmed = ('content="articles"', "porter unicode61") if "sqlite" in backend_url else (
        "'english'::regconfig", "'german'::regconfig")  # fmt: skip
    assert all(s in search_sql() for s in stemmed)
    downgrade(engine, "0008")
    assert not any(s in search_sql() for s in stemmed)
    assert dump(backend_url) == before
    engine.dispose()


def test_sqlite_times_become_iso_8601_utc(tmp_path: Path) -> None:
    """0010 rewrites SQLite's stored times from ``2022-06-06 16:05:00.000000`` to
    ``2022-06-06T16:05:00.000000Z``, so that other programs' string comparisons
    with ISO times are right; text that is no time is left alone; the query filters read
    both; downgrading writes the old form back."""
    url = f"sqlite:///{tmp_path / 'news.db'}"
    make_first_release_db(url)
    engine = make_engine(url, create=False)
    upgrade(engine, "0009")
    with engine.begin() as conn:
        conn.execute(text("UPDATE articles SET modified = 'sometime' WHERE id = 2"))

    def raw(sql: str) -> list[tuple[Any, ...]]:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]

    times = "SELECT published, modified, last_seen FROM articles WHERE id IN (1, 2) ORDER BY id"
    after_ten = "SELECT id FROM articles WHERE published > '2022-06-06T10:00:00Z' ORDER BY id"
    old = raw(times)
    assert old == [
        ("2022-06-06 16:05:00.000000", "2022-06-06 19:05:00.123456", "2022-06-15 16:05:01.000000"),
        (None, "sometime", "2023-01-01 00:00:00.000000"),
    ]
    assert raw(after_ten) == []  # ' ' sorts before 'T': 16:05 compared as before 10:00
    upgrade(engine, "0010")
    assert raw(times) == [
        (
            "2022-06-06T16:05:00.000000Z",
            "2022-06-06T19:05:00.123456Z",
            "2022-06-15T16:05:01.000000Z",
        ),
        (None, "sometime", "2023-01-01T00:00:00.000000Z"),
    ]
    assert raw(after_ten) == [(1,)]
    assert raw("SELECT started_at, finished_at FROM crawl_runs WHERE id = 1") == [
        ("2022-06-06T16:05:00.000000Z", "2022-06-06T16:07:05.000000Z")
    ]
    q = Query(engine)
    first = q.get("1")
    assert first is not None and first.modified == ARTICLES[0]["modified"]
    window = Filters(since=T0, until=T0, limit=None)  # exactly the stored time, both ends
    assert [a.id for a in q.latest(window)] == [1]
    assert [a.id for a in q.search("zombie", window)] == [1]
    later = Filters(since=T0 + timedelta(microseconds=1), limit=None)
    assert [a.id for a in q.latest(later)] == []
    downgrade(engine, "0009")
    assert raw(times) == old
    engine.dispose()


def test_foreign_keys_revision_cleans_dangling_references(backend_url: str) -> None:
    """0011 on a database with rows, some of whose references dangle: those are cleaned
    (lookup rows of missing articles deleted; a missing copy-of cleared; an article of a
    missing story unindexed, its lookup rows deleted), every other row is kept, the keys
    are declared and enforced at commit, and full-text search still follows the table."""
    make_first_release_db(backend_url)
    engine = make_engine(backend_url, create=False)
    upgrade(engine, "0010")
    with engine.begin() as conn:
        story = conn.execute(text(
            "INSERT INTO stories (headline, first_seen, updated, article_count, outlet_count)"
            " VALUES ('Dead', :t, :t, 2, 2) RETURNING id"
        ), {"t": T0}).scalar_one()  # fmt: skip
        links = [(1, story, None), (2, story, 1), (3, 999, 1), (4, story, 777)]
        for aid, sid, dup in links:
            conn.execute(text("UPDATE articles SET story_id = :s, duplicate_of = :d WHERE id = :a"),
                         {"s": sid, "d": dup, "a": aid})  # fmt: skip
        for aid in (1, 3, 555):  # 555: no such article
            conn.execute(text("INSERT INTO lsh_keys (key, article_id) VALUES (7, :a)"), {"a": aid})
            conn.execute(text(
                "INSERT INTO story_terms (term, article_id, is_name, published) "
                "VALUES ('dead', :a, false, :t)"
            ), {"a": aid, "t": T0})  # fmt: skip
    before = dump(backend_url)
    upgrade(engine, "0011")

    def rows(sql: str) -> list[tuple[Any, ...]]:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]

    assert rows("SELECT id, story_id, duplicate_of FROM articles ORDER BY id") == [
        (1, story, None), (2, story, 1), (3, None, None), (4, story, None)]  # fmt: skip
    assert rows("SELECT article_id FROM lsh_keys") == [(1,)]
    assert rows("SELECT article_id FROM story_terms") == [(1,)]
    assert dump(backend_url) == before  # the first release's columns untouched
    keys = {
        (table, fk["constrained_columns"][0], fk["referred_table"])
        for table in ("articles", "lsh_keys", "story_terms")
        for fk in inspect(engine).get_foreign_keys(table)
    }
    assert keys == {("articles", "story_id", "stories"), ("articles", "duplicate_of", "articles"),
                    ("lsh_keys", "article_id", "articles"),
                    ("story_terms", "article_id", "articles")}  # fmt: skip
    with pytest.raises(Exception, match=r"(?i)foreign key"), engine.begin() as conn:
        conn.execute(text("DELETE FROM stories"))  # articles still name it
    with engine.begin() as conn:  # an article's lookup rows go with it; copies forget it
        conn.execute(text("DELETE FROM articles WHERE id = 1"))
    assert rows("SELECT article_id FROM lsh_keys") == rows("SELECT term FROM story_terms") == []
    assert rows("SELECT duplicate_of FROM articles WHERE id = 2") == [(None,)]
    q = Query(engine)
    assert q.search("zombie netflix") == [] and len(q.search("welttournee")) == 1
    downgrade(engine, "0010")
    assert all(inspect(engine).get_foreign_keys(t) == [] for t in ("articles", "lsh_keys"))
    engine.dispose()
    assert_writable(backend_url)
