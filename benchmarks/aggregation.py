"""Aggregation benchmark: near-duplicate and story quality on real text, and insert cost
as the database grows.

    python -m benchmarks.aggregation                 # both parts, scaling up to 200k articles
    python -m benchmarks.aggregation --max 20000     # quick run (scaling to 20k, base 1k)
    python -m benchmarks.aggregation --skip-scaling --skip-hot  # quality only (about a minute)

Results go to the terminal and to ``benchmarks/results/aggregation.json``.
Corpora: ``$AGGREGATOR_CORPORA``, default ``<project>/../shared/corpora``; read in place.

Part 1: quality
---------------
**Originals** are the real articles of the two development corpora: the 90 pages of the
article-extraction benchmark (``ground-truth.json``: body and URL; the headline is read
from the page's ``og:title`` / ``twitter:title`` / ``<title>``, site suffix removed) and
the 127 pages of the news-metadata corpus (headline, body, URL, publisher, topics). No
text is generated: every body and headline is real, and the copies below are edits of it.

**Copies** ("outlets"): every original of at least :data:`MIN_COPY_WORDS` words gets 0 to
4 near-copies, each at an outlet of its own (another source name, another URL, its own
boilerplate), published 20 minutes to 12 hours after the original. One transformation
per copy, as syndication applies them (counts are balanced over the set):

* ``exact``: the same body and headline;
* ``boilerplate_added``: a wire credit line, one or two "Related: <another headline>"
  lines between paragraphs and the outlet's newsletter sentence at the end;
* ``boilerplate_removed``: the dateline or wire credit ("(Reuters) —", "MADRID —") and the
  short paragraphs (captions, subheads, "Advertisement": fewer than 12 words, up to a
  quarter of the text) taken out;
* ``trimmed``: the last one or two paragraphs cut (at least three are left);
* ``reordered``: two paragraphs swapped;
* ``headline``: another headline, same body. Where the page itself has another wording
  (its ``og:title`` and ``<title>`` differ, as SEO titles do) that one is used; otherwise
  the headline is shortened to its main clause, or an outlet kicker ("Report:") is put
  before it;
* ``tracking_url``: the outlet's URL carries ``utm_*`` parameters (the stored canonical URL
  is what :func:`aggregator.normalize.urls.canonicalize_url` makes of it, as in a crawl);
* ``word_edits``: three to six words replaced by other words of the same text;
* ``combined``: credit line, last paragraph trimmed, headline rewritten, two word edits and
  a tracking URL at once (what a real reprint often looks like).

**Negatives**: real articles that share a *topic* but not a story are put on the same day,
so the 3-day story window cannot separate them: the two pages of one site in the AEB set,
the pages of one publisher in news-metadata, and news-metadata pages whose ``topics``
overlap (same-day groups of at most six). Every other original gets a random day in an
eight-week span (:data:`SPAN_DAYS`). The corpora's own dates are not used: they span 2018
to 2026 and would keep every neighbour outside the window.

**Same event, different text**: the AEB set turns out to hold a few different outlets'
reports of one event (WeWork investigated by the New York attorney general: VentureBeat
and TechCrunch; ...); they are listed by hand in :data:`SAME_EVENT`, put on the same day,
and are one true story (not one duplicate group). They are the only pairs here that test
:func:`aggregator.aggregate.stories.related` on different texts; they are reported apart.

The whole set is inserted through the real :class:`aggregator.storage.ArticleStore`
indexing as it stores (:func:`aggregator.aggregate.index.indexed_store`, batches of
:data:`QUALITY_BATCH`) into a fresh SQLite file in a seeded random order, then
``duplicate_of`` and ``story_id`` are read back. A second run inserts the same set in
another random order into another file, and a third as a crawl does: stored with
a plain ``ArticleStore(engine)``, then indexed by
:func:`aggregator.aggregate.index.catch_up` (oldest first).

Metrics
~~~~~~~
* **Duplicate pairs (pairwise)**: a predicted duplicate group is a connected component
  of the ``duplicate_of`` links; a true one is an original with its copies. Over all
  unordered pairs of articles: precision = pairs predicted in one group that truly are /
  pairs predicted; recall = true pairs predicted / true pairs.
* **Per copy**: recall = share of copies whose ``duplicate_of`` is exactly their
  original's id (linked, and to the right, earliest article); precision = share of all
  articles with a ``duplicate_of`` whose link is to their own original (an original
  pointing anywhere, or a copy pointing to another group, is a false link). Per-
  transformation recall is this per-copy recall for each transformation.
* **Clustering (pairwise)**: over all unordered pairs, "same predicted story" against
  "same true story" (a duplicate group, or the union of the groups of one
  :data:`SAME_EVENT` event): precision, recall, F1. Also shown: the recall on pairs
  inside duplicate groups, on same-event pairs, and how many negative pairs were merged.
* **Determinism**: whether the three runs give the same stories (as sets of canonical
  URLs) and the same duplicate links.

Targets: duplicate precision >= 0.99, recall >= 0.95 (both definitions are shown),
clustering pairwise F1 >= 0.90.

Part 2: scaling
---------------
A synthetic stream of distinct articles (realistic in shape, not in meaning): bodies of
300-800 words sampled by corpus frequency from the words of both corpora, in sentences
and paragraphs; 6-12-word headlines of content words that name something (a capitalised
corpus word, also named inside the body's first sentence); 30 sources; ~600 articles a
day, each crawled up to four hours after publication. 3 % of articles are near-copies of
a recent article at another source (trimmed, credited, or exact; a quarter of them
published *before* the article they copy, i.e. the original was crawled late) and 5 %
are follow-up reports of a recent article's subject (same names and several headline
words), so stories of several articles form as in real feeds.

The stream is stored through ``ArticleStore.upsert`` in batches of 50 (as the crawler's
store pipeline does), the aggregation index updated in the same transaction. After
``--base`` (10k) articles are stored, the next ``--window`` (1000) are timed on each of
the two write paths; the fill continues to ``--max`` (200k) and both are timed again:

* **index inline** (``indexed_store(engine)``): per article, the time of its upsert step
  inside the batch (lookups, INSERT, FTS triggers, aggregation index), mean and p95, and
  of that the aggregation index alone; per batch, the wall time of ``upsert`` (commit
  included) divided by 50;
* **crawl path** (what ``pipelines/store.py`` does now): ``ArticleStore(engine)``
  batches, then one :func:`aggregator.aggregate.index.catch_up`; the
  mean per article of each and of both.

The target is the ratio of the means: 200k within 2x of 10k.

Also reported: the SQLite file size at both points (after a WAL checkpoint), the time of
``catch_up(engine, everything=True)`` (the full rebuild, ``aggregator db reindex
--everything``) on a copy of the database taken at ``--base``, with whether the rebuilt
index gives the same stories and links as the incremental one, and the query plan
(``EXPLAIN QUERY PLAN``) of every distinct lookup run in the last timing window: a full
scan, or a search on a column that selects a growing share of the table, is what makes
insert time grow.

Part 3: one busy story
----------------------
``--hot`` (1000) reports of one event within two days (the Oscars night kind): headlines
of 4-7 words drawn from a pool of the event's names and words, bodies of real corpus
text opened by a sentence that names the event's people, so every report relates to
many stored ones. Stored through ``ArticleStore.upsert`` in batches of 50; reported: the
index's mean time per article over the first and the last 100 reports, their ratio, and
how many stories formed (one is right). Relating a report costs one grouped query over
the stored reports sharing its terms, so the time grows with the story; the ratio says
how fast.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import accumulate, combinations
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, event, func, select

from aggregator.aggregate import neardup, stories
from aggregator.aggregate.index import catch_up, indexed_store
from aggregator.aggregate.neardup import band_keys, shingles, signature, similarity
from aggregator.aggregate.stories import STOPWORDS
from aggregator.items import ArticleItem
from aggregator.normalize.urls import canonicalize_url
from aggregator.scoring import corpora_root
from aggregator.storage import ArticleStore, make_engine
from aggregator.storage.models import Article, Story

HERE = Path(__file__).resolve().parent

DEFAULT_JSON = HERE / "results" / "aggregation.json"
UTC = timezone.utc

# -- part 1: constants -----------------------------------------------------------------------

SEED = 20240304
SECOND_ORDER_SEED = 977
# The quality runs: (label, insertion-order seed, crawl path). The third inserts like a
# crawl: stored without indexing, then indexed by catch_up (oldest first).
RUNS = (
    ("order A", SEED, False),
    ("order B", SECOND_ORDER_SEED, False),
    ("crawl path", SECOND_ORDER_SEED, True),
)
START = datetime(2024, 3, 4, tzinfo=UTC)
SPAN_DAYS = 56
# Originals shorter than this get no copies: the detector does not compare bodies of
# fewer than MIN_SHINGLES shingles (24 words), and a copy of a stub is not a use case.
MIN_COPY_WORDS = 80
# How many copies an eligible original gets: 0..4 with these weights.
COPY_COUNT_WEIGHTS = (20, 35, 25, 12, 8)
MAX_NEGATIVE_GROUP = 6
QUALITY_BATCH = 25
TRANSFORMATIONS = (
    "exact",
    "boilerplate_added",
    "boilerplate_removed",
    "trimmed",
    "reordered",
    "headline",
    "tracking_url",
    "word_edits",
    "combined",
)
TARGETS = {"dup_precision": 0.99, "dup_recall": 0.95, "cluster_f1": 0.90, "insert_growth": 2.0}

# Different outlets' own reports of one event, found in the AEB set (its pages were
# collected in the same week of November 2019): checked by reading them. Key: URL prefix.
SAME_EVENT: dict[str, tuple[str, ...]] = {
    "wework-nyag": (
        "https://venturebeat.com/2019/11/18/new-york-state-attorney-general-investigating-wework",
        "https://techcrunch.com/2019/11/18/new-york-state-attorney-general-reportedly-",
    ),
    "europa-plumes": (
        "https://www.sciencealert.com/nasa-finds-water-plumes-above-the-surface-of-jupiter",
        "https://www.space.com/jupiter-moon-europa-water-vapor-confirmed",
    ),
    "meth-campaign": (
        "https://thehill.com/homenews/news/471033-south-dakota-governor-doubles-down-on-meth",
        "https://www.usatoday.com/story/news/nation/2019/11/19/meth-were-it-south-dakota",
    ),
    "doobie-tour": (
        "https://www.cleveland.com/entertainment/2019/11/doobie-brothers-to-reunite",
        "https://www.rollingstone.com/music/music-news/doobie-brothers-michael-mcdonald-50th",
    ),
    "omar-threat": (
        "https://thehill.com/blogs/blog-briefing-room/news/471031-new-york-man-pleads-guilty",
        "https://www.nbcnews.com/news/us-news/new-york-man-pleads-guilty-threatening-kill-rep",
    ),
    "duvet-lung": (
        "https://gizmodo.com/a-man-developed-feather-duvet-lung-after-getting-new-be",
        "https://www.msn.com/en-us/health/other/the-man-whose-duvet-nearly-killed-him",
        "https://www.forbes.com/sites/brucelee/2019/11/18/how-this-mans-bedding-gave-him",
    ),
}

# The copies' outlets: (source name, display name). Invented, on .example domains.
OUTLETS = [
    (slug, slug.replace("-", " ").title())
    for slug in (
        "popwire celebdesk screenbeat newsline-daily the-morning-brief metro-digest "
        "citybeat-now wirefeed reprint-post headline-hub daily-courier evening-ledger "
        "the-feedline pressroom-news global-bulletin newsnow-24 the-chronicle-net "
        "weekend-herald valley-times coast-reporter capital-dispatch northern-star "
        "the-newsdesk trend-report culture-wire scene-today the-daily-scoop infobrief "
        "world-roundup signal-news"
    ).split()
]
CREDITS = (
    "This story was first published by the Associated Press.",
    "Copyright {year} The Associated Press. All rights reserved. This material may not be "
    "published, broadcast, rewritten or redistributed.",
    "This article originally appeared on {site} and is republished here with permission.",
    "Distributed by Tribune Content Agency, LLC.",
    "© {year} Reuters. Reporting by staff; editing by the news desk.",
)
NEWSLETTERS = (
    "Sign up for the {outlet} newsletter to get the day's top stories delivered to your "
    "inbox every morning.",
    "Get the latest news first: subscribe to {outlet} Daily, our free morning briefing.",
    "Never miss a story: follow {outlet} on Facebook and sign up for our breaking news alerts.",
)
RELATED = ("Related: {title}", "READ MORE: {title}", "Also on {outlet}: {title}")
KICKERS = ("Report:", "Watch:", "Update:", "Exclusive:")
UTM = (
    "utm_source=rss&utm_medium=feed&utm_campaign=syndication",
    "utm_source=twitter&utm_medium=social",
    "utm_source=newsletter&utm_medium=email&utm_campaign=morning",
)

_WORD = re.compile(r"\w+", re.UNICODE)
_DATELINE = re.compile(r"^\(?[A-Z][\w .,'’()/]{1,40}?\)?\s*[—–-]{1,2}\s+")
_SEPARATORS = (" | ", " – ", " — ", " - ", " :: ", " · ")


# -- part 1: the evaluation set --------------------------------------------------------------


@dataclass(frozen=True)
class Original:
    """One real article of the corpora."""

    key: str
    corpus: str
    url: str
    site: str
    source: str
    title: str
    alt_titles: tuple[str, ...]
    body: str
    topics: frozenset[str]

    @property
    def words(self) -> int:
        return len(_WORD.findall(self.body))


@dataclass
class EvalItem:
    """One article of the evaluation set and its ground truth."""

    item: ArticleItem
    group: str  # the original's key: true duplicate group
    story: str  # true story: the group, or a SAME_EVENT event
    transformation: str | None  # None for the original

    @property
    def url(self) -> str:
        return self.item.canonical_url or self.item.url


@dataclass
class EvalSet:
    """The evaluation set with what it is made of."""

    items: list[EvalItem]
    originals: list[Original]
    negative_pairs: dict[str, list[tuple[str, str]]]
    same_event_pairs: list[tuple[str, str]]
    headline_methods: Counter[str] = field(default_factory=Counter)


def _norm(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _strip_site(title: str, site_names: Iterable[str]) -> str:
    """``title`` without a trailing "| Site" (also a date or a section after the site)."""
    names = [n for n in (_norm(s) for s in site_names) if len(n) >= 2]
    stripped = False
    while True:
        for sep in _SEPARATORS:
            if sep not in title:
                continue
            head, tail = title.rsplit(sep, 1)
            t = _norm(tail)
            is_site = bool(t) and any(t in n or n in t for n in names)
            is_date = bool(re.fullmatch(r"[\d./-]+", tail.strip()))
            is_section = stripped and len(tail.split()) <= 2
            if head.strip() and (is_site or is_date or is_section):
                title, stripped = head.strip(), True
                break
        else:
            return title.strip()


def _page_titles(path: Path) -> list[str]:
    """og:title, twitter:title and <title> of a gzipped page, in that order."""
    from lxml import html as lxml_html

    try:
        doc = lxml_html.fromstring(gzip.decompress(path.read_bytes()).decode("utf-8", "replace"))
    except (OSError, ValueError):
        return []
    found: list[str] = []
    for xpath in (
        "//meta[@property='og:title']/@content",
        "//meta[@name='twitter:title']/@content",
        "//title/text()",
    ):
        values = doc.xpath(xpath)
        if values:
            found.append(" ".join(str(values[0]).split()))
    return found


def _site_names(url: str, *extra: str) -> list[str]:
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    return [host, host.split(".")[0], *extra]


def _alternates(primary: str, candidates: Iterable[str]) -> tuple[str, ...]:
    seen = {_norm(primary)}
    out: list[str] = []
    for c in candidates:
        n = _norm(c)
        if n and n not in seen and len(c.split()) >= 3:
            seen.add(n)
            out.append(c)
    return tuple(out)


def load_originals(root: Path) -> list[Original]:
    """Every article of both corpora, with its headline (and the page's other wordings)."""
    originals: list[Original] = []
    aeb = root / "article-extraction-benchmark"
    truth = json.loads((aeb / "ground-truth.json").read_text(encoding="utf-8"))
    for key, entry in sorted(truth.items()):
        url = entry["url"]
        names = _site_names(url)
        titles = [_strip_site(t, names) for t in _page_titles(aeb / "html" / f"{key}.html.gz")]
        titles = [t for t in titles if t]
        primary = titles[0] if titles else ""
        site = names[0]
        originals.append(
            Original(
                key=f"aeb:{key[:12]}",
                corpus="aeb",
                url=url,
                site=site,
                source=site.replace(".", "-")[:64],
                title=primary,
                alt_titles=_alternates(primary, titles[1:]),
                body=entry["articleBody"],
                topics=frozenset(),
            )
        )
    for path in sorted((root / "news-metadata" / "pages").glob("*.json")):
        page = json.loads(path.read_text(encoding="utf-8"))
        url = page["url"]
        names = _site_names(url, page["publisher"])
        html_path = path.with_name(path.name.removesuffix(".json") + ".html.gz")
        titles = [_strip_site(t, names) for t in _page_titles(html_path)]
        originals.append(
            Original(
                key=f"meta:{path.stem}",
                corpus="meta",
                url=url,
                site=page["publisher"],
                source=page["publisher"].casefold()[:64],
                title=page["title"] or "",
                alt_titles=_alternates(page["title"] or "", titles),
                body=page["body"] or "",
                topics=frozenset(t.casefold() for t in page.get("topics") or []),
            )
        )
    return originals


def _paragraphs(body: str) -> list[str]:
    paras = [p.strip() for p in re.split(r"\n\s*\n", body.strip()) if p.strip()]
    if len(paras) < 3:
        paras = [p.strip() for p in body.strip().split("\n") if p.strip()]
    return paras


def _join(paras: Sequence[str]) -> str:
    return "\n\n".join(paras)


def _stable(text: str) -> int:
    """A hash that is the same in every process (``hash()`` of a str is not)."""
    return sum(ord(ch) * (i + 1) for i, ch in enumerate(text))


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.casefold()).strip("-")
    return slug[:60].strip("-") or "story"


