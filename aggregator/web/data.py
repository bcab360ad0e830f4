"""What the pages and the API read: the front page's window of stories, a source's health,
search pages, snippets. Read-only queries over the storage models; the CLI's queries
(:class:`~aggregator.storage.query.Query`, :class:`~aggregator.storage.query.StoryQuery`)
are used as they are wherever they fit, so search means the same here as in the CLI.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import Engine, func, literal_column, select
from sqlalchemy.orm import Session

from aggregator.storage.models import Article, CrawlRun, Story, UTCDateTime
from aggregator.storage.query import (
    Filters,
    Query,
    SearchHit,
    StoryView,
    group_by_story,
    marked_parts,
)

CATEGORIES = ("film", "tv", "music", "games", "celebrity")
PER_PAGE = 20
MAX_PAGE = 500
# Search results scanned when a category filter (a story's field, not an article's) has to
# be applied after the search: the best matches are searched, then filtered.
CATEGORY_SCAN = 1000
HISTORY_DAYS = 30
# The fields whose missing rate the sources page shows (Query.stats' keys).
MISSING_FIELDS = ("title", "subtitle", "authors", "published", "body", "image")


# -- the front page ---------------------------------------------------------------------


@dataclass
class StoryCard:
    """A story as the front page shows it: the story, its articles (bodies not loaded),
    and the lead image and dek taken from its earliest article that has each."""

    view: StoryView
    image: str | None
    dek: str | None

    @property
    def originals(self) -> list[Article]:
        """One article per outlet, originals before syndicated copies."""
        seen: set[str] = set()
        out: list[Article] = []
        for a in sorted(self.view.articles, key=lambda a: a.duplicate_of is not None):
            outlet = a.source or a.site_name or a.canonical_url
            if outlet not in seen:
                seen.add(outlet)
                out.append(a)
        return out


@dataclass
class FrontPage:
    cards: list[StoryCard]
    start: datetime | None
    end: datetime | None
    page: int
    has_next: bool


# What a story's listing shows of each article (and StoryView.to_dict writes): read as
# plain rows, not ORM objects, which cost more than the query on a front page of big
# stories (a page of 20 stories of 12 outlets is 240 articles).
_LISTED = (
    Article.id,
    Article.story_id,
    Article.title,
    Article.subtitle,
    Article.canonical_url,
    Article.source,
    Article.site_name,
    Article.published,
    Article.published_precision,
    Article.published_offset,
    Article.duplicate_of,
    Article.image,
    # What a feed entry carries beside the above (aggregate.feeds.feed_stories).
    Article.first_seen,
    Article.authors,
)


def _light_articles(session: Session, story_ids: Sequence[int]) -> dict[int, list[Article]]:
    """The stories' articles, earliest first, in one query: the listed fields only, as rows
    that read like articles (``a.title``), without bodies."""
    if not story_ids:
        return {}
    stmt = (
        select(*_LISTED)
        .where(Article.story_id.in_(story_ids))
        .order_by(Article.story_id, Article.published, Article.id)
    )
    out: dict[int, list[Article]] = {}
    for row in session.execute(stmt):
        out.setdefault(row.story_id or 0, []).append(row)  # type: ignore[arg-type]
    return out


def _by_outlets(
    session: Session, start: datetime, end: datetime, wanted: int, category: str | None
) -> bool:
    """Whether SQLite should find a window's stories by walking the outlet-count index
    (most outlets first, each story's time checked, until the page is full) rather than
    by reading the whole window from the time index and sorting it.

    SQLite picks the time index whatever the window holds: 17,000 stories read and sorted
    for a week of 200,000 articles (110 ms). Walking the outlet-count index reads about
    ``wanted * stories / in window`` stories instead (1 ms for the first pages), but
    would read far more for a narrow window in a long history. Both counts come from
    indexes; a category (one story in five, say) makes the walk five times longer."""
    in_window = session.execute(
        select(func.count()).select_from(Story).where(Story.updated > start, Story.updated <= end)
    ).scalar_one()
    total = session.execute(select(func.max(Story.id))).scalar_one() or 0
    if not in_window:
        return False
    walk = wanted * total / in_window * (len(CATEGORIES) if category else 1)
    return walk < in_window


def card(view: StoryView) -> StoryCard:
    image = next((a.image for a in view.articles if a.image), None)
    dek = next((a.subtitle for a in view.articles if a.subtitle), None)
    return StoryCard(view, image, dek)


def front_page(
    engine: Engine,
    *,
    window: timedelta,
    category: str | None = None,
    before: datetime | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> FrontPage:
    """Stories last updated in ``window`` up to ``before`` (default: the newest story's
    update, so that an archive reads like the day it was collected), most outlets first,
    then most recent. The window ends at the newest story, not at the clock: a database
    collected last month still has a front page."""
    with Session(engine) as s:
        end = before
        if end is None:
            newest = select(func.max(Story.updated))
            if category:
                newest = newest.where(Story.category == category)
            end = s.execute(newest).scalar_one_or_none()
        if end is None:
            return FrontPage([], None, None, page, False)
        try:
            start = end - window
        except OverflowError:  # a window reaching before year 1
            start = datetime.min.replace(tzinfo=timezone.utc)
        offset = (page - 1) * per_page
        updated: Any = Story.updated
        if engine.dialect.name == "sqlite" and _by_outlets(
            s, start, end, offset + per_page, category
        ):
            # SQLite's way of keeping an index out of a plan: a unary + on its column.
            updated = literal_column("+stories.updated", type_=UTCDateTime())
        stmt = select(Story).where(updated > start, updated <= end)
        if category:
            stmt = stmt.where(Story.category == category)
        stmt = (
            stmt.order_by(Story.outlet_count.desc(), Story.updated.desc(), Story.id)
            .offset(offset)
            .limit(per_page + 1)
        )
        stories = list(s.execute(stmt).scalars())
        has_next = len(stories) > per_page
        stories = stories[:per_page]
        articles = _light_articles(s, [story.id for story in stories])
    cards = [card(StoryView(story, articles.get(story.id, []))) for story in stories]
    return FrontPage(cards, start, end, page, has_next)


def story_views(
    engine: Engine,
    *,
    since: datetime | None,
    category: str | None,
    min_sources: int,
    limit: int,
    offset: int = 0,
) -> list[StoryView]:
    """Stories in the CLI's ``stories`` order, ``limit`` of them from ``offset`` (the API,
    the feeds)."""
    with Session(engine) as s:
        stmt = select(Story).where(Story.outlet_count >= min_sources)
        if since:
            stmt = stmt.where(Story.updated >= since)
        if category:
            stmt = stmt.where(Story.category == category)
        stmt = (
            stmt.order_by(Story.outlet_count.desc(), Story.updated.desc(), Story.id)
            .offset(offset)
            .limit(limit)
        )
        stories = list(s.execute(stmt).scalars())
        articles = _light_articles(s, [story.id for story in stories])
    return [StoryView(story, articles.get(story.id, [])) for story in stories]


# -- search -------------------------------------------------------------------------------


@dataclass
class SearchPage:
    results: list[SearchHit]
    page: int
    has_next: bool
    groups: list[tuple[int | None, list[SearchHit]]] = field(default_factory=list)

    def article_groups(self) -> list[tuple[int | None, list[Article]]]:
        """:attr:`groups` with the articles alone (``aggregator search --by-story``'s)."""
        return [(sid, [hit.article for hit in hits]) for sid, hits in self.groups]


def search_page(
    engine: Engine,
    query: str,
    filters: Filters,
    *,
    category: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
    by_story: bool = False,
) -> SearchPage:
    """One page of ``aggregator search``'s results for ``query`` (the same query, so the
    same matches in the same order, each with the database's snippet); with ``category``,
    only articles of stories in it. Raises ``SearchSyntaxError`` as the CLI's does."""
    wanted = page * per_page + 1
    # A category is a story's, not an article's: the best matches are read and filtered,
    # a few times the page first, up to CATEGORY_SCAN when that is not enough.
    scans = [wanted] if not category else [min(wanted * 8, CATEGORY_SCAN), CATEGORY_SCAN]
    for scan in scans:
        filters.limit = max(wanted, scan)
        hits = Query(engine).search_hits(query, filters)
        exhausted = len(hits) < filters.limit
        if category:
            ids = {h.article.story_id for h in hits if h.article.story_id}
            categories = story_categories(engine, ids)
            hits = [
                h
                for h in hits
                if h.article.story_id and categories.get(h.article.story_id) == category
            ]
        if len(hits) >= wanted or exhausted:
            break
    has_next = len(hits) > page * per_page
    hits = hits[(page - 1) * per_page : page * per_page]
    groups: list[tuple[int | None, list[SearchHit]]] = []
    if by_story:
        by_id = {h.article.id: h for h in hits}
        groups = [
            (sid, [by_id[a.id] for a in articles])
            for sid, articles in group_by_story([h.article for h in hits])
        ]
    return SearchPage(hits, page, has_next, groups)


def story_categories(engine: Engine, story_ids: Iterable[int]) -> dict[int, str | None]:
    ids = sorted(set(story_ids))
    if not ids:
        return {}
    with Session(engine) as s:
        rows = s.execute(select(Story.id, Story.category).where(Story.id.in_(ids)))
        return {sid: cat for sid, cat in rows}


def marked(text: str) -> Markup:
    """A search snippet (matches between ``MARK_OPEN`` and ``MARK_CLOSE``, as the database
    marked them) as HTML: every match in ``<mark>``, everything else escaped."""
    out = Markup("")
    for part, match in marked_parts(" ".join(text.split())):
        out += Markup("<mark>%s</mark>") % part if match else escape(part)
    return out


# -- sources ----------------------------------------------------------------------------


@dataclass
class SourceHealth:
    """One outlet as the person running the crawls needs to see it."""

    name: str
    title: str
    category: str
    registered: bool
    last_run: CrawlRun | None
    articles: int
    newest: str | None
    per_day: list[int]
    missing: dict[str, float]

    @property
    def failing(self) -> bool:
        """The last run ended otherwise than "finished" (a running one is not judged)."""
        run = self.last_run
        return run is not None and run.status not in ("finished", "running")

    @property
    def errors_by_kind(self) -> dict[str, int]:
        run = self.last_run
        errors = (run.details or {}).get("errors", {}) if run is not None else {}
        return {str(k): v for k, v in errors.items() if isinstance(v, int) and v}

    def to_dict(self, registry_entry: dict[str, Any] | None) -> dict[str, Any]:
        """The CLI's ``sources --json`` object (registry entry and ``last_run``), with the
        health figures under ``health``."""
        base: dict[str, Any] = dict(registry_entry) if registry_entry else {"name": self.name}
        run = self.last_run
        base["last_run"] = run.summary() if run is not None else None
        base["health"] = {
            "failing": self.failing,
            "last_run": run.to_dict() if run is not None else None,
            "errors_by_kind": self.errors_by_kind,
            "articles": self.articles,
            "newest": self.newest,
            "articles_per_day": self.per_day,
            "missing": self.missing,
        }
        return base


class HealthCache:
    """The sources page's figures, computed once per state of the database.

    Missing-field rates read every article (a second at 200,000 on SQLite), so they are
    kept until the database changes: a cheap key (the newest run and its end, the newest
    article id and sighting, today's date) is read on every request, the figures only when
    it differs. The server never writes, so only crawls change the key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # One computation at a time: requests that arrive meanwhile wait for its result
        # instead of reading every article again.
        self._computing = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._value: list[SourceHealth] = []

    def get(self, engine: Engine, registry: dict[str, Any]) -> list[SourceHealth]:
        key = _health_key(engine)
        with self._lock:
            if key == self._key:
                return self._value
        with self._computing:
            with self._lock:
                if key == self._key:
                    return self._value
            value = source_health(engine, registry)
            with self._lock:
                self._key, self._value = key, value
        return value


def _health_key(engine: Engine) -> tuple[Any, ...]:
    # One aggregate per query: SQLite answers a lone max() from an index, but scans the
    # whole table for two in one query.
    queries = (
        select(func.max(CrawlRun.id)),
        select(func.max(CrawlRun.finished_at)),
        select(func.count(CrawlRun.id)),
        select(func.max(Article.id)),
        select(func.max(Article.last_seen)),
    )
    with Session(engine) as s:
        values = [s.execute(q).scalar_one_or_none() for q in queries]
    return (*values, datetime.now(timezone.utc).date())


def _day(column: Any, dialect: str) -> Any:
    """The UTC calendar day of a time column, as text ``YYYY-MM-DD``."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.date(column)


def source_health(engine: Engine, registry: dict[str, Any]) -> list[SourceHealth]:
    """Every registered outlet, and any other that has articles: its last run, article
    count, articles first seen per day over :data:`HISTORY_DAYS` days (crawl activity, not
    publication dates), missing-field rates. Failing outlets first."""
    today = datetime.now(timezone.utc).date()
    first_day = today - timedelta(days=HISTORY_DAYS - 1)
    since = datetime(first_day.year, first_day.month, first_day.day, tzinfo=timezone.utc)
    stats = {row["source"]: row for row in Query(engine).stats()}
    with Session(engine) as s:
        latest = select(func.max(CrawlRun.id)).group_by(CrawlRun.source)
        runs = {
            r.source: r
            for r in s.execute(select(CrawlRun).where(CrawlRun.id.in_(latest))).scalars()
        }
        day = _day(Article.first_seen, engine.dialect.name)
        counts: dict[str | None, dict[str, int]] = {}
        stmt = (
            select(Article.source, day, func.count(Article.id))
            .where(Article.first_seen >= since)
            .group_by(Article.source, day)
        )
        for source, d, n in s.execute(stmt):
            counts.setdefault(source, {})[str(d)] = int(n)
    days = [(first_day + timedelta(days=i)).isoformat() for i in range(HISTORY_DAYS)]
    names = list(registry) + sorted(
        n for n in set(stats) | set(runs) if n is not None and n not in registry
    )
    out: list[SourceHealth] = []
    for name in names:
        entry = registry.get(name)
        row = stats.get(name, {})
        per_source = counts.get(name, {})
        out.append(
            SourceHealth(
                name=name,
                title=str(getattr(entry, "title", name)),
                category=str(getattr(entry, "category", "-")),
                registered=entry is not None,
                last_run=runs.get(name),
                articles=int(row.get("articles", 0)),
                newest=row.get("newest"),
                per_day=[per_source.get(d, 0) for d in days],
                missing=dict(row.get("missing", {})),
            )
        )
    out.sort(key=lambda h: (not h.failing, h.last_run is None, h.name))
    return out


def history_days(today: date | None = None) -> tuple[str, str]:
    """The first and last day of the per-day chart."""
    today = today or datetime.now(timezone.utc).date()
    return (today - timedelta(days=HISTORY_DAYS - 1)).isoformat(), today.isoformat()


def bar_chart(counts: Sequence[int], *, width: int = 150, height: int = 32) -> Markup:
    """Articles per day as an inline SVG bar chart (drawn here, no script), with a text
    equivalent for screen readers."""
    top = max(counts, default=0)
    n = len(counts) or 1
    bar = width / n
    total = sum(counts)
    first, last = history_days()
    label = (
        f"{total} article{'s' if total != 1 else ''} first seen in the last {n} days "
        f"({first} to {last}), at most {top} a day"
    )
    rects = []
    for i, c in enumerate(counts):
        h = 0.0 if top == 0 else max(1.0, (height - 2) * c / top) if c else 0.0
        rects.append(
            f'<rect x="{i * bar:.1f}" y="{height - h:.1f}" width="{max(bar - 1, 1):.1f}" '
            f'height="{h:.1f}"><title>{escape(str(c))}</title></rect>'
        )
    body = "".join(rects)
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
        f'<line x1="0" y1="{height - 0.5}" x2="{width}" y2="{height - 0.5}" class="axis"/>'
        f"{body}</svg>"
    )


# -- API objects -----------------------------------------------------------------------------
