"""Generated article databases for the benchmarks (``benchmarks.web``, ``benchmarks.million``).

Stories of 1 to 12 articles (most of one, a few of many) at the registered outlets,
article bodies of about 250 words drawn from the development corpora's word frequencies
(Zipfian, as real text is) with the story's names in them, a syndicated copy now and
then, a crawl run per outlet per day with a few failures. Rows are inserted with
SQLAlchemy Core into the migrations' schema, so SQLite's FTS5 triggers and PostgreSQL's
stored ``search_vector`` are kept up as in a crawl. With ``index=True`` the aggregation
index is written too, so that indexing a new article meets an index of the database's
size: each article's headline terms (:func:`aggregator.aggregate.stories.key_terms`, its
story's names marked as names) and 32 LSH band keys. The band keys are random 63-bit
numbers (a syndicated copy gets its original's): MinHash band keys of unrelated texts are
as good as random, and computing them costs more than the rest of the load. The stories
are the generator's.

Databases are kept between runs (SQLite files, PostgreSQL schemas) and reused when they
hold the requested number of articles.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, insert, select, text, update
from sqlalchemy.engine import make_url

from aggregator.aggregate.neardup import BANDS
from aggregator.aggregate.stories import key_terms
from aggregator.sources import load_sources
from aggregator.storage.database import make_engine
from aggregator.storage.models import Article, CrawlRun, LshKey, Story, StoryTerm

# The benchmarks' PostgreSQL server: the tests' one unless $AGGREGATOR_TEST_PG_URL says.
PG_SERVER = (
    os.environ.get("AGGREGATOR_TEST_PG_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SEED = 15
SPAN_DAYS = 60
BATCH = 2000

CATEGORIES = ("film", "tv", "music", "games", "celebrity")
# Used when the corpora are absent: a small entertainment vocabulary, uniform.
_FALLBACK_WORDS = (
    "season premiere finale trailer cast director studio sequel box office streaming series "
    "album tour single chart record festival award nomination red carpet interview release "
    "date episode character villain hero franchise reboot spinoff showrunner network deal "
    "contract rumor report confirms reveals announces delays debut review critics fans "
    "ratings viewers weekend opening global million billion production filming casting "
    "teaser poster soundtrack composer producer actor actress singer rapper band game"
).split()
_FALLBACK_NAMES = (
    "Netflix HBO Disney Marvel Pixar Warner Universal Paramount Amazon Apple Sony Nintendo "
    "Xbox PlayStation Beyoncé Taylor Swift Drake Rihanna Adele Zendaya Timothée Chalamet "
    "Margot Robbie Tom Cruise Pedro Pascal Barbie Oppenheimer Dune Stranger Things Wednesday"
).split()


@dataclass
class Words:
    """What the generated text is drawn from: words with their frequencies (Zipfian, as
    real text is), content words for headlines, names."""

    words: list[str]
    cum: list[float] | None
    content: list[str]
    content_cum: list[float] | None
    names: list[str]
    origin: str

    @classmethod
    def load(cls) -> Words:
        """The development corpora's real word frequencies (see benchmarks.aggregation),
        else the small fallback vocabulary."""
        from aggregator.scoring import corpora_root

        try:
            from benchmarks.aggregation import Vocabulary, load_originals

            v = Vocabulary.from_corpora(load_originals(corpora_root()))
        except OSError:
            return cls(_FALLBACK_WORDS, None, _FALLBACK_WORDS, None, _FALLBACK_NAMES,
                       "fallback vocabulary (corpora not found)")  # fmt: skip
        return cls(v.words, v.cum, v.content, v.content_cum, v.names,
                   f"word frequencies of the corpora in {corpora_root()}")  # fmt: skip

    def body(self, rng: random.Random, n: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cum, k=n)

    def headline(self, rng: random.Random, n: int) -> list[str]:
        return rng.choices(self.content, cum_weights=self.content_cum, k=n)


@dataclass(frozen=True)
class Shape:
    """How a generated database spreads its articles in time: stories start within
    ``span_days`` before ``now``, at ``now - span * u ** skew`` for a uniform ``u`` (a
    skew above 1 puts more of them near ``now``, as a reader's recent news is)."""

    span_days: float = SPAN_DAYS
    skew: float = 1.3
    seed: int = SEED
    url_prefix: str = "news"
    chronological: bool = False
    """Stories in the order of their times (ids and rows oldest first, as a crawl stores
    them) instead of in random order of time; the same text either way. What was
    published in the last days then sits in the last pages of every table, as in a
    crawled database, instead of spread over all of them."""


@dataclass
class BuildReport:
    """What building a database cost (zero when it was reused)."""

    articles: int = 0
    seconds: float = 0.0
    index_seconds: float = 0.0
    """Of ``seconds``: computing and writing the aggregation index's rows."""
    reused: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def pg_url(schema: str) -> str:
    """The benchmark PostgreSQL database (``$AGGREGATOR_TEST_PG_URL``, else the local
    one) with ``schema`` (created if missing) as its search path."""
    base = PG_SERVER
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    admin.dispose()
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def database_url(backend: str, size: int, workdir: Path, name: str = "web") -> str:
    """``<workdir>/<name>-<size>.db`` or the PostgreSQL schema ``bench_<name>_<size>``."""
    if backend == "sqlite":
        return f"sqlite:///{workdir / f'{name}-{size}.db'}"
    return pg_url(f"bench_{name}_{size}")


def rows(
    size: int, now: datetime, words: Words, shape: Shape = Shape(), first_story: int = 1
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(story, its articles) until ``size`` articles: most stories one article, some many.
    A syndicated copy's row carries ``_copy`` (the same body as its story's first), the
    story's first row ``_names`` (the names its headline and bodies are made of)."""
    rng = random.Random(shape.seed)
    sources = list(load_sources().values())
    made = 0
    story_id = first_story - 1
    while made < size:
        story_id += 1
        r = rng.random()
        n = 1 if r < 0.62 else rng.randint(2, 3) if r < 0.9 else rng.randint(4, 12)
        n = min(n, size - made)
        names = rng.sample(words.names, 3)
        terms = words.headline(rng, 5)
        headline = f"{names[0]} {names[1]} {' '.join(terms[:3])} {names[2]} {terms[3]}"
        u = rng.random()
        if shape.chronological:
            u = 1 - made / size  # the same distribution in time, drawn in its order
        start = now - timedelta(days=shape.span_days * u**shape.skew)
        outlets = rng.sample(sources, min(n, len(sources)))
        articles: list[dict[str, Any]] = []
        for i in range(n):
            src = outlets[i % len(outlets)]
            when = start + timedelta(minutes=rng.randint(0, 600) * (i > 0))
            text_ = words.body(rng, 250)
            for k in range(0, 250, 25):  # the story's names recur in its bodies
                text_[k] = rng.choice(names)
            body = "\n\n".join(" ".join(text_[k : k + 50]) + "." for k in range(0, 250, 50))
            made += 1
            path = f"{shape.url_prefix}/{story_id}-{i}-{made}"
            articles.append(
                {
                    "canonical_url": f"https://{src.domains[0]}/{path}",
                    "url": f"https://{src.domains[0]}/{path}",
                    "source": src.name,
                    "site_name": src.title,
                    "title": headline if i == 0 else f"{headline} {terms[4]}",
                    "subtitle": " ".join(words.headline(rng, 12)).capitalize() + "."
                    if rng.random() < 0.8
                    else None,
                    "authors": [f"{rng.choice(words.names)} {rng.choice(words.names)}"],
                    "published": when,
                    "published_offset": rng.choice((0, -240, 60, 540)),
                    "published_precision": "second",
                    "body": body,
                    "image": f"https://{src.domains[0]}/img/{made}.jpg"
                    if rng.random() < 0.9
                    else None,
                    "tags": [],
                    "first_seen": when,
                    "last_seen": when,
                    "fetched_at": when,
                    "story_id": story_id,
                    "duplicate_of": None,
                }
            )
        if n > 2 and rng.random() < 0.3:
            articles[-1]["body"] = articles[0]["body"]  # a syndicated copy
            articles[-1]["_copy"] = True
        articles[0]["_names"] = names
        first = min(a["published"] for a in articles)
        last = max(a["published"] for a in articles)
        story = {
            "id": story_id,
            "headline": headline,
            "first_seen": first,
            "updated": last,
            "article_count": n,
            "outlet_count": len({a["source"] for a in articles}),
            "category": rng.choice(CATEGORIES),
        }
        yield story, articles


def index_rows(
    article_id: int, row: dict[str, Any], keys: list[int], names: Iterable[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The aggregation index's rows for a stored article, as
    :meth:`aggregator.aggregate.index.AggregateIndex.add` writes them: its LSH band
    ``keys`` and its headline's key terms, those among ``names`` marked as names."""
    terms = key_terms(row["title"])
    folded = {n.casefold() for n in names}
    lsh = [{"key": k, "article_id": article_id} for k in keys]
    story_terms = [
        {"term": t[:100], "article_id": article_id, "is_name": t in folded,
         "published": row["published"]}
        for t in sorted(terms)
    ]  # fmt: skip
    return lsh, story_terms


def _fast_sqlite_writes(engine: Engine) -> None:
    """A large page cache for the build's connections: the index's B-trees take random
    inserts, which a small cache turns into disk reads."""

    @event.listens_for(engine, "connect")
    def _cache(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA cache_size=-1000000")  # KiB: 1 GB
        cur.close()


def _crawl_runs(now: datetime) -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    runs = []
    for day in range(30, 0, -1):
        started = now - timedelta(days=day)
        for name in load_sources():
            failed = rng.random() < 0.03
            runs.append(
                {
                    "source": name,
                    "started_at": started,
                    "finished_at": started + timedelta(minutes=3),
                    "status": "failed" if failed else "finished",
                    "pages": 0 if failed else rng.randint(20, 80),
                    "new": 0 if failed else rng.randint(5, 40),
                    "updated": 0,
                    "dropped": rng.randint(0, 3),
                    "errors": 5 if failed else 0,
                    "details": {"errors": {"download/timeout": 5}} if failed else {},
                }
            )
    return runs


def _vacuum(engine: Engine) -> None:
    """PostgreSQL: the benchmark's tables as autovacuum keeps them (statistics read, GIN
    indexes' pending lists merged), whether or not autovacuum runs on the server measured;
    only this schema's, not the whole database's."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        tables = conn.exec_driver_sql(
            "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()"
        ).scalars()
        conn.exec_driver_sql(f"VACUUM ANALYZE {', '.join(tables)}")


def build(
    url: str,
    size: int,
    words: Words,
    shape: Shape = Shape(),
    *,
    index: bool = False,
    now: datetime | None = None,
    progress: bool = False,
) -> tuple[Engine, BuildReport]:
    """The benchmark database of ``size`` articles at ``url`` (reused when it has them)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        have = conn.execute(select(func.count(Article.id))).scalar_one()
    if have == size:
        _vacuum(engine)
        return engine, BuildReport(size)
    if have:
        raise SystemExit(f"{url} holds {have} articles, not {size}: remove it first")
    if engine.dialect.name == "sqlite":
        engine.dispose()
        engine = make_engine(url)
        _fast_sqlite_writes(engine)
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    t0 = time.perf_counter()
    index_s = 0.0
    stories: list[dict[str, Any]] = []
    articles: list[dict[str, Any]] = []
    lsh: list[dict[str, Any]] = []
    terms: list[dict[str, Any]] = []
    copies: list[tuple[int, int]] = []
    next_id = 1
    last_report = t0

    def flush() -> None:
        nonlocal index_s
        with engine.begin() as conn:
            if stories:
                conn.execute(insert(Story), stories)
            if articles:
                conn.execute(insert(Article), articles)
            t = time.perf_counter()
            if lsh:
                conn.execute(insert(LshKey), lsh)
            if terms:
                conn.execute(insert(StoryTerm), terms)
            index_s += time.perf_counter() - t
        for batch in (stories, articles, lsh, terms):
            batch.clear()

    keys_rng = random.Random(shape.seed)
    for story, story_rows in rows(size, now, words, shape):
        stories.append(story)
        names = story_rows[0].pop("_names")
        first_keys: list[int] = []
        for a in story_rows:
            a["id"] = next_id
            copy = a.pop("_copy", False)
            if copy:
                copies.append((next_id, story_rows[0]["id"]))
            if index:
                t = time.perf_counter()
                keys = first_keys if copy else [keys_rng.getrandbits(63) for _ in range(BANDS)]
                first_keys = first_keys or keys
                more_lsh, more_terms = index_rows(next_id, a, keys, names)
                lsh.extend(more_lsh)
                terms.extend(more_terms)
                index_s += time.perf_counter() - t
            articles.append(a)
            next_id += 1
        if len(articles) >= BATCH:
            flush()
            now_t = time.perf_counter()
            if progress and now_t - last_report > 60:
                done = next_id - 1
                rate = done / (now_t - t0)
                print(f"    {done:>9,} articles  {now_t - t0:5.0f} s  {rate:5.0f}/s  "
                      f"ETA {(size - done) / rate:5.0f} s", flush=True)  # fmt: skip
                last_report = now_t
    flush()
    with engine.begin() as conn:
        for copy_id, original_id in copies:
            conn.execute(
                update(Article).where(Article.id == copy_id).values(duplicate_of=original_id)
            )
        conn.execute(insert(CrawlRun), _crawl_runs(now))
        if engine.dialect.name == "postgresql":
            # Ids were given explicitly: later inserts must start after them.
            for table in ("articles", "stories"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
    if engine.dialect.name == "postgresql":
        _vacuum(engine)
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    seconds = time.perf_counter() - t0
    print(f"  built {size} articles in {seconds:.0f} s", flush=True)
    return engine, BuildReport(size, seconds, index_s, reused=False)


def pct(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
