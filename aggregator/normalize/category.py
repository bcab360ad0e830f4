"""Categories from a page's own section label ("TV News", "Movies", "Game News").

An outlet's registry category says what it mostly covers; the section an article sits in
says what this article is. GameSpot's "Entertainment" section reports TV, Collider (a film
site) runs "TV News", and a story's category is voted from its articles (see
:func:`vote`), so the page's own label counts for more than the outlet's default.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

# Whole words of a section label that name one category. A label naming two ("Movies &
# TV") or none ("News", "Legal") gives no category: the outlet's default then applies.
_WORDS: dict[str, re.Pattern[str]] = {
    "tv": re.compile(r"\b(?:tv|television|series|streaming|fernsehen|serien?|télé)\b"),
    "film": re.compile(r"\b(?:movies?|films?|cinema|kino|box office)\b"),
    "music": re.compile(r"\b(?:music|musik|musique|albums?|songs?|concerts?|hip-hop|k-pop)\b"),
    "games": re.compile(r"\b(?:games?|gaming|esports|spiele)\b"),
    "celebrity": re.compile(r"\b(?:celebrity|celebrities|celebs?|royals?|gossip|promis?)\b"),
}

# Weights of the two kinds of evidence in a story's vote.
SECTION_WEIGHT = 2
SOURCE_WEIGHT = 1


def category_of_section(section: str | None) -> str | None:
    """The one category a section label names, else None.

    >>> category_of_section("TV News"), category_of_section("Movies & TV")
    ('tv', None)
    """
    if not section:
        return None
    label = section.casefold()
    found = [cat for cat, pattern in _WORDS.items() if pattern.search(label)]
    return found[0] if len(found) == 1 else None


def vote(articles: Iterable[tuple[str | None, str | None]]) -> str | None:
    """A story's category from its articles' ``(section, source category)`` pairs.

    Each article votes once: for its section's category (weight 2) when the label names
    one, else for its outlet's registry category (weight 1; "general" does not vote).
    The heaviest wins; ties go to the alphabetically first, so the result depends only
    on the set of articles, never on the order they arrived in.
    """
    weights: Counter[str] = Counter()
    for section, source_category in articles:
        cat = category_of_section(section)
        if cat:
            weights[cat] += SECTION_WEIGHT
        elif source_category and source_category != "general":
            weights[source_category] += SOURCE_WEIGHT
    if not weights:
        return None
    return min(weights, key=lambda c: (-weights[c], c))
