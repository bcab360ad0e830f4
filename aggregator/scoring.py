"""Metrics for the extraction benchmark and its regression gate, plus corpus loading.

Six corpora (see their README.md files under ``$AGGREGATOR_CORPORA``), all scored for body
text with the same metric, each also for the metadata its gold has:

- ``article-extraction-benchmark`` ("aeb"): body text only, scored with the public
  benchmark's own metric, reproduced here from its ``evaluate.py``
  (github.com/scrapinghub/article-extraction-benchmark) so our figures compare with the
  published table: ``\\w+`` tokens, multisets of 4-token shingles, per-page tp/fp/fn scaled
  to sum to 1, precision and recall averaged over pages, F1 of the two averages.
- ``news-metadata`` ("meta"): title, authors and publication date, plus body text scored
  with the same shingle metric as a secondary figure.
- ``dragnet``, ``l3s-gn1``, ``readability``, ``cleanportaleval``: the ``ground-truth.json``
  layout of the first (``{id: {"url", "articleBody", ...}}`` and ``html/<id>.html.gz``),
  body text with the same metric (each README names it). ``url`` may be null (no canonical
  link on the page: every l3s-gn1 page); such pages get ``""``, i.e. no URL, as their URL.
  ``readability`` also has ``title``, ``byline`` and ``published`` (Readability's own
  expected metadata), scored like news-metadata's: the byline is one credit (Readability
  gives one string, "By Jane Doe" and multi-name bylines included), and null means not
  scored, since Readability's fixture is no statement that the page credits nobody.

Besides the averages, body scores count two kinds of failure over the pages whose gold has
text: *catastrophes*, pages whose own shingle F1 is below 0.5 (the wrong block, or a small
part of the article), and *empty* bodies (no token predicted at all).

Dates are scored as finely as the prediction states them. A prediction may carry
``published_precision`` (``month``, ``day``, ``hour``, ``minute``, ``second``: ours does,
through ``aggregator extract``; the peers give none, and a prediction without one is
scored as the value it writes, as before). A prediction coarser than the metric is a miss,
not left out: a day-precision date on a page whose gold has a time of day counts against
"same minute" (we did not give the minute; leaving such pages out would let an extractor
raise its same-minute figure by withholding times), and a month-precision one against
"same day". A day-precision date is a calendar date, not an instant: "same day" compares
its date as written (at its page's offset) with the gold's own date, without converting
it to the gold's offset (see :func:`same_day`).

Nothing here imports the extractor: the gate test and the benchmark feed predictions in as
plain dicts (``title``, ``authors``, ``published``, ``published_precision``, ``body``), so
peers are scored by the very same code as ours. The benchmark's peers read pages with
:func:`read_html` (and readability's HTML summary with :func:`fragment_text`) from here
too, so the test of those readers and the benchmark share one implementation.

Used by ``python -m benchmarks.extraction`` and the regression gate
``tests/test_extraction_gate.py``. The module itself imports the standard library only
(lxml lazily, in :func:`fragment_text`): the benchmark's peer processes import it, and
should pay for as little of ours as they can (the ``aggregator.extract`` package is loaded
with it all the same).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

# The source checkout (aggregator/scoring.py -> the project root): the corpora sit
# beside it by default, as in the development layout.
PROJECT = Path(__file__).resolve().parent.parent

AEB = "article-extraction-benchmark"
META = "news-metadata"
CorpusKey = Literal["aeb", "meta", "dragnet", "l3s-gn1", "readability", "cleanportaleval"]
CORPUS_DIRS: dict[CorpusKey, str] = {
    "aeb": AEB,
    "meta": META,
    "dragnet": "dragnet",
    "l3s-gn1": "l3s-gn1",
    "readability": "readability",
    "cleanportaleval": "cleanportaleval",
}
# Every corpus, in display order.
CORPORA: tuple[CorpusKey, ...] = tuple(CORPUS_DIRS)
# Corpora whose gold has metadata (title, authors, published), scored by score_meta.
METADATA_CORPORA: frozenset[CorpusKey] = frozenset({"meta", "readability"})
# A page whose body F1 is below this is a catastrophe (the wrong thing, not a near miss).
CATASTROPHE_F1 = 0.5

# -- body: the article-extraction-benchmark metric ------------------------------------------

# Same pattern and flags as evaluate.py (only UNICODE matters for ``\w``; the others are
# no-ops kept so the two are visibly identical).
_TOKEN_RE = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)

TpFpFn = tuple[float, float, float]


def tokenize(text: str | None) -> list[str]:
    """``\\w+`` tokens of the text; ``None`` counts as empty (evaluate.py: ``text or ''``)."""
    return _TOKEN_RE.findall(text or "")


def shingles(text: str | None, n: int = 4) -> Counter[tuple[str, ...]]:
    """Multiset of n-token shingles.

    As in evaluate.py's ``_ngrams``: a text with fewer than ``n`` (but at least one) tokens
    is a single shorter shingle, and an empty text has none.
    """
    tokens = tokenize(text)
    out: Counter[tuple[str, ...]] = Counter()
    for i in range(max(1, len(tokens) - n + 1)):
        shingle = tuple(tokens[i : i + n])
        if shingle:
            out[shingle] += 1
    return out


def shingle_match(true: str | None, pred: str | None, n: int = 4) -> TpFpFn:
    """Per-page (tp, fp, fn) over shingle multisets, scaled so that they sum to 1.

    Scaling gives every page the same weight whatever its length. When both texts are
    empty the result stays (0, 0, 0), and the page then counts in neither average.
    """
    t, p = shingles(true, n), shingles(pred, n)
    tp = fp = fn = 0.0
    for key in t.keys() | p.keys():
        tc, pc = t.get(key, 0), p.get(key, 0)
        tp += min(tc, pc)
        fp += max(0, pc - tc)
        fn += max(0, tc - pc)
    s = tp + fp + fn
    if s > 0:
        return tp / s, fp / s, fn / s
    return tp, fp, fn


def precision_score(tp: float, fp: float, fn: float) -> float:
    """evaluate.py's ``precision_score``, special cases in the same order."""
    if fp == fn == 0:
        return 1.0
    if tp == fp == 0:
        return 0.0
    return tp / (tp + fp)


