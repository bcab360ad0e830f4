"""Reading articles: search, latest, one article, per-source statistics, export.

Every filter is a bound parameter. Full-text search reads the user's query with
:mod:`aggregator.storage.search` and writes it in the backend's syntax: on SQLite as
quoted FTS5 strings, on PostgreSQL as bound ``phraseto_tsquery`` arguments, so user input
can never change the SQL or the search syntax.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Engine,
    String,
    case,
    cast,
    column,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.expression import ColumnClause

from aggregator.normalize.dates import iso_date
from aggregator.storage.engine import session_factory
from aggregator.storage.models import Article, Story
from aggregator.storage.search import (
    CONFIG_NAMES,
    SearchQuery,
    Term,
    config_sql,
    fts5_match,
    parse,
    pg_query_texts,
    pg_readings,
)

# SQLite's FTS5 index over articles(title, body); made by migration 0001.
_FTS = table("articles_fts", column("rowid"), column("title"), column("body"))
_FTS_SELF: ColumnClause[Any] = literal_column("articles_fts")
# ts_rank weights for {D, C, B, A}: title (A) words count 10x body (B) words, as in
# SQLite's bm25 weights below.
_PG_RANK_WEIGHTS = text("'{0, 0, 0.1, 1}'::real[]")
# The snippet's marks around each match (control characters no stored text has: the
# normalizer drops them), and its length in words (SQLite; PostgreSQL's in _PG_HEADLINE).
MARK_OPEN, MARK_CLOSE = "\x02", "\x03"
SNIPPET_WORDS = 24
_PG_HEADLINE = (
    f'StartSel="{MARK_OPEN}", StopSel="{MARK_CLOSE}", MaxWords=24, MinWords=12, '
    'MaxFragments=2, FragmentDelimiter=" … "'
)
# An article's time in "most recent first" listings: undated, when it was first seen.
# Revision 0014 indexes exactly this expression (with id): keep them the same.
RECENCY = func.coalesce(Article.published, Article.first_seen)
# Largest article id: PostgreSQL's SERIAL is a 4-byte integer, SQLite's rowid 8 bytes.
_MAX_ID = {"postgresql": 2**31 - 1}


def _register_pg_functions() -> None:
    """Make ``func.to_tsvector`` & co. PostgreSQL's typed functions (SQLAlchemy refuses to
    compile the generic ones); importing the dialect package registers them."""
    import sqlalchemy.dialects.postgresql  # noqa: F401


# Combining diacritical marks, removed after canonical decomposition before PostgreSQL
# indexes or matches words (revisions 0006 and 0009 hold the same SQL): SQLite's FTS5
# folds diacritics too, so "beyonce" finds "Beyoncé" on both.
MARKS = "[\u0300-\u036f]"
# PostgreSQL's stored, GIN-indexed document of each article (revision 0009): title words
# weighted A, body words B, accents folded, in the text-search configuration of the
# article's language (search.CONFIGS; 'simple', no stemming, for any other). Not in the
# models: PostgreSQL computes it on write.
PG_SEARCH_VECTOR: ColumnElement[Any] = literal_column("articles.search_vector")
# Its headline part (the weight-A words), spelled as revision 0013's GIN index on it is:
# PostgreSQL uses an expression index only for the same expression.
PG_HEADLINE_VECTOR: ColumnElement[Any] = literal_column(
    "ts_filter(articles.search_vector, '{a}'::\"char\"[])"
)


def pg_fold(value: Any) -> ColumnElement[Any]:
    """``value`` with diacritics removed, as revision 0006 folds the documents."""
    decomposed = func.normalize(value, text("NFD"))
    return func.regexp_replace(decomposed, text(f"'{MARKS}'"), text("''"), text("'g'"))


def _pg_prepare(fold: bool) -> Callable[[Any], ColumnElement[Any]]:
    """What the query's words go through: :func:`pg_fold` where documents are folded."""
    return pg_fold if fold else (lambda value: value)


# The text-search configuration of each article's language (revision 0009).
_PG_OWN_CONFIG: ColumnElement[Any] = literal_column(config_sql("articles.language"), REGCONFIG)


