"""The search language on SQLite and PostgreSQL: stemming, prefixes, OR, phrases,
exclusions, snippets; and that no text typed can make the database fail."""

from __future__ import annotations

import contextlib
import importlib
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from aggregator.aggregate.index import indexed_store
from aggregator.items import ArticleItem
from aggregator.storage import Filters, Query, SearchSyntaxError, make_engine
from aggregator.storage.search import MAX_TERMS, parse
from tests.conftest import cli, jsonl

T0 = datetime(2022, 6, 6, 18, 0, tzinfo=timezone.utc)


def article(n: int, title: str, body: str, language: str | None = "en") -> ArticleItem:
    return ArticleItem(
        url=f"https://news.example/{n}/", canonical_url=f"https://news.example/{n}/",
        source="example", title=title, body=f"{body} Report {n} of the day.", language=language,
        published=T0, fetched_at=T0,
    )  # fmt: skip


NEWS = [
    article(1, "Netflix renewed All of Us Are Dead", "The zombie series returns next year."),
    article(2, "Hulu orders a second season", "The comedy renews its cast."),
    article(3, "Disney confirms the sequel", "Talks about the sequels took months."),
    article(4, "Spider-Man casting news", "Season two of the animated show."),
]


def titles(q: Query, query: str) -> list[str]:
    return sorted(a.title for a in q.search(query, Filters(limit=50)))


@pytest.fixture
def news(engine: Engine) -> Query:
    indexed_store(engine).upsert(NEWS)
    return Query(engine)


def test_stemming_finds_other_forms_of_a_word(news: Query) -> None:
    assert titles(news, "renew") == [
        "Hulu orders a second season",
        "Netflix renewed All of Us Are Dead",
    ]
    assert titles(news, "renewing") == titles(news, "renew")
    assert titles(news, "confirmed sequels") == ["Disney confirms the sequel"]


def test_prefix_or_phrase_and_exclusion(news: Query) -> None:
    assert titles(news, "netfl*") == ["Netflix renewed All of Us Are Dead"]
    assert titles(news, "netfl") == []  # a prefix only with the star
    assert titles(news, "netflix OR hulu") == [
        "Hulu orders a second season",
        "Netflix renewed All of Us Are Dead",
    ]
    assert titles(news, "zombie netflix OR hulu") == ["Netflix renewed All of Us Are Dead"]
    assert titles(news, '"zombie series"') == ["Netflix renewed All of Us Are Dead"]
    assert titles(news, '"series zombie"') == []  # a phrase keeps its order
    assert titles(news, "season -hulu") == ["Spider-Man casting news"]
    assert titles(news, 'season -"second season"') == ["Spider-Man casting news"]
    assert titles(news, "spider-man") == titles(news, "SPIDER MAN") == ["Spider-Man casting news"]
    assert titles(news, "man-spider") == []  # the parts of a word in their order


def test_headline_matches_first_and_every_page_starts_the_same_list(engine: Engine) -> None:
    """On PostgreSQL the articles whose headline has the words come before those that only
    mention them, whatever their ranks (the two parts are read apart there); on both
    backends a page of N results is the first N of the whole list, and a word excluded
    from the body excludes an article whose headline matches."""
    indexed_store(engine).upsert([
        article(1, "Trailer talk", "Nothing else."),
        article(2, "Another story", "Trailer, trailer: the trailer and its trailer."),
        article(3, "Trailer news", "With a Hulu deal."),
        article(4, "Third story", "A trailer."),
        article(5, "Trailer day", "Fine."),
    ])  # fmt: skip
    q = Query(engine)
    everything = [a.title for a in q.search("trailer", Filters(limit=50))]
    assert len(everything) == 5
    for n in (1, 2, 3, 4):
        assert [a.title for a in q.search("trailer", Filters(limit=n))] == everything[:n]
    assert [a.title for a in q.search("trailer", Filters(limit=0))] == everything  # no limit
    if engine.dialect.name == "postgresql":
        assert set(everything[:3]) == {"Trailer talk", "Trailer news", "Trailer day"}
        assert everything[3:] == ["Another story", "Third story"]  # more mentions first
    assert titles(q, "trailer -hulu") == [
        "Another story", "Third story", "Trailer day", "Trailer talk",
    ]  # fmt: skip