def recall_score(tp: float, fp: float, fn: float) -> float:
    """evaluate.py's ``recall_score``, special cases in the same order."""
    if fp == fn == 0:
        return 1.0
    if tp == fn == 0:
        return 0.0
    return tp / (tp + fn)


def exact_tokens(true: str | None, pred: str | None) -> bool:
    """The benchmark's "accuracy" for one page: identical token sequences."""
    return tokenize(true) == tokenize(pred)


def f1_of(precision: float, recall: float) -> float:
    """Harmonic mean; 0 when both are 0 (evaluate.py would divide by zero there)."""
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


@dataclass(frozen=True)
class BodyScores:
    """Corpus-level body metrics, as evaluate.py reports them."""

    precision: float
    recall: float
    f1: float
    accuracy: float
    pages: int
    pages_predicted: int  # pages in the precision average (non-empty prediction)
    pages_true: int  # pages in the recall average (non-empty truth)
    catastrophes: int = 0  # pages with text in the truth and a page F1 below CATASTROPHE_F1
    empty: int = 0  # pages with text in the truth and no token predicted


def body_scores(pairs: Iterable[tuple[str | None, str | None]]) -> BodyScores:
    """Score (truth, prediction) body pairs exactly like evaluate.py's ``evaluate``.

    Precision averages over pages with ``tp + fp > 0`` (something predicted), recall over
    pages with ``tp + fn > 0`` (non-empty truth); F1 is the harmonic mean of the two
    averages, not an average of per-page F1. One deviation: where evaluate.py would raise
    (no page at all in an average), the average is 0.0. ``catastrophes`` and ``empty`` count
    pages whose truth has text (see :class:`BodyScores`).
    """
    counts: list[TpFpFn] = []
    exact: list[float] = []
    catastrophes = empty = 0
    for true, pred in pairs:
        tp, fp, fn = shingle_match(true, pred)
        counts.append((tp, fp, fn))
        exact.append(float(exact_tokens(true, pred)))
        if tp + fn > 0:  # the truth has text
            if tp + fp == 0:
                empty += 1
            p = precision_score(tp, fp, fn) if tp + fp > 0 else 0.0
            if f1_of(p, recall_score(tp, fp, fn)) < CATASTROPHE_F1:
                catastrophes += 1
    precs = [precision_score(*c) for c in counts if c[0] + c[1] > 0]
    recs = [recall_score(*c) for c in counts if c[0] + c[2] > 0]
    # statistics.mean (exact fractions) rather than sum()/len, as evaluate.py does, so the
    # last digits agree too.
    precision = statistics.mean(precs) if precs else 0.0
    recall = statistics.mean(recs) if recs else 0.0
    return BodyScores(
        precision=precision,
        recall=recall,
        f1=f1_of(precision, recall),
        accuracy=statistics.mean(exact) if exact else 0.0,
        pages=len(counts),
        pages_predicted=len(precs),
        pages_true=len(recs),
        catastrophes=catastrophes,
        empty=empty,
    )


