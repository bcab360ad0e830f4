"""Normalizers: pure functions, each case a real-world shape of messy input."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from aggregator.items import ArticleItem
from aggregator.normalize.authors import clean_authors, clean_organisations
from aggregator.normalize.dates import (
    date_from_url,
    ensure_aware,
    is_future,
    parse_date,
    parse_since,
    utc_offset_minutes,
)
from aggregator.normalize.item import clean_fields, normalize_item
from aggregator.normalize.text import clean_body, clean_text
from aggregator.normalize.titles import strip_site_name
from aggregator.normalize.urls import canonicalize_url

NOW = datetime(2022, 6, 6, 18, 0, tzinfo=timezone.utc)


class TestText:
    def test_entities_nfc_whitespace(self) -> None:
        assert clean_text("  Caf\u0065\u0301 &amp; more\u00a0\n here\u200b ") == "Café & more here"

    def test_empty_is_none(self) -> None:
        assert clean_text(" \n\t ") is None
        assert clean_body("\n\n \n") is None

    def test_body_paragraphs_one_blank_line(self) -> None:
        raw = "First  para\n\n\n\n  Second para \n line two\n\n"
        assert clean_body(raw) == "First para\n\nSecond para\nline two"

    def test_body_idempotent(self) -> None:
        once = clean_body("A\u00a0 b\n\n\nC")
        assert clean_body(once) == once


class TestTitles:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("All of Us Are Dead Season 2 | DualShockers", "All of Us Are Dead Season 2"),
            ("Squid Game returns - Variety", "Squid Game returns"),
            ("Variety: Squid Game returns", "Squid Game returns"),
            ("Dune review – The Hollywood Reporter", "Dune review"),
            ("Spider-Man - No Way Home - Review | IGN", "Spider-Man - No Way Home - Review"),
            ("Kendrick Lamar's new album | hollywoodreporter.com", "Kendrick Lamar's new album"),
            ("이재명 외친 국민 통합ㅣ한국일보", "이재명 외친 국민 통합"),
        ],
    )
    def test_site_suffix_and_prefix(self, raw: str, expected: str) -> None:
        names = ["DualShockers", "Variety", "The Hollywood Reporter", "IGN", "한국일보"]
        assert strip_site_name(raw, names) == expected

    def test_unknown_suffix_kept(self) -> None:
        assert strip_site_name("Dune: Part Two - Review", ["Variety"]) == "Dune: Part Two - Review"


class TestAuthors:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            (["By Shivam Gulati"], ["Shivam Gulati"]),
            (["Jane Doe and John Smith"], ["Jane Doe", "John Smith"]),
            (["Jane Doe, John Smith & Ann Lee"], ["Jane Doe", "John Smith", "Ann Lee"]),
            (["Jane Doe, Senior Editor"], ["Jane Doe"]),
            (["Jane Doe - Staff Writer"], ["Jane Doe"]),
            (["Jane Doe (jane@example.com)"], ["Jane Doe"]),
            (["Jane Doe @janedoe"], ["Jane Doe"]),
            (["Von Anna Müller und Jonas Weber"], ["Anna Müller", "Jonas Weber"]),
            (["Par Claire Dubois"], ["Claire Dubois"]),
            (["Por María López y Juan Pérez"], ["María López", "Juan Pérez"]),
            (["DualShockers Staff"], []),
            (["Variety"], []),
            (["Jane Doe", "jane doe"], ["Jane Doe"]),
            (["JANE DOE"], ["Jane Doe"]),
            (["Leonardo Di Caprio"], ["Leonardo Di Caprio"]),
            (["Ursula von der Leyen"], ["Ursula von der Leyen"]),
            (["Mohamed al-Fayed, Charles d'Artagnan"], ["Mohamed al-Fayed", "Charles d'Artagnan"]),
            (["bell hooks"], ["bell hooks"]),
            (["Variety with Agencies"], []),
            (["Variety Staff Writers"], []),
            (["The Russian and Syrian defense ministries"], []),
            (["Analysis by Chris Cillizza, CNN Editor-at-large"], ["Chris Cillizza"]),
            (["Bruce Y. Lee"], ["Bruce Y. Lee"]),
            (["By Jane Doe • Published Nov 18, 2019"], ["Jane Doe"]),
            (["Julian Borger in Washington and Jane Doe in London"], ["Julian Borger", "Jane Doe"]),
            (["Jane Doe at the Oscars", "John Roe for CNN"], ["Jane Doe", "John Roe"]),
            (["Associated Press in Valencia"], ["Associated Press"]),
            (["Jane Doe with additional reporting by John Roe"], ["Jane Doe", "John Roe"]),
            (["María López y Juan Pérez"], ["María López", "Juan Pérez"]),
            (["Mike Wuerthele and Malcolm Owen, Monday"], ["Mike Wuerthele", "Malcolm Owen"]),
            (["Rachael Link, MS, RD"], ["Rachael Link"]),
            (["Sandee LaMotte, CNN"], ["Sandee LaMotte"]),
            (["Variety Business"], []),
            (["Jonathan Variety"], ["Jonathan Variety"]),
        ],
    )
    def test_clean(self, raw: list[str], expected: list[str]) -> None:
        assert clean_authors(raw, ["DualShockers", "Variety", "variety.com"]) == expected

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            (["Variety"], ["Variety"]),  # the outlet itself credited as the author
            (["By variety.com"], ["variety.com"]),
            (["DualShockers Staff"], ["DualShockers Staff"]),
            (["Guardian staff reporter"], ["Guardian staff reporter"]),
            (["Guardian staff in Valencia"], ["Guardian staff"]),
            (["Gear Team | 5 November 2024"], ["Gear Team"]),
            (["Variety", "VARIETY"], ["Variety"]),
            (["Staff Reporter"], []),  # a desk of no one named
            (["Redaktion"], []),
            (["STAFF PHOTO BY JANE DOE"], []),  # a photo credit
            (["Foto: Variety"], []),
            (["Acme Studios"], []),  # neither the outlet nor a desk, and not typed
            (["Jane Doe"], []),
        ],
    )
    def test_organisations(self, raw: list[str], expected: list[str]) -> None:
        assert clean_organisations(raw, ["DualShockers", "Variety", "variety.com"]) == expected

    def test_organisation_typed_as_one_is_kept_whole(self) -> None:
        raw = ["Contributors to Wikimedia projects", "Acme Studios", "x" * 61]
        assert clean_organisations(raw, [], any_name=True) == [
            "Contributors to Wikimedia projects",
            "Acme Studios",
        ]

    def test_cleaning_keeps_the_organisation_credited_when_no_person_is(self) -> None:
        def authors(raw: list[str]) -> list[str]:
            item = ArticleItem(url="https://www.spiegel.de/x", site_name="DER SPIEGEL", authors=raw)
            return clean_fields(item, site_names=["DER SPIEGEL"]).authors

        assert authors(["DER SPIEGEL"]) == ["DER SPIEGEL"]
        assert authors(["By Jane Doe", "DER SPIEGEL"]) == ["Jane Doe"]  # a person first
        assert authors(["dpa", "DER SPIEGEL"]) == ["dpa"]  # and an agency


class TestDates:
    def test_iso_with_offset_keeps_offset(self) -> None:
        dt = parse_date("2022-06-06T12:05:00-04:00")
        assert dt == datetime(2022, 6, 6, 16, 5, tzinfo=timezone.utc)
        assert utc_offset_minutes(dt) == -240

    def test_iso_z_and_fraction(self) -> None:
        dt = parse_date("2022-06-06T16:05:00.123Z")
        assert dt is not None and dt.tzinfo is not None and dt.microsecond == 123000

    def test_naive_stays_naive_until_zone_given(self) -> None:
        dt = parse_date("2022-06-06 16:05:00")
        assert dt is not None and dt.tzinfo is None
        aware = ensure_aware(dt, "America/New_York")
        assert aware is not None and utc_offset_minutes(aware) == -240

    def test_season_dependent_us_zone(self) -> None:
        summer = parse_date("6/14/2022 12:40 AM PT")
        winter = parse_date("12/14/2022 12:40 AM PT")
        assert summer is not None and utc_offset_minutes(summer) == -7 * 60
        assert winter is not None and utc_offset_minutes(winter) == -8 * 60

    def test_free_text(self) -> None:
        assert parse_date("June 6, 2022") == datetime(2022, 6, 6)

    def test_german_text(self) -> None:
        dt = parse_date("6. Juni 2022, 14:03 Uhr", languages=["de"])
        assert dt == datetime(2022, 6, 6, 14, 3)

    def test_relative_against_fetch_time(self) -> None:
        dt = parse_date("2 hours ago", now=NOW)
        assert dt is not None
        assert abs(dt.replace(tzinfo=timezone.utc) - (NOW - timedelta(hours=2))) < timedelta(
            minutes=1
        )

    def test_garbage(self) -> None:
        assert parse_date("not a date") is None
        assert parse_date("2022-13-45") is None
        assert parse_date("") is None

    def test_url_date(self) -> None:
        assert date_from_url("https://x.com/2022/06/06/slug/") == datetime(2022, 6, 6)
        assert date_from_url("https://x.com/news/20220606-slug") == datetime(2022, 6, 6)
        assert date_from_url("https://x.com/slug-123456/") is None

    def test_future(self) -> None:
        assert is_future(NOW + timedelta(days=3), NOW)
        assert not is_future(NOW + timedelta(hours=2), NOW)

    def test_since(self) -> None:
        assert parse_since("2d", NOW) == NOW - timedelta(days=2)
        assert parse_since("2022-06-01", NOW) == datetime(2022, 6, 1, tzinfo=timezone.utc)
        with pytest.raises(ValueError, match="cannot read"):
            parse_since("yesterday-ish", NOW)


class TestUrls:
    def test_tracking_and_fragment_removed(self) -> None:
        url = "HTTPS://WWW.Example.com:443/a/b/?utm_source=rss&id=7&fbclid=x#comments"
        assert canonicalize_url(url) == "https://www.example.com/a/b/?id=7"

    def test_relative(self) -> None:
        assert canonicalize_url("/x/", "https://a.com/y/z") == "https://a.com/x/"

    @pytest.mark.parametrize(
        "bad", ["javascript:alert(1)", "mailto:a@b.c", "data:text/html,x", "ftp://a/b", "", "  "]
    )
    def test_non_http_refused(self, bad: str) -> None:
        assert canonicalize_url(bad) is None


def test_normalize_item_applies_zone_and_rejects_future() -> None:
    item = ArticleItem(
        url="https://www.dualshockers.com/x/?utm_source=feed",
        title="A headline | DualShockers",
        authors=["By Jane Doe and John Smith"],
        published=datetime(2022, 6, 6, 12, 0),
        published_raw="June 6, 2022 12:00",
        modified=datetime(2030, 1, 1, tzinfo=timezone.utc),
        modified_raw="2030-01-01",
        body="Para one.\n\n\n\nPara two.",
        fetched_at=NOW,
    )
    # Cleaned as the extractor cleans (site name, byline, URL, paragraphs), then normalized.
    cleaned = clean_fields(item, site_names=["DualShockers"])
    result = normalize_item(cleaned, tz="America/New_York", site_names=["DualShockers"])
    out = result.item
    assert normalize_item(item, tz="America/New_York").item.title == item.title  # not again
    assert out.title == "A headline"
    assert out.authors == ["Jane Doe", "John Smith"]
    assert out.published == datetime(2022, 6, 6, 16, 0, tzinfo=timezone.utc)
    assert out.modified is None and out.modified_raw == "2030-01-01"
    assert result.notes == ["future_modified_date"]
    assert out.canonical_url == "https://www.dualshockers.com/x/"
    assert out.body == "Para one.\n\nPara two."


class TestDatesIssue12:
    """Date shapes seen on pages outside the development corpora (issue 12)."""

    def test_url_date_with_a_month_name(self) -> None:
        assert date_from_url("https://x.com/film/2016/nov/29/slug") == datetime(2016, 11, 29)
        assert date_from_url("https://x.com/news/2023/Apr/28/slug/") == datetime(2023, 4, 28)
        assert date_from_url("https://x.com/2016/september/9/slug") == datetime(2016, 9, 9)
        # A month without a day is no calendar date; a word that only starts like a
        # month is no month.
        assert date_from_url("https://x.com/2016/nov/slug") is None
        assert date_from_url("https://x.com/2016/mayhem/29/slug") is None
        # "/2012/08/3d-map-of-galaxies": a slug starting with a digit, not a day.
        assert date_from_url("https://x.com/2012/08/3d-map-of-galaxies.html") is None

    @pytest.mark.parametrize("raw", ["2019", "© 2019", "6y", "6 years ago", "last year"])
    def test_a_year_alone_is_no_date(self, raw: str) -> None:
        assert parse_date(raw, now=NOW) is None

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("2019年4月22日", datetime(2019, 4, 22)),
            ("2019年4月22日(月) 10:30", datetime(2019, 4, 22, 10, 30)),
            ("2019년 4월 22일 오후 3:20", datetime(2019, 4, 22, 15, 20)),
            ("2019.03.05", datetime(2019, 3, 5)),
            ("2019/04/04", datetime(2019, 4, 4)),
        ],
    )
    def test_cjk_formats(self, raw: str, expected: datetime) -> None:
        assert parse_date(raw, now=NOW) == expected

    def test_relative_dates_count_from_the_fetch_time_only(self) -> None:
        # Without a fetch time there is nothing to count back from: not the clock.
        for raw in ("2 hours ago", "3 days ago", "yesterday", "vor 3 Tagen", "June 6"):
            assert parse_date(raw) is None, raw
        # Counted back from the fetch time in UTC: an instant, not a local wall clock that
        # normalization would place in the source's zone (hours off).
        assert parse_date("2 hours ago", now=NOW) == NOW - timedelta(hours=2)

    def test_a_coarse_relative_date_gets_no_time_of_day(self) -> None:
        # "3 days ago" names a day, not the minute of the fetch three days back.
        assert parse_date("3 days ago", now=NOW) == datetime(2022, 6, 3)
        assert parse_date("yesterday", now=NOW) == datetime(2022, 6, 5)
        # A month, stored as its first day like "February 2022" (month precision).
        assert parse_date("4 months ago", now=NOW) == datetime(2022, 2, 1)
