"""The aggregation index in the database: near-duplicate links and story clusters.

Persisted (tables ``lsh_keys``, ``story_terms``, ``stories`` and two columns of
``articles``), so it survives restarts and never needs a rebuild. Lookups are index
queries (LSH band keys; headline terms within a time window), so indexing an article
costs about the same with 10k or 200k articles stored.

Crawls store articles without indexing them (the index is derived data and costs more
than storing); :func:`catch_up` indexes whatever is not indexed yet, oldest first, at
the end of every crawl and before every story query. Writers serialize on a lock, so
two crawls finishing at once never index an article twice.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy import update as sql_update
from sqlalchemy.sql.elements import BindParameter

from aggregator.aggregate.neardup import MIN_SHINGLES, band_keys, shingles, signature, similarity
from aggregator.aggregate.stories import (
    MIN_TITLE_OVERLAP,
    WINDOW,
    StoryKey,
    representative,
)
from aggregator.normalize.category import Evidence, vote
from aggregator.storage.engine import error_line, storage_failure, write_lock
from aggregator.storage.models import Article, LshKey, Story, StoryTerm
from aggregator.storage.store import ArticleStore


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


ARTICLES = _table(Article)
LSH = _table(LshKey)
TERMS = _table(StoryTerm)
STORIES = _table(Story)
# Key of the transaction-scoped PostgreSQL advisory lock for index writers ("aggidx").
logger = logging.getLogger("aggregator.aggregate")
_PG_LOCK_KEY = int.from_bytes(b"aggidx", "big")
# Articles indexed per transaction when catching up.
BATCH = 200
_LATEST = datetime.max.replace(tzinfo=timezone.utc)
_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)

# Statements built once (building a SQLAlchemy statement costs more than running it).
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_Q_LSH_CANDIDATES = (
    select(LSH.c.article_id).where(LSH.c.key.in_(bindparam("keys", expanding=True))).distinct()
)
_Q_CANDIDATE_BODIES = select(
    ARTICLES.c.id, ARTICLES.c.body, ARTICLES.c.published, ARTICLES.c.canonical_url,
    ARTICLES.c.duplicate_of,
).where(ARTICLES.c.id.in_(_IDS))  # fmt: skip
_Q_GROUP = select(ARTICLES.c.id, ARTICLES.c.published, ARTICLES.c.canonical_url).where(
    ARTICLES.c.id.in_(_IDS)
)
_U_REPOINT = (
    sql_update(ARTICLES)
    .where(ARTICLES.c.id.in_(_IDS) | ARTICLES.c.duplicate_of.in_(_IDS))
    .values(duplicate_of=bindparam("new_original"))
)
# The story predicate (stories.related) against the stored articles, in one query: those
# in the window sharing at least ``min_shared`` key terms (2, or as many as the Jaccard
# bound needs), one of them a name on either side, with how many terms they share and
# have, and their stories; Python then applies the Jaccard ratio. Counting in SQL instead
# of loading every candidate's terms keeps a busy story cheap: on 1,000 articles about
# one event, 34 ms an article before, 10 ms after.
_TERMS_B = TERMS.alias("terms_b")
_Q_RELATED = (
    select(
        TERMS.c.article_id,
        func.count().label("shared"),
        select(func.count())
        .where(_TERMS_B.c.article_id == TERMS.c.article_id)
        .scalar_subquery()
        .label("size"),
        select(ARTICLES.c.story_id)
        .where(ARTICLES.c.id == TERMS.c.article_id)
        .scalar_subquery()
        .label("story_id"),
    )
    .where(TERMS.c.term.in_(bindparam("terms", expanding=True)))
    .where(TERMS.c.published >= bindparam("low"), TERMS.c.published <= bindparam("high"))
    .group_by(TERMS.c.article_id)
    .having(func.count() >= bindparam("min_shared"))
    .having(
        func.sum(
            case(
                (or_(TERMS.c.is_name, TERMS.c.term.in_(bindparam("names", expanding=True))), 1),
                else_=0,
            )
        )
        >= 1
    )
)
_Q_STORIES_OF = select(ARTICLES.c.story_id).where(ARTICLES.c.id.in_(_IDS))
_I_LSH = insert(LSH)
_I_TERMS = insert(TERMS)
_I_STORY = (
    insert(STORIES)
    .values(headline="", first_seen=bindparam("now"), updated=bindparam("now"),
            article_count=0, outlet_count=0)
    .returning(STORIES.c.id)
)  # fmt: skip
_U_MOVE = (
    sql_update(ARTICLES).where(ARTICLES.c.story_id.in_(_IDS)).values(story_id=bindparam("target"))
)
_D_STORIES = delete(STORIES).where(STORIES.c.id.in_(_IDS))
_U_ARTICLE = (
    sql_update(ARTICLES)
    .where(ARTICLES.c.id == bindparam("aid"))
    .values(duplicate_of=bindparam("dup"), story_id=bindparam("sid"))
)
_Q_STORY_ROWS = select(
    ARTICLES.c.title, ARTICLES.c.canonical_url, ARTICLES.c.published, ARTICLES.c.first_seen,
    ARTICLES.c.source, ARTICLES.c.section, ARTICLES.c.tags, ARTICLES.c.subtitle,
).where(ARTICLES.c.story_id == bindparam("sid"))  # fmt: skip
_U_STORY = (
    sql_update(STORIES)
    .where(STORIES.c.id == bindparam("sid"))
    .values(headline=bindparam("headline"), first_seen=bindparam("first"),
            updated=bindparam("last"), article_count=bindparam("n_articles"),
            outlet_count=bindparam("n_outlets"), category=bindparam("cat"))
)  # fmt: skip
_Q_UNINDEXED = (
    select(ARTICLES.c.id, ARTICLES.c.title, ARTICLES.c.body, ARTICLES.c.published,
           ARTICLES.c.first_seen, ARTICLES.c.canonical_url)
    .where(ARTICLES.c.story_id.is_(None))
    .order_by(ARTICLES.c.published, ARTICLES.c.id)
    .limit(BATCH)
)  # fmt: skip
_Q_UNINDEXED_ONE = select(*_Q_UNINDEXED.selected_columns).where(
    ARTICLES.c.id == bindparam("aid"), ARTICLES.c.story_id.is_(None)
)


def _shifted(when: datetime, delta: timedelta) -> datetime:
    """``when + delta``, or the earliest/latest time there is when that is out of range
    (whatever date a database holds, indexing it never fails)."""
    try:
        return when + delta
    except OverflowError:
        return _LATEST if delta > timedelta(0) else _EARLIEST


@dataclass(frozen=True)
class Assignment:
    """Where a newly indexed article landed."""

    duplicate_of: int | None
    story_id: int


def lock(conn: Connection) -> None:
    """Make this connection's transaction the only index writer until it ends."""
    write_lock(conn, _PG_LOCK_KEY)