def page_body_scores(true: str | None, pred: str | None) -> dict[str, float | bool | None]:
    """One page's body figures for per-page reports.

    Precision is ``None`` when nothing was predicted and recall is ``None`` when the truth
    is empty: those pages are left out of the respective corpus average.
    """
    tp, fp, fn = shingle_match(true, pred)
    p = precision_score(tp, fp, fn) if tp + fp > 0 else None
    r = recall_score(tp, fp, fn) if tp + fn > 0 else None
    return {
        "precision": p,
        "recall": r,
        "f1": f1_of(p or 0.0, r or 0.0),
        "exact": exact_tokens(true, pred),
    }


# -- metadata: title, authors, dates --------------------------------------------------------


def normalize_text(value: str) -> str:
    """NFC, then every run of Unicode whitespace (NBSP, ideographic space, newlines...) to
    one space, trimmed. Case and punctuation are kept: the title metric is exact."""
    return " ".join(unicodedata.normalize("NFC", value).split())


def title_match(expected: str, ours: str | None) -> bool:
    """Exact match after :func:`normalize_text`; a missing title never matches."""
    return ours is not None and normalize_text(expected) == normalize_text(ours)


# "by" followed by whitespace or a colon: "By Jane Doe", "by: Jane", but not "Byron Smith".
_BY_RE = re.compile(r"^by(?::\s*|\s+)")


def normalize_author(name: str) -> str:
    """Text-normalized, casefolded, a leading "by" removed."""
    return _BY_RE.sub("", normalize_text(name).casefold()).strip()


def author_counts(expected: Sequence[str], ours: Sequence[str] | None) -> tuple[int, int, int]:
    """(tp, fp, fn) of normalized names as multisets: a name we list twice but the page
    credits once is one hit and one false positive. Names empty after normalization are
    dropped on both sides."""
    e = Counter(n for n in map(normalize_author, expected) if n)
    o = Counter(n for n in map(normalize_author, ours or ()) if n)
    tp = sum((e & o).values())
    return tp, sum(o.values()) - tp, sum(e.values()) - tp


_OFFSET_RE = re.compile(r"([+-])(\d{2}):?(\d{2})(?::?(\d{2}))?$")
_FRACTION_RE = re.compile(r"([T ]\d{2}:\d{2}:\d{2})[.,](\d+)")


def parse_datetime(value: str | None) -> datetime | None:
    """ISO 8601 date or date-time, with or without offset; ``None`` if it does not parse.

    More lenient than Python 3.10's ``fromisoformat`` so every system's output can be read:
    ``Z``, ``+0100`` (htmldate's ``%z``), any number of fraction digits, date-only strings
    (midnight, naive).
    """
    if not value or not isinstance(value, str):
        return None
    s = value.strip()
    if s[-1:] in ("Z", "z"):
        s = s[:-1] + "+00:00"
    s = _FRACTION_RE.sub(lambda m: f"{m.group(1)}.{(m.group(2) + '000000')[:6]}", s)
    if len(s) > 10:  # leave the date part of "2024-01-30" alone
        s = _OFFSET_RE.sub(
            lambda m: (
                f"{m.group(1)}{m.group(2)}:{m.group(3)}" + (f":{m.group(4)}" if m.group(4) else "")
            ),
            s,
        )
    try:
        return datetime.fromisoformat(s)
    except ValueError:
        return None


