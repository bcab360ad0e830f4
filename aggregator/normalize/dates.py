"""Dates: ISO strings on a fast path, free text through dateparser, zones made explicit.

dateparser is imported lazily: it costs about half a second at import and most pages
carry ISO 8601 dates in JSON-LD or meta tags, which never need it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any, Literal, NamedTuple, get_args

# How finely a page states a date, coarsest first. "hour" exists for relative times the
# page counts in hours ("3 hours ago") and clock times without minutes ("3 pm"); a year
# alone is no date at all (see _dateparser). No finer than "second": fractions of a
# second are kept in the value, but no page's statement is compared below the second.
Precision = Literal["month", "day", "hour", "minute", "second"]
PRECISIONS: tuple[Precision, ...] = get_args(Precision)


def finer(a: str | None, b: str | None) -> bool:
    """True when precision ``a`` is strictly finer than ``b`` (an unknown one is neither
    finer nor coarser than any)."""
    if a not in PRECISIONS or b not in PRECISIONS:
        return False
    return PRECISIONS.index(a) > PRECISIONS.index(b)


def has_time_of_day(precision: str | None) -> bool:
    """True for a precision that states a time of day (hour, minute, second)."""
    return precision in ("hour", "minute", "second")


class ParsedDate(NamedTuple):
    """A date as read from a page: the value and how finely the page stated it."""

    value: datetime
    precision: Precision


_ISO = re.compile(
    r"^\s*(\d{4})-?(\d{2})-?(\d{2})"
    r"(?:[T ](\d{1,2}):?(\d{2})(?::?(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?\s*$",
    re.IGNORECASE,
)
_EPOCH = re.compile(r"^\s*(\d{10})(\d{3})?\s*$")
# Dates inside URLs: /2022/06/06/ or /2022-06-06- or /20220606/, or with the month's
# English name or its abbreviation: /2016/nov/29/. A day runs into no letter or digit
# ("/2012/08/3d-map" is a month and a slug).
_URL_DATE = re.compile(
    r"(?<!\d)(20\d{2}|19\d{2})[/_-](0?[1-9]|1[0-2])[/_-](0?[1-9]|[12]\d|3[01])(?![^\W_])"
    r"|(?<!\d)(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?!\d)"
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_URL_DATE_NAMED = re.compile(
    r"(?<!\w)(20\d{2}|19\d{2})[/_-]"
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
    r"[/_-](0?[1-9]|[12]\d|3[01])(?![^\W_])",
    re.IGNORECASE,
)
# RFC 822/2822 as in RSS pubDate: "Mon, 06 Jun 2022 16:05:00 +0000".
_RFC822 = re.compile(
    r"^\s*(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s+)?\d{1,2}\s+[A-Za-z]{3}[a-z]*\s+\d{2,4}"
    r"\s+\d{1,2}:\d{2}"
)
# US zone names without standard/daylight: their offset depends on the date.
_DST_ZONES = {
    "PT": "America/Los_Angeles", "PACIFIC": "America/Los_Angeles",
    "MT": "America/Denver", "MOUNTAIN": "America/Denver",
    "CT": "America/Chicago", "CENTRAL": "America/Chicago",
    "ET": "America/New_York", "EASTERN": "America/New_York",
}  # fmt: skip
_DST_ZONE = re.compile(r"\s(PT|MT|CT|ET|Pacific|Mountain|Central|Eastern)\.?$", re.IGNORECASE)
# A date may be at most this far ahead of the fetch time (clock skew, zone confusion).
FUTURE_SLACK = timedelta(hours=26)
# No entertainment outlet published on the web before this; an earlier date on a page is
# a placeholder or a parse of something else (year 0001, "1970-01-01" from epoch 0).
EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)


def _offset(text: str) -> tzinfo:
    text = text.upper()
    if text in ("Z", "UTC", "GMT"):
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 18 or minutes > 59:
        raise ValueError(text)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_iso(raw: str) -> datetime | None:
    """Parse ISO 8601 (and its common sloppy variants); aware if the string has a zone."""
    parsed = parse_iso_precision(raw)
    return parsed.value if parsed else None


# English dates in their two common written forms, with an optional clock time:
# "June 6, 2022", "Oct 16, 2012 4:45 pm", "Monday, October 22, 2012 at 04:17 PM",
# "6 June 2022 14:03". Read here: dateparser gives the same result, but loading its
# locale data costs tens of milliseconds a page, and these are most dates on the web.
_EN_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
_EN_MONTH = "(" + "|".join(sorted(_EN_MONTHS, key=len, reverse=True)) + r")\.?"
_EN_CLOCK = r"(?:,?\s+(?:at\s+)?(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([ap])\.?m\.?)?)?"
_EN_WEEKDAY = r"(?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|urday)?\.?,?\s+)?"
_EN_MDY = re.compile(
    rf"{_EN_WEEKDAY}{_EN_MONTH}\s+(\d{{1,2}}),\s+(\d{{4}}){_EN_CLOCK}", re.IGNORECASE
)
_EN_DMY = re.compile(
    rf"{_EN_WEEKDAY}(\d{{1,2}})\s+{_EN_MONTH}\s+(\d{{4}}){_EN_CLOCK}", re.IGNORECASE
)


def _english_date(raw: str) -> ParsedDate | None:
    """``raw`` in one of the common English forms (see :data:`_EN_MDY`), naive, with
    its precision; None for anything else (dateparser's then)."""
    m = _EN_MDY.fullmatch(raw)
    if m:
        month, day, year = m.group(1), m.group(2), m.group(3)
    else:
        m = _EN_DMY.fullmatch(raw)
        if not m:
            return None
        day, month, year = m.group(1), m.group(2), m.group(3)
    hour, minute, second, half = m.group(4), m.group(5), m.group(6), m.group(7)
    h = int(hour) if hour else 0
    if half:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if half.lower() == "p" else 0)
    try:
        dt = datetime(
            int(year), _EN_MONTHS[month.lower()], int(day), h,
            int(minute) if minute else 0, int(second) if second else 0,
        )  # fmt: skip
    except ValueError:
        return None
    precision: Precision = "second" if second else "minute" if minute else "day"
    return ParsedDate(dt, precision)