class AggregateIndex:
    """Links near-duplicates and groups articles into stories, in the caller's
    transaction. ``categories`` maps a source name to its registry category."""

    def __init__(self, categories: Mapping[str, str] | None = None) -> None:
        self.categories = dict(categories or {})

    def lock(self, conn: Connection) -> None:
        """See :func:`lock`: index writers take turns (stories merge across articles)."""
        lock(conn)

    def add(
        self,
        conn: Connection,
        article_id: int,
        *,
        title: str,
        body: str | None,
        published: datetime | None,
        url: str,
        seen: datetime | None = None,
    ) -> Assignment:
        """Index a stored article (``url``: its canonical URL, ``seen``: when it was first
        stored) and put it in a story (merging stories it bridges). An undated article's
        time in its story is when it was seen; as a copy it counts as published last.

        The story's headline, times and counts are left for :meth:`refresh_stories`,
        which the caller runs once at the end of its transaction: a story's refresh reads
        all its articles, so refreshing it after each of them would cost in proportion to
        the story's size each time."""
        when = published or seen or datetime.now(timezone.utc)
        sh = shingles(body)
        keys = band_keys(signature(sh)) if len(sh) >= MIN_SHINGLES else []
        copies = self._near_duplicates(conn, article_id, sh, keys)
        duplicate_of = self._original(conn, article_id, published, url, copies)
        key = StoryKey.of(title, body, when)
        stories = self._related_stories(conn, article_id, key)
        stories |= self._stories_of(conn, {int(r.id) for r in copies})
        self._remember(conn, article_id, keys, key)
        story_id = self._join(conn, stories)
        conn.execute(_U_ARTICLE, {"aid": article_id, "dup": duplicate_of, "sid": story_id})
        return Assignment(duplicate_of, story_id)

    # -- near-duplicates ---------------------------------------------------------------

    @staticmethod
    def _near_duplicates(
        conn: Connection, article_id: int, sh: frozenset[str], keys: list[int]
    ) -> list[Any]:
        """Stored articles this body is a near-copy of: LSH candidates (sharing a band
        key), confirmed on the exact shingle sets."""
        if not keys:
            return []
        ids = [
            c for c in conn.execute(_Q_LSH_CANDIDATES, {"keys": keys}).scalars() if c != article_id
        ]
        if not ids:
            return []
        rows = conn.execute(_Q_CANDIDATE_BODIES, {"ids": ids}).all()
        return [r for r in rows if similarity(sh, shingles(r.body)).near_duplicate]

    @staticmethod
    def _original(
        conn: Connection,
        article_id: int,
        published: datetime | None,
        url: str,
        copies: list[Any],
    ) -> int | None:
        """Which article of a group of copies is the original: the earliest published
        (then the smallest URL), whatever order they arrived in; an undated article counts
        as published last, stored or new alike. Returns the new article's ``duplicate_of``;
        when the new article is the original, the others are re-pointed."""
        if not copies:
            return None
        group = sorted({int(r.duplicate_of or r.id) for r in copies} | {int(r.id) for r in copies})
        members = conn.execute(_Q_GROUP, {"ids": group}).all()
        first = min(members, key=lambda r: (r.published or _LATEST, r.canonical_url))
        if (published or _LATEST, url) < (first.published or _LATEST, first.canonical_url):
            conn.execute(_U_REPOINT, {"ids": group, "new_original": article_id})
            return None
        return int(first.id)

    # -- stories -----------------------------------------------------------------------

    @staticmethod
    def _related_stories(conn: Connection, article_id: int, key: StoryKey) -> set[int]:
        """The stories of the stored articles that the story predicate relates to this
        one (the same answer as :func:`~aggregator.aggregate.stories.related` on each,
        computed in SQL)."""
        n = len(key.terms)
        if n < 2:
            return set()
        rows = conn.execute(
            _Q_RELATED,
            {"terms": sorted(key.terms), "names": sorted(key.names),
             "min_shared": max(2, math.ceil(MIN_TITLE_OVERLAP * n - 1e-9)),
             "low": _shifted(key.published, -WINDOW), "high": _shifted(key.published, WINDOW)},
        )  # fmt: skip
        return {
            int(story_id)
            for aid, shared, size, story_id in rows
            if aid != article_id
            and story_id is not None
            and shared / (n + size - shared) >= MIN_TITLE_OVERLAP
        }

    @staticmethod
    def _remember(conn: Connection, article_id: int, keys: list[int], key: StoryKey) -> None:
        """Index a new article: its band keys and its headline terms."""
        if keys:
            conn.execute(_I_LSH, [{"key": k, "article_id": article_id} for k in set(keys)])
        if key.terms:
            conn.execute(
                _I_TERMS,
                [
                    {"term": t[:100], "article_id": article_id, "is_name": t in key.names,
                     "published": key.published}
                    for t in sorted(key.terms)
                ],
            )  # fmt: skip

    @staticmethod
    def _stories_of(conn: Connection, article_ids: set[int]) -> set[int]:
        if not article_ids:
            return set()
        found = conn.execute(_Q_STORIES_OF, {"ids": sorted(article_ids)}).scalars()
        return {int(i) for i in found if i is not None}

    @staticmethod
    def _join(conn: Connection, story_ids: set[int]) -> int:
        """The story the article goes into: a new one, the one its neighbours share, or
        (when it bridges several) their merge into the oldest id."""
        if not story_ids:
            now = datetime.now(timezone.utc)
            return int(conn.execute(_I_STORY, {"now": now}).scalar_one())
        target = min(story_ids)
        others = sorted(story_ids - {target})
        if others:
            conn.execute(_U_MOVE, {"ids": others, "target": target})
            conn.execute(_D_STORIES, {"ids": others})
        return target

    def _add_row(self, conn: Connection, row: Any) -> int:
        """:meth:`add` a row of ``_Q_UNINDEXED``; returns its story."""
        return self.add(
            conn, row.id, title=row.title, body=row.body, published=row.published,
            url=row.canonical_url, seen=row.first_seen,
        ).story_id  # fmt: skip

    def _one_by_one(
        self,
        engine: Engine,
        article_ids: list[int],
        stale: set[int],
        on_failure: Callable[[int, Exception], None] | None,
    ) -> None:
        """Index each article, and refresh each stale article's story, in a transaction
        of its own; an article that fails gets a story of its own."""
        for article_id in sorted(stale):
            try:
                with engine.connect() as conn:
                    lock(conn)
                    self.refresh_stories(conn, self._stories_of(conn, {article_id}))
                    conn.commit()
            except Exception as exc:
                if storage_failure(exc):
                    raise
                logger.warning("Story of article %d not refreshed: %s", article_id,
                               error_line(exc))  # fmt: skip
        for article_id in article_ids:
            try:
                with engine.connect() as conn:
                    lock(conn)
                    row = conn.execute(_Q_UNINDEXED_ONE, {"aid": article_id}).first()
                    if row is not None:  # not indexed by another writer meanwhile
                        self.refresh_story(conn, self._add_row(conn, row))
                    conn.commit()
                continue
            except Exception as exc:
                if storage_failure(exc):
                    raise
                failure = exc
            logger.warning("Article %d could not be indexed for stories (%s); it is a story "
                           "of its own", article_id, error_line(failure))  # fmt: skip
            with engine.connect() as conn:
                lock(conn)
                if conn.execute(_Q_UNINDEXED_ONE, {"aid": article_id}).first() is None:
                    continue  # another writer placed it meanwhile
                story_id = self._join(conn, set())
                conn.execute(_U_ARTICLE, {"aid": article_id, "dup": None, "sid": story_id})
                conn.commit()
            with contextlib.suppress(Exception), engine.connect() as conn:
                lock(conn)  # a headline and counts if the article's values allow them
                self.refresh_story(conn, story_id)
                conn.commit()
            if on_failure is not None:
                on_failure(article_id, failure)

    def refresh_stories(self, conn: Connection, story_ids: Iterable[int]) -> None:
        """:meth:`refresh_story` on each story once (one merged away meanwhile is gone and
        costs one no-op delete)."""
        for story_id in sorted(set(story_ids)):
            self.refresh_story(conn, story_id)

    def _evidence(self, row: Any) -> Evidence:
        """What a row of ``_Q_STORY_ROWS`` says about its story's category."""
        tags = row.tags if isinstance(row.tags, list) else []
        return Evidence(
            section=row.section, url=row.canonical_url, tags=tags, title=row.title,
            subtitle=row.subtitle, source_category=self.categories.get(row.source or ""),
        )  # fmt: skip

    def refresh_story(self, conn: Connection, story_id: int) -> None:
        """Recompute a story's headline, times, counts and category from its articles."""
        rows = conn.execute(_Q_STORY_ROWS, {"sid": story_id}).all()
        if not rows:
            conn.execute(_D_STORIES, {"ids": [story_id]})
            return
        # A story's times are its reports' times (not when the crawler last looked).
        times = [r.published or r.first_seen for r in rows]
        conn.execute(
            _U_STORY,
            {
                "sid": story_id,
                "headline": representative((r.published, r.canonical_url, r.title) for r in rows),
                "first": min(times),
                "last": max(times),
                "n_articles": len(rows),
                "n_outlets": len({r.source for r in rows if r.source}),
                "cat": vote(self._evidence(r) for r in rows),
            },
        )