class Transformer:
    """Makes one outlet's copy of an original; what syndication does to a text."""

    def __init__(self, rng: random.Random, originals: Sequence[Original]) -> None:
        self.rng = rng
        self.headlines = [o.title for o in originals if o.title]
        self.method: str | None = None

    def eligible(self, o: Original) -> list[str]:
        paras = _paragraphs(o.body)
        out = ["exact", "boilerplate_added", "headline", "tracking_url", "word_edits"]
        out.append("combined")
        if self.strip_boilerplate(o.body) != o.body:
            out.append("boilerplate_removed")
        if len(paras) >= 4:
            out.append("trimmed")
        if len(paras) >= 3:
            out.append("reordered")
        return out

    # body edits ------------------------------------------------------------------------

    def add_boilerplate(self, body: str, outlet: tuple[str, str], o: Original) -> str:
        rng = self.rng
        paras = _paragraphs(body)
        credit = CREDITS[_stable(outlet[0]) % len(CREDITS)].format(year=2024, site=o.site)
        newsletter = NEWSLETTERS[_stable(outlet[0]) % len(NEWSLETTERS)]
        for _ in range(rng.choice((1, 2))):
            line = rng.choice(RELATED).format(title=rng.choice(self.headlines), outlet=outlet[1])
            paras.insert(rng.randint(1, max(1, len(paras) - 1)), line)
        if rng.random() < 0.5:
            paras.insert(0, credit)
        else:
            paras.append(credit)
        paras.append(newsletter.format(outlet=outlet[1]))
        return _join(paras)

    @staticmethod
    def strip_boilerplate(body: str) -> str:
        paras = _paragraphs(body)
        total = sum(len(_WORD.findall(p)) for p in paras)
        short = [p for p in paras if len(_WORD.findall(p)) < 12]
        if short and sum(len(_WORD.findall(p)) for p in short) <= total / 4:
            paras = [p for p in paras if p not in short]
        if paras:
            paras[0] = _DATELINE.sub("", paras[0], count=1)
        return _join(paras) if paras else body

    def trim(self, body: str, most: int = 2) -> str:
        paras = _paragraphs(body)
        cut = min(self.rng.randint(1, most), len(paras) - 3)
        return _join(paras[:-cut]) if cut > 0 else body

    def reorder(self, body: str) -> str:
        paras = _paragraphs(body)
        i, j = sorted(self.rng.sample(range(len(paras)), 2))
        paras[i], paras[j] = paras[j], paras[i]
        return _join(paras)

    def edit_words(self, body: str, count: int) -> str:
        matches = [m for m in _WORD.finditer(body) if len(m.group()) >= 3]
        if len(matches) < count + 1:
            return body
        chosen = sorted(self.rng.sample(range(len(matches)), count))
        pool = [m.group() for m in matches]
        out, last = [], 0
        for idx in chosen:
            m = matches[idx]
            word = m.group()
            new = self.rng.choice(pool)
            for _ in range(10):
                if new.casefold() != word.casefold():
                    break
                new = self.rng.choice(pool)
            out.append(body[last : m.start()] + new)
            last = m.end()
        return "".join(out) + body[last:]

    def rewrite_headline(self, o: Original) -> str:
        """Another real wording of the page if it has one, else shortened or kickered."""
        if o.alt_titles:
            self.method = "page's other wording"
            return self.rng.choice(o.alt_titles)
        title = o.title
        for sep in (": ", " – ", " — ", " - "):
            if sep in title:
                parts = [p.strip() for p in title.split(sep, 1)]
                longer = max(parts, key=lambda p: len(p.split()))
                if len(longer.split()) >= 3:
                    self.method = "shortened to main clause"
                    return longer
        words = title.split()
        if len(words) >= 9:
            self.method = "shortened (trailing words)"
            return " ".join(words[: max(6, int(len(words) * 0.7))])
        self.method = "kicker added"
        return f"{self.rng.choice(KICKERS)} {title}"

    # one copy --------------------------------------------------------------------------

    def copy(
        self, o: Original, transformation: str, outlet: tuple[str, str], n: int
    ) -> tuple[str, str, str]:
        """(headline, body, url) of ``o``'s copy at ``outlet``."""
        self.method = None
        title, body = o.title, o.body
        query = ""
        if transformation == "boilerplate_added":
            body = self.add_boilerplate(body, outlet, o)
        elif transformation == "boilerplate_removed":
            body = self.strip_boilerplate(body)
        elif transformation == "trimmed":
            body = self.trim(body)
        elif transformation == "reordered":
            body = self.reorder(body)
        elif transformation == "headline":
            title = self.rewrite_headline(o)
        elif transformation == "tracking_url":
            query = self.rng.choice(UTM)
        elif transformation == "word_edits":
            body = self.edit_words(body, self.rng.randint(3, 6))
        elif transformation == "combined":
            paras = _paragraphs(body)
            if len(paras) >= 4:
                body = self.trim(body, most=1)
            body = self.edit_words(body, 2)
            credit = CREDITS[_stable(outlet[0]) % len(CREDITS)].format(year=2024, site=o.site)
            body = _join([credit, *_paragraphs(body)])
            title = self.rewrite_headline(o)
            query = self.rng.choice(UTM)
        url = f"https://www.{outlet[0]}.example/news/{_slug(title)}-{n}/"
        if query:
            url += "?" + query
        return title, body, url


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self, keys: Iterable[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for k in keys:
            out[self.find(k)].append(k)
        return out


def _same_event_of(originals: Sequence[Original]) -> dict[str, str]:
    """Original key -> SAME_EVENT name; every listed URL must be found exactly once."""
    found: dict[str, str] = {}
    for name, prefixes in SAME_EVENT.items():
        for prefix in prefixes:
            hits = [o.key for o in originals if o.url.startswith(prefix)]
            if len(hits) != 1:
                raise SystemExit(f"SAME_EVENT {name}: {prefix} matches {len(hits)} articles")
            found[hits[0]] = name
    return found


def build_eval_set(originals: Sequence[Original], seed: int = SEED) -> EvalSet:
    """Originals, their copies, and their published times (see the module docstring)."""
    rng = random.Random(seed)
    event_of = _same_event_of(originals)
    by_key = {o.key: o for o in originals}

    # Same-day groups: same event, then same site / publisher, then shared topics.
    uf = _UnionFind()
    size: Counter[str] = Counter({o.key: 1 for o in originals})

    def merge(a: str, b: str, cap: int | None = None) -> bool:
        ra, rb = uf.find(a), uf.find(b)
        if ra == rb:
            return True
        if cap is not None and size[ra] + size[rb] > cap:
            return False
        uf.union(a, b)
        size[uf.find(a)] = size[ra] + size[rb]
        return True

    for name in SAME_EVENT:
        members = sorted(k for k, e in event_of.items() if e == name)
        for k in members[1:]:
            merge(members[0], k)
    negatives: dict[str, list[tuple[str, str]]] = defaultdict(list)
    site_groups: dict[str, list[str]] = defaultdict(list)
    for o in originals:
        site_groups[o.site].append(o.key)
    for members in site_groups.values():
        for a, b in combinations(members, 2):
            if merge(a, b, MAX_NEGATIVE_GROUP):
                kind = "same site (AEB)" if by_key[a].corpus == "aeb" else "same publisher"
                negatives[kind].append((a, b))
    meta = [o for o in originals if o.corpus == "meta" and o.topics]
    for oa, ob in combinations(meta, 2):
        if (
            oa.site != ob.site
            and oa.topics & ob.topics
            and merge(oa.key, ob.key, MAX_NEGATIVE_GROUP)
        ):
            negatives["shared topic (news-metadata)"].append((oa.key, ob.key))
    # Pairs already counted as same-event are not negatives.
    for kind in list(negatives):
        negatives[kind] = [
            (a, b)
            for a, b in negatives[kind]
            if not (event_of.get(a) and event_of.get(a) == event_of.get(b))
        ]

    published: dict[str, datetime] = {}
    for members in uf.groups(o.key for o in originals).values():
        day = START + timedelta(days=rng.randrange(SPAN_DAYS))
        for k in sorted(members):
            published[k] = day + timedelta(hours=rng.uniform(6, 20))

    items: list[EvalItem] = []
    for o in originals:
        story = event_of.get(o.key, o.key)
        url = canonicalize_url(o.url) or o.url
        items.append(
            EvalItem(
                ArticleItem(
                    url=o.url,
                    canonical_url=url,
                    source=o.source,
                    site_name=o.site,
                    title=o.title,
                    published=published[o.key],
                    body=o.body,
                    fetched_at=published[o.key] + timedelta(hours=1),
                ),
                o.key,
                story,
                None,
            )
        )

    transformer = Transformer(rng, originals)
    counts: Counter[str] = Counter()
    methods: Counter[str] = Counter()
    n = 0
    for o in originals:
        if o.words < MIN_COPY_WORDS:
            continue
        how_many = rng.choices(range(len(COPY_COUNT_WEIGHTS)), weights=COPY_COUNT_WEIGHTS)[0]
        eligible = transformer.eligible(o)
        outlets = rng.sample(OUTLETS, how_many)
        used: set[str] = set()
        for outlet in outlets:
            options = [t for t in eligible if t not in used]
            least = min(counts[t] for t in options)
            transformation = rng.choice([t for t in options if counts[t] == least])
            used.add(transformation)
            counts[transformation] += 1
            n += 1
            title, body, url = transformer.copy(o, transformation, outlet, n)
            if transformer.method:
                methods[transformer.method] += 1
            when = published[o.key] + timedelta(minutes=rng.uniform(20, 720))
            items.append(
                EvalItem(
                    ArticleItem(
                        url=url,
                        canonical_url=canonicalize_url(url) or url,
                        source=outlet[0],
                        site_name=outlet[1],
                        title=title,
                        published=when,
                        body=body,
                        fetched_at=when + timedelta(hours=1),
                    ),
                    o.key,
                    event_of.get(o.key, o.key),
                    transformation,
                )
            )
    same_event_pairs = [
        (a, b) for a, b in combinations(sorted(event_of), 2) if event_of[a] == event_of[b]
    ]
    return EvalSet(items, list(originals), dict(negatives), same_event_pairs, methods)


# -- part 1: running and scoring -------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """What the store made of one article."""

    id: int
    duplicate_of: int | None
    story_id: int | None


def insert_eval_set(
    items: Sequence[EvalItem], seed: int, path: Path, *, crawl_path: bool = False
) -> dict[str, Stored]:
    """Insert ``items`` in a seeded random order into a fresh SQLite file; read back.
    Indexed in the store's transaction, or with ``crawl_path`` as a crawl does: stored
    without an index, then indexed by ``catch_up`` (oldest first)."""
    order = list(items)
    random.Random(seed).shuffle(order)
    engine = make_engine(f"sqlite:///{path}")
    try:
        store = ArticleStore(engine) if crawl_path else indexed_store(engine, {})
        outcomes: Counter[str] = Counter()
        for i in range(0, len(order), QUALITY_BATCH):
            for r in store.upsert([e.item for e in order[i : i + QUALITY_BATCH]]):
                outcomes[r.outcome] += 1
        if outcomes["updated"] or outcomes["duplicate"]:
            raise SystemExit(f"eval set items collided in the store: {dict(outcomes)}")
        if crawl_path and catch_up(engine) != len(order):
            raise SystemExit("catch_up did not index every stored article")
        table = Article.__table__
        with engine.connect() as conn:
            rows = conn.execute(
                select(table.c.canonical_url, table.c.id, table.c.duplicate_of, table.c.story_id)
            ).all()
    finally:
        engine.dispose()
    return {r.canonical_url: Stored(r.id, r.duplicate_of, r.story_id) for r in rows}


def _pairs(labels: Mapping[str, Hashable]) -> set[tuple[str, str]]:
    """Unordered pairs of keys with the same label."""
    by: dict[Hashable, list[str]] = defaultdict(list)
    for k, v in labels.items():
        by[v].append(k)
    return {
        (a, b) if a < b else (b, a) for members in by.values() for a, b in combinations(members, 2)
    }


def _prf(predicted: set[tuple[str, str]], true: set[tuple[str, str]]) -> dict[str, float]:
    tp = len(predicted & true)
    p = tp / len(predicted) if predicted else 1.0
    r = tp / len(true) if true else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "precision": p,
        "recall": r,
        "f1": f,
        "tp": tp,
        "predicted": len(predicted),
        "true": len(true),
    }


