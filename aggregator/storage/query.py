"""Reading articles: search, latest, one article, per-source statistics, export.

Every filter is a bound parameter; the full-text query is turned into quoted FTS5 terms,
so user input can never change the SQL or the FTS syntax.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, String, case, cast, column, func, literal_column, or_, select, table
from sqlalchemy.sql import Select
from sqlalchemy.sql.expression import ColumnClause

from aggregator.storage.engine import session_factory
from aggregator.storage.models import Article

_TERM = re.compile(r"\w+", re.UNICODE)
# SQLite's FTS5 index over articles(title, body); created in storage.engine.
_FTS = table("articles_fts", column("rowid"), column("title"), column("body"))
_FTS_SELF: ColumnClause[Any] = literal_column("articles_fts")


def fts_query(query: str) -> str:
    """User text -> FTS5 MATCH expression: every word quoted, all required."""
    terms = _TERM.findall(query)
    return " ".join(f'"{t}"' for t in terms)


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class Filters:
    """Filters shared by search, latest and export."""

    source: str | None = None
    author: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = 20

    def apply(self, stmt: Select[Any]) -> Select[Any]:
        if self.source:
            stmt = stmt.where(Article.source == self.source)
        if self.author:
            pattern = f"%{_like_escape(self.author.casefold())}%"
            stmt = stmt.where(func.lower(cast(Article.authors, String)).like(pattern, escape="\\"))
        if self.since:
            stmt = stmt.where(Article.published >= self.since)
        if self.until:
            stmt = stmt.where(Article.published <= self.until)
        if self.limit:
            stmt = stmt.limit(self.limit)
        return stmt


def article_dict(a: Article) -> dict[str, Any]:
    """Every stored field of an article, datetimes as ISO 8601 UTC."""
    out: dict[str, Any] = {}
    for col in Article.__table__.columns:
        v = getattr(a, col.key)
        out[col.key] = v.isoformat() if isinstance(v, datetime) else v
    return out


class Query:
    """The read side of the database, for the CLI and for Python callers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)

    def search(self, query: str, filters: Filters | None = None) -> list[Article]:
        """Articles matching all words of ``query`` in title or body, best match first."""
        filters = filters or Filters()
        match = fts_query(query)
        if not match:
            return []
        with self.sessions() as s:
            if self.engine.dialect.name == "sqlite":
                stmt = (
                    select(Article)
                    .join(_FTS, _FTS.c.rowid == Article.id)
                    .where(_FTS_SELF.op("MATCH")(match))
                    .order_by(func.bm25(_FTS_SELF, 10.0, 1.0))  # title weighs 10x body
                )
                return list(s.execute(filters.apply(stmt)).scalars())
            conds = [
                or_(
                    Article.title.ilike(f"%{_like_escape(t)}%", escape="\\"),
                    Article.body.ilike(f"%{_like_escape(t)}%", escape="\\"),
                )
                for t in _TERM.findall(query)
            ]
            stmt = select(Article).where(*conds).order_by(Article.published.desc())
            return list(s.execute(filters.apply(stmt)).scalars())

    def latest(self, filters: Filters | None = None) -> list[Article]:
        """Most recently published articles first (undated ones by when they were seen)."""
        filters = filters or Filters()
        stmt = select(Article).order_by(
            func.coalesce(Article.published, Article.first_seen).desc(), Article.id.desc()
        )
        with self.sessions() as s:
            return list(s.execute(filters.apply(stmt)).scalars())

    def get(self, key: str) -> Article | None:
        """An article by numeric id, canonical URL or fetched URL."""
        with self.sessions() as s:
            if key.isdigit():
                return s.get(Article, int(key))
            from aggregator.normalize.urls import canonicalize_url

            canon = canonicalize_url(key) or key
            stmt = select(Article).where(
                or_(Article.canonical_url == canon, Article.url == key, Article.url == canon)
            )
            return s.execute(stmt.limit(1)).scalar_one_or_none()

    def iter_all(self, filters: Filters | None = None) -> Iterator[Article]:
        """Every article (filters apply), oldest id first, streamed in pages."""
        filters = filters or Filters(limit=None)
        last = 0
        page = 500
        remaining = filters.limit
        while True:
            f = Filters(filters.source, filters.author, filters.since, filters.until, None)
            stmt = f.apply(select(Article).where(Article.id > last).order_by(Article.id))
            n = page if remaining is None else min(page, remaining)
            with self.sessions() as s:
                rows = list(s.execute(stmt.limit(n)).scalars())
            if not rows:
                return
            yield from rows
            last = rows[-1].id
            if remaining is not None:
                remaining -= len(rows)
                if remaining <= 0:
                    return

    def stats(self) -> list[dict[str, Any]]:
        """Per source: article count, newest and oldest publication, missing-field rates."""

        def share(cond: Any) -> Any:
            return func.sum(case((cond, 1), else_=0))

        missing = {
            "title": share(func.coalesce(Article.title, "") == ""),
            "subtitle": share(Article.subtitle.is_(None)),
            "authors": share(func.coalesce(cast(Article.authors, String), "[]") == "[]"),
            "published": share(Article.published.is_(None)),
            "body": share(func.coalesce(Article.body, "") == ""),
            "image": share(Article.image.is_(None)),
        }
        stmt = (
            select(
                Article.source,
                func.count(Article.id),
                func.max(Article.published),
                func.min(Article.published),
                *missing.values(),
            )
            .group_by(Article.source)
            .order_by(Article.source)
        )
        out: list[dict[str, Any]] = []
        with self.sessions() as s:
            for row in s.execute(stmt):
                source, count, newest, oldest, *miss = row
                out.append(
                    {
                        "source": source,
                        "articles": count,
                        "newest": _iso(newest),
                        "oldest": _iso(oldest),
                        "missing": {
                            k: round((m or 0) / count, 3)
                            for k, m in zip(missing, miss, strict=True)
                        },
                    }
                )
        return out


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return value.isoformat()  # type: ignore[no-any-return]