_Q_ANY_UNINDEXED = select(ARTICLES.c.id).where(ARTICLES.c.story_id.is_(None)).limit(1)


def _has_unindexed(engine: Engine) -> bool:
    """Whether any article waits for indexing; asked without the write lock."""
    with engine.connect() as conn:
        return conn.execute(_Q_ANY_UNINDEXED).first() is not None


def catch_up(
    engine: Engine,
    categories: Mapping[str, str] | None = None,
    *,
    everything: bool = False,
    updated: Iterable[int] = (),
    on_failure: Callable[[int, Exception], None] | None = None,
) -> int:
    """Index the articles not indexed yet (or, with ``everything``, all of them again),
    oldest first, ``BATCH`` per locked transaction. Returns how many were indexed.

    ``updated``: stored articles whose title, date, section or source a crawl changed;
    their stories (looked up under the lock, as they are now) are refreshed with the
    first batch.

    An article that cannot be indexed never holds the others back: its batch is indexed
    again one article per transaction, and that article gets a story of its own (so it
    is not tried again and again), is logged and passed to ``on_failure``. A failure of
    the database itself (:func:`~aggregator.storage.engine.storage_failure`) raises."""
    index = AggregateIndex(categories)
    stale = set(updated)
    if everything:
        with engine.connect() as conn:
            lock(conn)
            for table in (LSH, TERMS, STORIES):
                conn.execute(delete(table))
            conn.execute(sql_update(ARTICLES).values(story_id=None, duplicate_of=None))
            conn.commit()
    elif not stale and not _has_unindexed(engine):
        return 0  # nothing to do: read-only callers (stories, feed) never wait for the lock
    done = 0
    while True:
        with engine.connect() as conn:
            lock(conn)  # then read: a batch another writer indexed meanwhile is not re-read
            batch = conn.execute(_Q_UNINDEXED).all()
            try:
                touched = index._stories_of(conn, stale)
                touched.update(index._add_row(conn, r) for r in batch)
                index.refresh_stories(conn, touched)
                conn.commit()
                failed = False
            except Exception as exc:
                if storage_failure(exc):
                    raise
                conn.rollback()
                failed = True
        if failed:
            index._one_by_one(engine, [r.id for r in batch], stale, on_failure)
        stale = set()
        done += len(batch)
        if len(batch) < BATCH:
            return done


def indexed_store(engine: Engine, categories: Mapping[str, str] | None = None) -> ArticleStore:
    """A store that places each new article in its story as it stores it (reports
    "linked" for near-copies): for imports and tests. Crawls store without an index and
    run :func:`catch_up` once at the end, which costs less."""
    return ArticleStore(engine, index=AggregateIndex(categories))