def _dup_components(stored: Mapping[str, Stored]) -> dict[str, str]:
    """URL -> predicted duplicate group (component of duplicate_of links)."""
    url_of = {s.id: u for u, s in stored.items()}
    uf = _UnionFind()
    for u, s in stored.items():
        uf.find(u)
        if s.duplicate_of is not None:
            uf.union(u, url_of[s.duplicate_of])
    return {u: uf.find(u) for u in stored}


def _diagnose(a: str, b: str) -> dict[str, Any]:
    """How similar two bodies are, and whether LSH makes them candidates."""
    sa, sb = shingles(a), shingles(b)
    sim = similarity(sa, sb)
    shared_keys = (
        len(set(band_keys(signature(sa))) & set(band_keys(signature(sb)))) if sa and sb else 0
    )
    return {
        "jaccard": round(sim.jaccard, 3),
        "containment": round(sim.containment, 3),
        "shingles": [len(sa), len(sb)],
        "shared_band_keys": shared_keys,
        "confirmed": sim.near_duplicate,
    }


def score(ev: EvalSet, stored: Mapping[str, Stored]) -> dict[str, Any]:
    """Every metric of the module docstring for one run."""
    items = {e.url: e for e in ev.items}
    missing = set(items) - set(stored)
    if missing:
        raise SystemExit(f"{len(missing)} eval items are not in the database, e.g. {min(missing)}")
    original_url = {e.group: e.url for e in ev.items if e.transformation is None}
    id_of = {u: s.id for u, s in stored.items()}
    url_of = {s.id: u for u, s in stored.items()}

    # Duplicates, pairwise.
    dup_pred = _pairs(_dup_components(stored))
    dup_true = _pairs({u: e.group for u, e in items.items()})
    dup_pairwise = _prf(dup_pred, dup_true)

    # Duplicates, per copy and per link.
    per_t: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    margins: dict[str, list[tuple[float, float]]] = defaultdict(list)
    misses: list[dict[str, Any]] = []
    for u, e in items.items():
        if e.transformation is None:
            continue
        ok = stored[u].duplicate_of == id_of[original_url[e.group]]
        per_t[e.transformation][0] += ok
        per_t[e.transformation][1] += 1
        sim = similarity(shingles(items[original_url[e.group]].item.body), shingles(e.item.body))
        margins[e.transformation].append((sim.jaccard, sim.containment))
        if not ok:
            orig = items[original_url[e.group]]
            got = stored[u].duplicate_of
            misses.append(
                {
                    "copy": u,
                    "original": orig.url,
                    "transformation": e.transformation,
                    "linked_to": url_of.get(got) if got is not None else None,
                    **_diagnose(orig.item.body or "", e.item.body or ""),
                }
            )
    linked = [(u, s) for u, s in stored.items() if s.duplicate_of is not None]
    false_links: list[dict[str, Any]] = []
    for u, s in linked:
        e = items[u]
        if e.transformation is None or s.duplicate_of != id_of[original_url[e.group]]:
            target = items[url_of[s.duplicate_of]] if s.duplicate_of in url_of else None
            if target is not None and target.group == e.group and e.transformation is not None:
                continue  # a copy linked to the wrong member of its group: a miss, not false
            false_links.append(
                {
                    "article": u,
                    "linked_to": target.url if target else None,
                    **(_diagnose(target.item.body or "", e.item.body or "") if target else {}),
                }
            )
    copies = sum(v[1] for v in per_t.values())
    correct = sum(v[0] for v in per_t.values())
    per_copy = {
        "recall": correct / copies if copies else 1.0,
        "precision": (len(linked) - len(false_links)) / len(linked) if linked else 1.0,
        "linked": len(linked),
        "correct": correct,
        "copies": copies,
        "false_links": len(false_links),
    }
    per_transformation = {
        t: {
            "recall": v[0] / v[1],
            "linked": v[0],
            "copies": v[1],
            "min_jaccard": min(j for j, _ in margins[t]),
            "median_jaccard": statistics.median(j for j, _ in margins[t]),
            "min_containment": min(c for _, c in margins[t]),
        }
        for t, v in sorted(per_t.items(), key=lambda kv: TRANSFORMATIONS.index(kv[0]))
    }

    # Stories, pairwise.
    story_pred = _pairs({u: s.story_id for u, s in stored.items()})
    story_true = _pairs({u: e.story for u, e in items.items()})
    clustering = _prf(story_pred, story_true)
    in_groups = dup_true
    same_event = story_true - dup_true
    negatives_merged: list[dict[str, Any]] = []
    for kind, pairs in ev.negative_pairs.items():
        for a, b in pairs:
            ua, ub = original_url[a], original_url[b]
            if stored[ua].story_id == stored[ub].story_id:
                ia, ib = items[ua].item, items[ub].item
                negatives_merged.append({"kind": kind, "a": ia.title, "b": ib.title})
    wrong_merges = story_pred - story_true
    wrong_group_pairs = {tuple(sorted((items[a].group, items[b].group))) for a, b in wrong_merges}
    story_misses = story_true - story_pred
    missed_events = sorted(
        {items[a].story for a, b in story_misses if items[a].group != items[b].group}
    )
    missed_groups = sorted(
        {items[a].group for a, b in story_misses if items[a].group == items[b].group}
    )
    clustering_detail = {
        "recall_within_duplicate_groups": (
            len(story_pred & in_groups) / len(in_groups) if in_groups else 1.0
        ),
        "same_event_pairs": len(same_event),
        "recall_same_event": len(story_pred & same_event) / len(same_event) if same_event else 1.0,
        "missed_same_events": missed_events,
        "groups_split": missed_groups,
        "wrongly_merged_group_pairs": [
            [by_title(ev, g) for g in pair] for pair in sorted(wrong_group_pairs)
        ],
        "negative_pairs_merged": negatives_merged,
    }
    return {
        "duplicates_pairwise": dup_pairwise,
        "duplicates_per_copy": per_copy,
        "per_transformation": per_transformation,
        "clustering_pairwise": clustering,
        "clustering_detail": clustering_detail,
        "missed_copies": misses,
        "false_links": false_links,
        "stories": len({s.story_id for s in stored.values()}),
    }


