"""SQLAlchemy 2.0 models: articles, crawl runs, fetch state.

The schema itself is made by the migrations (``aggregator/storage/migrations``); these
models must match it (tests/test_migrations.py compares them on SQLite and PostgreSQL).
Not modelled: SQLite's FTS5 table and PostgreSQL's full-text document (both last made by
0009).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def sqlite_time(value: datetime) -> str:
    """An aware time as SQLite stores it (revision 0010): ISO 8601 in UTC, always to the
    microsecond, ``2022-07-20T16:30:00.000000Z``. One width for every time, so that text
    order is time order, in our queries and in other programs comparing the text
    (``published >= '2022-07-20'``, ``> '2022-07-20T16:00'``). Dropping a zero fraction
    (``...:00Z``) would put ``16:30:00Z`` after ``16:30:00.250000Z`` ('Z' sorts after '.'):
    ``--since`` would be off by up to a second. ``datetime.isoformat`` would also drop the
    zone letter and write years before 1000 with fewer digits."""
    v = value.astimezone(timezone.utc)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
        f".{v.microsecond:06d}Z"
    )


def parse_sqlite_time(value: str) -> datetime | None:
    """A time SQLite holds, as aware UTC: this form, the space-separated one SQLAlchemy
    wrote before revision 0010, or any ISO 8601 text with an offset; None for text that
    is no time (another program may have written anything)."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


class _SQLiteTime(SQLITE_DATETIME):
    """SQLite's side of :class:`UTCDateTime`: the text is written and read there, not by
    SQLAlchemy's SQLite ``DATETIME`` (``2022-07-20 16:30:00.000000``, no zone)."""

    def bind_processor(self, dialect: Dialect) -> None:
        return None

    def result_processor(self, dialect: Dialect, coltype: Any) -> None:
        return None


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC.

    SQLite has no time type: values are written as ISO 8601 UTC text
    (:func:`sqlite_time`, ``2022-07-20T16:30:00.000000Z``) and read back as aware UTC; text
    in a time column that is no time (written by another program) reads as no time.
    PostgreSQL gets ``timestamp with time zone``. Naive input is refused: every time the
    application stores has been given its zone before it gets here.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return _SQLiteTime(timezone=True)  # type: ignore[no-untyped-call]
        return dialect.type_descriptor(self.impl)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored; give it a zone first")
        if dialect.name == "sqlite":
            return sqlite_time(value)
        return value.astimezone(timezone.utc)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """The reading chain, with a stored value that is no time read as no time instead
        of failing the whole query: indexing and every listing read these columns."""
        inner = super().result_processor(dialect, coltype)
        if inner is None:
            return None

        def process(value: Any) -> datetime | None:
            try:
                return inner(value)
            except (ValueError, TypeError, OverflowError):
                return None

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite's text
            return parse_sqlite_time(value)
        if not isinstance(value, datetime):  # a number another program stored
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


# authors and tags: jsonb on PostgreSQL (revision 0008: indexable, ``@>``), JSON text on SQLite.
JSON_LIST = JSON().with_variant(JSONB(), "postgresql")


# Foreign keys (revision 0011) are checked when the transaction commits: the aggregation
# index moves a story's articles and deletes the story in one transaction, in either order.
# The lookup rows of an article go with it; an article's copies forget it; a story cannot
# be deleted while articles name it.
_DEFERRED: dict[str, Any] = {"deferrable": True, "initially": "DEFERRED"}


class Base(DeclarativeBase):
    """Declarative base for the aggregator's tables."""


