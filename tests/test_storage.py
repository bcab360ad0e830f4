"""Storage and queries on real databases: every test that takes ``engine`` runs on a
SQLite file and on a PostgreSQL schema of its own (see conftest)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from aggregator.aggregate.index import indexed_store
from aggregator.crawl.stats import run_figures
from aggregator.items import ArticleItem
from aggregator.storage import ArticleStore, Filters, Query, article_dict, make_engine
from aggregator.storage.engine import db_url, safe_url
from aggregator.storage.fetchstate import FetchStateStore
from aggregator.storage.runs import RunRecorder
from tests.conftest import distinct_body

T0 = datetime(2022, 6, 6, 18, 0, tzinfo=timezone.utc)


def item(n: int, **kw: object) -> ArticleItem:
    base = {
        "url": f"https://www.dualshockers.com/story-{n}/",
        "canonical_url": f"https://www.dualshockers.com/story-{n}/",
        "source": "dualshockers",
        "title": f"Story {n} headline",
        "authors": ["Shivam Gulati"] if n % 2 else ["Rachel Ortiz", "Marcus Bell"],
        "published": T0 - timedelta(days=n),
        "body": distinct_body(n),
        "fetched_at": T0,
    }
    base.update(kw)
    return ArticleItem(**base)  # type: ignore[arg-type]


def count_articles(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("select count(*) from articles")).scalar_one())


def test_sqlite_uses_wal_and_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'news.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    assert (tmp_path / "news.db").exists()


def test_upsert_new_then_updated_keeps_first_seen(engine: Engine) -> None:
    store = indexed_store(engine)
    r1 = store.upsert([item(1), item(2)], now=T0)
    assert [r.outcome for r in r1] == ["new", "new"]
    later = T0 + timedelta(hours=5)
    r2 = store.upsert([item(1, title="Story 1 headline, updated")], now=later)
    assert r2[0].outcome == "updated" and r2[0].article_id == r1[0].article_id
    a = Query(engine).get(str(r1[0].article_id))
    assert a is not None
    assert a.title == "Story 1 headline, updated"
    assert a.first_seen == T0 and a.last_seen == later


def test_first_seen_at_fetch_for_archived_pages(engine: Engine) -> None:
    """``seen_at_fetch`` (web archive imports): a new article was first seen when it was
    fetched, never later than now; an update leaves first_seen as it was."""
    store = indexed_store(engine)
    captured = T0 - timedelta(days=200)
    future = T0 + timedelta(days=3)  # an archive's clock ahead of ours
    r = store.upsert(
        [item(1, fetched_at=captured), item(2, fetched_at=future)], now=T0, seen_at_fetch=True
    )
    store.upsert([item(1, fetched_at=T0 - timedelta(days=100))], now=T0, seen_at_fetch=True)
    one, two = (Query(engine).get(str(x.article_id)) for x in r)
    assert one is not None and two is not None
    assert (one.first_seen, one.last_seen, two.first_seen) == (captured, T0, T0)
    # Without it (a crawl): when it was stored.
    (r3,) = store.upsert([item(3, fetched_at=captured)], now=T0)
    three = Query(engine).get(str(r3.article_id))
    assert three is not None and three.first_seen == T0


BODY_1 = distinct_body(1)


def test_same_body_other_url_is_a_duplicate(engine: Engine) -> None:
    store = indexed_store(engine)
    store.upsert([item(1)], now=T0)
    copy = item(1, url="https://amp.dualshockers.com/story-1/amp/",
                canonical_url="https://amp.dualshockers.com/story-1/amp/",
                body=BODY_1.upper().replace(".", " ."))  # fmt: skip
    (r,) = store.upsert([copy], now=T0 + timedelta(hours=1))
    assert r.outcome == "duplicate"
    assert count_articles(engine) == 1


def test_insert_racing_another_writer_updates_its_row(engine: Engine) -> None:
    """The dialect's INSERT ... ON CONFLICT (canonical_url) DO UPDATE: another process
    stored the URL between our lookup and our insert."""
    store = indexed_store(engine)
    (first,) = store.upsert([item(1)], now=T0)
    later = T0 + timedelta(hours=2)
    row = {"canonical_url": item(1).canonical_url, "url": item(1).url, "title": "Racing title",
           "authors": ["Zoë Ångström"], "body": "Racing body", "tags": [], "first_seen": later,
           "last_seen": later}  # fmt: skip
    with engine.begin() as conn:
        racing_id = conn.execute(store._insert, row).scalar_one()
    assert racing_id == first.article_id and count_articles(engine) == 1
    a = Query(engine).get(str(first.article_id))
    assert a is not None
    assert (a.title, a.authors, a.first_seen, a.last_seen) == (
        "Racing title", ["Zoë Ångström"], T0, later)  # fmt: skip


def test_dates_stored_utc_with_original_offset(engine: Engine) -> None:
    est = timezone(timedelta(hours=-4))
    indexed_store(engine).upsert(
        [item(1, published=datetime(2022, 6, 6, 12, 5, tzinfo=est))],
        now=T0 + timedelta(microseconds=250000),
    )
    a = Query(engine).get("https://www.dualshockers.com/story-1/")
    assert a is not None
    assert a.published == datetime(2022, 6, 6, 16, 5, tzinfo=timezone.utc)
    assert a.published_offset == -240
    assert a.first_seen == T0 + timedelta(microseconds=250000)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":  # ISO 8601 UTC text
            raw = conn.execute(text("select published, first_seen from articles")).one()
            assert tuple(raw) == ("2022-06-06T16:05:00.000000Z", "2022-06-06T18:00:00.250000Z")
        else:  # timestamp with time zone, whatever the session's zone
            conn.execute(text("set time zone 'America/Los_Angeles'"))
            utc = conn.execute(text("select published at time zone 'UTC' from articles"))
            assert utc.scalar_one() == datetime(2022, 6, 6, 16, 5)
            assert Query(engine).get("1") is not None


def test_naive_datetime_refused(engine: Engine) -> None:
    [result] = indexed_store(engine).upsert([item(1, published=datetime(2022, 6, 6))])
    assert result.outcome == "failed" and result.article_id is None
    assert "naive datetime" in (result.error or "")
    assert count_articles(engine) == 0


def test_search_ranks_title_and_filters(engine: Engine) -> None:
    indexed_store(engine).upsert([item(n) for n in range(1, 6)], now=T0)
    indexed_store(engine).upsert(
        [
            item(
                9,
                title="All of Us Are Dead Season 2 confirmed",
                body="Netflix renews. " + distinct_body(9),
            )
        ]
    )
    q = Query(engine)
    hits = q.search("all of us are DEAD")
    assert hits and hits[0].title == "All of Us Are Dead Season 2 confirmed"
    assert q.search("story 3 unique")[0].title == "Story 3 headline"
    by_author = q.search("zombie", Filters(author="rachel", limit=50))
    assert {a.title for a in by_author} == {"Story 2 headline", "Story 4 headline"}
    window = q.search("zombie", Filters(since=T0 - timedelta(days=3, hours=1), until=T0, limit=50))
    assert {a.title for a in window} == {"Story 1 headline", "Story 2 headline", "Story 3 headline"}
    assert q.search("zombie", Filters(source="variety")) == []
    assert len(q.search("zombie", Filters(limit=2))) == 2
    assert q.search("season ALL dead", Filters(limit=50))[0].id == hits[0].id  # any order
    assert q.search("zombie unicorn") == [] and q.search("?!") == []  # every word required


def test_search_finds_unicode_words(engine: Engine) -> None:
    indexed_store(engine).upsert([
        item(1, title="Björk kündigt Welttournee an", body="Björk tourt. " + distinct_body(101)),
        item(2, title="『進撃の巨人』 最終章", body="進撃 の 巨人 " + distinct_body(102)),
        item(3, title="Ролевая игра года", body="Лучшая ролевая игра. " + distinct_body(103)),
    ])  # fmt: skip
    q = Query(engine)
    assert [a.title for a in q.search("björk tournee")] == []  # whole words only
    assert [a.title for a in q.search("BJÖRK welttournee")] == ["Björk kündigt Welttournee an"]
    assert [a.title for a in q.search("ролевая ИГРА")] == ["Ролевая игра года"]
    assert [a.title for a in q.search("巨人")] == ["『進撃の巨人』 最終章"]


def test_search_ignores_accents_on_both_backends(engine: Engine) -> None:
    indexed_store(engine).upsert([
        item(1, title="Beyoncé announces Renaissance tour", body="Tour. " + distinct_body(111)),
        item(2, title="Pokémon Scarlet review", body="Gotta catch. " + distinct_body(112)),
        item(3, title="Zoë Kravitz directs", body="Pussy Island. " + distinct_body(113)),
        item(4, title="Søren and the Œuvre", body="Sørensen. " + distinct_body(114)),
        item(5, title="오징어 게임 시즌2 공개", body="넷플릭스 드라마. " + distinct_body(115)),
    ])  # fmt: skip
    q = Query(engine)

    def titles(query: str) -> list[str]:
        return [a.title for a in q.search(query)]

    for query in ("beyonce tour", "BEYONCÉ", "Beyoncè"):  # folded on both sides
        assert titles(query) == ["Beyoncé announces Renaissance tour"], query
    assert titles("pokemon scarlet") == titles("pokémon") == ["Pokémon Scarlet review"]
    assert titles("zoe kravitz") == ["Zoë Kravitz directs"]
    assert titles("søren") == ["Søren and the Œuvre"]  # ø does not decompose: kept
    assert titles("soren") == []  # ... on both backends alike
    # Decomposition splits Hangul syllables into jamo, on both sides of the match.
    assert titles("오징어 게임") == titles("넷플릭스") == ["오징어 게임 시즌2 공개"]


def test_postgresql_fold_is_the_migrations(pg_url: str) -> None:
    """The query's accent folding is the one revision 0006 stores documents with, and the
    server here is UTF8, so the documents are folded."""
    import importlib

    from aggregator.storage import query

    rev = importlib.import_module(
        "aggregator.storage.migrations.versions.v0006_search_folds_accents"
    )
    assert query.MARKS == rev.MARKS == "[\u0300-\u036f]"
    engine = make_engine(pg_url)
    indexed_store(engine).upsert([item(1, title="Beyoncé")])
    with engine.connect() as conn:
        assert query.pg_folds(conn)
        generated = conn.execute(
            text(
                "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a"
                " ON a.attrelid = d.adrelid AND a.attnum = d.adnum"
                " WHERE d.adrelid = 'articles'::regclass AND a.attname = 'search_vector'"
            )
        ).scalar_one()
        # Written by PostgreSQL on insert, without the store knowing of the column.
        doc = conn.execute(text("SELECT search_vector::text FROM articles")).scalar_one()
    engine.dispose()
    assert "NORMALIZE(title, NFD)" in generated and "NORMALIZE(body, NFD)" in generated
    assert "'beyonce':1A" in doc


def test_author_filter_finds_non_ascii_names(engine: Engine) -> None:
    """Authors are JSON text, where "Zoë" is stored as "Zo\\u00eb"."""
    indexed_store(engine).upsert([
        item(1, authors=["Zoë Kravitz", "Łukasz Żółć"]),
        item(2, authors=["山田 太郎"]),
        item(3, authors=['Dwayne "The Rock" Johnson', "100%_Real"]),
    ])  # fmt: skip
    q = Query(engine)

    def by(author: str) -> list[str]:
        return [a.title for a in q.latest(Filters(author=author, limit=50))]

    for name in ("zoë", "ZOË", "Zoë Kravitz", "kravitz", "Łukasz", "Żółć"):
        assert by(name) == ["Story 1 headline"], name
    assert by("山田") == ["Story 2 headline"]
    assert by('"the rock"') == by("100%_") == ["Story 3 headline"]
    assert by("%") == by("_real") == ["Story 3 headline"]  # literally, not as wildcards
    assert by("zoe") == by("z_ë") == by("yamada") == []


@pytest.mark.parametrize(
    "hostile", ['"', "'; DROP TABLE articles; --", "AND OR NOT", "*", "title:x", "NEAR(a b)", "%_"]
)
def test_search_syntax_cannot_be_injected(engine: Engine, hostile: str) -> None:
    indexed_store(engine).upsert([item(1)])
    q = Query(engine)
    assert q.search(hostile) == []  # the text alone matches nothing, and raises nothing
    assert q.search(hostile, Filters(author=hostile, source=hostile)) == []
    # No author is named by these: the filter must not match the JSON around the names.
    assert q.latest(Filters(author=hostile)) == []
    assert q.get("1") is not None  # table still there


@pytest.mark.parametrize("punctuation", ['"', "[", "]", ",", '", "', 'i"', '"s'])
def test_author_filter_never_matches_the_json_around_names(
    engine: Engine, punctuation: str
) -> None:
    indexed_store(engine).upsert([item(1, authors=["Shivam Gulati", "Ana Ruiz"])])
    q = Query(engine)
    assert q.latest(Filters(author=punctuation)) == []
    assert [a.id for a in q.latest(Filters(author="gulati"))] == [1]


def test_latest_stats_and_iteration(engine: Engine) -> None:
    indexed_store(engine).upsert([item(n) for n in range(1, 8)] + [item(20, subtitle="dek")])
    q = Query(engine)
    assert [a.title for a in q.latest(Filters(limit=2))] == ["Story 1 headline", "Story 2 headline"]
    (row,) = q.stats()
    assert row["source"] == "dualshockers" and row["articles"] == 8
    assert row["missing"]["subtitle"] == round(7 / 8, 3)
    assert row["missing"]["published"] == 0
    assert row["newest"].startswith("2022-06-05")
    assert len(list(q.iter_all())) == 8
    d = article_dict(q.latest(Filters(limit=1))[0])
    assert d["authors"] == ["Shivam Gulati"] and d["published"].endswith("+00:00")


def test_latest_reads_the_newest_end_of_the_recency_index(engine: Engine) -> None:
    """The newest articles come from the index on their time (revision 0014), not from
    sorting every stored article; an undated one counts from when it was first seen."""
    from sqlalchemy import event

    ArticleStore(engine).upsert([item(n) for n in range(1, 6)] + [item(9, published=None)])
    statements: list[tuple[str, object]] = []

    def remember(conn: object, cursor: object, sql: str, params: object, *_: object) -> None:
        statements.append((sql, params))

    event.listen(engine, "before_cursor_execute", remember)
    titles = [a.title for a in Query(engine).latest(Filters(limit=3))]
    event.remove(engine, "before_cursor_execute", remember)
    assert titles == ["Story 9 headline", "Story 1 headline", "Story 2 headline"]
    ((sql, params),) = statements
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)  # type: ignore[arg-type]
            plan = "\n".join(str(r[3]) for r in rows)
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")  # six rows: force the question
            plan = "\n".join(conn.exec_driver_sql("EXPLAIN " + sql, params).scalars())  # type: ignore[arg-type]
    assert "ix_articles_recency" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def test_fetch_state_upserts(engine: Engine) -> None:
    fs = FetchStateStore(engine)
    row: dict[str, object] = {"url": "https://www.dualshockers.com/story-1/",
                              "source": "dualshockers", "kind": "article", "status": 200,
                              "etag": '"v1"', "last_modified": None, "fetched_at": T0}  # fmt: skip
    fs.record([row, {**row, "status": 503}])  # the same URL twice in one batch: last wins
    fs.record([{**row, "etag": '"v2"', "fetched_at": T0 + timedelta(days=1)}])
    seen = fs.load("dualshockers")
    assert seen[str(row["url"])].etag == '"v2"' and seen[str(row["url"])].status == 200
    assert seen[str(row["url"])].fetched_at == T0 + timedelta(days=1)
    assert fs.load("variety") == {}


def test_crawl_runs_recorded(engine: Engine) -> None:
    runs = RunRecorder(engine)
    run_id = runs.start("dualshockers")
    stats = {"response_received_count": 7, "downloader/response_status_count/200": 7,
             "aggregator/stored/new": 5, "aggregator/dropped/missing_body": 2}  # fmt: skip
    runs.finish(run_figures(stats, "finished"))
    (run,) = runs.history()
    assert run.id == run_id and run.status == "finished" and run.new == 5 and run.dropped == 2
    assert run.details["dropped"] == {"missing_body": 2}
    assert run.finished_at is not None and run.finished_at >= run.started_at


def test_password_never_shown() -> None:
    assert "s3cret" not in safe_url("postgresql+psycopg://user:s3cret@db.example/news")


def test_postgresql_url_without_driver_means_psycopg() -> None:
    assert db_url("postgresql://u@h/news") == "postgresql+psycopg://u@h/news"
    assert db_url("postgres://u@h/news") == "postgresql+psycopg://u@h/news"
    assert db_url("postgresql+psycopg2://u@h/news") == "postgresql+psycopg2://u@h/news"


def test_date_precision_round_trips(engine: Engine) -> None:
    """Each precision comes back as stored, on both backends; a day-precision date is
    written in JSON at its page's offset, so that its date part is the page's date."""
    tokyo = timezone(timedelta(hours=9))
    store = indexed_store(engine)
    store.upsert(
        [
            # "2022-06-06" at a Tokyo outlet: midnight there, 15:00 UTC the day before.
            item(1, published=datetime(2022, 6, 6, tzinfo=tokyo), published_precision="day",
                 modified=T0, modified_precision="second"),
            item(2, published=datetime(2019, 3, 1, tzinfo=timezone.utc),
                 published_precision="month"),
            item(3, published=T0 - timedelta(hours=3), published_precision="hour"),
            item(4, published_precision=None),  # unknown, as rows stored before 0007
            # A precision without its date is not stored (an item that skipped normalizing).
            item(5, published=None, published_precision="day"),
        ],
        now=T0,
    )  # fmt: skip
    q = Query(engine)

    def stored(n: int) -> tuple[str | None, str | None]:
        a = q.get(f"https://www.dualshockers.com/story-{n}/")
        assert a is not None
        return a.published_precision, a.modified_precision

    assert [stored(n) for n in range(1, 6)] == [
        ("day", "second"), ("month", None), ("hour", None), (None, None), (None, None),
    ]  # fmt: skip
    a = q.get("https://www.dualshockers.com/story-1/")
    assert a is not None
    assert a.published == datetime(2022, 6, 5, 15, 0, tzinfo=timezone.utc)
    d = article_dict(a)
    assert d["published"] == "2022-06-06T00:00:00+09:00"  # the same instant, the page's date
    assert d["published_precision"] == "day" and d["modified_precision"] == "second"
    assert d["modified"] == T0.isoformat()  # a time of day: UTC as every other datetime
    # An update carries the new precision (the page now gives the time).
    store.upsert([item(1, published=datetime(2022, 6, 6, 9, 30, tzinfo=tokyo),
                       published_precision="minute")], now=T0)  # fmt: skip
    assert stored(1) == ("minute", None)