def by_title(ev: EvalSet, group: str) -> str:
    """The headline of a group's original, for reports."""
    for o in ev.originals:
        if o.key == group:
            return o.title
    return group


def partition(stored: Mapping[str, Stored]) -> set[frozenset[str]]:
    """Stories as sets of canonical URLs (ids depend on insertion order; sets do not)."""
    groups: dict[int | None, set[str]] = defaultdict(set)
    for u, s in stored.items():
        groups[s.story_id].add(u)
    return {frozenset(g) for g in groups.values()}


def dup_links(stored: Mapping[str, Stored]) -> dict[str, str | None]:
    """Article URL -> URL of the article it is a copy of."""
    url_of = {s.id: u for u, s in stored.items()}
    return {
        u: (url_of.get(s.duplicate_of) if s.duplicate_of is not None else None)
        for u, s in stored.items()
    }


def constants() -> dict[str, Any]:
    """The tunable constants this run used."""
    return {
        "SHINGLE_WORDS": neardup.SHINGLE_WORDS,
        "NUM_PERM": neardup.NUM_PERM,
        "BANDS": neardup.BANDS,
        "ROWS": neardup.ROWS,
        "MIN_JACCARD": neardup.MIN_JACCARD,
        "MIN_CONTAINMENT": neardup.MIN_CONTAINMENT,
        "MIN_SHINGLES": neardup.MIN_SHINGLES,
        "WINDOW_HOURS": stories.WINDOW.total_seconds() / 3600,
        "MIN_TITLE_OVERLAP": stories.MIN_TITLE_OVERLAP,
        "STOPWORDS": len(stories.STOPWORDS),
    }