def _pg_order(rank: ColumnElement[Any]) -> list[Any]:
    """A PostgreSQL search's order within each part: rank, then the newest."""
    return [rank.desc(), Article.published.desc().nulls_last(), Article.id]


def pg_folds(connection: Any) -> bool:
    """Whether this PostgreSQL database's documents are accent-folded (they are where the
    server encoding is UTF8, which ``normalize`` needs); read from the connection's
    startup parameters (psycopg 3 and psycopg2 both keep them), else asked."""
    info = getattr(connection.connection.dbapi_connection, "info", None)
    status = getattr(info, "parameter_status", None)
    encoding = status("server_encoding") if status else None
    if encoding is None:
        encoding = connection.exec_driver_sql("SHOW server_encoding").scalar()
    return bool(encoding == "UTF8")


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def marked_parts(marked: str) -> list[tuple[str, bool]]:
    """A marked passage (matches between :data:`MARK_OPEN` and :data:`MARK_CLOSE`) as
    ``(text, is_match)`` parts in order: what every rendering of a snippet reads."""
    parts = marked.replace(MARK_CLOSE, MARK_OPEN).split(MARK_OPEN)
    return [(part, bool(i % 2)) for i, part in enumerate(parts) if part]


@dataclass
class SearchHit:
    """One search result: the article, and the passage of it that matches."""

    article: Article
    marked: str
    """The passage, each match between :data:`MARK_OPEN` and :data:`MARK_CLOSE`."""

    @property
    def snippet(self) -> str:
        """The passage as plain text."""
        return "".join(part for part, _ in marked_parts(self.marked))

    @property
    def highlights(self) -> list[tuple[int, int]]:
        """Where the matches are in :attr:`snippet`: ``(start, end)`` character offsets."""
        out: list[tuple[int, int]] = []
        plain = 0
        for part, match in marked_parts(self.marked):
            if match:
                out.append((plain, plain + len(part)))
            plain += len(part)
        return out

    def to_dict(self) -> dict[str, Any]:
        """:func:`article_dict` of the article, with ``snippet`` and ``highlights``."""
        return {
            **article_dict(self.article),
            "snippet": self.snippet,
            "highlights": [list(h) for h in self.highlights],
        }


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
            authors = func.lower(cast(Article.authors, String))
            spellings = _author_spellings(self.author)
            stmt = stmt.where(
                or_(*(authors.like(f"%{_like_escape(p)}%", escape="\\") for p in spellings))
                if spellings
                else false()
            )
        if self.since:
            stmt = stmt.where(Article.published >= self.since)
        if self.until:
            stmt = stmt.where(Article.published <= self.until)
        if self.limit:
            stmt = stmt.limit(self.limit)
        return stmt


_JSON_STRUCTURE = frozenset("[],: ")


def _author_spellings(author: str) -> list[str]:
    """How ``author`` can appear in the lowercased JSON text of ``authors``.

    SQLite's JSON text writes non-ASCII letters as ``\\uXXXX`` escapes ("Zoë" is stored as
    ``"Zo\\u00eb"``), so the name as typed would never match there; its escaped spellings
    do. PostgreSQL's ``jsonb`` (revision 0008) prints the letters themselves: the
    unescaped spellings match there. Case is ignored for ASCII letters; a non-ASCII letter
    must be typed lowercase or in the case it is stored in ("zoë" and "ZOË" find "Zoë";
    "Łukasz", not "łukasz", finds "Łukasz" where the database lowercases ASCII only).

    Only JSON-escaped spellings are used (quotes and backslashes escaped), so a quote in
    ``author`` matches a quote inside a name, never the quotes around one (with ``i"`` as
    typed, "Shivam Gulati" would match ``"shivam gulati"``). A filter made only of the
    characters JSON leaves unescaped between names (``[``, ``]``, ``,``, ``:``, spaces)
    names nobody: no spellings."""
    if not set(author) - _JSON_STRUCTURE:
        return []
    folded = author.casefold()
    spellings = [
        json.dumps(text, ensure_ascii=escape)[1:-1]
        for escape in (True, False)
        for text in (folded, author)
    ]
    return list(dict.fromkeys(s.translate(_ASCII_LOWER) for s in spellings))


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def article_dict(a: Article) -> dict[str, Any]:
    """Every stored field of an article, datetimes as ISO 8601 UTC; but a month- or
    day-precision ``published`` / ``modified`` (see ``published_precision``) is written at
    the page's own offset, so that its date part is the page's date (:func:`iso_date`)."""
    out: dict[str, Any] = {}
    for col in Article.__table__.columns:
        v = getattr(a, col.key)
        out[col.key] = v.isoformat() if isinstance(v, datetime) else v
    for name in ("published", "modified"):
        value = getattr(a, name)
        if value is not None:
            out[name] = iso_date(
                value, getattr(a, f"{name}_precision"), getattr(a, f"{name}_offset")
            )
    return out