def has_time(expected: datetime) -> bool:
    """Whether the expected value carries a time of day.

    Every expected ``published`` in the corpus is a full date-time, but the per-publisher
    parsers emit exactly midnight when the page only gives a date (DW, WDR, Nature, ...).
    Such values are scored for "same day" only: asking for the same minute would reward
    extractors for inventing midnight.
    """
    return (expected.hour, expected.minute, expected.second, expected.microsecond) != (0, 0, 0, 0)


def _aligned(expected: datetime, ours: datetime) -> tuple[datetime, datetime]:
    """Both values on one clock, as naive datetimes, so that date and minute compare.

    - Both carry an offset: they are instants; ours is converted to the expected value's
      offset, i.e. compared as instants, with the calendar day read where the publisher is.
    - Either is naive (the page gave no zone, or the fixture has none): the wall clocks are
      compared, each as written. Converting would mean inventing an offset for the naive
      side, and the naive value is the publisher's local wall clock.
    """
    if expected.tzinfo is not None and ours.tzinfo is not None:
        return expected.replace(tzinfo=None), ours.astimezone(expected.tzinfo).replace(tzinfo=None)
    return expected.replace(tzinfo=None), ours.replace(tzinfo=None)


# Precisions too coarse for each metric: such a prediction did not give what is scored.
_NO_DAY = frozenset({"month"})
_NO_MINUTE = frozenset({"month", "day", "hour"})


def same_day(expected: datetime, ours: datetime | None, precision: str | None = None) -> bool:
    """Same calendar day (see :func:`_aligned` for how offsets are handled). ``precision``
    is the prediction's (None: unknown, the value is taken as written): a month is no
    day, a miss; a day is a calendar date, compared as written with the expected value's
    date as written, never shifted into another offset (where its midnight would fall
    on the day before)."""
    if ours is None or precision in _NO_DAY:
        return False
    if precision == "day":
        return expected.date() == ours.date()
    e, o = _aligned(expected, ours)
    return e.date() == o.date()


def same_minute(expected: datetime, ours: datetime | None, precision: str | None = None) -> bool:
    """Same minute: both truncated to the minute (10:56:59 and 10:57:01 differ), compared
    on one clock as in :func:`_aligned`. A prediction whose ``precision`` is coarser than
    the minute (month, day, hour) is a miss: it did not give the minute, whatever time of
    day its value happens to hold."""
    if ours is None or precision in _NO_MINUTE:
        return False
    e, o = _aligned(expected, ours)
    return e.replace(second=0, microsecond=0) == o.replace(second=0, microsecond=0)


# -- corpora ---------------------------------------------------------------------------------


def corpora_root() -> Path:
    """``$AGGREGATOR_CORPORA``, else ``<project>/../shared/corpora`` (may not exist)."""
    env = os.environ.get("AGGREGATOR_CORPORA")
    return Path(env) if env else PROJECT.parent / "shared" / "corpora"


@dataclass(frozen=True)
class Page:
    """One corpus page: where it is, where it came from, and what should be extracted."""

    corpus: CorpusKey
    page_id: str  # aeb: sha256 of the URL; meta: file stem such as "ABC_2025_01_13"
    path: Path
    url: str  # "" where the corpus has none
    fetched_at: str | None  # as given by the corpus; the extractor's manifest parses it
    body: str
    title: str | None = None
    authors: tuple[str, ...] | None = None  # None: the fixture has none (not scored)
    published: str | None = None