def run_quality(console: Console, originals: list[Original], workdir: Path) -> dict[str, Any]:
    """Part 1: build the set, insert it in two orders, score, print."""
    t0 = time.perf_counter()
    ev = build_eval_set(originals)
    copies = Counter(e.transformation for e in ev.items if e.transformation)
    with_copies = len({e.group for e in ev.items if e.transformation})
    console.print(
        f"[bold]Part 1: quality[/bold] on real text: {len(originals)} originals "
        f"(AEB {sum(o.corpus == 'aeb' for o in originals)}, news-metadata "
        f"{sum(o.corpus == 'meta' for o in originals)}), {with_copies} of them with copies, "
        f"{sum(copies.values())} copies, {len(ev.items)} articles "
        f"(built in {time.perf_counter() - t0:.1f} s)"
    )
    size_table = Table(title="Evaluation set")
    size_table.add_column("part")
    size_table.add_column("count", justify="right")
    size_table.add_row("originals", str(len(originals)))
    size_table.add_row(
        f"  of which < {MIN_COPY_WORDS} words (no copies)",
        str(sum(o.words < MIN_COPY_WORDS for o in originals)),
    )
    size_table.add_row("  of which with copies", str(with_copies))
    for t in TRANSFORMATIONS:
        size_table.add_row(f"copies: {t}", str(copies[t]))
    for method, n in sorted(ev.headline_methods.items()):
        size_table.add_row(f"  rewritten headlines: {method}", str(n))
    for kind, pairs in sorted(ev.negative_pairs.items()):
        size_table.add_row(f"negative pairs: {kind}", str(len(pairs)))
    size_table.add_row(
        f"same-event pairs (different text; {len(SAME_EVENT)} events)",
        str(len(ev.same_event_pairs)),
    )
    console.print(size_table)

    runs: list[dict[str, Any]] = []
    partitions: list[set[frozenset[str]]] = []
    links: list[dict[str, str | None]] = []
    for label, seed, crawl_path in RUNS:
        t1 = time.perf_counter()
        stored = insert_eval_set(
            ev.items, seed, workdir / f"quality-{seed}-{crawl_path}.db", crawl_path=crawl_path
        )
        elapsed = time.perf_counter() - t1
        result = score(ev, stored)
        result["order"] = label
        result["seed"] = seed
        result["insert_s"] = elapsed
        runs.append(result)
        partitions.append(partition(stored))
        links.append(dup_links(stored))
    deterministic = {
        "same_stories": all(p == partitions[0] for p in partitions),
        "same_duplicate_links": all(x == links[0] for x in links),
        "stories_differing": [len(partitions[0] ^ p) for p in partitions[1:]],
    }
    print_quality(console, runs, deterministic)
    return {
        "eval_set": {
            "originals": len(originals),
            "originals_aeb": sum(o.corpus == "aeb" for o in originals),
            "originals_meta": sum(o.corpus == "meta" for o in originals),
            "originals_with_copies": with_copies,
            "copies": dict(copies),
            "headline_rewrites": dict(ev.headline_methods),
            "negative_pairs": {k: len(v) for k, v in ev.negative_pairs.items()},
            "same_event_pairs": len(ev.same_event_pairs),
            "articles": len(ev.items),
        },
        "runs": runs,
        "determinism": deterministic,
    }


def _pct(x: float) -> str:
    return f"{x:.3f}"


def _mark(value: float, target: float) -> str:
    return "[green]ok[/green]" if value >= target else "[red]MISSED[/red]"


