"""A date keeps the precision the page gave it: per source of dates (JSON-LD, meta tags,
``<time>``, visible text, bylines, the URL, CJK formats, relative dates), then through
normalization, storage and presentation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from aggregator.extract import GenericExtractor, extract_article
from aggregator.items import ArticleItem
from aggregator.normalize.dates import parse_date_precision
from aggregator.normalize.item import normalize_item
from tests.test_extract_rules import PARA, page

FETCHED = datetime(2022, 6, 6, 18, 0, tzinfo=timezone.utc)
# No date in these URLs: the page's own dates are read.
NO_DATE_URL = "https://news.example/tv/story/"
DATED_URL = "https://www.theguardian.example/film/2016/nov/29/slug"


def extracted(html: str, url: str = NO_DATE_URL) -> ArticleItem:
    return extract_article(html, url, FETCHED, extractor=GenericExtractor)


def jsonld(**fields: str) -> str:
    body = ", ".join(f'"{k}": "{v}"' for k, v in fields.items())
    return f'<script type=\'application/ld+json\'>{{"@type": "NewsArticle", {body}}}</script>'


def published(html: str, url: str = NO_DATE_URL) -> tuple[str | None, str | None]:
    """(the publication value as ISO text, its precision)."""
    item = extracted(html, url)
    return (item.published.isoformat() if item.published else None), item.published_precision


# -- the parse itself --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "precision"),
    [
        ("2022-06-06", "day"),
        ("20220606", "day"),
        ("2022-06-06T12:05", "minute"),
        ("2022-06-06T12:05-04:00", "minute"),
        ("2022-06-06T12:05:07-04:00", "second"),
        # Midnight with seconds, as the page states it: not taken for a bare date.
        ("2022-06-06T00:00:00Z", "second"),
        ("2022-06-06T16:05:00.123Z", "second"),
        ("1654531200", "second"),
        ("Mon, 06 Jun 2022 16:05:00 +0000", "second"),
        ("Mon, 06 Jun 2022 16:05 +0000", "minute"),
        ("June 6, 2022", "day"),
        ("June 6, 2022 PT", "day"),
        ("June 6, 2022 3 pm", "hour"),
        ("June 6, 2022 3:05 pm", "minute"),
        ("6/14/2022 12:40 AM PT", "minute"),
        ("June 6, 2022 15:05:07", "second"),
        ("6. Juni 2022, 14:03 Uhr", "minute"),
        ("06.06.2022", "day"),
        ("March 2019", "month"),
        ("2019-03", "month"),
        ("2019年4月22日", "day"),
        ("2019年4月22日(月) 10:30", "minute"),
        ("2019년 4월 22일 오후 3:20", "minute"),
        ("2019年3月", "month"),
        ("3 days ago", "day"),
        ("yesterday", "day"),
        ("2 weeks ago", "day"),
        ("4 months ago", "month"),
        ("3 hours ago", "hour"),
        ("vor 3 Stunden", "hour"),
        ("5 minutes ago", "minute"),
        ("1 hour 20 minutes ago", "minute"),
    ],
)
def test_parse_states_its_precision(raw: str, precision: str) -> None:
    parsed = parse_date_precision(raw, now=FETCHED)
    assert parsed is not None and parsed.precision == precision, (raw, parsed)


def test_a_year_alone_has_no_precision_because_it_is_no_date() -> None:
    assert parse_date_precision("2019", now=FETCHED) is None


@pytest.mark.parametrize("raw", ["PT2H", "PT1H30M", "P1D", "P3Y6M4DT12H30M5S", "PT1.5H"])
def test_an_iso_duration_is_no_date(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # A recipe's <time itemprop="prepTime" datetime="PT2H">: refused before dateparser,
    # which refuses it too, but only after compiling every locale's patterns.
    import dateparser.date

    calls: list[object] = []
    monkeypatch.setattr(dateparser.date, "DateDataParser", lambda *a, **k: calls.append(a))
    assert parse_date_precision(raw, now=FETCHED, languages=["en"]) is None
    assert not calls


def test_relative_times_are_instants_counted_from_the_fetch() -> None:
    parsed = parse_date_precision("3 hours ago", now=FETCHED)
    assert parsed is not None
    assert parsed.value == FETCHED - timedelta(hours=3)  # aware: not a local wall clock
    # Normalized with a source zone, it stays the same instant.
    item = ArticleItem(url="https://x.example/a", published=parsed.value, fetched_at=FETCHED)
    item.published_precision = parsed.precision
    out = normalize_item(item, tz="America/New_York").item
    assert out.published == FETCHED - timedelta(hours=3) and out.published_precision == "hour"


# -- each source of dates on a page -------------------------------------------------------


def test_jsonld_date_only_is_day_and_with_time_is_minute_or_second() -> None:
    assert published(page(f"<p>{PARA}</p>", jsonld(datePublished="2022-06-06"))) == (
        "2022-06-06T00:00:00",
        "day",
    )
    minute = page(f"<p>{PARA}</p>", jsonld(datePublished="2022-06-06T12:05-04:00"))
    assert published(minute) == ("2022-06-06T12:05:00-04:00", "minute")
    assert published(page(f"<p>{PARA}</p>", jsonld(datePublished="2022-06-06T00:00:00Z"))) == (
        "2022-06-06T00:00:00+00:00",
        "second",
    )


def test_meta_tags() -> None:
    head = "<meta property='article:published_time' content='2022-06-05'>"
    assert published(page(f"<p>{PARA}</p>", head))[1] == "day"
    head = "<meta property='article:published_time' content='2022-06-05T10:11:12+02:00'>"
    assert published(page(f"<p>{PARA}</p>", head))[1] == "second"


def test_modified_has_its_own_precision() -> None:
    head = jsonld(datePublished="2022-06-05T10:11:12+02:00", dateModified="2022-06-06")
    item = extracted(page(f"<p>{PARA}</p>", head))
    assert (item.published_precision, item.modified_precision) == ("second", "day")
    assert item.modified_raw == "2022-06-06"
    bare = extracted(page(f"<p>{PARA}</p>"))
    assert (bare.modified, bare.modified_precision) == (None, None)


def test_time_element_machine_and_visible_text() -> None:
    assert published(page(f"<time datetime='2022-06-05'>June 5</time><p>{PARA}</p>")) == (
        "2022-06-05T00:00:00",
        "day",
    )
    assert published(page(f"<time>June 5, 2022 9:30 am</time><p>{PARA}</p>")) == (
        "2022-06-05T09:30:00",
        "minute",
    )
    assert published(page(f"<time>March 2019</time><p>{PARA}</p>")) == (
        "2019-03-01T00:00:00",
        "month",
    )


def test_visible_text_and_byline_dates() -> None:
    html = page(f"<p class='byline'>By Jane Doe | 2019/04/04</p><p>{PARA}</p>")
    assert published(html) == ("2019-04-04T00:00:00", "day")
    html = page(f"<p>Published on March 4, 2024</p><p>{PARA}</p>")
    assert published(html) == ("2024-03-04T00:00:00", "day")
    html = page(f"<p>by Jane Doe, Aug 09, 2012 10:00am PDT</p><p>{PARA}</p>")
    assert published(html)[1] == "minute"


def test_cjk_visible_dates() -> None:
    html = page(f"<span class='date'>2019年4月22日 10:30</span><p>{PARA}</p>")
    assert published(html) == ("2019-04-22T10:30:00", "minute")
    html = page(f"<span class='date'>2019년 4월 22일</span><p>{PARA}</p>")
    assert published(html) == ("2019-04-22T00:00:00", "day")


def test_url_date_is_day_precision() -> None:
    assert published(page(f"<p>{PARA}</p>"), DATED_URL) == ("2016-11-29T00:00:00", "day")
    item = extracted(page(f"<p>{PARA}</p>"), DATED_URL)
    assert item.published_raw == "2016-11-29"


def test_relative_dates() -> None:
    assert published(page(f"<time>3 days ago</time><p>{PARA}</p>")) == (
        "2022-06-03T00:00:00",
        "day",
    )
    assert published(page(f"<time>3 hours ago</time><p>{PARA}</p>")) == (
        "2022-06-06T15:00:00+00:00",
        "hour",
    )


def test_a_bare_date_completed_by_a_later_candidate_takes_its_precision() -> None:
    head = jsonld(datePublished="2022-06-06T12:00:00+02:00")
    html = page(f"<time datetime='2022-06-06'>6.6.2022</time><p>{PARA}</p>", head)
    # JSON-LD is read first and is complete; the bare <time> after it changes nothing.
    assert published(html) == ("2022-06-06T12:00:00+02:00", "second")
    # A month first, then the day it holds: the day; then its time: the time.
    html = page(
        f"<time>March 2019</time><time datetime='2019-03-14'>14.3.</time>"
        f"<time datetime='2019-03-14T08:30'>8:30</time><p>{PARA}</p>"
    )
    assert published(html) == ("2019-03-14T08:30:00", "minute")
    # A later date of another day completes nothing.
    html = page(f"<time>March 2019</time><time datetime='2019-04-14T08:30'>x</time><p>{PARA}</p>")
    assert published(html) == ("2019-03-01T00:00:00", "month")


# -- normalization -------------------------------------------------------------------------


def test_normalization_keeps_precision_and_places_a_bare_date_in_the_source_zone() -> None:
    html = page(f"<p>{PARA}</p>", jsonld(datePublished="2022-06-06"))
    raw = extracted(html)
    out = normalize_item(raw, tz="Asia/Tokyo").item
    # Midnight where the page is: 15:00 UTC the day before, its offset kept with it.
    assert out.published == datetime(2022, 6, 5, 15, 0, tzinfo=timezone.utc)
    assert out.published.utcoffset() == timedelta(hours=9)
    assert out.published.date().isoformat() == "2022-06-06"
    assert out.published_precision == "day"


def test_normalization_drops_precision_with_the_date() -> None:
    item = ArticleItem(
        url="https://x.example/a",
        published=datetime(1970, 1, 1, tzinfo=timezone.utc),
        published_raw="0",
        published_precision="second",
        modified=datetime(2030, 1, 1),
        modified_raw="2030-01-01",
        modified_precision="day",
        fetched_at=FETCHED,
    )
    out = normalize_item(item)
    assert "implausible_published_date" in out.notes and "future_modified_date" in out.notes
    assert (out.item.published, out.item.published_precision) == (None, None)
    assert (out.item.modified, out.item.modified_precision) == (None, None)
    assert out.item.published_raw == "0"  # the raw text stays for inspection


def test_normalization_clears_an_orphan_or_unknown_precision() -> None:
    orphan = ArticleItem(url="https://x.example/a", published_precision="day")
    assert normalize_item(orphan).item.published_precision is None
    odd = ArticleItem(
        url="https://x.example/a",
        published=datetime(2022, 6, 6, tzinfo=timezone.utc),
        published_precision="fortnight",
        fetched_at=FETCHED,
    )
    assert normalize_item(odd).item.published_precision is None
    unknown = ArticleItem(
        url="https://x.example/a", published=datetime(2022, 6, 6, tzinfo=timezone.utc)
    )
    # Unknown stays unknown: no guess from the value's time of day.
    assert normalize_item(unknown, now=FETCHED).item.published_precision is None


def test_item_dict_carries_precision() -> None:
    item = extracted(page(f"<p>{PARA}</p>", jsonld(datePublished="2022-06-06")))
    d = item.to_dict()
    assert d["published"] == "2022-06-06T00:00:00" and d["published_precision"] == "day"
    assert d["modified_precision"] is None


# -- presentation ----------------------------------------------------------------------------


def test_format_date_shows_what_the_page_stated() -> None:
    from aggregator.normalize.dates import format_date, iso_date

    when = datetime(2022, 6, 5, 15, 0, tzinfo=timezone.utc)  # 2022-06-06 00:00 in Tokyo
    assert format_date(when, "day", 540) == "2022-06-06"
    assert format_date(when, "month", 540) == "2022-06"
    assert format_date(when, "hour") == "2022-06-05 15h"
    assert format_date(when, "minute", 540) == "2022-06-05 15:00"  # an instant, in UTC
    assert format_date(when, None) == "2022-06-05 15:00"  # unknown: as before
    assert iso_date(when, "day", 540) == "2022-06-06T00:00:00+09:00"
    assert iso_date(when, "second", 540) == "2022-06-05T15:00:00+00:00"


@pytest.mark.parametrize(
    "raw",
    [
        "June 6, 2022",
        "Oct 16, 2012",
        "Sept. 3, 2019",
        "Nov 9, 2012 4:45 pm",
        "July 30, 2012 at 7:31 am",
        "Monday, October 22, 2012 at 04:17 PM",
        "October 27, 2012 9:22pm",
        "6 June 2022",
        "18 Nov 2019 14:03",
        "1 January 2020 00:00:05",
        "Dec 31, 1999 12:00 AM",
    ],
)
def test_common_english_dates_read_as_dateparser_reads_them(raw: str) -> None:
    # The fast path gives what dateparser gives, value and precision (its cost is the
    # locale data it loads, tens of milliseconds a page).
    from aggregator.normalize.dates import _dateparser, _english_date

    fast = _english_date(raw)
    assert fast is not None, raw
    assert fast == _dateparser(raw, None, ["en"]), raw


@pytest.mark.parametrize(
    "raw", ["June 31, 2022", "13:05 pm June 6, 2022", "6. Juni 2022", "June 2022"]
)
def test_what_the_english_fast_path_leaves_to_dateparser(raw: str) -> None:
    from aggregator.normalize.dates import _english_date

    assert _english_date(raw) is None