def parse_iso_precision(raw: str) -> ParsedDate | None:
    """:func:`parse_iso` with the precision the string states: ``2022-06-06`` is "day",
    ``2022-06-06T12:05`` "minute", with seconds (``T00:00:00Z`` too: the string states
    them, midnight or not) or as a Unix epoch "second"."""
    m = _ISO.match(raw)
    if not m:
        e = _EPOCH.match(raw)
        if e:
            return ParsedDate(datetime.fromtimestamp(int(e.group(1)), tz=timezone.utc), "second")
        return None
    year, month, day, hour, minute, second, frac, zone = m.groups()
    precision: Precision = "second" if second else "minute" if minute else "day"
    try:
        micro = int((frac or "0")[:6].ljust(6, "0"))
        tz = _offset(zone) if zone else None
        value = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
            tzinfo=tz,
        )
    except ValueError:
        return None
    return ParsedDate(value, precision)


@lru_cache(maxsize=64)
def _zone(name: str | None) -> tzinfo | None:
    if not name:
        return None
    if name.upper() in ("UTC", "GMT", "Z"):
        return timezone.utc
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):
        return None


def zone(name: str | None) -> tzinfo | None:
    """A tzinfo for an IANA name (``America/New_York``), or None if unknown."""
    return _zone(name)


def parse_date(
    raw: str | None,
    *,
    now: datetime | None = None,
    languages: list[str] | None = None,
    tz: str | None = None,
) -> datetime | None:
    """Parse a date string as it appears on a page (see :func:`parse_date_precision`,
    which also says how finely the page stated it)."""
    parsed = parse_date_precision(raw, now=now, languages=languages, tz=tz)
    return parsed.value if parsed else None


