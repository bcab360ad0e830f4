"""Author names: from messy bylines to a list of clean person names (and, for a page that
credits no person, the organisation or desk it credits)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from aggregator.normalize.text import clean_text
from aggregator.normalize.titles import name_key, site_keys

# "By", and its equivalents in the languages we meet, at the start of a byline.
_BY_PREFIX = re.compile(
    r"^\s*(?:(?:written|posted|reported|words|story|text|photos?|interview|analysis|opinion"
    r"|commentary|review|essay|column)\s+(?:by|von)\b\s*:?"
    r"|by\b\s*:?|von\b\s*:?|par\b\s*:?|por\b\s*:?|autor(?:in|a)?\s*:|author\s*:"
    r"|texte?\s*:|redaktion\s*:|from\s+(?=[A-Z]))\s*",
    re.IGNORECASE,
)
# Short lowercase particles ("di Mario Rossi", "door Jan Jansen") only when lowercase, so
# names such as "Di Caprio" or "De Niro" survive.
_LOWER_PREFIX = re.compile(r"^(?:di|da|de|door|af|av|vom)\s+(?=[^\W\d_])")
# Separators between several authors.
# The one-letter conjunctions (Spanish "y", Italian "e", Polish "i") only in lowercase
# between spaces: "Bruce Y. Lee" is one name.
_SPLIT = re.compile(
    r"\s*(?:,|;|\||/|\s&\s|\s\+\s|\band\b|\bund\b|\bet\b|\ben\b|\bog\b|\boch\b"
    r"|(?-i:\s[yei]\s))\s*",
    re.IGNORECASE,
)
_CREDIT = re.compile(
    r"^\W*(?:foto|fotos|photo|photos|bild|bilder|image|images|credit|getty|imago|picture|©|\(c\))\b",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"\S+@\S+\.\S+")
_HANDLE = re.compile(r"(?<!\w)@\w+")
_URL = re.compile(r"https?://\S+|www\.\S+")
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_DIGITS = re.compile(r"\d")
# Words that make a segment a role, a date or a place, not a name.
_ROLE_WORDS = frozenset(
    [
        "editor",
        "editors",
        "editorial",
        "writer",
        "writers",
        "reporter",
        "reporters",
        "correspondent",
        "correspondents",
        "contributor",
        "contributors",
        "contributing",
        "staff",
        "senior",
        "chief",
        "managing",
        "associate",
        "executive",
        "deputy",
        "assistant",
        "freelance",
        "freelancer",
        "columnist",
        "critic",
        "critics",
        "producer",
        "host",
        "anchor",
        "photographer",
        "photographers",
        "photos",
        "photo",
        "intern",
        "news",
        "desk",
        "team",
        "newsroom",
        "published",
        "updated",
        "posted",
        "min",
        "mins",
        "minute",
        "minutes",
        "read",
        "hours",
        "hour",
        "ago",
        "am",
        "pm",
        "gmt",
        "utc",
        "est",
        "edt",
        "pst",
        "pdt",
        "bst",
        "cet",
        "cest",
        "redakteur",
        "redakteurin",
        "redaktion",
        "korrespondent",
        "korrespondentin",
        "autor",
        "autorin",
        "mitarbeiter",
        "leiter",
        "leiterin",
        "ressortleiter",
        "chefredakteur",
        "stellvertretender",
        "freier",
        "freie",
        "agentur",
        "agenturen",
        "agencies",
        "wires",
        "dpa",
        "afp",
        "reuters",
        "ap",
        "sid",
        "kna",
        "epd",
        "apa",
    ]
)
_ORG_WORDS = frozenset(
    [
        "news",
        "media",
        "group",
        "magazine",
        "times",
        "post",
        "daily",
        "press",
        "network",
        "online",
        "digital",
        "inc",
        "ltd",
        "llc",
        "gmbh",
        "tv",
        "radio",
        "channel",
        "newspaper",
        "journal",
        "agency",
    ]
)
_AFTER_BYLINE = re.compile(r"\s+[-–—|•·]\s+")
# "Jane Doe with additional reporting by John Roe", "Jane Doe with John Roe": two names.
_CO_AUTHOR = re.compile(r"\s+(?:with\s+)?(?:additional\s+)?reporting\s+by\s+|\s+with\s+(?=[A-Z])")
# Where and for whom a byline was filed: "Julian Borger in Washington", "Jane Doe at the
# Oscars", "Jane Doe for CNN", "Anna Müller aus Berlin". The connector is lowercase.
_PLACE_TRAILER = re.compile(r"\s+(?:in|at|for|from|aus|à)\s+\S.*$")
# Day and month names: a byline's date read as one more name ("Jane Doe, Monday").
_CALENDAR_WORDS = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april"
    " june july august september october november december montag dienstag mittwoch"
    " donnerstag freitag samstag sonntag".split()
)
# Lowercase words inside names: "Ludwig van Beethoven", "Ursula von der Leyen".
_PARTICLES = frozenset(
    "van von der den de del della dei degli di da do dos das du des la le lo bin binti bint"
    " ibn abu ben al el ter ten zu zum zur vom af av op y e jr sr d l dall dell".split()
)
_NAME_CHARS = re.compile(r"^[\w .'’\-]+$", re.UNICODE)


# News agencies: credited as the author of agency copy, so kept (unlike outlet names).
AGENCIES = {
    a.casefold(): a
    for a in (
        "dpa", "AFP", "AP", "Associated Press", "The Associated Press", "Reuters", "SDA", "KNA",
        "epd", "APA", "EFE", "ANSA", "Anadolu Ajansı", "Anadolu Agency", "UPI", "Xinhua",
        "TASS", "PA Media", "Press Association", "Bloomberg", "AAP", "CP", "Kyodo", "Yonhap",
        "SID", "dts", "KNA", "Belga", "ANP", "TT", "NTB", "Ritzau", "Agence France-Presse",
        "Deutsche Presse-Agentur",
    )
}  # fmt: skip
# Role words that follow a name in some languages: "신현주 기자" (reporter), "松岡大地記者".
_ROLE_SUFFIX = re.compile(r"\s*(?:기자|특파원|선임기자|記者|特派員|編集委員|論説委員)$")


def is_agency(name: str) -> bool:
    """True for a news agency's name (dpa, AFP, Reuters, The Associated Press...)."""
    return name.strip().casefold() in AGENCIES


