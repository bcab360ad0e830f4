"""Feeds stay well-formed whatever text the database holds (issue 11, item 7).

XML 1.0 forbids C0 controls other than tab/LF/CR, lone surrogates, U+FFFE and U+FFFF; one
of them in a headline made lxml reject the whole Atom or RSS document and feedparser set
``bozo``. The writer removes them (and the controls and non-characters XML discourages),
keeping the rest of the text: checked on :func:`render` directly, and on articles whose
fields are set by SQL after storing (past any normalization), on SQLite and PostgreSQL,
through the real ``aggregator feed`` command.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import Engine, text, update
from sqlalchemy.exc import StatementError

from aggregator.aggregate.feeds import FORMATS, FeedArticle, FeedStory, render
from aggregator.items import ArticleItem
from aggregator.storage import ArticleStore
from aggregator.storage.models import Article
from tests.conftest import cli, distinct_body

T0 = datetime(2022, 6, 6, 16, 0, tzinfo=timezone.utc)
# One entry per class of character a feed must not carry.
UNFIT = {
    "nul": "\x00",
    "c0": "\x01\x08\x0b\x0c\x1b\x1f",
    "del_c1": "\x7f\x80\x85\x9f",
    "fffe_ffff": "\ufffe\uffff",
    "nonchar": "\ufdd0\ufdef\U0001fffe\U0010ffff",
    "surrogate": "\ud800\udc00\udfff",  # each alone: never a pair once decoded
}
# What a backend cannot be given through its driver: UTF-8 cannot encode a surrogate (for
# SQLite's way to hold one anyway, see the last test), and PostgreSQL's text refuses NUL.
CANNOT_HOLD = {"sqlite": {"surrogate"}, "postgresql": {"nul", "surrogate"}}


def is_xml_char(c: str) -> bool:
    """XML 1.0's Char production."""
    cp = ord(c)
    return (
        c in "\t\n\r" or 0x20 <= cp <= 0xD7FF or 0xE000 <= cp <= 0xFFFD or 0x10000 <= cp <= 0x10FFFF
    )


def hostile(kind: str, text_: str) -> str:
    """``text_`` with the class's characters at the start, in the middle and at the end."""
    bad = UNFIT[kind]
    mid = len(text_) // 2
    return f"{bad}{text_[:mid]}{bad}{text_[mid:]}{bad}"


def parse_feed(doc: str, fmt: str) -> list[dict[str, Any]]:
    """The entries of ``doc``, after checking it is well-formed: every character allowed
    by XML 1.0 (and UTF-8 encodable); strict lxml and feedparser (bozo 0) for Atom and RSS;
    strict JSON for JSON Feed. Each entry: its title, and its articles' titles."""
    data = doc.encode("utf-8")  # a lone surrogate would fail here
    bad = sorted({f"U+{ord(c):04X}" for c in doc if not is_xml_char(c)})
    assert not bad, f"{fmt} carries {bad}"
    if fmt == "jsonfeed":
        feed = json.loads(data)
        return [
            {
                "title": item["title"],
                "articles": [a["title"] for a in item["_aggregator"]["articles"]],
                "outlets": item["_aggregator"]["outlets"],
                "html": item["content_html"],
            }
            for item in feed["items"]
        ]
    etree.fromstring(data, etree.XMLParser(recover=False))  # raises on any error
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    entries = []
    for e in parsed.entries:
        related = [link.get("title") for link in e.get("links", []) if link.rel == "related"]
        html = e.content[0].value if e.get("content") else e.get("summary", "")
        entries.append({"title": e.title, "articles": related, "html": html})
    return entries


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", list(UNFIT))
def test_render_drops_what_xml_forbids_and_keeps_the_text(kind: str, fmt: str) -> None:
    story = FeedStory(
        id=1,
        headline=hostile(kind, "Pop duo cleared & <freed>"),
        first_seen=T0,
        updated=T0,
        category=hostile(kind, "music"),
        articles=[
            FeedArticle(
                hostile(kind, "Jury clears “pop duo”"),
                "https://variety.example/a/" + UNFIT[kind],
                hostile(kind, "variety"),
                hostile(kind, "Variety"),
                T0,
            )
        ],
    )
    doc = render(
        [story],
        fmt,
        title=hostile(kind, "Entertainment news"),
        home="https://h.example/" + UNFIT[kind],
        feed_url="https://h.example/feed",
    )
    (entry,) = parse_feed(doc, fmt)
    assert entry["title"] == "Pop duo cleared & <freed>"
    if fmt != "rss":  # RSS has no place for the articles' own titles but the summary
        assert entry["articles"] == ["Jury clears “pop duo”"]
    assert "Variety" in entry["html"] and "clears" in entry["html"]


