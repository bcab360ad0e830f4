"""Story clusters: different articles about the same event, grouped.

Two articles are *related* when they were published within three days of each other and
their headlines name the same thing (a title-case phrase such as "All of Us Are Dead")
and share most of their other key words. A story is a connected component of the graph
whose edges are "related" or "near-duplicate": components do not depend on the order in
which articles arrive, so the same articles always give the same stories.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

WINDOW = timedelta(days=3)
# Share of headline key terms two related articles must have in common (Jaccard).
MIN_TITLE_OVERLAP = 0.3

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
# Words that carry no story in a headline (English, German, French, Spanish function
# words and headline filler).
STOPWORDS = frozenset(
    """
    a an the and or but of in on at to for from by with about as is are was were be been
    it its this that these those his her their our your my we you they he she i me us
    after before over under into out up down off new more most why how what when where who
    will would can could has have had do does did not no so than then just also all any
    here there now says said say get gets got first last one two three four five
    officially official confirmed confirms announced announces reveals revealed report
    reports update updates news watch video photos see everything know need things
    der die das ein eine und oder mit von zu im in am auf für ist sind nicht den dem des
    le la les un une des et ou du de en au aux pour par sur est
    el los las y o del al con por para es son se
    """.split()
)


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n)\W*$")


def key_terms(title: str) -> frozenset[str]:
    """A headline's key terms: its content words and numbers, casefolded."""
    return frozenset(w.casefold() for w in _words(title) if w.casefold() not in STOPWORDS)


def proper_words(text: str) -> frozenset[str]:
    """Words capitalised inside sentences (names: "Netflix", "Dead" of "All of Us Are
    Dead"), casefolded. Sentence-initial capitals say nothing and are skipped."""
    found: set[str] = set()
    for m in _WORD.finditer(text):
        w = m.group(0)
        if w[0].isupper() and not _SENTENCE_START.search(text[max(0, m.start() - 3) : m.start()]):
            found.add(w.casefold())
    return frozenset(found)


@dataclass(frozen=True)
class StoryKey:
    """What the story predicate needs of one article: headline terms, the names among
    them (capitalised in the body's prose) and the publication time."""

    terms: frozenset[str]
    names: frozenset[str]
    published: datetime

    @classmethod
    def of(cls, title: str, body: str | None, published: datetime) -> StoryKey:
        terms = key_terms(title)
        sample = (body or "")[:2000]
        return cls(terms, terms & proper_words(sample), published)


def related(a: StoryKey, b: StoryKey) -> bool:
    """Symmetric: published within :data:`WINDOW`, at least two headline key terms in
    common, one of them a name, and key terms overlapping by :data:`MIN_TITLE_OVERLAP`
    (Jaccard)."""
    if abs(a.published - b.published) > WINDOW:
        return False
    shared = a.terms & b.terms
    if len(shared) < 2 or not shared & (a.names | b.names):
        return False
    return len(shared) / len(a.terms | b.terms) >= MIN_TITLE_OVERLAP


def representative(articles: Iterable[tuple[datetime | None, str, str]]) -> str:
    """The story's headline: that of its earliest article (published, then URL), so it
    does not depend on arrival order. Items are (published, canonical_url, title)."""
    ordered = sorted(articles, key=lambda x: (x[0] is None, x[0] or datetime.max, x[1]))
    return ordered[0][2]