class Query:
    """The read side of the database, for the CLI and for Python callers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)

    def search(self, query: str, filters: Filters | None = None) -> list[Article]:
        """Articles matching ``query`` (see :mod:`aggregator.storage.search`) in title or
        body, best match first."""
        return [hit.article for hit in self.search_hits(query, filters)]

    def search_hits(self, query: str, filters: Filters | None = None) -> list[SearchHit]:
        """:meth:`search` with each article's snippet: the passage of its text that
        matches, the matches marked. Raises :class:`SearchSyntaxError` for a search made
        of exclusions only."""
        filters = filters or Filters()
        parsed = parse(query)
        if not parsed:
            return []
        name = self.engine.dialect.name
        # The snippets are made for the page of results only: on SQLite by a second query
        # (made in the search itself, they were made for every match before the sort and
        # the limit), on PostgreSQL after the search's limit.
        with self.sessions() as s:
            if name == "sqlite":
                articles = list(s.execute(filters.apply(self._sqlite_search(parsed))).scalars())
                snippets = self._sqlite_snippets(s, parsed, [a.id for a in articles])
            elif name == "postgresql":
                texts = self._pg_query_texts(s, parsed)
                return self._pg_hits(s, texts, filters, bool(parsed.excluded))
            else:
                articles = list(s.execute(filters.apply(self._like_search(parsed))).scalars())
                snippets = {a.id: a.body[:200] for a in articles}
        return [SearchHit(a, snippets.get(a.id) or "") for a in articles]

    @staticmethod
    def _sqlite_search(parsed: SearchQuery) -> Select[Any]:
        return (
            select(Article)
            .join(_FTS, _FTS.c.rowid == Article.id)
            .where(_FTS_SELF.op("MATCH")(fts5_match(parsed)))
            .order_by(func.bm25(_FTS_SELF, 10.0, 1.0))  # title weighs 10x body
        )

    @staticmethod
    def _sqlite_snippets(s: Session, parsed: SearchQuery, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        snippet = func.snippet(_FTS_SELF, -1, MARK_OPEN, MARK_CLOSE, "…", SNIPPET_WORDS)
        stmt = (
            select(_FTS.c.rowid, snippet)
            .where(_FTS_SELF.op("MATCH")(fts5_match(parsed)))
            .where(_FTS.c.rowid.in_(ids))
        )
        return {int(i): str(text_) for i, text_ in s.execute(stmt)}

    @staticmethod
    def _pg_query_texts(s: Session, parsed: SearchQuery) -> dict[str, str]:
        """The query read in every configuration (:func:`search.pg_query_texts`), its
        words accent-folded where the documents are."""
        _register_pg_functions()
        prepare = _pg_prepare(pg_folds(s.connection()))
        read: dict[str, str | None] = dict(s.execute(pg_query_texts(parsed, prepare)).all())
        return {name: str(read[name] or "") for name in CONFIG_NAMES}

    @classmethod
    def _pg_hits(
        cls, s: Session, texts: dict[str, str], filters: Filters, exclusions: bool
    ) -> list[SearchHit]:
        """The matches in the search's order: those whose headline matches first, then the
        others, each part by rank (:meth:`_pg_search`). The headline matches come from
        their own index (revision 0013), and the others are read only when the headline
        matches do not fill ``filters.limit``: a common word's few hundred headlines are
        ranked, not its thousands of bodies."""
        stmt = cls._pg_search(texts, filters, exclusions=exclusions)
        if stmt is None:
            return []
        found = [SearchHit(a, marked or "") for a, marked in s.execute(stmt)]
        wanted = filters.limit or None  # Filters: no limit is None or 0
        if wanted is not None and len(found) >= wanted:
            return found
        # Every headline match is in hand: the others are the matches not among them.
        rest = replace(filters, limit=None if wanted is None else wanted - len(found))
        stmt = cls._pg_search(texts, rest, besides=[hit.article.id for hit in found])
        assert stmt is not None  # the same readings as the first part's
        return found + [SearchHit(a, marked or "") for a, marked in s.execute(stmt)]

    @staticmethod
    def _pg_search(
        texts: dict[str, str],
        filters: Filters,
        *,
        exclusions: bool = True,
        besides: list[int] | None = None,
    ) -> Select[Any] | None:
        """The matches whose headline matches too, best first, each with its snippet;
        with ``besides`` (every headline match), the other matches. None: the query has no
        word any configuration reads (stop words only), so nothing matches.

        Each reading of the query (:func:`search.pg_readings`) is matched, ranked and
        limited apart, on the articles read with it, as a constant ``tsquery`` the GIN
        index answers exactly: the index on the headline part of the stored document for
        the first part, the one on the whole document for the others. The best of each
        reading are then put in one order (most queries have one reading to an article
        language in the database, so one part), and quoted with their reading after the
        limit.

        ``exclusions``: whether the query excludes words. Without any, a headline that
        matches makes the whole document match (it only adds words and positions), so
        the first part does not read the document a second time to match it."""
        _register_pg_functions()
        readings = pg_readings(texts, "articles.language")
        if not readings:
            return None
        vector = PG_SEARCH_VECTOR
        parts = []
        for reading in readings:
            words = reading.tsquery
            rank = func.ts_rank(_PG_RANK_WEIGHTS, vector, words)
            where = [] if reading.where is None else [reading.where]
            if besides is None:
                # ts_rank adds up every pair of nearby query words, so a long body that
                # repeats them would outrank a headline made of them: headlines first.
                where.append(PG_HEADLINE_VECTOR.bool_op("@@")(words))
                if exclusions:
                    where.append(vector.bool_op("@@")(words))
            else:
                where.append(vector.bool_op("@@")(words))
                if besides:
                    where.append(Article.id.not_in(besides))
            part = select(Article.id, rank.label("rank"), words.label("words")).where(*where)
            parts.append(filters.apply(part.order_by(*_pg_order(rank))))
        best = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery()
        snippet = func.ts_headline(_PG_OWN_CONFIG, Article.body, best.c.words, _PG_HEADLINE)
        stmt = (
            select(Article, snippet)
            .join(best, Article.id == best.c.id)
            .order_by(*_pg_order(best.c.rank))
        )
        return stmt.limit(filters.limit) if filters.limit else stmt

    @staticmethod
    def _like_search(parsed: SearchQuery) -> Select[Any]:
        """Other databases: every word as a substring of title or body, no index."""

        def has(term: Term) -> ColumnElement[bool]:
            pattern = f"%{_like_escape(term.text)}%"
            return or_(
                Article.title.ilike(pattern, escape="\\"),
                Article.body.ilike(pattern, escape="\\"),
            )

        conds = [or_(*(has(t) for t in alternatives)) for alternatives in parsed.required]
        conds += [~has(t) for t in parsed.excluded]
        return select(Article).where(*conds).order_by(Article.published.desc())

    def latest(self, filters: Filters | None = None) -> list[Article]:
        """Most recently published articles first (undated ones by when they were seen)."""
        filters = filters or Filters()
        stmt = select(Article).order_by(RECENCY.desc(), Article.id.desc())
        with self.sessions() as s:
            return list(s.execute(filters.apply(stmt)).scalars())

    def get(self, key: str) -> Article | None:
        """An article by numeric id, canonical URL or fetched URL."""
        with self.sessions() as s:
            if key.isascii() and key.isdigit():  # "²".isdigit() too, but int() refuses it
                article_id = int(key)
                if article_id > _MAX_ID.get(self.engine.dialect.name, 2**63 - 1):
                    return None  # no such id; the database would refuse the number
                return s.get(Article, article_id)
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


@dataclass
class StoryView:
    """A story with its articles (earliest first)."""

    story: Story
    articles: list[Article]

    def to_dict(self) -> dict[str, Any]:
        """Every field of the story, and each article's id, title, URL, source, time and
        that time's precision (written as :func:`article_dict` does)."""
        s = self.story
        return {
            "id": s.id,
            "headline": s.headline,
            "first_seen": s.first_seen.isoformat(),
            "updated": s.updated.isoformat(),
            "article_count": s.article_count,
            "outlet_count": s.outlet_count,
            "category": s.category,
            "articles": [
                {
                    "id": a.id,
                    "title": a.title,
                    "canonical_url": a.canonical_url,
                    "source": a.source,
                    "site_name": a.site_name,
                    "published": iso_date(a.published, a.published_precision, a.published_offset)
                    if a.published
                    else None,
                    "published_precision": a.published_precision,
                    "duplicate_of": a.duplicate_of,
                }
                for a in self.articles
            ],
        }


