"""The benchmark metrics on hand-made cases whose expected values are worked out by hand.

Body: the article-extraction-benchmark's ``evaluate.py`` metric (4-token shingles). Meta:
title / author / date scoring as the news-metadata README defines it.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from aggregator.extract.batch import read_manifest
from aggregator.scoring import (
    CATASTROPHE_F1,
    CORPORA,
    CORPUS_DIRS,
    CorpusKey,
    Page,
    author_counts,
    body_scores,
    exact_tokens,
    fragment_text,
    has_time,
    load_aeb,
    load_corpora,
    load_corpus,
    load_ground_truth,
    load_meta,
    meta_page_scores,
    normalize_author,
    normalize_text,
    page_body_scores,
    page_report,
    parse_datetime,
    precision_score,
    read_html,
    recall_score,
    same_day,
    same_minute,
    score_aeb,
    score_body,
    score_meta,
    shingle_match,
    shingles,
    title_match,
    tokenize,
    worst_pages,
    write_manifest,
)
from tests.conftest import require_corpus

# -- tokens and shingles ---------------------------------------------------------------------


def test_tokenize_is_unicode_word_runs() -> None:
    assert tokenize("Hello, wörld! 42_x — naïve…") == ["Hello", "wörld", "42_x", "naïve"]
    assert tokenize("東京 2024年") == ["東京", "2024年"]
    assert tokenize(None) == []
    assert tokenize("  ,.;  ") == []


def test_shingles_are_4_token_multisets() -> None:
    assert shingles("a b c d e") == Counter({("a", "b", "c", "d"): 1, ("b", "c", "d", "e"): 1})
    # a repeated phrase counts twice
    assert shingles("a b c d a b c d") == Counter(
        {
            ("a", "b", "c", "d"): 2,
            ("b", "c", "d", "a"): 1,
            ("c", "d", "a", "b"): 1,
            ("d", "a", "b", "c"): 1,
        }
    )


def test_short_and_empty_texts() -> None:
    """Fewer than 4 tokens: one shorter shingle; no tokens: no shingle at all."""
    assert shingles("a b") == Counter({("a", "b"): 1})
    assert shingles("exactly four tokens here") == Counter(
        {("exactly", "four", "tokens", "here"): 1}
    )
    assert shingles("") == Counter()
    assert shingles("?!") == Counter()


# -- one page --------------------------------------------------------------------------------


def test_shingle_match_scales_to_one() -> None:
    # truth {abcd, bcde}, prediction {abcd}: tp=1 fp=0 fn=1 -> /2
    assert shingle_match("a b c d e", "a b c d") == (0.5, 0.0, 0.5)
    # truth 5 shingles (abcd twice), prediction abcd once: tp=1 fn=4 -> /5
    assert shingle_match("a b c d a b c d", "a b c d") == (0.2, 0.0, 0.8)
    # extra text: truth {abcd}, prediction {abcd, bcde, cdef}: tp=1 fp=2 -> /3
    tp, fp, fn = shingle_match("a b c d", "a b c d e f")
    assert (tp, fp, fn) == pytest.approx((1 / 3, 2 / 3, 0.0))


def test_shingle_match_edge_cases() -> None:
    assert shingle_match("", "") == (0.0, 0.0, 0.0)  # not scaled: nothing to scale
    assert shingle_match("a b c d", "") == (0.0, 0.0, 1.0)
    assert shingle_match("a b c d", None) == (0.0, 0.0, 1.0)
    assert shingle_match("", "a b c d") == (0.0, 1.0, 0.0)
    # short texts are a single shingle: "a b" vs "a b c" share nothing
    assert shingle_match("a b", "a b c") == (0.0, 0.5, 0.5)
    # tokens are case-sensitive
    assert shingle_match("The cat sat down", "the cat sat down") == (0.0, 0.5, 0.5)


def test_precision_recall_special_cases_in_evaluate_py_order() -> None:
    assert precision_score(0.0, 0.0, 0.0) == 1.0  # fp == fn == 0 is checked first
    assert recall_score(0.0, 0.0, 0.0) == 1.0
    assert precision_score(0.0, 0.0, 1.0) == 0.0
    assert recall_score(0.0, 1.0, 0.0) == 0.0
    assert precision_score(0.5, 0.0, 0.5) == 1.0
    assert recall_score(0.5, 0.0, 0.5) == 0.5
    assert precision_score(0.25, 0.75, 0.0) == 0.25


def test_accuracy_ignores_punctuation_and_spacing_only() -> None:
    assert exact_tokens("Hello,   world!\n\nBye.", "Hello world Bye")
    assert not exact_tokens("Hello world", "hello world")
    assert not exact_tokens("Hello world", "Hello world again")
    assert exact_tokens("", None)


def test_page_body_scores_mark_unscored_sides() -> None:
    assert page_body_scores("a b c d e", "a b c d") == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": pytest.approx(2 / 3),
        "exact": False,
    }
    empty_pred = page_body_scores("a b c d", "")
    assert empty_pred["precision"] is None  # left out of the precision average
    assert empty_pred["recall"] == 0.0


# -- corpus level ----------------------------------------------------------------------------


def test_body_scores_average_like_evaluate_py() -> None:
    """P averages pages with a prediction, R pages with a truth; F1 of the two means.

    A: P=1,   R=1/2         (we miss "e")
    B: -,     R=0           (nothing predicted: out of the precision average)
    C: P=0,   -             (empty truth: out of the recall average)
    D: P=1,   R=1, exact
    E: -,     -,   exact    (both empty: only in accuracy, as an exact match)
    P = (1+0+1)/3 = 2/3, R = (1/2+0+1)/3 = 1/2, F1 = 2*(2/3)*(1/2)/(2/3+1/2) = 4/7,
    accuracy = 2/5.
    """
    s = body_scores(
        [
            ("a b c d e", "a b c d"),
            ("p q r s", ""),
            ("", "m n o p"),
            ("k l m n", "k l m n"),
            ("", None),
        ]
    )
    assert s.precision == pytest.approx(2 / 3)
    assert s.recall == pytest.approx(1 / 2)
    assert s.f1 == pytest.approx(4 / 7)
    assert s.f1 != pytest.approx((1 + 0 + 0 + 1) / 4)  # not a mean of per-page F1
    assert s.accuracy == pytest.approx(2 / 5)
    assert (s.pages, s.pages_predicted, s.pages_true) == (5, 3, 3)


def test_body_scores_nothing_predicted_is_zero_not_an_error() -> None:
    s = body_scores([("a b c d", ""), ("e f g h", None)])
    assert (s.precision, s.recall, s.f1, s.accuracy) == (0.0, 0.0, 0.0, 0.0)
    assert (s.catastrophes, s.empty) == (2, 2)


def test_catastrophes_and_empty_bodies_count_pages_whose_gold_has_text() -> None:
    """Catastrophe: page F1 < 0.5 (empty included); empty: no token predicted. Pages whose
    gold is empty count in neither, whatever was predicted.

    A: exact                                   -> neither
    B: half the truth's shingles, P=1 R=1/2    -> F1 2/3, neither
    C: 1 of 5 shingles, P=1 R=1/5              -> F1 1/3, catastrophe
    D: nothing predicted                       -> catastrophe and empty
    E: punctuation only predicted              -> catastrophe and empty (no token)
    F: another block entirely                  -> catastrophe
    G: gold empty, something predicted         -> neither
    """
    assert CATASTROPHE_F1 == 0.5
    s = body_scores(
        [
            ("a b c d e", "a b c d e"),
            ("a b c d e", "a b c d"),
            ("a b c d e f g h", "a b c d"),
            ("a b c d", None),
            ("a b c d", " ... "),
            ("a b c d", "w x y z"),
            ("", "a b c d"),
        ]
    )
    assert (s.catastrophes, s.empty) == (4, 2)
    # exactly 0.5 is no catastrophe: truth {abcd, bcde}, prediction {abcd, xyzw}... P=R=1/2
    half = body_scores([("a b c d e", "a b c d x")])
    assert page_body_scores("a b c d e", "a b c d x")["f1"] == pytest.approx(0.5)
    assert half.catastrophes == 0


# -- titles and authors ----------------------------------------------------------------------


def test_title_normalization() -> None:
    assert normalize_text("  Post-Vac-Syndrom:\u00a0Was   wissen wir? ") == (
        "Post-Vac-Syndrom: Was wissen wir?"
    )
    assert normalize_text("東京\u3000逮捕\n") == "東京 逮捕"
    assert title_match("Café", "Cafe\u0301 ")  # NFD vs NFC
    assert not title_match("Café", "café")  # case matters
    assert not title_match("A title", "A title | Site")
    assert not title_match("A title", None)


def test_author_normalization() -> None:
    assert normalize_author("By Jane Doe") == "jane doe"
    assert normalize_author("by: Jane Doe") == "jane doe"
    assert normalize_author("BY  JANE\u00a0DOE") == "jane doe"
    assert normalize_author("Byron Smith") == "byron smith"  # not a "by"
    assert normalize_author("JÖRG ZSCHOCHE") == "jörg zschoche"
    assert normalize_author("Straße") == normalize_author("STRASSE")  # casefold, not lower


def test_author_counts_are_multisets() -> None:
    assert author_counts(["Jane Doe", "John Roe"], ["By JANE DOE", "Someone Else"]) == (1, 1, 1)
    assert author_counts(["A"], ["a", "A"]) == (1, 1, 0)  # listed twice: one is extra
    assert author_counts(["A", "B"], None) == (0, 0, 2)
    assert author_counts([], ["A"]) == (0, 1, 0)
    assert author_counts(["A"], ["", "  "]) == (0, 0, 1)  # blank names are dropped


# -- dates -----------------------------------------------------------------------------------


def test_parse_datetime_forms() -> None:
    plus1 = timezone(timedelta(hours=1))
    assert parse_datetime("2024-12-02T20:56:56+0100") == datetime(2024, 12, 2, 20, 56, 56, 0, plus1)
    assert parse_datetime("2024-05-03T14:24:00Z") == datetime(
        2024, 5, 3, 14, 24, tzinfo=timezone.utc
    )
    assert parse_datetime("2023-05-15T11:52:09.86+00:00") == datetime(
        2023, 5, 15, 11, 52, 9, 860000, timezone.utc
    )
    assert parse_datetime("2025-01-13 13:17:58.165742") == datetime(2025, 1, 13, 13, 17, 58, 165742)
    assert parse_datetime("2024-01-30") == datetime(2024, 1, 30)
    assert parse_datetime("yesterday") is None
    assert parse_datetime("") is None
    assert parse_datetime(None) is None


def _dt(value: str) -> datetime:
    parsed = parse_datetime(value)
    assert parsed is not None
    return parsed


def test_has_time_treats_exact_midnight_as_date_only() -> None:
    assert not has_time(_dt("2023-04-28T00:00:00"))
    assert not has_time(_dt("2025-11-03T00:00:00+00:00"))
    assert has_time(_dt("2024-04-28T00:00:01"))
    assert has_time(_dt("2024-04-28T09:36:00+02:00"))


def test_both_with_offset_compare_instants_in_expected_offset() -> None:
    # Same instant, written in another offset: same day and minute in the publisher's zone.
    assert same_day(_dt("2024-12-02T00:30:00+01:00"), _dt("2024-12-01T23:30:00+00:00"))
    assert same_minute(_dt("2024-12-02T00:30:00+01:00"), _dt("2024-12-01T23:30:45+00:00"))
    # 23:30 in New York is the next day in UTC: the expected (New York) calendar day counts.
    assert same_day(_dt("2024-12-02T23:30:00-05:00"), _dt("2024-12-03T04:30:00+00:00"))
    # An hour off is a different instant.
    assert not same_minute(_dt("2024-12-02T10:56:00+01:00"), _dt("2024-12-02T10:56:00+00:00"))
    assert same_day(_dt("2024-12-02T10:56:00+01:00"), _dt("2024-12-02T10:56:00+00:00"))


def test_naive_sides_compare_wall_clocks() -> None:
    # Ours naive: the page's wall clock against the expected value's own wall clock.
    expected = _dt("2024-04-25T04:21:02+02:00")
    assert same_minute(expected, _dt("2024-04-25T04:21:59"))
    assert not same_minute(expected, _dt("2024-04-25T02:21:02"))  # its UTC clock is not it
    # Expected naive: ours as written in its own offset.
    kst = _dt("2026-01-29T18:40:00")
    assert same_minute(kst, _dt("2026-01-29T18:40:00+09:00"))
    assert not same_minute(kst, _dt("2026-01-29T09:40:00+00:00"))
    # Naive on one side near midnight: no conversion, so the written day decides.
    assert not same_day(_dt("2024-12-02T00:30:00+01:00"), _dt("2024-12-01T23:30:00"))


def test_same_minute_truncates() -> None:
    assert same_minute(_dt("2024-01-01T10:56:00"), _dt("2024-01-01T10:56:59"))
    assert not same_minute(_dt("2024-01-01T10:56:59"), _dt("2024-01-01T10:57:01"))
    assert not same_day(_dt("2024-01-01T10:56:00"), None)
    assert not same_minute(_dt("2024-01-01T10:56:00"), None)


# -- whole corpora ---------------------------------------------------------------------------


def _meta_page(
    page_id: str,
    *,
    title: str | None = "T",
    authors: tuple[str, ...] | None = None,
    published: str | None = None,
    body: str = "",
) -> Page:
    return Page(
        corpus="meta",
        page_id=page_id,
        path=Path(f"/corpus/{page_id}.html.gz"),
        url=f"https://example.org/{page_id}",
        fetched_at=None,
        body=body,
        title=title,
        authors=authors,
        published=published,
    )


def test_score_meta_micro_authors_and_denominators() -> None:
    """Authors are micro-averaged: tp=1+1, fp=0+2, fn=1+0 -> P=2/4, R=2/3, F1=4/7 (a macro
    average would give P=(1+1/3)/2). Page 3 has no expected authors and is not scored for
    them; page 2's midnight date is scored for the day only."""
    pages = [
        _meta_page(
            "p1", title="Héllo  world", authors=("A", "B"), published="2024-05-02T10:00:00+02:00"
        ),
        _meta_page("p2", title="Other", authors=("C",), published="2024-05-03T00:00:00+00:00"),
        _meta_page("p3", title="Third", authors=None, published="2024-05-04T08:15:00"),
    ]
    preds = {
        "p1": {"title": "Héllo world", "authors": ["a"], "published": "2024-05-02T08:00:30Z"},
        "p2": {"title": "other", "authors": ["C", "D", "E"], "published": "2024-05-03T09:00:00"},
        "p3": {"title": "Third", "authors": ["X"], "published": "2024-05-05T08:15:00"},
    }
    s = score_meta(pages, preds)
    assert s.title_exact == pytest.approx(2 / 3)
    assert s.title_pages == 3
    assert (s.author_tp, s.author_fp, s.author_fn, s.author_pages) == (2, 2, 1, 2)
    assert s.author_precision == pytest.approx(0.5)
    assert s.author_recall == pytest.approx(2 / 3)
    assert s.author_f1 == pytest.approx(4 / 7)
    assert s.same_day == pytest.approx(2 / 3)  # p3 is a day late
    assert s.day_pages == 3
    assert s.same_minute == pytest.approx(1 / 2)  # p1 yes, p3 no
    assert s.minute_pages == 2