def parse_date_precision(
    raw: str | None,
    *,
    now: datetime | None = None,
    languages: list[str] | None = None,
    tz: str | None = None,
) -> ParsedDate | None:
    """Parse a date string as it appears on a page, with the precision it states.

    ISO 8601 takes a fast path; anything else ("June 6, 2022", "6. Juni 2022, 14:03 Uhr",
    "2 hours ago") goes through dateparser, relative dates counted back from ``now``
    (the fetch time). The result is aware when the string names a zone, ``tz`` is given or
    it is a time counted back from an aware ``now`` ("2 hours ago": an instant, UTC);
    naive otherwise; naive results are local times whose zone the caller decides.

    Precision (:data:`Precision`) is what the string states, never more: ``2022-06-06``,
    "June 6, 2022", "2019年4月22日", "3 days ago", "yesterday", "2 weeks ago" are "day"
    (the day counted back to; the page's own rounding of "days ago" is not modelled);
    "March 2019", "2019-03", "4 months ago" "month" (stored as its first day);
    "3 hours ago", "3 pm", "15 Uhr" "hour"; "14:03", "3:05 pm", "5 minutes ago",
    "1 hour 20 minutes ago", "just now" "minute"; a time with seconds (``T00:00:00Z``
    included) or an epoch "second". A year alone is no date (None).
    """
    if not raw:
        return None
    raw = raw.strip()
    if not raw or len(raw) > 200:
        return None
    zone_word = _DST_ZONE.search(raw)
    if zone_word:
        # "12:40 AM PT": a zone that is PST or PDT by season, which dateparser fixes at
        # one offset. Parsed naive, then placed in the zone itself.
        raw, tz = raw[: zone_word.start()].strip(), _DST_ZONES[zone_word.group(1).upper()]
    parsed = parse_iso_precision(raw)
    if parsed is None and _RFC822.match(raw):
        try:
            dt = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            pass
        else:
            parsed = ParsedDate(dt, "second" if _CLOCK_SECONDS.search(raw) else "minute")
    if parsed is None:
        parsed = _english_date(raw)
    if parsed is None:
        parsed = _dateparser(raw, now, languages)
    if parsed is None:
        return None
    dt = parsed.value
    if dt.tzinfo is None and tz:
        zi = _zone(tz)
        if zi is not None:
            return ParsedDate(dt.replace(tzinfo=zi), parsed.precision)
    return parsed


# Clock times in free text: with seconds ("15:05:07"), with minutes ("14:03", "14.03",
# "14h03", "10時30分", "3시 20분"; not the "06.06" of "06.06.2022"), or an hour alone
# ("3 pm", "15 Uhr", "15h", "10時").
_CLOCK_SECONDS = re.compile(r"\d{1,2}:\d{2}:\d{2}")
_CLOCK_MINUTES = re.compile(r"(?<![\d.])\d{1,2}\s*[:.h時시]\s*\d{2}(?![\d.])", re.IGNORECASE)
_CLOCK_HOUR = re.compile(r"\d{1,2}\s*(?:[ap]\.?m\b\.?|uhr\b|h\b|時|시)", re.IGNORECASE)


# The base a relative date is counted from when the fetch time is unknown: a date that
# lands before _UNKNOWN_BASE_END was counted from it ("2 hours ago", "yesterday", or a
# day and month whose year comes from the base), and is no date at all.
_UNKNOWN_BASE = datetime(1000, 1, 1)
_UNKNOWN_BASE_END = datetime(1100, 1, 1)


# An ISO 8601 duration ("PT2H", "P1DT30M": a recipe's <time datetime>): no date, and
# dateparser only says so after trying every locale it knows (a second per process).
_ISO_DURATION = re.compile(r"P(?:\d+(?:[.,]\d+)?[YMWD])*(?:T(?:\d+(?:[.,]\d+)?[HMS])+)?")