def strip_by(value: str) -> str:
    """Remove a leading "By"/"Von"/"Par"/... and a trailing role after a dash or comma."""
    previous = None
    while previous != value:
        previous = value
        value = _LOWER_PREFIX.sub("", _BY_PREFIX.sub("", value, count=1), count=1)
    return value.strip(" :-–—|,·")


def _is_name(segment: str, sites: set[str]) -> bool:
    words = segment.split()
    if not 1 <= len(words) <= 6 or len(segment) > 60:
        return False
    if _DIGITS.search(segment) or not _NAME_CHARS.match(segment):
        return False
    lowered = {w.strip(".'’").lower() for w in words}
    if (lowered | {p for w in lowered for p in w.split("-")}) & _ROLE_WORDS:
        return False
    if name_key(segment) in sites:
        return False
    if len(words) == 1:
        word = words[0]
        if word.lower() in _CALENDAR_WORDS:
            return False  # "Monday": the dateline's day after the names
        if word.isupper() and len(word) <= 5:
            return False  # "CNN", "MS", "RD": an outlet's or a degree's initials
        k = name_key(word)
        if len(k) >= 4 and any(s.startswith(k) for s in sites):
            return False  # "Vortex" on vortexcannon.org: the outlet's short name
    if len(words) > 1 and lowered & _ORG_WORDS:
        return False
    if len(words) > 1 and words[0].lower() in ("the", "der", "die", "das"):
        return False  # "The Russian", "Der Spiegel": an article starts no person's name
    if len(words) > 1 and name_key(words[0]) in sites:
        # "CNN Business", "Euronews Staff": led by the outlet's name. Only the first
        # word: "Jonathan Hill" may write for The Hill, "Lena Sun" for The Sun.
        return False
    if any(w[0].isupper() for w in words) and any(
        w[0].islower() and re.split(r"[-'’]", w.lower().rstrip("."))[0] not in _PARTICLES
        for w in words
    ):
        return False  # "Euronews with Agencies": a phrase; names lowercase only particles
    # A name has a capitalised word, is in a script without case, or (as structured data
    # sometimes has it: "viktor hedlund") is two or more plain words.
    return len(words) > 1 or any(
        w[0].isupper() or not w[0].isalpha() or w[0].lower() == w[0].upper() for w in words
    )


def _split(value: str) -> list[str]:
    parts = [p for p in _SPLIT.split(value) if p and p.strip()]
    # "Smith, John" style (surname, given name) is rare in news bylines; we do not rejoin.
    return parts