def test_missing_predictions_score_as_empty() -> None:
    pages = [_meta_page("p1", authors=("A",), published="2024-05-02T10:00:00", body="a b c d")]
    s = score_meta(pages, {})
    assert (s.title_exact, s.author_recall, s.same_day, s.same_minute) == (0.0, 0.0, 0.0, 0.0)
    assert s.body.recall == 0.0
    aeb = [Page("aeb", "x", Path("/x.html.gz"), "https://example.org/x", None, "a b c d")]
    assert score_aeb(aeb, {}).recall == 0.0
    assert score_aeb(aeb, {"x": {"body": "a b c d"}}).f1 == 1.0


def test_corpus_loading_and_manifest_round_trip(tmp_path: Path) -> None:
    """The manifest we write is what ``aggregator extract --manifest`` reads."""
    aeb = tmp_path / "aeb"
    (aeb / "html").mkdir(parents=True)
    (aeb / "ground-truth.json").write_text(
        json.dumps({"abc": {"articleBody": "Body.", "url": "https://example.org/a"}})
    )
    meta = tmp_path / "meta" / "pages"
    meta.mkdir(parents=True)
    (meta / "Pub_2024_01_01.json").write_text(
        json.dumps(
            {
                "url": "https://example.org/m",
                "crawl_date": "2024-01-01 12:00:00.5",
                "title": "T",
                "authors": None,
                "published": "2024-01-01T10:00:00+01:00",
                "body": "B",
            }
        )
    )
    pages = load_aeb(aeb) + load_meta(tmp_path / "meta")
    assert [(p.corpus, p.page_id, p.path.name) for p in pages] == [
        ("aeb", "abc", "abc.html.gz"),
        ("meta", "Pub_2024_01_01", "Pub_2024_01_01.html.gz"),
    ]
    assert pages[1].authors is None
    manifest = tmp_path / "pages.jsonl"
    write_manifest(pages, manifest)
    specs = list(read_manifest(manifest))
    assert [(s.path, s.url) for s in specs] == [(p.path, p.url) for p in pages]
    assert specs[0].fetched_at is None
    assert specs[1].fetched_at is not None
    assert specs[1].fetched_at.date().isoformat() == "2024-01-01"


