"""Writing articles: upsert on canonical URL, copies found by body hash."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal, Protocol

from sqlalchemy import Connection, Engine, Table, bindparam, select

from aggregator.items import ArticleItem
from aggregator.normalize.dates import PRECISIONS, ensure_aware, utc_offset_minutes
from aggregator.normalize.text import body_hash
from aggregator.storage.engine import (
    StorageUnavailableError,
    error_line,
    storage_failure,
    transient_failure,
    upsert_insert,
)
from aggregator.storage.models import Article

Outcome = Literal["new", "updated", "duplicate", "linked", "failed"]


class Placement(Protocol):
    """Where an index put a new article: its story, and the article it copies if any."""

    @property
    def story_id(self) -> int: ...

    @property
    def duplicate_of(self) -> int | None: ...


class StoryIndex(Protocol):
    """What the store asks of an index that places each new article in a story in the
    same transaction (:class:`aggregator.aggregate.index.AggregateIndex` is one). Storage
    defines the need; aggregation, a layer up, fulfils it."""

    def lock(self, conn: Connection) -> None:
        """Make ``conn``'s transaction the only index writer until it ends."""

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
    ) -> Placement:
        """Index a stored article and place it in a story."""

    def refresh_stories(self, conn: Connection, story_ids: Iterable[int]) -> None:
        """Recompute the rows of the stories changed in this transaction."""


def _failure(exc: BaseException) -> str:
    return f"{type(getattr(exc, 'orig', None) or exc).__name__}: {error_line(exc)}"


def _precision(value: datetime | None, precision: str | None) -> str | None:
    """The precision to store with a date: none without the date, none but the known
    values (an item that skipped normalization fits the column all the same)."""
    return precision if value is not None and precision in PRECISIONS else None


def _row(item: ArticleItem, now: datetime, seen_at_fetch: bool = False) -> dict[str, Any]:
    canonical = item.canonical_url or item.url
    fetched = ensure_aware(item.fetched_at, None)  # naive times are UTC in the project
    seen = min(fetched, now) if seen_at_fetch and fetched is not None else now
    return {
        "canonical_url": canonical,
        "url": item.url,
        "source": item.source,
        "site_name": item.site_name,
        "title": item.title or "",
        "subtitle": item.subtitle,
        "authors": list(item.authors),
        "published": item.published,
        "published_offset": utc_offset_minutes(item.published),
        "published_raw": (item.published_raw or "")[:200] or None,
        "published_precision": _precision(item.published, item.published_precision),
        "modified": item.modified,
        "modified_offset": utc_offset_minutes(item.modified),
        "modified_raw": (item.modified_raw or "")[:200] or None,
        "modified_precision": _precision(item.modified, item.modified_precision),
        "body": item.body or "",
        "body_hash": body_hash(item.body),
        "image": item.image,
        "tags": list(item.tags),
        "section": item.section,
        "language": item.language,
        "fetched_at": item.fetched_at,
        "last_seen": now,
        "first_seen": seen,  # written by an insert only: it never changes
    }


@dataclass
class StoreResult:
    """What one upsert did to one item."""

    outcome: Outcome
    article_id: int | None
    """The stored article's id; None when the item failed."""
    story_stale: bool = False
    """An update changed what the article's story shows or is categorized by (title,
    date, section, source, tags, dek)."""
    error: str | None = None
    """Why a "failed" item could not be stored (the error's first line)."""