def print_quality(
    console: Console, runs: Sequence[dict[str, Any]], deterministic: Mapping[str, Any]
) -> None:
    """The quality tables."""
    table = Table(title="Near-duplicates and stories (pairwise unless noted)")
    table.add_column("metric")
    for r in runs:
        table.add_column(r["order"], justify="right")
    table.add_column("target", justify="right")
    table.add_column("", justify="left")
    first = runs[0]
    dup_p, dup_r, f1 = TARGETS["dup_precision"], TARGETS["dup_recall"], TARGETS["cluster_f1"]
    rows: list[tuple[str, Callable[[dict[str, Any]], float], float | None]] = [
        ("duplicate precision (pairs)", lambda r: r["duplicates_pairwise"]["precision"], dup_p),
        ("duplicate recall (pairs)", lambda r: r["duplicates_pairwise"]["recall"], dup_r),
        ("duplicate precision (per link)", lambda r: r["duplicates_per_copy"]["precision"], dup_p),
        ("duplicate recall (per copy)", lambda r: r["duplicates_per_copy"]["recall"], dup_r),
        ("story precision", lambda r: r["clustering_pairwise"]["precision"], None),
        ("story recall", lambda r: r["clustering_pairwise"]["recall"], None),
        ("story F1", lambda r: r["clustering_pairwise"]["f1"], f1),
        (
            "  story recall within duplicate groups",
            lambda r: r["clustering_detail"]["recall_within_duplicate_groups"],
            None,
        ),
        (
            "  story recall on same-event pairs",
            lambda r: r["clustering_detail"]["recall_same_event"],
            None,
        ),
    ]
    for name, get, target in rows:
        values = [get(r) for r in runs]
        table.add_row(
            name,
            *(_pct(v) for v in values),
            "" if target is None else f">= {target}",
            "" if target is None else _mark(min(values), target),
        )
    table.add_row(
        "pairs: dup predicted/true, story predicted/true",
        *(
            f"{r['duplicates_pairwise']['predicted']}/{r['duplicates_pairwise']['true']}, "
            f"{r['clustering_pairwise']['predicted']}/{r['clustering_pairwise']['true']}"
            for r in runs
        ),
        "",
        "",
    )
    table.add_row(
        "links: correct/copies, false links",
        *(
            f"{r['duplicates_per_copy']['correct']}/{r['duplicates_per_copy']['copies']}, "
            f"{r['duplicates_per_copy']['false_links']}"
            for r in runs
        ),
        "",
        "",
    )
    table.add_row(
        "negative pairs merged into one story",
        *(str(len(r["clustering_detail"]["negative_pairs_merged"])) for r in runs),
        "",
        "",
    )
    table.add_row("stories", *(str(r["stories"]) for r in runs), "", "")
    table.add_row("insert time (s)", *(f"{r['insert_s']:.1f}" for r in runs), "", "")
    console.print(table)

    per_t = Table(
        title="Per-copy recall by transformation (order A), with the copies' similarity to "
        f"their original (confirmed at J >= {neardup.MIN_JACCARD} or C >= "
        f"{neardup.MIN_CONTAINMENT})"
    )
    for col in ("transformation", "linked / copies", "recall", "min J", "median J", "min C"):
        per_t.add_column(col, justify="left" if col == "transformation" else "right")
    for t, v in first["per_transformation"].items():
        per_t.add_row(
            t,
            f"{v['linked']}/{v['copies']}",
            _pct(v["recall"]),
            _pct(v["min_jaccard"]),
            _pct(v["median_jaccard"]),
            _pct(v["min_containment"]),
        )
    console.print(per_t)

    console.print(
        "Determinism (order A, order B, crawl path): stories identical: "
        f"[bold]{deterministic['same_stories']}[/bold]; duplicate links identical: "
        f"[bold]{deterministic['same_duplicate_links']}[/bold]"
    )
    for miss in first["missed_copies"][:20]:
        console.print(
            f"  missed copy ({miss['transformation']}): J={miss['jaccard']} "
            f"C={miss['containment']} shingles={miss['shingles']} "
            f"shared band keys={miss['shared_band_keys']} linked to={miss['linked_to']}  "
            f"{miss['copy']}"
        )
    for fl in first["false_links"][:20]:
        console.print(f"  false link: {fl}")
    detail = first["clustering_detail"]
    if detail["missed_same_events"]:
        console.print(f"  same events not clustered: {', '.join(detail['missed_same_events'])}")
    if detail["groups_split"]:
        console.print(f"  duplicate groups split over stories: {len(detail['groups_split'])}")
    for a, b in detail["wrongly_merged_group_pairs"][:20]:
        console.print(f"  merged, different stories: {a!r} + {b!r}")


# -- part 2: scaling -------------------------------------------------------------------------

_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
SOURCES = [f"outlet-{n:02d}" for n in range(30)]
PER_DAY = 600
BATCH = 50


@dataclass
class Vocabulary:
    """Words of the corpora with their frequencies; content words; names."""

    words: list[str]
    cum: list[float]
    content: list[str]
    content_cum: list[float]
    names: list[str]

    @classmethod
    def from_corpora(cls, originals: Sequence[Original]) -> Vocabulary:
        counts: Counter[str] = Counter()
        for o in originals:
            counts.update(_TOKEN.findall(o.body))
            counts.update(_TOKEN.findall(o.title))
        lower = {w for w in counts if w[0].islower()}
        words = sorted(counts)
        content = sorted(
            {w.casefold() for w in words if len(w) >= 3 and w.casefold() not in STOPWORDS}
        )
        content_counts: Counter[str] = Counter()
        for w, c in counts.items():
            content_counts[w.casefold()] += c
        names = sorted(
            w for w in words if w[0].isupper() and len(w) >= 3 and w.lower() not in lower
        )
        return cls(
            words,
            list(accumulate(counts[w] for w in words)),
            content,
            list(accumulate(content_counts[w] for w in content)),
            names,
        )

    def sample(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cum, k=k)

    def sample_content(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.content, cum_weights=self.content_cum, k=k)


@dataclass
class Generated:
    """A generated article, remembered for copies and follow-ups."""

    item: ArticleItem
    names: list[str]
    words: list[str]


class Stream:
    """The synthetic feed: distinct articles with a few copies and follow-up reports."""

    COPY_SHARE = 0.03
    FOLLOW_SHARE = 0.05

    def __init__(self, vocab: Vocabulary, seed: int = 7) -> None:
        self.vocab = vocab
        self.rng = random.Random(seed)
        self.n = 0
        self.recent: deque[Generated] = deque(maxlen=1500)
        self.kinds: Counter[str] = Counter()

    def _body(self, names: Sequence[str], words: int) -> str:
        rng = self.rng
        tokens = self.vocab.sample(rng, words)
        # The names, inside the first sentence (not its first word): they are names.
        for i, name in enumerate(names):
            tokens.insert(2 + i * 3, name)
        paras: list[str] = []
        sentences: list[str] = []
        i = 0
        while i < len(tokens):
            length = rng.randint(8, 24)
            sentence = tokens[i : i + length]
            i += length
            sentences.append(
                sentence[0][:1].upper() + sentence[0][1:] + " " + " ".join(sentence[1:]) + "."
            )
            if len(sentences) >= rng.randint(2, 5):
                paras.append(" ".join(sentences))
                sentences = []
        if sentences:
            paras.append(" ".join(sentences))
        return "\n\n".join(paras)

    def _headline(self, names: Sequence[str], extra: Sequence[str], length: int) -> list[str]:
        words = list(names) + list(extra)
        while len(words) < length:
            words.extend(self.vocab.sample_content(self.rng, length - len(words)))
        return words[:length]

    def _item(
        self, title_words: Sequence[str], body: str, published: datetime, source: str
    ) -> ArticleItem:
        title = " ".join(title_words)
        title = title[:1].upper() + title[1:]
        url = (
            f"https://www.{source}.example/{published:%Y/%m/%d}/"
            f"{_slug(' '.join(title_words[:6]))}-{self.n}/"
        )
        return ArticleItem(
            url=url,
            canonical_url=url,
            source=source,
            site_name=source,
            title=title,
            published=published,
            body=body,
            fetched_at=published + timedelta(hours=1),
        )

    def __iter__(self) -> Iterator[ArticleItem]:
        return self

    def __next__(self) -> ArticleItem:
        rng = self.rng
        self.n += 1
        now = START + timedelta(seconds=self.n * 86400 / PER_DAY)
        roll = rng.random()
        if roll < self.COPY_SHARE and len(self.recent) > 100:
            src = rng.choice(list(self.recent)[-300:])
            source = rng.choice([s for s in SOURCES if s != src.item.source])
            body = src.item.body or ""
            paras = body.split("\n\n")
            edit = rng.choice(("trim", "credit", "exact"))
            if edit == "trim" and len(paras) > 3:
                body = "\n\n".join(paras[:-1])
            elif edit == "credit":
                body = body + "\n\n" + CREDITS[0]
            assert src.item.published is not None
            if rng.random() < 0.25:  # the original, crawled after its copy
                published = src.item.published - timedelta(hours=rng.uniform(0.3, 4))
            else:
                published = src.item.published + timedelta(hours=rng.uniform(0.3, 8))
            self.kinds["near-copy"] += 1
            item = self._item(src.words, body, published, source)
            self.recent.append(Generated(item, src.names, src.words))
            return item
        published = now - timedelta(hours=rng.uniform(0, 4))
        source = rng.choice(SOURCES)
        length = rng.randint(6, 12)
        if roll < self.COPY_SHARE + self.FOLLOW_SHARE and len(self.recent) > 100:
            src = rng.choice(list(self.recent)[-600:])
            names = src.names
            kept = [w for w in src.words if w not in names]
            extra = rng.sample(kept, min(len(kept), rng.randint(2, 4)))
            words = self._headline(names, extra, length)
            self.kinds["follow-up report"] += 1
        else:
            names = rng.sample(self.vocab.names, rng.choice((1, 1, 2)))
            words = self._headline(names, [], length)
            self.kinds["fresh"] += 1
        rng.shuffle(words)
        body = self._body(names, rng.randint(300, 800))
        item = self._item(words, body, published, source)
        self.recent.append(Generated(item, list(names), words))
        return item