def _write_ground_truth(directory: Path, truth: dict[str, dict[str, object]]) -> None:
    (directory / "html").mkdir(parents=True)
    (directory / "ground-truth.json").write_text(json.dumps(truth), encoding="utf-8")


def test_load_ground_truth_layout(tmp_path: Path) -> None:
    """The generic loader: truth order, null URL as "", metadata where the gold has it,
    the byline as one credit (null: not scored), an uncompressed page found too."""
    directory = tmp_path / "readability"
    _write_ground_truth(
        directory,
        {
            "b-page": {
                "url": "https://example.org/b",
                "articleBody": "Body B.",
                "title": "Title B",
                "byline": "By\n\t Jane Doe",
                "published": "2015-07-10T09:53:00-04:00",
            },
            "a-page": {"url": None, "articleBody": "Body A.", "title": "A", "byline": None},
            "plain": {"url": None, "articleBody": None, "byline": "  "},
        },
    )
    (directory / "html" / "plain.html").write_text("<p>x</p>")
    pages = load_ground_truth(directory, "readability")
    assert [(p.corpus, p.page_id, p.path.name, p.url) for p in pages] == [
        ("readability", "b-page", "b-page.html.gz", "https://example.org/b"),
        ("readability", "a-page", "a-page.html.gz", ""),
        ("readability", "plain", "plain.html", ""),
    ]
    b, a, plain = pages
    assert (b.title, b.authors, b.published) == (
        "Title B",
        ("By\n\t Jane Doe",),
        "2015-07-10T09:53:00-04:00",
    )
    assert (a.title, a.authors, a.published) == ("A", None, None)
    assert plain.body == "" and plain.authors is None and plain.title is None
    assert all(p.path.is_absolute() and p.fetched_at is None for p in pages)
    # A corpus without metadata (dragnet, l3s-gn1, cleanportaleval, aeb): body only.
    body_only = tmp_path / "dragnet"
    _write_ground_truth(body_only, {"7": {"url": None, "articleBody": "Text."}})
    (page,) = load_ground_truth(body_only, "dragnet")
    assert (page.title, page.authors, page.published, page.body) == (None, None, None, "Text.")