class ArticleStore:
    """Upserts articles in short transactions; safe to share a database with other writers.

    Statements are built once, on the table (SQLAlchemy Core), and reused: building an ORM
    statement per item cost four times more than SQLite's own work (measured in
    ``python -m benchmarks.crawl``).
    """

    def __init__(self, engine: Engine, *, index: StoryIndex | None = None) -> None:
        self.engine = engine
        # Crawls store without an index and index at the end (aggregate.index.catch_up):
        # the index costs more than the storing itself.
        self.index = index
        table: Table = Article.__table__  # type: ignore[assignment]
        self._table = table
        # The columns a story's row is computed from that an update can change (see
        # AggregateIndex.refresh_story): a change makes the article's story stale.
        self._story_columns = (
            table.c.title, table.c.published, table.c.section, table.c.source, table.c.tags,
            table.c.subtitle,
        )  # fmt: skip
        self._by_url = select(table.c.id, table.c.story_id, *self._story_columns).where(
            table.c.canonical_url == bindparam("url")
        )
        self._by_hash = (
            select(table.c.id)
            .where(table.c.body_hash == bindparam("hash"))
            .where(table.c.source == bindparam("source"))
            .limit(1)
        )
        self._update = table.update().where(table.c.id == bindparam("article_id"))
        self._touch = (
            table.update()
            .where(table.c.id == bindparam("article_id"))
            .values(last_seen=bindparam("now"))
        )
        self._insert = self._build_insert()

    def _build_insert(self) -> Any:
        """INSERT ... ON CONFLICT (canonical_url) DO UPDATE ... RETURNING id: another
        process may store the same URL between our lookup and our insert."""
        table = self._table
        stmt = upsert_insert(self.engine, table)
        if stmt is None:
            return table.insert().returning(table.c.id)
        keep = ("id", "canonical_url", "first_seen")
        updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keep}
        return stmt.on_conflict_do_update(index_elements=["canonical_url"], set_=updates).returning(
            table.c.id
        )

    def upsert(
        self,
        items: Sequence[ArticleItem],
        now: datetime | None = None,
        *,
        seen_at_fetch: bool = False,
    ) -> list[StoreResult]:
        """Store ``items`` in one transaction.

        An item whose canonical URL is stored updates that row ("updated"); one whose
        body is exactly that of another article *of the same source* (an AMP or print
        twin) updates that article's ``last_seen`` and is a "duplicate"; anything else is
        inserted and indexed for aggregation: "linked" when it is a near-copy of a stored
        article (syndication, reprint), "new" otherwise. ``first_seen`` never changes.
        A new article's ``first_seen`` is ``now``, or with ``seen_at_fetch`` its
        ``fetched_at`` (a web archive's capture time; never later than ``now``).

        An item the database rejects (a value it cannot hold) never costs the others: the
        batch is stored again one item per transaction, and that item is "failed", with
        its error. When the database itself fails (down, full, locked, read-only), this
        raises :class:`StorageUnavailableError` with the results stored until then.
        """
        now = now or datetime.now(timezone.utc)
        rows = [_row(item, now, seen_at_fetch) for item in items]
        try:
            return self._store(rows, now, retry=True)
        except Exception as exc:
            if storage_failure(exc):
                raise StorageUnavailableError(_failure(exc)) from exc
            if len(rows) == 1:
                return [StoreResult("failed", None, error=_failure(exc))]
        results: list[StoreResult] = []
        for row in rows:
            try:
                results.extend(self._store([row], now, retry=False))
            except Exception as exc:
                if storage_failure(exc):
                    raise StorageUnavailableError(_failure(exc), results) from exc
                results.append(StoreResult("failed", None, error=_failure(exc)))
        if all(r.outcome == "failed" for r in results):
            # Not one item of the batch could be stored: the fault is not in the items.
            raise StorageUnavailableError(results[0].error or "every item failed")
        return results

    def _store(
        self, rows: list[dict[str, Any]], now: datetime, *, retry: bool
    ) -> list[StoreResult]:
        """Store ``rows`` in one transaction (all or none); with ``retry``, once more when
        it lost a deadlock or timed out waiting for a lock (another writer's fault)."""
        try:
            return self._store_once(rows, now)
        except Exception as exc:
            if not (retry and transient_failure(exc)):
                raise
        time.sleep(0.5)
        return self._store_once(rows, now)

    def _store_once(self, rows: list[dict[str, Any]], now: datetime) -> list[StoreResult]:
        results: list[StoreResult] = []
        with self.engine.connect() as conn:
            if self.index is not None:
                self.index.lock(conn)  # index writers take turns (stories merge across articles)
            touched: set[int] = set()  # stories to refresh once, at the end
            for row in rows:
                results.append(self._upsert_one(conn, row, now, touched))
            if self.index is not None and touched:
                self.index.refresh_stories(conn, touched)
            conn.commit()
        return results

    def _upsert_one(
        self, conn: Connection, row: dict[str, Any], now: datetime, touched: set[int]
    ) -> StoreResult:
        found = conn.execute(self._by_url, {"url": row["canonical_url"]}).first()
        if found is not None:
            existing = int(found.id)
            update = {k: v for k, v in row.items() if k != "first_seen"}
            conn.execute(self._update, {**update, "article_id": existing})
            stale = found.story_id is not None and any(
                found._mapping[c.name] != row[c.name] for c in self._story_columns
            )
            if stale:
                touched.add(int(found.story_id))
            return StoreResult("updated", existing, stale)
        if row["body_hash"]:
            twin = conn.execute(
                self._by_hash, {"hash": row["body_hash"], "source": row["source"]}
            ).scalar()
            if twin is not None:
                conn.execute(self._touch, {"article_id": twin, "now": now})
                return StoreResult("duplicate", twin)
        new_id = int(conn.execute(self._insert, row).scalar_one())
        if self.index is None:
            return StoreResult("new", new_id)
        placed = self.index.add(
            conn, new_id, title=row["title"], body=row["body"], published=row["published"],
            url=row["canonical_url"], seen=row["first_seen"],
        )  # fmt: skip
        touched.add(placed.story_id)
        return StoreResult("linked" if placed.duplicate_of is not None else "new", new_id)

    def stored_urls(self, urls: Iterable[str]) -> set[str]:
        """The subset of ``urls`` already stored as canonical URLs."""
        urls = list(urls)
        found: set[str] = set()
        column = self._table.c.canonical_url
        with self.engine.connect() as conn:
            for i in range(0, len(urls), 500):
                chunk = urls[i : i + 500]
                found.update(conn.execute(select(column).where(column.in_(chunk))).scalars())
        return found