# Any code point, surrogates included, with the unfit ones drawn often.
_ANY_TEXT = st.text(
    st.one_of(
        st.sampled_from("".join(UNFIT.values())),
        st.characters(categories=["Cs"]),  # lone surrogates, which st.characters() leaves out
        st.characters(),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(headline=_ANY_TEXT, title=_ANY_TEXT, outlet=_ANY_TEXT, category=_ANY_TEXT)
def test_any_text_gives_well_formed_feeds(
    headline: str, title: str, outlet: str, category: str
) -> None:
    story = FeedStory(1, headline, T0, T0, category or None, [
        FeedArticle(title, "https://variety.example/a", outlet, outlet, T0),
    ])  # fmt: skip
    for fmt in FORMATS:
        doc = render([story], fmt, title=title, home="https://h.example/", feed_url="f")
        parse_feed(doc, fmt)  # well-formed: every character allowed, strict parsers agree
        if fmt == "atom":
            # The text itself is kept, less the unfit characters (XML reads a CR as LF).
            root = etree.fromstring(doc.encode("utf-8"))
            got = root.find("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}title")
            assert got is not None
            kept = "".join(c for c in headline if is_xml_char(c) and not _discouraged(c))
            assert (got.text or "") == kept.replace("\r\n", "\n").replace("\r", "\n")


def _discouraged(c: str) -> bool:
    """The controls and non-characters XML 1.0 allows but discourages (the feed drops
    them too)."""
    cp = ord(c)
    return 0x7F <= cp <= 0x9F or 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE


def _article(n: int) -> ArticleItem:
    return ArticleItem(
        url=f"https://variety.example/story-{n}/",
        canonical_url=f"https://variety.example/story-{n}/",
        source="variety",
        title=f"Story {n}",
        published=T0,
        body=distinct_body(n),
        fetched_at=T0,
    )


def _title(kind: str) -> str:
    return f"Headline {kind} & <friends> “quoted”"


def test_feeds_of_a_database_holding_forbidden_characters_are_well_formed(
    engine: Engine, backend_url: str
) -> None:
    kinds = list(UNFIT)
    ArticleStore(engine).upsert([_article(n) for n in range(len(kinds))])
    held: list[str] = []
    for n, kind in enumerate(kinds):
        values = {
            "title": hostile(kind, _title(kind)),
            "subtitle": hostile(kind, "The dek"),
            "body": hostile(kind, distinct_body(n)),
            "authors": [hostile(kind, "Jane Doe")],
            "site_name": hostile(kind, f"Site {kind}"),
            "source": hostile(kind, "variety"),
        }
        stmt = update(Article).where(Article.canonical_url == f"https://variety.example/story-{n}/")
        if kind in CANNOT_HOLD[engine.dialect.name]:
            with pytest.raises((StatementError, UnicodeEncodeError)), engine.begin() as conn:
                conn.execute(stmt.values(**values))
            continue
        with engine.begin() as conn:
            conn.execute(stmt.values(**values))
        held.append(kind)
    assert len(held) == len(UNFIT) - len(CANNOT_HOLD[engine.dialect.name])
    # Indexed as a crawl's end does (their titles become headlines); feeds only read.
    res = cli("db", "reindex", "--db", backend_url)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    for fmt in FORMATS:
        res = cli("feed", "--format", fmt, "--db", backend_url, "--limit", "100")
        assert res.returncode == 0, res.stderr
        assert "Traceback" not in res.stderr
        entries = parse_feed(res.stdout, fmt)
        titles = {e["title"] for e in entries}
        for kind in held:
            assert _title(kind) in titles, (fmt, kind, titles)
            entry = next(e for e in entries if e["title"] == _title(kind))
            assert f"Site {kind}" in entry["html"]
            if fmt != "rss":
                assert entry["articles"] == [_title(kind)]


def test_sqlite_text_that_is_not_utf8_is_read_and_fed_well_formed(tmp_path: Any) -> None:
    """SQLite stores whatever bytes it is given as text: a lone surrogate encoded as
    UTF-8 would be (CESU-8, ED A0 80), or any ill-formed sequence. Reading one failed the
    whole query ("Could not decode to UTF-8 column"): every command showing that row
    ended in a traceback. It reads as U+FFFD now, and the feed is well-formed."""
    url = f"sqlite:///{tmp_path / 'news.db'}"
    from aggregator.storage import make_engine

    engine = make_engine(url)
    ArticleStore(engine).upsert([_article(1)])
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE articles SET title = 'Before ' || CAST(X'EDA080' AS TEXT) || ' after', "
                "site_name = 'Site ' || CAST(X'FF' AS TEXT), "
                "subtitle = CAST(X'EDBFBF' AS TEXT)"
            )
        )
    engine.dispose()
    res = cli("db", "reindex", "--db", url)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    for fmt in FORMATS:
        res = cli("feed", "--format", fmt, "--db", url)
        assert res.returncode == 0, res.stderr
        (entry,) = parse_feed(res.stdout, fmt)
        assert re.fullmatch("Before \ufffd+ after", entry["title"]), entry["title"]
    res = cli("show", "1", "--json", "--db", url)
    assert res.returncode == 0, res.stderr
    shown = json.loads(res.stdout)
    assert shown["site_name"] == "Site \ufffd" and "\ufffd" in shown["subtitle"]
    res = cli("export", "--format", "csv", "--db", url)
    assert res.returncode == 0, res.stderr
    assert "Before \ufffd" in res.stdout