def test_load_corpora_registers_every_corpus(tmp_path: Path) -> None:
    """Every key has a folder and a loader; only the folders present are loaded."""
    assert set(CORPORA) == set(CORPUS_DIRS)
    assert set(CORPORA) >= {"aeb", "meta", "dragnet", "l3s-gn1", "readability", "cleanportaleval"}
    _write_ground_truth(tmp_path / "l3s-gn1", {"u": {"url": None, "articleBody": "L"}})
    _write_ground_truth(
        tmp_path / "cleanportaleval", {"c": {"url": "https://x/", "articleBody": "C"}}
    )
    loaded = load_corpora(root=tmp_path)
    assert list(loaded) == ["l3s-gn1", "cleanportaleval"]  # CORPORA order
    assert [p.page_id for p in loaded["l3s-gn1"]] == ["u"]
    assert load_corpus("cleanportaleval", tmp_path)[0].corpus == "cleanportaleval"


def test_readability_metadata_scored_like_news_metadata() -> None:
    """The byline is one credit, "By" and whitespace normalized away; a null byline and a
    missing date are not scored; a date-only value is scored for the day only."""
    pages = [
        Page(
            "readability",
            "p1",
            Path("/r/p1.html.gz"),
            "",
            None,
            "a b c d",
            title="Title One",
            authors=("By\n\t\t\tScott Cunningham",),
            published="2015-10-15T08:00:26+00:00",
        ),
        Page(
            "readability",
            "p2",
            Path("/r/p2.html.gz"),
            "",
            None,
            "e f g h",
            title="Two",
            authors=None,
            published="2024-06-25",
        ),
        Page("readability", "p3", Path("/r/p3.html.gz"), "", None, "i j k l", title="Three"),
    ]
    preds = {
        "p1": {
            "title": "Title  One",
            "authors": ["Scott Cunningham"],
            "published": "2015-10-15T08:00:59Z",
            "body": "a b c d",
        },
        "p2": {"title": "Two | Site", "authors": ["Someone"], "published": "2024-06-25T17:00:00"},
        "p3": {"title": "Three", "authors": [], "published": "2020-01-01"},
    }
    s = score_meta(pages, preds)
    assert s.title_exact == pytest.approx(2 / 3)
    assert s.title_pages == 3
    assert (s.author_tp, s.author_fp, s.author_fn, s.author_pages) == (1, 0, 0, 1)
    assert (s.same_day, s.day_pages, s.same_minute, s.minute_pages) == (1.0, 2, 1.0, 1)
    assert (s.body.catastrophes, s.body.empty) == (2, 2)
    row = page_report(pages[0], preds["p1"])
    assert row["title"] is True and row["authors"] == {"tp": 1, "fp": 0, "fn": 0}
    assert row["path"] == str(Path("/r/p1.html.gz"))
    body_only = Page("dragnet", "d", Path("/d/d.html.gz"), "", None, "a b c d")
    assert "title" not in page_report(body_only, {"body": "a b c d"})