class Timer:
    """Times the store's per-article upsert and the aggregation index inside it, each with
    its share of the batch's story refresh (while ``on``), and records the distinct SQL
    statements run (while ``capture``)."""

    def __init__(self, store: ArticleStore, engine: Engine) -> None:
        self.on = False
        self.capture = False
        self.article: list[float] = []
        self.index: list[float] = []
        self.statements: dict[str, tuple[Any, ...]] = {}
        index = store.index
        assert index is not None, "the timed store must index (indexed_store)"
        self._pending = 0  # articles added since the last story refresh

        def timed(fn: Callable[..., Any], sink: list[float], *, count: bool = False) -> Any:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                self._pending += count
                t = time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    if self.on:
                        sink.append(time.perf_counter() - t)

            return wrapper

        refresh = index.refresh_stories

        def timed_refresh(*args: Any, **kwargs: Any) -> Any:
            # The store refreshes a batch's stories once, after its last article: the time
            # is shared evenly among that batch's articles, so per-article figures include
            # it (their p95 is then a little smoother than the real one).
            t = time.perf_counter()
            try:
                return refresh(*args, **kwargs)
            finally:
                k = min(self._pending, len(self.article), len(self.index))
                if self.on and k:
                    share = (time.perf_counter() - t) / k
                    for timings in (self.article, self.index):
                        for i in range(len(timings) - k, len(timings)):
                            timings[i] += share
                self._pending = 0

        setattr(store, "_upsert_one", timed(store._upsert_one, self.article))  # noqa: B010
        setattr(index, "add", timed(index.add, self.index, count=True))  # noqa: B010
        setattr(index, "refresh_stories", timed_refresh)  # noqa: B010

        @event.listens_for(engine, "before_cursor_execute")
        def remember(
            conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
        ) -> None:
            if self.capture and statement not in self.statements:
                first = params[0] if many and params else params
                self.statements[statement] = tuple(first) if first else ()