def load_ground_truth(directory: Path, corpus: CorpusKey) -> list[Page]:
    """Pages of a ``ground-truth.json`` corpus, in the order the truth lists them.

    ``{id: {"url", "articleBody"}}`` plus, where the corpus has them (readability),
    ``title``, ``byline`` and ``published``; the page is ``html/<id>.html.gz`` (or an
    uncompressed ``.html``). A null URL becomes ``""``; a null byline is not scored (see
    the module docstring), a byline is one credit.
    """
    truth: dict[str, dict[str, Any]] = json.loads(
        (directory / "ground-truth.json").read_text(encoding="utf-8")
    )
    pages: list[Page] = []
    for key, row in truth.items():
        path = directory / "html" / f"{key}.html.gz"
        if not path.exists() and (directory / "html" / f"{key}.html").exists():
            path = directory / "html" / f"{key}.html"
        byline = row.get("byline")
        pages.append(
            Page(
                corpus=corpus,
                page_id=key,
                path=path.resolve(),
                url=row.get("url") or "",
                fetched_at=None,
                body=row.get("articleBody") or "",
                title=row.get("title"),
                authors=(byline,) if isinstance(byline, str) and byline.strip() else None,
                published=row.get("published"),
            )
        )
    return pages


def load_aeb(directory: Path) -> list[Page]:
    """The article-extraction-benchmark pages in ground-truth order (the truth lists them)."""
    return load_ground_truth(directory, "aeb")


def load_meta(directory: Path) -> list[Page]:
    """The news-metadata pages, sorted by file name."""
    pages: list[Page] = []
    for meta in sorted((directory / "pages").glob("*.json")):
        row: dict[str, Any] = json.loads(meta.read_text(encoding="utf-8"))
        authors = row.get("authors")
        pages.append(
            Page(
                corpus="meta",
                page_id=meta.stem,
                path=meta.with_name(meta.stem + ".html.gz").resolve(),
                url=row["url"],
                fetched_at=row.get("crawl_date"),
                body=row.get("body") or "",
                title=row.get("title"),
                authors=None if authors is None else tuple(authors),
                published=row.get("published"),
            )
        )
    return pages


def load_corpus(key: CorpusKey, root: Path | None = None) -> list[Page]:
    """Pages of one corpus under ``root`` (default :func:`corpora_root`)."""
    directory = (root or corpora_root()) / CORPUS_DIRS[key]
    return load_meta(directory) if key == "meta" else load_ground_truth(directory, key)


def load_corpora(
    keys: Iterable[CorpusKey] = CORPORA, root: Path | None = None
) -> dict[CorpusKey, list[Page]]:
    """Every corpus of ``keys`` present under ``root``, in ``keys`` order; absent ones are
    left out (the caller can tell which from the keys)."""
    base = root or corpora_root()
    return {k: load_corpus(k, base) for k in keys if (base / CORPUS_DIRS[k]).is_dir()}


# -- reading pages ---------------------------------------------------------------------------

_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def read_html(path: Path) -> str:
    """A corpus page's text: gunzipped (``.gz``) and decoded, as a str, as the public
    benchmark's own runners give it to the extractors they score.

    Most pages are UTF-8; a few (dragnet, cleanportaleval) keep their original encoding:
    those are decoded with the charset their ``<meta>`` declares, else Windows-1252, so no
    peer is scored on mojibake.
    """
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    match = _CHARSET_RE.search(data[:8192])
    if match:
        try:
            return data.decode(match.group(1).decode("ascii"), errors="replace")
        except LookupError:
            pass
    return data.decode("cp1252", errors="replace")


_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)