def test_worst_pages_per_corpus() -> None:
    def row(corpus: str, page: str, f1: float, recall: float | None = 1.0) -> dict[str, object]:
        return {"corpus": corpus, "page": page, "body": {"f1": f1, "recall": recall}}

    rows = [
        row("dragnet", "a", 0.9),
        row("dragnet", "b", 0.1),
        row("dragnet", "c", 0.0, recall=None),  # empty gold: not ranked
        row("dragnet", "d", 0.5),
        row("l3s-gn1", "e", 1.0),
    ]
    worst = worst_pages(rows, 2)
    assert {k: [r["page"] for r in v] for k, v in worst.items()} == {
        "dragnet": ["b", "d"],
        "l3s-gn1": ["e"],
    }


def test_peer_html_reader_decodes_declared_charsets(tmp_path: Path) -> None:
    import gzip

    utf8 = tmp_path / "u.html.gz"
    utf8.write_bytes(gzip.compress("<p>caf\u00e9 \u2019</p>".encode()))
    latin = tmp_path / "l.html.gz"
    latin.write_bytes(
        gzip.compress('<meta charset="iso-8859-1"><p>caf\u00e9</p>'.encode("latin-1"))
    )
    cp1252 = tmp_path / "w.html"
    cp1252.write_bytes("<p>it\u2019s</p>".encode("cp1252"))
    assert read_html(utf8) == "<p>caf\u00e9 \u2019</p>"
    assert read_html(latin).endswith("<p>caf\u00e9</p>")
    assert read_html(cp1252) == "<p>it\u2019s</p>"


