"""Categories from what a page says about itself, over what its outlet mostly covers.

An outlet's registry category says what it mostly covers; the article's own section,
tags and headline say what this article is. GameSpot's "Entertainment" section reports
TV, Rolling Stone (a music outlet) runs a "TV & Movie News" section, a copyright trial
over a pop song runs in Deadline's "Legal" section. Each article scores the categories
(:func:`article_scores`) and a story's category is the heaviest over its articles
(:func:`vote`):

- the page's section (its label: article:section, JSON-LD articleSection or the
  breadcrumb, as extracted; else its URL path's section, ``/tv-movies/tv-movie-news/``):
  4 to the one category it names, or 2 to each when it names several;
- its tags: 2 to each category a tag names ("TV", "Box Office", "New Music");
- its headline and dek: 1 per kind of word that marks a category ("episode", "album",
  "box office"), at most 2 a category;
- its outlet's registry category: 1 ("general" does not vote), and none when the page's
  section names categories and not that one (Rolling Stone's "TV & Movie News" rules out
  music).

So the page's own section or tags always outweigh the outlet's default, and two words of
the headline and dek do too.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

# Whole words of a section label (or tag) that name one category. A label naming two
# ("Movies & TV") is no single category, but it does rule the others out.
_WORDS: dict[str, re.Pattern[str]] = {
    "tv": re.compile(r"\b(?:tv|television|series|streaming|fernsehen|serien?|télé)\b"),
    "film": re.compile(r"\b(?:movies?|films?|cinema|kino|box office)\b"),
    "music": re.compile(r"\b(?:music|musik|musique|albums?|songs?|concerts?|hip-hop|k-pop)\b"),
    "games": re.compile(r"\b(?:games?|gaming|esports|spiele)\b"),
    "celebrity": re.compile(r"\b(?:celebrity|celebrities|celebs?|royals?|gossip|promis?)\b"),
}

# Words of headlines and deks that mark a category. Narrower than the label words:
# "game" is left out ("Squid Game", "Game of Thrones"), and so is "season" without a
# number ("awards season").
_CUES: dict[str, re.Pattern[str]] = {
    "tv": re.compile(
        r"\b(?:tv|television|(?:mini|docu)?series|sitcom|episodes?|showrunners?|season \d+"
        r"|renew(?:s|ed|al)|spin-?off|anime|staffel|saison|temporada)\b"
    ),
    "film": re.compile(
        r"\b(?:movies?|films?|filmmakers?|box office|opening weekend|biopic|theatrical"
        r"|cinemas?|kino)\b"
    ),
    "music": re.compile(
        r"\b(?:albums?|singles?|songs?|singers?|songwriters?|rappers?|bands?|tour|concerts?"
        r"|hymns?|gospel|mixtapes?|music|pop (?:duo|star|singer)|hip-hop|k-pop|grammys?)\b"
    ),
    "games": re.compile(
        r"\b(?:gaming|gameplay|gamers?|video ?games?|consoles?|playstation|ps[45]|xbox"
        r"|nintendo|dlc|esports|rpg|remaster(?:ed)?|free-to-play|early access|patch)\b"
    ),
    "celebrity": re.compile(
        r"\b(?:wedding|marries|married|engaged|engagement|divorce|divorcing|dating"
        r"|pregnant|pregnancy|red carpet|star-studded|romance|paparazzi)\b"
    ),
}

# Words a URL path's section segment may hold besides category words
# ("/tv-movies/tv-movie-news/", "/news/music/", "/2022/film/news/"); a segment with any
# other word is an article's slug, whose words say nothing about its section.
_SECTION_FILLER = frozenset(
    "news reviews review features feature interviews interview lists trailers trailer "
    "and entertainment culture pop rock country latin box office video videos recaps "
    "recap awards the".split()
)

PAGE_WEIGHT = 4
"""The page's section naming one category (each of several: half)."""
TAG_WEIGHT = 2
TEXT_WEIGHT = 1
"""Per kind of marking word in the headline and dek, up to ``TEXT_CAP``."""
TEXT_CAP = 2
SOURCE_WEIGHT = 1


def categories_named(label: str | None) -> frozenset[str]:
    """Every category a section label or tag names ("Movies & TV": film and tv)."""
    if not label:
        return frozenset()
    text = label.casefold()
    return frozenset(cat for cat, pattern in _WORDS.items() if pattern.search(text))


def category_of_section(section: str | None) -> str | None:
    """The one category a section label names, else None.

    >>> category_of_section("TV News"), category_of_section("Movies & TV")
    ('tv', None)
    """
    found = categories_named(section)
    return next(iter(found)) if len(found) == 1 else None


def categories_of_url(url: str | None) -> frozenset[str]:
    """The categories the section segments of a URL's path name: ``tv`` and ``film`` for
    ``/tv-movies/tv-movie-news/night-shift-peacock-trailer-1234591807/``. A segment
    counts when every word of it is a category word or section filler."""
    if not url:
        return frozenset()
    found: set[str] = set()
    for segment in urlsplit(url).path.casefold().split("/"):
        words = [w for w in re.split(r"[-_+.]+", segment) if w]
        if not words or not any(not w.isdigit() for w in words):
            continue
        cats = [categories_named(w) for w in words]
        if all(c or w in _SECTION_FILLER for w, c in zip(words, cats, strict=True)):
            found.update(*cats)
    return frozenset(found)


@dataclass(frozen=True)
class Evidence:
    """What one article says about its category."""

    section: str | None = None
    url: str | None = None
    tags: Sequence[str] = ()
    title: str = ""
    subtitle: str | None = None
    source_category: str | None = None
    """The outlet's registry category."""


def article_scores(e: Evidence) -> Counter[str]:
    """The weight ``e`` gives each category (see the module's docstring)."""
    scores: Counter[str] = Counter()
    page = categories_named(e.section) or categories_of_url(e.url)
    for cat in page:
        scores[cat] += PAGE_WEIGHT if len(page) == 1 else PAGE_WEIGHT // 2
    tagged = {category_of_section(t) for t in e.tags or () if isinstance(t, str)} - {None}
    for cat in sorted(c for c in tagged if c):
        scores[cat] += TAG_WEIGHT
    text = f"{e.title or ''}\n{e.subtitle or ''}".casefold().replace("’", "'")
    for cat, pattern in _CUES.items():
        kinds = {m.group(0) for m in pattern.finditer(text)}
        if kinds:
            scores[cat] += TEXT_WEIGHT * min(len(kinds), TEXT_CAP)
    default = e.source_category
    if default and default != "general" and (not page or default in page):
        scores[default] += SOURCE_WEIGHT
    return scores


def vote(articles: Iterable[Evidence]) -> str | None:
    """A story's category: the heaviest over its articles' :func:`article_scores`.

    Ties go to the alphabetically first, so the result depends only on the set of
    articles, never on the order they arrived in."""
    weights: Counter[str] = Counter()
    for e in articles:
        weights.update(article_scores(e))
    weights = +weights  # drop zero weights
    if not weights:
        return None
    return min(weights, key=lambda c: (-weights[c], c))