def fragment_text(fragment: str) -> str:
    """An HTML fragment's text, one paragraph per block element, separated by blank lines.

    For a peer that returns HTML rather than text (readability's summary): the public
    benchmark runs it through ``html_text``; this does the same job without the extra
    dependency. What matters for the metric is that words in adjacent blocks are never
    glued together; paragraph breaks only matter to a reader.
    """
    # Imported here: the rest of this module is stdlib only, and most callers never need it.
    from lxml import etree
    from lxml import html as lhtml

    if not fragment.strip():
        return ""
    root = lhtml.fragment_fromstring(fragment, create_parent="div")
    parts: list[str] = []
    # Comments and processing instructions come as one event of their own: tail only.
    for event, el in etree.iterwalk(root, events=("start", "end", "comment", "pi")):
        tag = el.tag if isinstance(el.tag, str) else ""
        if event == "start":
            if tag in _BLOCK_TAGS:
                parts.append("\n\n")
            elif tag == "br":
                parts.append("\n")
            if el.text and tag not in ("script", "style", "noscript", "template"):
                parts.append(el.text)
            continue
        if tag in _BLOCK_TAGS:
            parts.append("\n\n")
        if el.tail and el is not root:
            parts.append(el.tail)
    paragraphs = (" ".join(p.split()) for p in "".join(parts).split("\n\n"))
    return "\n\n".join(p for p in paragraphs if p)


def write_manifest(pages: Iterable[Page], path: Path) -> None:
    """JSON Lines ``{"path", "url", "fetched_at"}``: the ``aggregator extract --manifest``
    format, read by the peers' runner too. Paths are absolute so outputs map back."""
    with path.open("w", encoding="utf-8") as fh:
        for p in pages:
            row = {"path": str(p.path), "url": p.url, "fetched_at": p.fetched_at}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


# -- scoring a system ------------------------------------------------------------------------

# title, authors (list or None), published (ISO str), published_precision (optional), body
Prediction = Mapping[str, Any]


@dataclass(frozen=True)
class MetaScores:
    """Corpus-level news-metadata metrics, each with the number of pages it is over."""

    title_exact: float
    title_pages: int
    author_precision: float
    author_recall: float
    author_f1: float
    author_tp: int
    author_fp: int
    author_fn: int
    author_pages: int
    same_day: float
    day_pages: int
    same_minute: float
    minute_pages: int
    body: BodyScores


def _authors_of(pred: Prediction) -> list[str]:
    """A prediction's authors as a list (runners may give a "A; B" string or None)."""
    value = pred.get("authors")
    if value is None:
        return []
    if isinstance(value, str):
        return [a.strip() for a in value.split(";") if a.strip()]
    return [str(a) for a in value]