@pytest.mark.parametrize("fmt", FORMATS)
def test_day_precision_articles_keep_feeds_valid(fmt: str) -> None:
    """Entry times are the story's own full timestamps whatever the articles' precision;
    JSON Feed's extension gives a day-precision article its date at the page's offset,
    with the precision beside it."""
    from datetime import timedelta

    tokyo = timezone(timedelta(hours=9))
    day = FeedArticle("Dated by day", "https://x.example/a/", "x", "X",
                      datetime(2022, 6, 6, tzinfo=tokyo).astimezone(timezone.utc), False,
                      "day", 540)  # fmt: skip
    timed = FeedArticle("Timed", "https://y.example/b/", "y", "Y", T0, False, "minute", 0)
    story = FeedStory(1, "Dated by day", T0, T0, "tv", [day, timed])
    doc = render([story], fmt, title="t", home="https://h.example/", feed_url="https://h.example/f")
    (entry,) = parse_feed(doc, fmt)  # well-formed, feedparser without complaint
    assert entry["title"] == "Dated by day"
    if fmt == "jsonfeed":
        item = json.loads(doc)["items"][0]
        assert item["date_published"] == "2022-06-06T16:00:00Z"  # the story's first seen
        a, b = item["_aggregator"]["articles"]
        assert (a["published"], a["published_precision"]) == ("2022-06-06T00:00:00+09:00", "day")
        assert (b["published"], b["published_precision"]) == ("2022-06-06T16:00:00Z", "minute")