class StoryQuery:
    """Stories: listing, one story with its articles."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)

    def stories(
        self,
        *,
        since: datetime | None = None,
        category: str | None = None,
        min_sources: int = 1,
        limit: int | None = 20,
    ) -> list[StoryView]:
        """Stories by number of outlets, then recency (last update), with their articles."""
        stmt = select(Story).where(Story.outlet_count >= min_sources)
        if since:
            stmt = stmt.where(Story.updated >= since)
        if category:
            stmt = stmt.where(Story.category == category)
        stmt = stmt.order_by(Story.outlet_count.desc(), Story.updated.desc(), Story.id)
        if limit:
            stmt = stmt.limit(limit)
        with self.sessions() as s:
            stories = list(s.execute(stmt).scalars())
            articles = self._articles(s, [story.id for story in stories])
            return [StoryView(story, articles.get(story.id, [])) for story in stories]

    def story(self, story_id: int) -> StoryView | None:
        with self.sessions() as s:
            story = s.get(Story, story_id)
            return (
                StoryView(story, self._articles(s, [story_id]).get(story_id, [])) if story else None
            )

    def unindexed(self) -> int:
        """How many stored articles are in no story yet (stored but not indexed: a crawl
        that stopped before its end, or a database written by an older version)."""
        with self.sessions() as s:
            stmt = select(func.count()).select_from(Article).where(Article.story_id.is_(None))
            return int(s.execute(stmt).scalar_one())

    @staticmethod
    def _articles(session: Any, story_ids: list[int]) -> dict[int, list[Article]]:
        """The stories' articles, earliest first, in one query (not one per story)."""
        if not story_ids:
            return {}
        stmt = (
            select(Article)
            .where(Article.story_id.in_(story_ids))
            .order_by(Article.story_id, Article.published, Article.id)
        )
        out: dict[int, list[Article]] = {}
        for article in session.execute(stmt).scalars():
            out.setdefault(article.story_id, []).append(article)
        return out


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return value.isoformat()  # type: ignore[no-any-return]


def group_by_story(articles: Iterable[Article]) -> list[tuple[int | None, list[Article]]]:
    """Articles grouped by their story, in the order each story's first article comes
    (best match first for search results); an article in no story is a group alone."""
    groups: dict[int | str, list[Article]] = {}
    for a in articles:
        groups.setdefault(a.story_id if a.story_id is not None else f"article-{a.id}", []).append(a)
    return [(k if isinstance(k, int) else None, group) for k, group in groups.items()]


def story_group_dict(story_id: int | None, articles: Iterable[Article]) -> dict[str, Any]:
    """One group of :func:`group_by_story` as JSON: the story id and its articles."""
    return {"story_id": story_id, "articles": [article_dict(a) for a in articles]}