NEW_CORPORA: list[CorpusKey] = ["dragnet", "l3s-gn1", "readability", "cleanportaleval"]


@pytest.mark.corpora
@pytest.mark.parametrize("key", NEW_CORPORA)
def test_real_ground_truth_corpora_load(key: CorpusKey) -> None:
    """On the real corpora: unique ids, every page file present, every gold with text
    (the READMEs drop short gold), metadata only on readability."""
    directory = require_corpus(CORPUS_DIRS[key])
    pages = load_corpus(key, directory.parent)
    assert pages
    assert len({p.page_id for p in pages}) == len(pages)
    assert all(p.corpus == key and p.path.is_file() for p in pages)
    assert all(tokenize(p.body) for p in pages)
    assert all(isinstance(p.url, str) for p in pages)
    if key == "readability":
        assert all(p.title for p in pages)
        assert any(p.authors for p in pages) and any(p.published for p in pages)
    else:
        assert all(p.title is None and p.authors is None for p in pages)
    # Scored against itself: perfect, no catastrophe, no empty body.
    perfect = score_body(pages, {p.page_id: {"body": p.body} for p in pages})
    assert (perfect.f1, perfect.catastrophes, perfect.empty) == (1.0, 0, 0)
    nothing = score_body(pages, {})
    assert nothing.catastrophes == nothing.empty == len(pages)