def _dateparser(raw: str, now: datetime | None, languages: list[str] | None) -> ParsedDate | None:
    if not any(c.isdigit() for c in raw) and not _maybe_relative(raw):
        return None
    if _ISO_DURATION.fullmatch(raw):
        return None
    from dateparser.date import DateDataParser

    settings: dict[str, Any] = {
        "PREFER_DATES_FROM": "past",
        "PREFER_DAY_OF_MONTH": "first",
        "STRICT_PARSING": False,
        "RETURN_TIME_AS_PERIOD": True,
        "RELATIVE_BASE": _UNKNOWN_BASE,
    }
    base = _UNKNOWN_BASE
    if now is not None:
        try:
            base = now.astimezone(timezone.utc).replace(tzinfo=None) if now.tzinfo else now
        except OverflowError:  # within a day of datetime.min/max: UTC is out of range
            base = now.replace(tzinfo=None)
        settings["RELATIVE_BASE"] = base
    data = None
    for langs in (languages, None) if languages else (None,):
        try:
            data = DateDataParser(languages=langs, settings=settings).get_date_data(raw)
        except Exception:  # dateparser raises assorted errors on odd input
            return None
        if data.date_obj is not None:
            break
    if data is None or not isinstance(data.date_obj, datetime):
        return None
    result, period = data.date_obj, data.period
    if period == "year":
        return None  # "2019", "© 2019", "6y": a year alone is no date
    if now is None and result.replace(tzinfo=None) < _UNKNOWN_BASE_END:
        return None  # counted from a fetch time nobody gave, not from the clock
    if period != "time":
        # "3 days ago", "yesterday": the day (or month) it names, without the time of
        # day of the base it was counted from, which the page never gave. A week ("2
        # weeks ago") is the day it counts back to.
        day = result.replace(hour=0, minute=0, second=0, microsecond=0)
        return ParsedDate(day, "month" if period == "month" else "day")
    if _CLOCK_SECONDS.search(raw):
        return ParsedDate(result, "second")
    if _CLOCK_MINUTES.search(raw):
        return ParsedDate(result, "minute")
    if _CLOCK_HOUR.search(raw):
        return ParsedDate(result, "hour")
    # No clock time written: a time counted back from the fetch ("3 hours ago", "vor 10
    # Min.", "just now"), in any language. Whole hours back is what the page said to
    # the hour; anything else was counted in minutes (or seconds: no page's "30 seconds
    # ago" is meant finer than the minute). The base was the fetch time in UTC, so the
    # result is a UTC instant, not a local wall clock for the caller to place in a zone.
    back = base - result
    precision: Precision = (
        "hour" if back.total_seconds() > 0 and back.total_seconds() % 3600 == 0 else "minute"
    )
    if now is not None and now.tzinfo is not None:
        result = result.replace(tzinfo=timezone.utc)
    return ParsedDate(result, precision)


_RELATIVE_WORDS = re.compile(
    r"\b(ago|yesterday|today|hour|minute|day|week|vor|gestern|heute|hier|aujourd|hace|ayer|hoy)",
    re.IGNORECASE,
)


def _maybe_relative(raw: str) -> bool:
    return bool(_RELATIVE_WORDS.search(raw))


def date_from_url(url: str) -> datetime | None:
    """A calendar date embedded in an article URL (``/2022/06/06/slug``), naive, or None.
    Its precision is "day": a URL never names the time of day."""
    m = _URL_DATE.search(url)
    named = _URL_DATE_NAMED.search(url)
    if named and (not m or named.start() < m.start()):
        year, name, day = named.groups()
        month = _MONTHS.index(name[:3].lower()) + 1
    elif m:
        g = m.groups()
        year, month, day = (g[0], int(g[1]), g[2]) if g[0] else (g[3], int(g[4]), g[5])
    else:
        return None
    try:
        return datetime(int(year), month, int(day))
    except ValueError:
        return None


