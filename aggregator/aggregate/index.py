"""The aggregation index in the database: near-duplicate links and story clusters.

Kept up to date inside the same transaction that stores an article, so it survives
restarts and never needs a rebuild. Lookups are index queries (LSH band keys; headline
terms within a time window), so inserting an article costs about the same with 10k or
200k articles stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, select, update

from aggregator.aggregate.neardup import (
    MIN_SHINGLES,
    band_keys,
    shingles,
    signature,
    similarity,
)
from aggregator.aggregate.stories import WINDOW, StoryKey, related, representative
from aggregator.storage.models import Article, LshKey, Story, StoryTerm


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


ARTICLES = _table(Article)
LSH = _table(LshKey)
TERMS = _table(StoryTerm)
STORIES = _table(Story)


@dataclass(frozen=True)
class Assignment:
    """Where a newly stored article landed."""

    duplicate_of: int | None
    story_id: int


class AggregateIndex:
    """Links near-duplicates and groups articles into stories, in the caller's
    transaction. ``categories`` maps a source name to its registry category."""

    def __init__(self, categories: Mapping[str, str] | None = None) -> None:
        self.categories = dict(categories or {})

    # -- adding ------------------------------------------------------------------------

    def add(
        self,
        conn: Connection,
        article_id: int,
        *,
        title: str,
        body: str | None,
        published: datetime | None,
        source: str | None,
    ) -> Assignment:
        """Index a stored article and put it in a story (merging stories it bridges)."""
        when = published or datetime.now(timezone.utc)
        sh = shingles(body)
        copies = self._near_duplicates(conn, article_id, sh)
        duplicate_of = self._original(conn, article_id, when, copies)
        key = StoryKey.of(title, body, when)
        neighbours = self._related(conn, article_id, key) | {r.id for r in copies}
        self._remember(conn, article_id, sh, key)
        story_ids = self._stories_of(conn, neighbours)
        story_id = self._join(conn, article_id, story_ids)
        conn.execute(
            update(ARTICLES)
            .where(ARTICLES.c.id == article_id)
            .values(duplicate_of=duplicate_of, story_id=story_id)
        )
        self.refresh_story(conn, story_id)
        return Assignment(duplicate_of, story_id)

    def _near_duplicates(self, conn: Connection, article_id: int, sh: frozenset[str]) -> list[Any]:
        """Stored articles this body is a near-copy of: LSH candidates, confirmed on the
        exact shingle sets. Rows of (id, published, canonical_url, duplicate_of)."""
        if len(sh) < MIN_SHINGLES:
            return []
        keys = band_keys(signature(sh))
        candidates = (
            conn.execute(select(LSH.c.article_id).where(LSH.c.key.in_(keys)).distinct())
            .scalars()
            .all()
        )
        candidates = [c for c in candidates if c != article_id]
        if not candidates:
            return []
        rows = conn.execute(
            select(
                ARTICLES.c.id,
                ARTICLES.c.body,
                ARTICLES.c.published,
                ARTICLES.c.canonical_url,
                ARTICLES.c.duplicate_of,
            ).where(ARTICLES.c.id.in_(candidates))
        ).all()
        return [r for r in rows if similarity(sh, shingles(r.body)).near_duplicate]

    def _original(
        self, conn: Connection, article_id: int, published: datetime, copies: list[Any]
    ) -> int | None:
        """Which article of a group of copies is the original: the earliest published
        (then the smallest URL), whatever order they arrived in. Returns the new article's
        ``duplicate_of``; when the new article is the original, the others are re-pointed."""
        if not copies:
            return None
        latest = datetime.max.replace(tzinfo=timezone.utc)
        group = {int(r.duplicate_of or r.id) for r in copies} | {int(r.id) for r in copies}
        members = conn.execute(
            select(ARTICLES.c.id, ARTICLES.c.published, ARTICLES.c.canonical_url).where(
                ARTICLES.c.id.in_(sorted(group))
            )
        ).all()
        url = conn.execute(
            select(ARTICLES.c.canonical_url).where(ARTICLES.c.id == article_id)
        ).scalar_one()
        first = min(members, key=lambda r: (r.published or latest, r.canonical_url))
        if (published, url) < (first.published or latest, first.canonical_url):
            conn.execute(
                update(ARTICLES)
                .where(
                    ARTICLES.c.id.in_(sorted(group)) | ARTICLES.c.duplicate_of.in_(sorted(group))
                )
                .values(duplicate_of=article_id)
            )
            return None
        return int(first.id)

    def _related(self, conn: Connection, article_id: int, key: StoryKey) -> set[int]:
        """Stored articles the story predicate relates to this one."""
        if len(key.terms) < 2:
            return set()
        low, high = key.published - WINDOW, key.published + WINDOW
        candidates = (
            conn.execute(
                select(TERMS.c.article_id)
                .where(TERMS.c.term.in_(sorted(key.terms)))
                .where(TERMS.c.published >= low, TERMS.c.published <= high)
                .group_by(TERMS.c.article_id)
                .having(func.count() >= 2)
            )
            .scalars()
            .all()
        )
        candidates = [c for c in candidates if c != article_id]
        if not candidates:
            return set()
        rows = conn.execute(
            select(TERMS.c.article_id, TERMS.c.term, TERMS.c.is_name, TERMS.c.published).where(
                TERMS.c.article_id.in_(candidates)
            )
        ).all()
        grouped: dict[int, tuple[set[str], set[str], datetime]] = {}
        for aid, term, is_name, published in rows:
            terms, names, _ = grouped.setdefault(aid, (set(), set(), published))
            terms.add(term)
            if is_name:
                names.add(term)
        return {
            aid
            for aid, (terms, names, published) in grouped.items()
            if related(key, StoryKey(frozenset(terms), frozenset(names), published))
        }

    def _remember(
        self, conn: Connection, article_id: int, sh: frozenset[str], key: StoryKey
    ) -> None:
        conn.execute(delete(LSH).where(LSH.c.article_id == article_id))
        conn.execute(delete(TERMS).where(TERMS.c.article_id == article_id))
        if len(sh) >= MIN_SHINGLES:
            rows = [{"key": k, "article_id": article_id} for k in set(band_keys(signature(sh)))]
            conn.execute(insert(LSH), rows)
        if key.terms:
            conn.execute(
                insert(TERMS),
                [
                    {
                        "term": t[:100],
                        "article_id": article_id,
                        "is_name": t in key.names,
                        "published": key.published,
                    }
                    for t in sorted(key.terms)
                ],
            )

    def _stories_of(self, conn: Connection, article_ids: set[int]) -> set[int]:
        if not article_ids:
            return set()
        ids = conn.execute(
            select(ARTICLES.c.story_id).where(ARTICLES.c.id.in_(sorted(article_ids)))
        ).scalars()
        return {int(i) for i in ids if i is not None}

    def _join(self, conn: Connection, article_id: int, story_ids: set[int]) -> int:
        """The story the article goes into: a new one, the one its neighbours share, or
        (when it bridges several) their merge into the oldest id."""
        if not story_ids:
            now = datetime.now(timezone.utc)
            return int(
                conn.execute(
                    insert(STORIES)
                    .values(
                        headline="", first_seen=now, updated=now, article_count=0, outlet_count=0
                    )
                    .returning(STORIES.c.id)
                ).scalar_one()
            )
        target = min(story_ids)
        others = sorted(story_ids - {target})
        if others:
            conn.execute(
                update(ARTICLES).where(ARTICLES.c.story_id.in_(others)).values(story_id=target)
            )
            conn.execute(delete(STORIES).where(STORIES.c.id.in_(others)))
        return target

    # -- story figures -----------------------------------------------------------------

    def refresh_story(self, conn: Connection, story_id: int) -> None:
        """Recompute a story's headline, times, counts and category from its articles."""
        rows = conn.execute(
            select(
                ARTICLES.c.title,
                ARTICLES.c.canonical_url,
                ARTICLES.c.published,
                ARTICLES.c.first_seen,
                ARTICLES.c.last_seen,
                ARTICLES.c.source,
            ).where(ARTICLES.c.story_id == story_id)
        ).all()
        if not rows:
            conn.execute(delete(STORIES).where(STORIES.c.id == story_id))
            return
        headline = representative((r.published, r.canonical_url, r.title) for r in rows)
        # A story's times are its reports' times (not when the crawler last looked).
        first_seen = min(r.published or r.first_seen for r in rows)
        updated = max(r.published or r.first_seen for r in rows)
        outlets = {r.source for r in rows if r.source}
        cats = Counter(self.categories.get(r.source or "", "") for r in rows)
        cats.pop("", None)
        category = min(cats, key=lambda c: (-cats[c], c)) if cats else None
        conn.execute(
            update(STORIES)
            .where(STORIES.c.id == story_id)
            .values(
                headline=headline,
                first_seen=first_seen,
                updated=updated,
                article_count=len(rows),
                outlet_count=len(outlets),
                category=category,
            )
        )

    def forget(self, conn: Connection, article_id: int) -> None:
        """Drop an article's index entries (before re-indexing a changed body)."""
        conn.execute(delete(LSH).where(LSH.c.article_id == article_id))
        conn.execute(delete(TERMS).where(TERMS.c.article_id == article_id))


def reindex(
    engine: Any, categories: Mapping[str, str] | None = None, *, everything: bool = False
) -> int:
    """Index articles the aggregation index does not know yet (stored before revision 0004,
    or all of them with ``everything``), oldest first, in batches. Returns how many."""
    index = AggregateIndex(categories)
    done = 0
    with engine.begin() as conn:
        if everything:
            conn.execute(delete(LSH))
            conn.execute(delete(TERMS))
            conn.execute(update(ARTICLES).values(story_id=None, duplicate_of=None))
            conn.execute(delete(STORIES))
    while True:
        with engine.begin() as conn:
            batch = conn.execute(
                select(
                    ARTICLES.c.id,
                    ARTICLES.c.title,
                    ARTICLES.c.body,
                    ARTICLES.c.published,
                    ARTICLES.c.source,
                )
                .where(ARTICLES.c.story_id.is_(None))
                .order_by(ARTICLES.c.published, ARTICLES.c.id)
                .limit(200)
            ).all()
            for r in batch:
                index.add(
                    conn, r.id, title=r.title, body=r.body, published=r.published, source=r.source
                )
        done += len(batch)
        if len(batch) < 200:
            return done