def test_only_exclusions_is_a_clear_error(news: Query) -> None:
    for query in ("-hulu", '-"second season"', "-hulu -netflix"):
        with pytest.raises(SearchSyntaxError, match="at least one word"):
            news.search(query)


def test_cli_search_shows_snippets_and_refuses_exclusions_only(tmp_path: Path) -> None:
    db = str(tmp_path / "news.db")
    engine = make_engine(db)
    indexed_store(engine).upsert(NEWS)
    engine.dispose()
    out = cli("search", "--db", db, "--", "-hulu", cwd=None, timeout=120)
    assert out.returncode == 2, out
    assert "cannot search for '-hulu'" in out.stderr and "Traceback" not in out.stderr
    out = cli("search", "zombie", "--db", db, "--json", cwd=None, timeout=120, check=True)
    (row,) = jsonl(out.stdout)
    assert row["title"] == "Netflix renewed All of Us Are Dead"
    assert [row["snippet"][a:b] for a, b in row["highlights"]] == ["zombie"]
    out = cli("search", "zomb*", "--db", db, env={"COLUMNS": "250"}, cwd=None, check=True)
    assert "zombie series returns" in out.stdout


def test_cli_search_stems_and_reads_prefixes_or_and_phrases(tmp_path: Path) -> None:
    """The issue's searches as a script runs them: `aggregator search` in a subprocess."""
    db = str(tmp_path / "news.db")
    engine = make_engine(db)
    indexed_store(engine).upsert(NEWS)
    engine.dispose()

    def found(query: str) -> list[str]:
        out = cli("search", "--db", db, "--json", "--", query, cwd=None, timeout=120)
        assert out.returncode == 0 and "Traceback" not in out.stderr, (query, out.stderr)
        return sorted(row["title"] for row in jsonl(out.stdout))

    netflix, hulu = "Netflix renewed All of Us Are Dead", "Hulu orders a second season"
    assert found("renew") == [hulu, netflix]  # "renewed", "renews"
    assert found("netfl*") == [netflix]
    assert found("netflix OR hulu") == [hulu, netflix]
    assert found('"zombie series"') == [netflix]
    assert found("season -hulu") == ["Spider-Man casting news"]


def test_snippets_mark_the_matches(news: Query) -> None:
    (hit,) = news.search_hits("zombie")
    assert hit.article.title == "Netflix renewed All of Us Are Dead"
    assert "zombie series returns" in hit.snippet
    assert [hit.snippet[a:b] for a, b in hit.highlights] == ["zombie"]
    (hit,) = news.search_hits("talk")  # stemmed: the word as written is marked
    assert [hit.snippet[a:b] for a, b in hit.highlights] == ["Talks"]
    d = hit.to_dict()
    assert d["title"] == "Disney confirms the sequel" and d["snippet"] == hit.snippet
    assert d["highlights"] == [list(h) for h in hit.highlights]


HOSTILE = [
    '"', '""', '"a" OR', "OR", "OR OR", "-", "--", "- -x", "*", "**", "a**", "*a", "a*b",
    "'", "\\", "\\\"", "NEAR(a b)", "NEAR/2", "title:x", "x:*", "a & b | !c", "!!x", "(a",
    ")", "^x", "{a b}", "a + b", "'; DROP TABLE articles; --", "%_", "\x00", "\ud800",
    "x\u0301", "🎬*", "劇場版*", "-\"\"", '"-x"', "a OR -b", "'x':*", "<->", "x <-> y",
]  # fmt: skip


def test_no_query_makes_the_database_fail(news: Query) -> None:
    """Whatever is typed: results or SearchSyntaxError, never an SQL or FTS error."""
    for hostile in HOSTILE:
        with contextlib.suppress(SearchSyntaxError):
            news.search_hits(hostile)
    assert news.get("1") is not None