def clean_authors(raw: Iterable[str | None], site_names: Iterable[str | None] = ()) -> list[str]:
    """Clean person names from raw author strings.

    Each raw string may hold several names ("A and B", "A, B & C"), a "By" prefix,
    a role ("Jane Doe, Senior Editor"), an e-mail address, a social handle or the
    outlet's name; all of that is removed. Names are deduplicated case-insensitively,
    in first-seen order.
    """
    sites = site_keys(site_names)
    out: list[str] = []
    seen: set[str] = set()
    for value in raw:
        text = clean_text(value)
        if not text:
            continue
        if _CREDIT.match(text):
            continue  # a photo credit, not a byline
        text = _URL.sub(" ", _EMAIL.sub(" ", text))
        text = _HANDLE.sub(" ", _PARENS.sub(" ", text))
        text = strip_by(text)
        # "Jane Doe - Senior Editor", "Jane Doe | Staff", "Jane Doe • Published Nov 18":
        # a role or a date after a spaced dash, bar or bullet.
        text = _AFTER_BYLINE.split(text)[0]
        text = _CO_AUTHOR.sub(", ", text)
        for part in _split(text):
            name = strip_by(part).strip(" .,:;'\"")
            name = _PLACE_TRAILER.sub("", re.sub(r"\s+", " ", name))
            name = _ROLE_SUFFIX.sub("", name)
            if is_agency(name):
                name = AGENCIES[name.casefold()]
            elif not _is_name(name, sites):
                continue
            if name.isupper() and len(name) > 3:
                name = name.title()
            key = name.casefold()
            if key not in seen:
                seen.add(key)
                out.append(name)
    return out


# Words that make a credit a desk's: "Guardian staff reporter", "Gear Team".
_DESK_WORDS = frozenset(["staff", "desk", "team", "newsroom", "redaktion", "editors"])
# Words of a photo credit or of a phrase naming someone else: "STAFF PHOTO BY JANE DOE".
_NOT_ORGANISATION = frozenset(
    "photo photos foto fotos photographer image images bild bilder picture pictures credit"
    " credits courtesy getty by von par por".split()
)


def _is_organisation(name: str, sites: set[str], any_name: bool) -> bool:
    words = name.split()
    if not 1 <= len(words) <= 6 or len(name) > 60 or not any(c.isalpha() for c in name):
        return False
    lowered = [w.strip(".'’").lower() for w in words]
    if _NOT_ORGANISATION.intersection(lowered):
        return False
    if any_name or name_key(name) in sites:
        return True  # typed as an organisation, or the outlet itself named as the author
    if _DIGITS.search(name) or not _NAME_CHARS.match(name):
        return False
    # A desk: a desk word beside a capitalised word naming whose ("Guardian staff
    # reporter"); "Staff Reporter" alone names no one.
    return any(w in _DESK_WORDS for w in lowered) and any(
        w[0].isupper() and k not in _DESK_WORDS and k not in _ROLE_WORDS
        for w, k in zip(words, lowered, strict=True)
    )


def clean_organisations(
    raw: Iterable[str | None], site_names: Iterable[str | None] = (), *, any_name: bool = False
) -> list[str]:
    """Organisations and desks among raw author credits, for a page that credits no person.

    A credit is kept when it names the outlet itself ("DER SPIEGEL", "ndr.de": one of
    ``site_names`` or its domain) or a desk ("Guardian staff reporter", "Gear Team"); with
    ``any_name`` (credits their source types as organisations), any name of up to six
    words. Cleaned like :func:`clean_authors` ("By", e-mail addresses, handles, URLs, a
    date or role after a spaced dash), but each credit stays whole ("Contributors to
    Wikimedia projects") and as written ("FOCUS online"). Deduplicated case-insensitively,
    in first-seen order.
    """
    sites = site_keys(site_names)
    out: list[str] = []
    seen: set[str] = set()
    for value in raw:
        text = clean_text(value)
        if not text or _CREDIT.match(text):
            continue
        text = _URL.sub(" ", _EMAIL.sub(" ", text))
        text = _HANDLE.sub(" ", _PARENS.sub(" ", text))
        text = _AFTER_BYLINE.split(strip_by(text))[0]
        name = re.sub(r"\s+", " ", strip_by(text)).strip(" .,:;'\"")
        if not any_name and name_key(name) not in sites:
            name = _PLACE_TRAILER.sub("", name)  # "Guardian staff in London"
        if not _is_organisation(name, sites, any_name):
            continue
        key = name.casefold()
        if key not in seen:
            seen.add(key)
            out.append(name)
    return out