def ensure_aware(dt: datetime | None, tz: str | None) -> datetime | None:
    """Give a naive datetime the zone ``tz`` (IANA name; UTC if unknown or None)."""
    if dt is None or dt.tzinfo is not None:
        return dt
    return dt.replace(tzinfo=_zone(tz) or timezone.utc)


def is_future(dt: datetime, now: datetime) -> bool:
    """True if ``dt`` lies beyond ``now`` by more than clock skew and zone slips allow."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return dt - now > FUTURE_SLACK


def date_problem(dt: datetime, now: datetime) -> str | None:
    """Why ``dt`` cannot be a publication time fetched at ``now``: "impossible" (its
    instant does not exist in UTC: ``0001-01-01T00:00+14:00``), "implausible" (before
    :data:`EARLIEST`), "future" (see :func:`is_future`); None when it can be."""
    aware = dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    if is_future(aware, now):
        return "future"
    try:
        utc = aware.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return "impossible"
    return "implausible" if utc < EARLIEST else None


def utc_offset_minutes(dt: datetime | None) -> int | None:
    """The datetime's UTC offset in minutes (the page's own offset), None if naive."""
    if dt is None or dt.tzinfo is None:
        return None
    off = dt.utcoffset()
    return None if off is None else int(off.total_seconds() // 60)


_SPAN = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)
_SPAN_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str | None, now: datetime) -> datetime | None:
    """A window bound: an ISO date/time (``2022-06-01``) or a span back from ``now``
    (``30m``, ``12h``, ``2d``, ``1w``). Aware UTC; raises ValueError on anything else."""
    if value is None or not str(value).strip():
        return None
    m = _SPAN.match(str(value))
    if m:
        n, unit = int(m.group(1)), m.group(2).lower()
        try:
            return now - timedelta(**{_SPAN_UNITS[unit]: n})
        except OverflowError as exc:  # "99999999999w", or a span reaching before year 1
            raise ValueError(f"cannot go back {value!r} from {now.isoformat()}") from exc
    dt = parse_iso(str(value))
    if dt is None:
        raise ValueError(
            f"cannot read {value!r} as a date: use 2022-06-01, 2022-06-01T12:00Z or 12h/2d/1w"
        )
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def on_page_clock(dt: datetime, offset_minutes: int | None) -> datetime:
    """``dt`` on its page's clock: the same instant at the UTC offset stored with it
    (``published_offset``); as it is when there is none."""
    if offset_minutes is None:
        return dt
    try:
        return dt.astimezone(timezone(timedelta(minutes=offset_minutes)))
    except (ValueError, OverflowError):  # an offset no zone has, or out of range there
        return dt


def iso_date(dt: datetime, precision: str | None, offset_minutes: int | None = None) -> str:
    """ISO 8601 for machine output (JSON): the instant itself, a month- or day-precision
    date written at its page's offset so that its date part is the page's date (a day in
    Tokyo is ``2022-06-06T00:00:00+09:00``, not ``2022-06-05T15:00:00+00:00``)."""
    if precision in ("month", "day"):
        dt = on_page_clock(dt, offset_minutes)
    return dt.isoformat()


def format_date(dt: datetime, precision: str | None, offset_minutes: int | None = None) -> str:
    """A date for people, as finely as the page stated it: ``2019-03`` (month),
    ``2022-06-06`` (day, the page's calendar date: read at its offset), ``2022-06-06 15h``
    (hour), ``2022-06-06 15:05`` (minute, second, or unknown precision: stored before it
    was recorded). Times of day are shown as ``dt`` is (UTC, as stored)."""
    if precision == "month":
        return on_page_clock(dt, offset_minutes).strftime("%Y-%m")
    if precision == "day":
        return on_page_clock(dt, offset_minutes).date().isoformat()
    if precision == "hour":
        return dt.strftime("%Y-%m-%d %Hh")
    return dt.strftime("%Y-%m-%d %H:%M")