def test_long_searches_are_read_or_refused_clearly(news: Query) -> None:
    words = [f"w{i}" for i in range(MAX_TERMS)]
    exclusions = " ".join(f"-{w}" for w in words[1:])
    phrase = '"' + " ".join(words * 20) + '"'
    for query in (" ".join(words), " OR ".join(words), f"season {exclusions}", phrase):
        assert len(news.search(query)) in (0, 2)
    with pytest.raises(SearchSyntaxError, match=f"at most {MAX_TERMS}"):
        news.search(" ".join([*words, "one-more"]))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(alphabet=st.sampled_from("ab -*\"'()OR:^\\!&|<>.é劇"), max_size=20))
def test_any_text_searches_without_failing(news: Query, typed: str) -> None:
    try:
        hits = news.search(typed)
    except SearchSyntaxError:
        assert "-" in typed  # only a search of exclusions alone is refused
        return
    assert all(a.id for a in hits)


def test_postgresql_stems_each_article_in_its_language(pg_url: str) -> None:
    engine = make_engine(pg_url)
    indexed_store(engine).upsert([
        article(11, "Neue Filmen und Tourneen", "Die Sängerin plant viel.", language="de-DE"),
        article(12, "Neue Filmen und Tourneen", "Ohne Sprache.", language=None),
        article(13, "Les chanteuses en tournée", "Une grande tournée.", language="fr"),
    ])  # fmt: skip
    q = Query(engine)
    found = [(a.language, a.title) for a in q.search("Film Tournee")]
    assert found == [("de-DE", "Neue Filmen und Tourneen")]  # german: filmen -> film
    assert [a.language for a in q.search("chanteuse")] == ["fr"]
    assert sorted(str(a.language) for a in q.search("filmen")) == ["None", "de-DE"]
    # Each language's reading of the query is searched apart; the results are one list.
    both = q.search_hits("filmen", Filters(limit=50))
    assert [h.article.id for h in q.search_hits("filmen", Filters(limit=1))] == [both[0].article.id]
    with engine.connect() as conn:
        doc = conn.execute(text("SELECT search_vector::text FROM articles WHERE id = 1"))
        assert "'film':" in doc.scalar_one()
    engine.dispose()


def test_postgresql_configurations_are_the_migrations() -> None:
    from aggregator.storage import query, search

    rev = importlib.import_module("aggregator.storage.migrations.versions.v0009_search_stemming")
    assert search.CONFIGS == rev.CONFIGS
    assert rev.MARKS == query.MARKS
    assert search.config_sql("articles.language") == rev.config_sql("articles.language")


def test_postgresql_search_uses_the_fulltext_indexes(pg_url: str) -> None:
    """The search statements read the GIN indexes on the stored document and on its
    headline part (else PostgreSQL would read every article for every search)."""
    engine = make_engine(pg_url)
    indexed_store(engine).upsert(NEWS)
    with Session(engine) as s:
        texts = Query._pg_query_texts(s, parse('zombie OR "second season" renew* -disney'))
    plans = {}
    for headlines in (True, False):
        stmt = Query._pg_search(texts, Filters(), besides=None if headlines else [1])
        assert stmt is not None
        sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
        with engine.connect() as conn:
            conn.execute(text("set enable_seqscan = off"))  # four rows: force the question
            plans[headlines] = "\n".join(conn.exec_driver_sql("explain " + sql).scalars())
    with engine.connect() as conn:  # no pending list for every search to read
        index = "'ix_articles_search_headline'::regclass"  # this schema's
        options = conn.execute(text(f"SELECT reloptions FROM pg_class WHERE oid = {index}"))
        assert options.scalar_one() == ["fastupdate=off"]
    engine.dispose()
    # The headline matches from the index on the headline part (revision 0013).
    assert "ix_articles_search_headline" in plans[True], plans[True]
    assert "ix_articles_search " in plans[False], plans[False]