def test_readability_fragment_to_text_keeps_blocks_apart() -> None:
    """The readability runner's HTML-to-text: blocks never glue words together."""
    html = (
        "<div><h2>Head</h2><p>one <b>bold</b></p><p>two<br>three</p>"
        "<ul><li>x</li><li>y</li></ul><script>var z;</script><!-- c -->tail</div>"
    )
    assert fragment_text(html) == "Head\n\none bold\n\ntwo three\n\nx\n\ny\n\ntail"
    assert fragment_text("") == ""


# -- date precision ----------------------------------------------------------------------------


def test_a_prediction_coarser_than_the_metric_is_a_miss() -> None:
    """A day-precision date on a page whose gold has a time is scored for the day and
    counts against the minute (it gave no minute); a month counts against both."""
    pages = [
        _meta_page("timed", published="2024-04-25T09:36:00+02:00"),
        _meta_page("midnight", published="2024-04-25T00:00:00"),
    ]
    day = {"published": "2024-04-25T00:00:00+02:00", "published_precision": "day"}
    scores = score_meta(pages, {"timed": day, "midnight": day})
    assert (scores.same_day, scores.day_pages) == (1.0, 2)
    assert (scores.same_minute, scores.minute_pages) == (0.0, 1)  # counted, and missed
    # Without a precision (a peer's prediction), the value is scored as written.
    assert meta_page_scores(pages[0], {"published": "2024-04-25T09:36:30+02:00"}) == {
        "title": False, "authors": None, "same_day": True, "same_minute": True,
    }  # fmt: skip
    timed_day = {"published": "2024-04-25T09:36:00+02:00", "published_precision": "day"}
    assert meta_page_scores(pages[0], timed_day)["same_minute"] is False
    hour = {"published": "2024-04-25T09:00:00+02:00", "published_precision": "hour"}
    assert meta_page_scores(pages[0], hour) == {
        "title": False, "authors": None, "same_day": True, "same_minute": False,
    }  # fmt: skip
    month = {"published": "2024-04-01T00:00:00+02:00", "published_precision": "month"}
    assert meta_page_scores(pages[0], month)["same_day"] is False
    assert meta_page_scores(pages[0], month)["same_minute"] is False
    # Minute and second precision are scored as before.
    second = {"published": "2024-04-25T07:36:10+00:00", "published_precision": "second"}
    assert meta_page_scores(pages[0], second)["same_minute"] is True


def test_a_day_precision_date_is_a_calendar_date_not_an_instant() -> None:
    # The page's 2024-12-02 in Tokyo is 2024-12-01 15:00 UTC, and 10:00 on 2024-12-01 in
    # New York, where the gold is: as an instant it would miss the day, as a date it holds.
    expected = _dt("2024-12-02T22:30:00-05:00")
    ours = _dt("2024-12-02T00:00:00+09:00")
    assert not same_day(expected, ours)
    assert same_day(expected, ours, "day")
    assert not same_day(expected, _dt("2024-12-03T00:00:00+09:00"), "day")
    assert not same_minute(expected, _dt("2024-12-02T22:30:00-05:00"), "day")
    assert same_minute(expected, _dt("2024-12-02T22:30:00-05:00"), "minute")


def test_page_report_carries_the_precision() -> None:
    page = _meta_page("p", published="2024-04-25T09:36:00+02:00")
    row = page_report(page, {"published": "2024-04-25", "published_precision": "day"})
    assert row["values"]["published_precision"] == "day"
    assert (row["same_day"], row["same_minute"]) == (True, False)
