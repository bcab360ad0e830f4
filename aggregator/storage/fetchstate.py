"""The crawler's memory between runs: which URLs it fetched, when, with which validators."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, Table, select

from aggregator.storage.models import Article, FetchState


@dataclass(frozen=True)
class Seen:
    """One URL as the last run left it."""

    fetched_at: datetime
    status: int
    etag: str | None = None
    last_modified: str | None = None
    stored: bool = False
    """True when an article from this URL is in the database (not merely fetched: a crawl
    killed between fetch and commit leaves fetched-but-unstored URLs behind)."""


class FetchStateStore:
    """Reads and writes ``fetch_state`` (and reads stored article URLs)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.table: Table = FetchState.__table__  # type: ignore[assignment]
        self._upsert = self._build_upsert()

    def _build_upsert(self) -> object:
        name = self.engine.dialect.name
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        elif name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
        else:
            return None
        stmt = insert(self.table)
        cols = ("source", "kind", "status", "etag", "last_modified", "fetched_at")
        return stmt.on_conflict_do_update(
            index_elements=["url"], set_={c: stmt.excluded[c] for c in cols}
        )

    def load(self, source: str) -> dict[str, Seen]:
        """Every URL fetched for ``source``, plus stored articles' URLs (as seen at their
        ``last_seen``), so articles stored before fetch state existed count too."""
        out: dict[str, Seen] = {}
        articles: Table = Article.__table__  # type: ignore[assignment]
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(articles.c.url, articles.c.canonical_url, articles.c.last_seen).where(
                    articles.c.source == source
                )
            )
            for url, canonical, last_seen in rows:
                seen = Seen(_aware(last_seen), 200, stored=True)
                out[url] = seen
                out[canonical] = seen
            t = self.table
            for url, status, etag, last_modified, fetched_at in conn.execute(
                select(t.c.url, t.c.status, t.c.etag, t.c.last_modified, t.c.fetched_at).where(
                    t.c.source == source
                )
            ):
                stored = url in out and out[url].stored
                out[url] = Seen(_aware(fetched_at), status, etag, last_modified, stored)
        return out

    def record(self, rows: Iterable[dict[str, object]]) -> None:
        """Upsert rows of ``url, source, kind, status, etag, last_modified, fetched_at``."""
        batch = list(rows)
        if not batch:
            return
        with self.engine.begin() as conn:
            if self._upsert is not None:
                conn.execute(self._upsert, batch)  # type: ignore[call-overload]
            else:  # other dialects: delete + insert
                t = self.table
                conn.execute(t.delete().where(t.c.url.in_([r["url"] for r in batch])))
                conn.execute(t.insert(), batch)


def _aware(value: datetime) -> datetime:
    from datetime import timezone

    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