class Article(Base):
    """One stored article. ``canonical_url`` is unique; ``body_hash`` finds copies."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    canonical_url: Mapped[str] = mapped_column(String(2048), unique=True)
    url: Mapped[str] = mapped_column(String(2048))
    source: Mapped[str | None] = mapped_column(String(64), index=True)
    site_name: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    subtitle: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSON_LIST, default=list)
    published: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    published_offset: Mapped[int | None] = mapped_column(Integer)
    published_raw: Mapped[str | None] = mapped_column(String(200))
    published_precision: Mapped[str | None] = mapped_column(String(8))
    """How finely the page stated ``published`` (month, day, hour, minute, second; see
    ``ArticleItem.published_precision``); NULL: no date, or stored before revision 0007."""
    modified: Mapped[datetime | None] = mapped_column(UTCDateTime)
    modified_offset: Mapped[int | None] = mapped_column(Integer)
    modified_raw: Mapped[str | None] = mapped_column(String(200))
    modified_precision: Mapped[str | None] = mapped_column(String(8))
    """How finely the page stated ``modified``, as ``published_precision``."""
    body: Mapped[str] = mapped_column(Text)
    body_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    image: Mapped[str | None] = mapped_column(String(2048))
    tags: Mapped[list[str]] = mapped_column(JSON_LIST, default=list)
    section: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(16))
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    duplicate_of: Mapped[int | None] = mapped_column(
        Integer,
        ForeignKey(
            "articles.id", name="fk_articles_duplicate_of", ondelete="SET NULL", **_DEFERRED
        ),
        index=True,
    )
    """Id of the article this one is a near-copy of (syndication, reprint, AMP twin).
    Indexed (revision 0005): a late original re-points its group by this column."""
    story_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("stories.id", name="fk_articles_story_id", **_DEFERRED), index=True
    )
    """Id of the story (event) this article reports; see aggregator.aggregate."""

    __table_args__ = (
        Index("ix_articles_source_published", "source", "published"),
        # The store's same-source twin lookup (revision 0005).
        Index("ix_articles_body_hash_source", "body_hash", "source"),
    )


class CrawlRun(Base):
    """One crawl of one source: when, how much, and what went wrong."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(32), default="running")
    pages: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    dropped: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def to_dict(self) -> dict[str, Any]:
        """Every field, times as ISO 8601 text (what ``aggregator runs --json`` prints)."""
        return {
            "id": self.id,
            "source": self.source,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "status": self.status,
            "pages": self.pages,
            "new": self.new,
            "updated": self.updated,
            "dropped": self.dropped,
            "errors": self.errors,
            "details": self.details,
        }

    def summary(self) -> dict[str, Any]:
        """The run in brief, as a source's last run: start, status, new, updated, errors."""
        return {
            "started_at": self.started_at.isoformat(),
            "status": self.status,
            "new": self.new,
            "updated": self.updated,
            "errors": self.errors,
        }


class FetchState(Base):
    """What the crawler last saw at a URL: when, with which status and validators.

    Keyed by the requested URL (canonical form). Lets a later run skip pages it fetched
    recently and revisit older ones with a conditional GET (ETag / Last-Modified).
    """

    __tablename__ = "fetch_state"

    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    source: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="article")
    status: Mapped[int] = mapped_column(Integer)
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    canonical_url: Mapped[str | None] = mapped_column(String(2048))
    """Canonical URL of the article extracted from this address; None when it gave none
    (or was fetched before revision 0016)."""


class Story(Base):
    """An event reported by one or more articles (their connected component)."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    headline: Mapped[str] = mapped_column(Text)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    article_count: Mapped[int] = mapped_column(Integer, default=0)
    outlet_count: Mapped[int] = mapped_column(Integer, default=0, index=True)
    category: Mapped[str | None] = mapped_column(String(32))


class LshKey(Base):
    """One MinHash band key of an article's body: near-duplicate candidates by lookup."""

    __tablename__ = "lsh_keys"

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("articles.id", name="fk_lsh_keys_article_id", ondelete="CASCADE", **_DEFERRED),
        primary_key=True,
        index=True,
    )


class StoryTerm(Base):
    """A headline key term of an article, with its time: story candidates by lookup."""

    __tablename__ = "story_terms"

    # The key is (article_id, term): __table_args__.
    term: Mapped[str] = mapped_column(String(100))
    article_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey(
            "articles.id", name="fk_story_terms_article_id", ondelete="CASCADE", **_DEFERRED
        ),
    )
    is_name: Mapped[bool] = mapped_column(Boolean, default=False)
    published: Mapped[datetime] = mapped_column(UTCDateTime)

    # Keyed by article first: a new article's rows go to the key's last page (the terms
    # of an article, and the cascade, read it too); the one term-led index is the lookup.
    __table_args__ = (
        PrimaryKeyConstraint("article_id", "term", name="story_terms_pkey"),
        Index("ix_story_terms_term_published", "term", "published"),
    )


class ImportedFile(Base):
    """A web archive file an import read (``aggregator import-warc``): what makes a CC-NEWS
    import resumable. ``done`` once the file was read to its end and everything it gave
    was stored; ``running`` while it is read (or when the import was killed in it);
    ``failed`` when it could not be read. A file is keyed by its URL or absolute path."""

    __tablename__ = "import_files"

    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    records: Mapped[int] = mapped_column(Integer, default=0)
    articles: Mapped[int] = mapped_column(Integer, default=0)