def _p95(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 2 else values[0]


def _db_size(engine: Engine, path: Path) -> int:
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


_IN_LIST = re.compile(r"\((?:\?, )+\?\)")


def _query_plans(path: Path, statements: Mapping[str, tuple[Any, ...]]) -> list[dict[str, Any]]:
    """EXPLAIN QUERY PLAN of each distinct statement (IN lists of any length count as
    one); ``full_scan`` lists the plan's table scans."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    conn = sqlite3.connect(path)
    try:
        for sql, params in statements.items():
            shape = _IN_LIST.sub("(?)", sql)
            if shape in seen or not sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
                continue
            seen.add(shape)
            try:
                plan = [str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
            except sqlite3.Error as exc:
                plan = [f"(not explained: {exc})"]
            scans = [
                line for line in plan if line.startswith("SCAN") and "CONSTANT ROW" not in line
            ]
            out.append({"sql": " ".join(shape.split())[:300], "plan": plan, "full_scan": scans})
    finally:
        conn.close()
    return out


def _measure_inline(
    timer: Timer, store: ArticleStore, stream: Stream, count: int
) -> dict[str, Any]:
    """``count`` articles through ``ArticleStore.upsert`` with the index in the same
    transaction; per-article times from the store's own per-item step."""
    timer.article.clear()
    timer.index.clear()
    timer.on = True
    batch_walls: list[float] = []
    done = 0
    while done < count:
        batch = [next(stream) for _ in range(BATCH)]
        t = time.perf_counter()
        store.upsert(batch)
        batch_walls.append((time.perf_counter() - t) / BATCH)
        done += BATCH
    timer.on = False
    return {
        "articles": done,
        "mean_ms": 1000 * statistics.fmean(timer.article),
        "p95_ms": 1000 * _p95(timer.article),
        "index_mean_ms": 1000 * statistics.fmean(timer.index),
        "index_p95_ms": 1000 * _p95(timer.index),
        "batch_mean_ms": 1000 * statistics.fmean(batch_walls),
    }


def _measure_catch_up(
    store: ArticleStore, engine: Engine, stream: Stream, count: int
) -> dict[str, Any]:
    """The crawler's path: ``count`` articles stored without indexing (batches of 50),
    then one ``catch_up`` (its batches of 200). Per-article means."""
    done = 0
    t = time.perf_counter()
    while done < count:
        store.upsert([next(stream) for _ in range(BATCH)])
        done += BATCH
    stored_s = time.perf_counter() - t
    t = time.perf_counter()
    indexed = catch_up(engine)
    catch_up_s = time.perf_counter() - t
    if indexed != done:
        raise SystemExit(f"catch_up indexed {indexed} articles, {done} were stored")
    return {
        "articles": done,
        "store_ms": 1000 * stored_s / done,
        "catch_up_ms": 1000 * catch_up_s / done,
        "total_ms": 1000 * (stored_s + catch_up_s) / done,
    }


def run_scaling(
    console: Console, originals: Sequence[Original], workdir: Path, base: int, top: int, window: int
) -> dict[str, Any]:
    """Part 2: fill to ``base``, time ``window`` articles on each write path, fill to
    ``top``, time again."""
    console.print(
        f"\n[bold]Part 2: scaling[/bold]: insert time at {base:,} vs {top:,} stored articles "
        f"({window} timed articles per path and point, batches of {BATCH})"
    )
    vocab = Vocabulary.from_corpora(originals)
    console.print(
        f"vocabulary: {len(vocab.words):,} words ({len(vocab.content):,} content words, "
        f"{len(vocab.names):,} names) from the corpora"
    )
    path = workdir / "scaling.db"
    engine = make_engine(f"sqlite:///{path}")
    store = indexed_store(engine, {})
    raw_store = ArticleStore(engine)
    timer = Timer(store, engine)
    stream = Stream(vocab)
    stored = 0
    t0 = time.perf_counter()
    last_report = t0
    results: dict[str, Any] = {}
    snapshot = workdir / "scaling-base.db"

    def fill(target: int) -> None:
        nonlocal stored, last_report
        while stored < target:
            n = min(BATCH, target - stored)
            store.upsert([next(stream) for _ in range(n)])
            stored += n
            now = time.perf_counter()
            if now - last_report > 30 or stored == target:
                rate = stored / (now - t0)
                eta = f"  ETA {(top - stored) / rate:5.0f} s" if stored < top else ""
                console.print(
                    f"  {stored:>8,} stored  {now - t0:6.0f} s  {rate:5.0f} articles/s{eta}"
                )
                console.file.flush()
                last_report = now

    for label, target in (("base", base), ("top", top)):
        fill(target)
        size = _db_size(engine, path)
        if label == "base":
            with sqlite3.connect(path) as src, sqlite3.connect(snapshot) as dst:
                src.backup(dst)
        timer.capture = label == "top"
        inline = _measure_inline(timer, store, stream, window)
        crawl = _measure_catch_up(raw_store, engine, stream, window)
        timer.capture = False
        stored += inline["articles"] + crawl["articles"]
        results[label] = {"stored_before": target, "db_bytes": size, **inline, **crawl}
    results["query_plans"] = _query_plans(path, timer.statements)
    engine.dispose()
    fill_s = time.perf_counter() - t0

    # Rebuild the index of the base snapshot; the stories must come out the same.
    snap_engine = make_engine(f"sqlite:///{snapshot}")
    before = _stories_and_links(snap_engine)
    t1 = time.perf_counter()
    reindexed = catch_up(snap_engine, everything=True)
    reindex_s = time.perf_counter() - t1
    after = _stories_and_links(snap_engine)
    snap_engine.dispose()

    with sqlite3.connect(path) as conn:
        story_sizes = Counter(n for (n,) in conn.execute("SELECT article_count FROM stories"))
        linked = conn.execute(
            "SELECT COUNT(*) FROM articles WHERE duplicate_of IS NOT NULL"
        ).fetchone()[0]
    b, t = results["base"], results["top"]
    results.update(
        {
            "ratio_mean": t["mean_ms"] / b["mean_ms"],
            "ratio_p95": t["p95_ms"] / b["p95_ms"],
            "ratio_index_mean": t["index_mean_ms"] / b["index_mean_ms"],
            "ratio_batch_mean": t["batch_mean_ms"] / b["batch_mean_ms"],
            "ratio_crawl_path": t["total_ms"] / b["total_ms"],
            "fill_s": fill_s,
            "reindex": {
                "articles": reindexed,
                "seconds": reindex_s,
                "ms_per_article": 1000 * reindex_s / max(1, reindexed),
                "same_stories": before[0] == after[0],
                "same_duplicate_links": before[1] == after[1],
            },
            "stream": dict(stream.kinds),
            "linked_copies": linked,
            "largest_story": max(story_sizes) if story_sizes else 0,
            "stories_by_size": {str(k): v for k, v in sorted(story_sizes.items())},
        }
    )
    print_scaling(console, results)
    return results


def _stories_and_links(engine: Engine) -> tuple[set[frozenset[str]], dict[str, str | None]]:
    table = Article.__table__
    with engine.connect() as conn:
        rows = conn.execute(
            select(table.c.canonical_url, table.c.id, table.c.duplicate_of, table.c.story_id)
        ).all()
    stored = {r.canonical_url: Stored(r.id, r.duplicate_of, r.story_id) for r in rows}
    return partition(stored), dup_links(stored)


def print_scaling(console: Console, r: Mapping[str, Any]) -> None:
    """The scaling tables."""
    base, top = r["base"], r["top"]
    table = Table(title="Insert time per article (ms)")
    table.add_column("measure")
    table.add_column(f"at {base['stored_before']:,}", justify="right")
    table.add_column(f"at {top['stored_before']:,}", justify="right")
    table.add_column("ratio", justify="right")
    table.add_column("target", justify="right")
    growth = TARGETS["insert_growth"]
    rows = (
        ("upsert (index inline), mean", "mean_ms", f"<= {growth}"),
        ("upsert (index inline), p95", "p95_ms", ""),
        ("  of which aggregation index, mean", "index_mean_ms", ""),
        ("  of which aggregation index, p95", "index_p95_ms", ""),
        ("  batch wall / 50 (commit included)", "batch_mean_ms", ""),
        ("crawl path: store (no index), mean", "store_ms", ""),
        ("crawl path: catch_up, mean", "catch_up_ms", ""),
        ("crawl path: store + catch_up, mean", "total_ms", f"<= {growth}"),
    )
    for name, key, target in rows:
        ratio = top[key] / base[key]
        mark = ""
        if target:
            mark = " " + ("[green]ok[/green]" if ratio <= growth else "[red]MISSED[/red]")
        table.add_row(name, f"{base[key]:.2f}", f"{top[key]:.2f}", f"{ratio:.2f}", target + mark)
    table.add_row(
        "database size (MB)",
        f"{base['db_bytes'] / 1e6:.0f}",
        f"{top['db_bytes'] / 1e6:.0f}",
        f"{top['db_bytes'] / base['db_bytes']:.1f}",
        "",
    )
    console.print(table)
    ri = r["reindex"]
    console.print(
        f"catch_up(everything=True) on the {base['stored_before']:,}-article database: "
        f"{ri['seconds']:.1f} s ({ri['ms_per_article']:.2f} ms/article); same stories as "
        f"incremental: {ri['same_stories']}, same duplicate links: {ri['same_duplicate_links']}"
    )
    console.print(
        f"fill: {r['fill_s']:.0f} s; stream: {r['stream']}; linked copies {r['linked_copies']:,}; "
        f"largest story {r['largest_story']} articles; stories by size {r['stories_by_size']}"
    )
    scans = [q for q in r["query_plans"] if q["full_scan"]]
    plans = Table(
        title=f"Query plans of the {len(r['query_plans'])} distinct lookups run in the last "
        f"timed window ({len(scans)} with a full table scan)"
    )
    plans.add_column("statement")
    plans.add_column("plan (EXPLAIN QUERY PLAN)")
    for q in r["query_plans"]:
        sql = re.sub(r"\b(articles|story_terms|lsh_keys|stories)\.", "", q["sql"])
        plan = "; ".join(q["plan"])
        plans.add_row(sql[:110], f"[red]{plan}[/red]" if q["full_scan"] else plan)
    console.print(plans)


# -- part 3: one busy story ------------------------------------------------------------------

HOT_NAMES = ("Will", "Smith", "Chris", "Rock", "Jada", "Oscars", "Academy")
HOT_WORDS = ("slap", "stage", "ceremony", "apology", "joke", "night", "award", "actor")


def run_hot(
    console: Console, originals: Sequence[Original], workdir: Path, n: int
) -> dict[str, Any]:
    """Part 3: ``n`` reports of one event; the index's time per article as the story grows."""
    console.print(f"\n[bold]Part 3: one busy story[/bold]: {n:,} reports of one event")
    rng = random.Random(SEED)
    fillers = [o.body for o in originals if len(o.body.split()) >= 80]
    lede = (
        "At the ceremony on Sunday night Will Smith walked on stage and hit Chris Rock "
        "after a joke about Jada, and the Academy said it would review the Oscars incident."
    )
    engine = make_engine(f"sqlite:///{workdir / 'hot.db'}")
    store = indexed_store(engine, {})
    timer = Timer(store, engine)
    items = []
    for i in range(n):
        words = rng.sample(HOT_NAMES, rng.randint(2, 3)) + rng.sample(HOT_WORDS, rng.randint(2, 4))
        rng.shuffle(words)
        url = f"https://www.s{i % 30}.example/2024/03/04/hot-{i}/"
        items.append(
            ArticleItem(
                url=url, canonical_url=url, source=f"s{i % 30}", title=" ".join(words),
                published=START + timedelta(minutes=2 * i + rng.randint(0, 60)),
                body=lede + "\n\n" + fillers[i % len(fillers)] + f"\n\nReport {i}.",
                fetched_at=START + timedelta(days=3),
            )
        )  # fmt: skip
    timer.on = True
    for i in range(0, n, BATCH):
        store.upsert(items[i : i + BATCH])
    timer.on = False
    with engine.connect() as conn:
        n_stories = conn.execute(select(func.count()).select_from(Story)).scalar_one()
    engine.dispose()
    first = 1000 * statistics.fmean(timer.index[:100])
    last = 1000 * statistics.fmean(timer.index[-100:])
    console.print(
        f"index time per article: first 100 reports {first:.2f} ms, last 100 {last:.2f} ms "
        f"(x{last / first:.1f}); {n_stories} stor{'y' if n_stories == 1 else 'ies'} formed"
    )
    return {"reports": n, "first100_ms": first, "last100_ms": last, "stories": n_stories}


# -- main ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.aggregation",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--max", type=int, default=200_000, help="scaling: the large database")
    parser.add_argument(
        "--base",
        type=int,
        default=None,
        help="scaling: the small database (default 10000, or max/20 below 200000)",
    )
    parser.add_argument("--window", type=int, default=1000, help="timed articles per point")
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--hot", type=int, default=1000, help="reports of one busy story")
    parser.add_argument("--skip-hot", action="store_true")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--keep", type=Path, default=None, help="keep the databases in this dir")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console() if sys.stdout.isatty() else Console(width=160)
    root = corpora_root()
    for name in ("article-extraction-benchmark", "news-metadata"):
        if not (root / name).is_dir():
            console.print(
                f"[red]corpus {name!r} not found at {root / name}[/red]: this benchmark needs "
                "the development corpora (set AGGREGATOR_CORPORA to their directory)"
            )
            return 2
    base = args.base or (10_000 if args.max >= 200_000 else max(1000, args.max // 20))
    if not args.skip_scaling and not 0 < base < args.max:
        console.print("--base must be positive and below --max")
        return 2
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="bench-aggregation-"))
    workdir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(),
        "constants": constants(),
    }
    try:
        originals = load_originals(root)
        if not args.skip_quality:
            result["quality"] = run_quality(console, originals, workdir)
        if not args.skip_scaling:
            result["scaling"] = run_scaling(
                console, originals, workdir, base, args.max, args.window
            )
        if not args.skip_hot and args.hot >= 200:
            result["hot"] = run_hot(console, originals, workdir, args.hot)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    console.print(f"\nresults written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
