"""Storage and queries on a real SQLite file."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine

from aggregator.items import ArticleItem
from aggregator.storage import ArticleStore, Filters, Query, article_dict, make_engine
from aggregator.storage.engine import safe_url

T0 = datetime(2022, 6, 6, 18, 0, tzinfo=timezone.utc)
BODY = " ".join(
    f"Sentence number {i} about the zombie series and its new season." for i in range(12)
)


def item(n: int, **kw: object) -> ArticleItem:
    base = {
        "url": f"https://www.dualshockers.com/story-{n}/",
        "canonical_url": f"https://www.dualshockers.com/story-{n}/",
        "source": "dualshockers",
        "title": f"Story {n} headline",
        "authors": ["Shivam Gulati"] if n % 2 else ["Rachel Ortiz", "Marcus Bell"],
        "published": T0 - timedelta(days=n),
        "body": f"Story {n} unique opening. " + BODY,
        "fetched_at": T0,
    }
    base.update(kw)
    return ArticleItem(**base)  # type: ignore[arg-type]


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'news.db'}")


def test_sqlite_uses_wal_and_busy_timeout(engine: Engine, tmp_path: Path) -> None:
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    assert (tmp_path / "news.db").exists()


def test_upsert_new_then_updated_keeps_first_seen(engine: Engine) -> None:
    store = ArticleStore(engine)
    r1 = store.upsert([item(1), item(2)], now=T0)
    assert [r.outcome for r in r1] == ["new", "new"]
    later = T0 + timedelta(hours=5)
    r2 = store.upsert([item(1, title="Story 1 headline, updated")], now=later)
    assert r2[0].outcome == "updated" and r2[0].article_id == r1[0].article_id
    a = Query(engine).get(str(r1[0].article_id))
    assert a is not None
    assert a.title == "Story 1 headline, updated"
    assert a.first_seen == T0 and a.last_seen == later


BODY_1 = "Story 1 unique opening. " + BODY


def test_same_body_other_url_is_a_duplicate(engine: Engine) -> None:
    store = ArticleStore(engine)
    store.upsert([item(1)], now=T0)
    copy = item(1, url="https://amp.dualshockers.com/story-1/amp/",
                canonical_url="https://amp.dualshockers.com/story-1/amp/",
                body=BODY_1.upper().replace(".", " ."))  # fmt: skip
    (r,) = store.upsert([copy], now=T0 + timedelta(hours=1))
    assert r.outcome == "duplicate"
    with sqlite3.connect(str(engine.url.database)) as db:
        assert db.execute("select count(*) from articles").fetchone() == (1,)


def test_dates_stored_utc_with_original_offset(engine: Engine) -> None:
    est = timezone(timedelta(hours=-4))
    ArticleStore(engine).upsert([item(1, published=datetime(2022, 6, 6, 12, 5, tzinfo=est))])
    a = Query(engine).get("https://www.dualshockers.com/story-1/")
    assert a is not None
    assert a.published == datetime(2022, 6, 6, 16, 5, tzinfo=timezone.utc)
    assert a.published_offset == -240
    with sqlite3.connect(str(engine.url.database)) as db:
        (raw,) = db.execute("select published from articles").fetchone()
    assert raw.startswith("2022-06-06 16:05:00")


def test_naive_datetime_refused(engine: Engine) -> None:
    from sqlalchemy.exc import StatementError

    with pytest.raises(StatementError, match="naive datetime"):
        ArticleStore(engine).upsert([item(1, published=datetime(2022, 6, 6))])


def test_search_ranks_title_and_filters(engine: Engine) -> None:
    ArticleStore(engine).upsert([item(n) for n in range(1, 6)], now=T0)
    ArticleStore(engine).upsert(
        [item(9, title="All of Us Are Dead Season 2 confirmed", body="Netflix renews. " + BODY)]
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


@pytest.mark.parametrize(
    "hostile", ['"', "'; DROP TABLE articles; --", "AND OR NOT", "*", "title:x", "NEAR(a b)", "%_"]
)
def test_search_syntax_cannot_be_injected(engine: Engine, hostile: str) -> None:
    ArticleStore(engine).upsert([item(1)])
    q = Query(engine)
    q.search(hostile, Filters(author=hostile, source=hostile))
    assert q.get("1") is not None  # table still there


def test_latest_stats_and_iteration(engine: Engine) -> None:
    ArticleStore(engine).upsert([item(n) for n in range(1, 8)] + [item(20, subtitle="dek")])
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


def test_password_never_shown() -> None:
    assert "s3cret" not in safe_url("postgresql+psycopg://user:s3cret@db.example/news")
