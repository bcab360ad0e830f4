"""Writing articles: upsert on canonical URL, copies found by body hash."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from aggregator.items import ArticleItem
from aggregator.normalize.dates import utc_offset_minutes
from aggregator.storage.engine import session_factory
from aggregator.storage.models import Article

Outcome = Literal["new", "updated", "duplicate"]
_WORDS = re.compile(r"\w+", re.UNICODE)
# Bodies shorter than this many words are not hashed: short stubs ("Watch the trailer")
# collide across unrelated articles.
MIN_HASH_WORDS = 30


def body_hash(body: str | None) -> str | None:
    """SHA-256 of the body's words, casefolded: the same text with other whitespace,
    punctuation or case gives the same hash. None for short or missing bodies."""
    if not body:
        return None
    words = _WORDS.findall(body.casefold())
    if len(words) < MIN_HASH_WORDS:
        return None
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()


def _row(item: ArticleItem, now: datetime) -> dict[str, Any]:
    canonical = item.canonical_url or item.url
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
        "modified": item.modified,
        "modified_offset": utc_offset_minutes(item.modified),
        "modified_raw": (item.modified_raw or "")[:200] or None,
        "body": item.body or "",
        "body_hash": body_hash(item.body),
        "image": item.image,
        "tags": list(item.tags),
        "section": item.section,
        "language": item.language,
        "fetched_at": item.fetched_at,
        "last_seen": now,
    }


@dataclass
class StoreResult:
    """What one upsert did to one item."""

    outcome: Outcome
    article_id: int


class ArticleStore:
    """Upserts articles in short transactions; safe to share a database with other writers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)

    def upsert(
        self, items: Sequence[ArticleItem], now: datetime | None = None
    ) -> list[StoreResult]:
        """Store ``items`` in one transaction.

        An item whose canonical URL is stored updates that row ("updated"); one whose
        body hash matches another stored article updates that article's ``last_seen``
        and is reported as a "duplicate"; anything else is inserted ("new").
        ``first_seen`` never changes once set.
        """
        now = now or datetime.now(timezone.utc)
        results: list[StoreResult] = []
        with self.sessions.begin() as session:
            for item in items:
                results.append(self._upsert_one(session, _row(item, now), now))
        return results

    def _upsert_one(self, session: Session, row: dict[str, Any], now: datetime) -> StoreResult:
        existing = session.execute(
            select(Article.id).where(Article.canonical_url == row["canonical_url"])
        ).scalar_one_or_none()
        if existing is not None:
            session.execute(update(Article).where(Article.id == existing).values(**row))
            return StoreResult("updated", existing)
        if row["body_hash"]:
            twin = session.execute(
                select(Article.id).where(Article.body_hash == row["body_hash"]).limit(1)
            ).scalar_one_or_none()
            if twin is not None:
                session.execute(update(Article).where(Article.id == twin).values(last_seen=now))
                return StoreResult("duplicate", twin)
        new_id = self._insert(session, {**row, "first_seen": now})
        return StoreResult("new", new_id)

    def _insert(self, session: Session, row: dict[str, Any]) -> int:
        """INSERT ... ON CONFLICT (canonical_url) DO UPDATE: another process may have
        stored the same URL since our lookup."""
        name = self.engine.dialect.name
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(Article).values(**row)
        elif name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(Article).values(**row)  # type: ignore[assignment]
        else:
            obj = Article(**row)
            session.add(obj)
            session.flush()
            return obj.id
        updates = {k: stmt.excluded[k] for k in row if k not in ("canonical_url", "first_seen")}
        stmt = stmt.on_conflict_do_update(index_elements=["canonical_url"], set_=updates)
        new_id = session.execute(stmt.returning(Article.id)).scalar_one()
        return int(new_id)

    def stored_urls(self, urls: Iterable[str]) -> set[str]:
        """The subset of ``urls`` already stored as canonical URLs."""
        urls = list(urls)
        found: set[str] = set()
        with self.sessions() as session:
            for i in range(0, len(urls), 500):
                chunk = urls[i : i + 500]
                found.update(
                    session.execute(
                        select(Article.canonical_url).where(Article.canonical_url.in_(chunk))
                    ).scalars()
                )
        return found
