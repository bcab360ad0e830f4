"""The crawler's memory between runs: which URLs it fetched, when, with which validators."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Engine, Table, select

from aggregator.storage.engine import upsert_insert
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
        # The fetch's outcome and the article it gave are written apart (the first when the
        # response arrives, the second once the page is extracted): neither overwrites the other.
        self._upsert = self._build_upsert(
            ("source", "kind", "status", "etag", "last_modified", "fetched_at")
        )
        self._upsert_canonical = self._build_upsert(("canonical_url",))

    def _build_upsert(self, cols: tuple[str, ...]) -> object:
        stmt = upsert_insert(self.engine, self.table)
        if stmt is None:
            return None
        return stmt.on_conflict_do_update(
            index_elements=["url"], set_={c: stmt.excluded[c] for c in cols}
        )

    def load(self, source: str) -> dict[str, Seen]:
        """Every URL fetched for ``source``, plus stored articles' URLs (as seen at their
        ``last_seen``), so articles stored before fetch state existed count too. A fetched
        address counts as stored when its article is: under that address, or under the
        canonical URL the page gave (another address of an article stored once)."""
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
            fetched: dict[str, Seen] = {}
            for url, status, etag, last_modified, fetched_at, canonical in conn.execute(
                select(
                    t.c.url, t.c.status, t.c.etag, t.c.last_modified, t.c.fetched_at,
                    t.c.canonical_url,
                ).where(t.c.source == source)
            ):  # fmt: skip
                stored = url in out or canonical in out  # ``out``: stored articles so far
                fetched[url] = Seen(_aware(fetched_at), status, etag, last_modified, stored)
        out.update(fetched)
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

    def record_canonical(self, rows: Iterable[dict[str, object]]) -> None:
        """Upsert rows of ``url, source, canonical_url``: the article each fetched address
        gave. An address not yet in the table (its fetch's row is written later) gets a
        placeholder outcome that the fetch's own row replaces."""
        batch = [
            {"kind": "article", "status": 200, "etag": None, "last_modified": None,
             "fetched_at": datetime.now(timezone.utc), **row}
            for row in rows
        ]  # fmt: skip
        if not batch:
            return
        with self.engine.begin() as conn:
            if self._upsert_canonical is not None:
                conn.execute(self._upsert_canonical, batch)  # type: ignore[call-overload]
                return
            t = self.table  # other dialects: update the rows there, insert the others
            for row in batch:
                done = conn.execute(
                    t.update()
                    .where(t.c.url == row["url"])
                    .values(canonical_url=row["canonical_url"])
                )
                if not done.rowcount:
                    conn.execute(t.insert(), [row])


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