def _mean(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def meta_page_scores(page: Page, pred: Prediction) -> dict[str, Any]:
    """One news-metadata page: each metric's outcome, ``None`` where the page is not scored
    for it (no expected authors, no expected time...)."""
    out: dict[str, Any] = {}
    out["title"] = None if page.title is None else title_match(page.title, pred.get("title"))
    if page.authors is None:
        out["authors"] = None
    else:
        tp, fp, fn = author_counts(page.authors, _authors_of(pred))
        out["authors"] = {"tp": tp, "fp": fp, "fn": fn}
    expected = parse_datetime(page.published)
    ours = parse_datetime(pred.get("published"))
    precision = pred.get("published_precision")
    precision = precision if isinstance(precision, str) else None
    out["same_day"] = None if expected is None else same_day(expected, ours, precision)
    out["same_minute"] = (
        None
        if expected is None or not has_time(expected)
        else same_minute(expected, ours, precision)
    )
    return out


def score_body(pages: Sequence[Page], preds: Mapping[str, Prediction]) -> BodyScores:
    """Body metrics of any corpus; ``preds`` is keyed by page id, a missing page counts as
    empty."""
    return body_scores((p.body, (preds.get(p.page_id) or {}).get("body")) for p in pages)


score_aeb = score_body  # the name the regression gate uses


def score_meta(pages: Sequence[Page], preds: Mapping[str, Prediction]) -> MetaScores:
    """News-metadata metrics; ``preds`` keyed by page id, a missing page counts as empty.

    Title exact match: share of pages with an expected title. Authors: micro precision /
    recall / F1 (tp, fp, fn summed over pages whose expected authors is not null). Same day:
    share of pages with an expected date; same minute: share of those whose expected value
    has a time (:func:`has_time`); a prediction too coarse for either is a miss there (see
    the module docstring).
    """
    titles: list[bool] = []
    days: list[bool] = []
    minutes: list[bool] = []
    tp = fp = fn = author_pages = 0
    for page in pages:
        s = meta_page_scores(page, preds.get(page.page_id) or {})
        if s["title"] is not None:
            titles.append(s["title"])
        if s["authors"] is not None:
            author_pages += 1
            tp += s["authors"]["tp"]
            fp += s["authors"]["fp"]
            fn += s["authors"]["fn"]
        if s["same_day"] is not None:
            days.append(s["same_day"])
        if s["same_minute"] is not None:
            minutes.append(s["same_minute"])
    ap = tp / (tp + fp) if tp + fp else 0.0
    ar = tp / (tp + fn) if tp + fn else 0.0
    return MetaScores(
        title_exact=_mean(titles),
        title_pages=len(titles),
        author_precision=ap,
        author_recall=ar,
        author_f1=f1_of(ap, ar),
        author_tp=tp,
        author_fp=fp,
        author_fn=fn,
        author_pages=author_pages,
        same_day=_mean(days),
        day_pages=len(days),
        same_minute=_mean(minutes),
        minute_pages=len(minutes),
        body=body_scores((p.body, (preds.get(p.page_id) or {}).get("body")) for p in pages),
    )


def page_report(page: Page, pred: Prediction) -> dict[str, Any]:
    """Everything about one page for the per-page results: scores plus the values."""
    row: dict[str, Any] = {
        "corpus": page.corpus,
        "page": page.page_id,
        "url": page.url,
        "path": str(page.path),
    }
    if pred.get("error"):
        row["error"] = pred["error"]
    row["body"] = page_body_scores(page.body, pred.get("body"))
    if page.corpus in METADATA_CORPORA:
        row.update(meta_page_scores(page, pred))
        row["values"] = {
            "title": [page.title, pred.get("title")],
            "authors": [
                list(page.authors) if page.authors is not None else None,
                _authors_of(pred),
            ],
            "published": [page.published, pred.get("published")],
            "published_precision": pred.get("published_precision"),
        }
    return row


def worst_pages(per_page: Sequence[dict[str, Any]], n: int) -> dict[str, list[dict[str, Any]]]:
    """Per corpus, the ``n`` rows of :func:`page_report` with the lowest body F1, among
    the pages whose gold has text (a page with empty gold has no recall, and no F1 to
    speak of); ties go by page id, so the lists are stable from run to run."""
    by_corpus: dict[str, list[dict[str, Any]]] = {}
    for row in per_page:
        if row["body"]["recall"] is not None:
            by_corpus.setdefault(row["corpus"], []).append(row)
    return {
        corpus: sorted(rows, key=lambda r: (r["body"]["f1"], r["page"]))[:n]
        for corpus, rows in by_corpus.items()
    }


@dataclass
class SystemResult:
    """One system's run over the selected corpora: scores, timing, failures."""

    name: str
    skipped: str | None = None  # reason, when the system could not run at all
    seconds: float | None = None
    pages: int = 0
    errors: int = 0  # pages the system failed on (scored as empty)
    aeb: BodyScores | None = None
    meta: MetaScores | None = None
    # Every corpus scored: body metrics, metadata where the corpus has it, whole-process
    # wall seconds of the system's run over that corpus alone.
    bodies: dict[str, BodyScores] = field(default_factory=dict)
    metadata: dict[str, MetaScores] = field(default_factory=dict)
    corpus_seconds: dict[str, float] = field(default_factory=dict)
    corpus_pages: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def corpus_pages_per_second(self, corpus: str) -> float | None:
        """Pages of one corpus over the wall seconds of its own process."""
        seconds = self.corpus_seconds.get(corpus)
        pages = self.corpus_pages.get(corpus)
        return pages / seconds if seconds and pages else None

    @property
    def pages_per_second(self) -> float | None:
        """Pages over whole-process wall seconds (start-up included)."""
        return self.pages / self.seconds if self.seconds else None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        out = asdict(self)
        out["pages_per_second"] = self.pages_per_second
        return out
