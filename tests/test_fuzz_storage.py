"""Property: whatever text and dates a page holds, extract -> normalize -> store -> index ->
feed never raises, never loses the items stored beside it, and gives well-formed feeds;
on SQLite and on PostgreSQL.

Hostile text reaches a page the ways the network allows: as numeric character references
in the markup (a lone surrogate, U+FFFE, NUL, C1 controls) and as ``\\u`` escapes in
JSON-LD. Fixed examples in CI, more with ``AGGREGATOR_FUZZ=explore`` (see test_fuzz).
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import feedparser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from aggregator.aggregate.index import catch_up
from aggregator.cli import app
from aggregator.extract import extract_article
from aggregator.items import ArticleItem
from aggregator.normalize.item import normalize_item
from aggregator.storage.models import Article
from aggregator.storage.store import ArticleStore
from tests.conftest import distinct_body
from tests.test_fuzz import _SUPPRESS, fuzz

FETCHED = datetime(2024, 6, 6, 12, tzinfo=timezone.utc)
_SPECIAL = ["\ud800", "\udfff", "\ufffe", "\uffff", "\U0010ffff", "\ufdd0", "\x00", "\x1b",
            "\x7f", "\x85", "\x9f", "\u200b", "\u2028", "\ufeff", "&", "<", "]]>"]  # fmt: skip
hostile_text = st.lists(
    st.one_of(st.characters(codec=None, exclude_categories=()), st.sampled_from(_SPECIAL)),
    max_size=40,
).map("".join)
_ZONES = [timezone.utc, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))]
hostile_dates = st.one_of(
    st.datetimes(timezones=st.sampled_from(_ZONES)).map(datetime.isoformat),
    st.sampled_from(["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "0999-06-01",
                     "9999-12-31T23:59:59-12:00", "1970-01-01T00:00:00Z", "2024-13-45"]),
    hostile_text,
)  # fmt: skip


def _refs(text: str) -> str:
    """``text`` as numeric character references: any code point, as a page can send it."""
    return "".join(f"&#x{ord(c):x};" for c in text)


def hostile_page(title: str, section: str, author: str, date: str, paragraphs: list[str]) -> str:
    ld = json.dumps(
        {"@type": "NewsArticle", "headline": title, "articleSection": section,
         "author": {"@type": "Person", "name": author}, "datePublished": date},
        ensure_ascii=True,  # lone surrogates as \\ud800 escapes, as a JSON-LD block carries them
    ).replace("</", "<\\/")  # fmt: skip
    body = "\n".join(
        f"<p>{_refs(p)} and a sentence long enough to make a paragraph of an article ({i}).</p>"
        for i, p in enumerate(paragraphs)
    )
    return (
        f'<html><head><title>{_refs(title)}</title><meta property="article:published_time" '
        f'content="{_refs(date)}"><script type="application/ld+json">{ld}</script></head>'
        f"<body><article><h1>{_refs(title)}</h1>{body}</article></body></html>"
    )


_COUNTER = itertools.count()


def neighbour(n: int) -> ArticleItem:
    return ArticleItem(
        url=f"https://outlet.example/news/{n}/", source="outlet",
        title=f"Ordinary story {n} about a premiere", body=distinct_body(n),
        published=FETCHED - timedelta(hours=1), fetched_at=FETCHED,
    )  # fmt: skip


def assert_feeds(url: str) -> None:
    runner = CliRunner()
    for fmt in ("atom", "rss", "jsonfeed"):
        result = runner.invoke(app, ["feed", "--db", url, "--format", fmt, "--limit", "500"])
        assert result.exit_code == 0, result.output
        if fmt == "jsonfeed":
            assert json.loads(result.stdout)["items"]
            continue
        etree.fromstring(result.stdout.encode("utf-8"))  # strict XML
        parsed: Any = feedparser.parse(result.stdout)
        assert not parsed.bozo, parsed.get("bozo_exception")


@settings(
    fuzz(25), suppress_health_check=[*_SUPPRESS, HealthCheck.function_scoped_fixture]
)  # each example stores new URLs: the database a backend's examples share is fine
@given(
    title=hostile_text,
    section=hostile_text,
    author=hostile_text,
    date=hostile_dates,
    paragraphs=st.lists(hostile_text, min_size=1, max_size=5),
)
def test_hostile_page_through_every_stage(
    engine: Engine,
    backend_url: str,
    title: str,
    section: str,
    author: str,
    date: str,
    paragraphs: list[str],
) -> None:
    n = next(_COUNTER)
    page = hostile_page(title, section, author, date, paragraphs)
    url = f"https://hostile.example/news/{n}/"
    item = normalize_item(extract_article(page, url, FETCHED, source="hostile")).item
    results = ArticleStore(engine).upsert(
        [neighbour(2 * n), item, neighbour(2 * n + 1)], now=FETCHED
    )
    # The page stores (as "duplicate" when its text is another example's); its neighbours too.
    assert [r.outcome for r in results][::2] == ["new", "new"], results
    assert results[1].outcome != "failed", results[1].error
    failed: list[int] = []
    catch_up(engine, on_failure=lambda article_id, _exc: failed.append(article_id))
    assert failed == []  # indexed, not put in a story of its own
    with engine.connect() as conn:
        unindexed = conn.execute(
            select(func.count()).select_from(Article).where(Article.story_id.is_(None))
        ).scalar_one()
    assert unindexed == 0
    assert_feeds(backend_url)
