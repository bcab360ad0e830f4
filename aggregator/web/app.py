"""The read-only web application: pages, feeds and the JSON API over one database.

Server-rendered (Jinja2, autoescaped: headlines and bodies come from the open web), one
local stylesheet and one small local script that only rewrites times into the reader's
zone; nothing is fetched from another host. Every response carries a strict
Content-Security-Policy. Parameters are checked before any query: a bad one is a 400 with
a message. The database is opened read-only (SQLite ``query_only``, PostgreSQL read-only
transactions), so no page can write to it whatever it runs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from sqlalchemy import Engine, event
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, Router
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aggregator.normalize.dates import format_date, on_page_clock, parse_since
from aggregator.storage.query import Filters, Query, StoryQuery, article_dict, story_group_dict
from aggregator.web import data

HERE = Path(__file__).resolve().parent
# The largest id either database can hold (PostgreSQL's SERIAL is 4 bytes): a larger
# number names nothing, and the driver would refuse it.
MAX_ID = {"postgresql": 2**31 - 1}
MAX_PARAM = 200
WINDOWS = {"1d": timedelta(days=1), "2d": timedelta(days=2), "1w": timedelta(weeks=1),
           "1m": timedelta(days=30), "1y": timedelta(days=365)}  # fmt: skip
DEFAULT_WINDOW = "1w"
SEARCH_PARAMS = ("source", "author", "category", "since", "until")
FEED_TYPES = {
    "atom": ("atom", "application/atom+xml; charset=utf-8"),
    "rss": ("rss", "application/rss+xml; charset=utf-8"),
    "json": ("jsonfeed", "application/feed+json; charset=utf-8"),
}


def csp(images: bool) -> str:
    """Nothing but this server's own files; article images from https hosts only when the
    server was started with ``--images``."""
    img = "'self' https:" if images else "'self'"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src {img}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


class SecurityHeaders:
    """Adds the CSP and the usual hardening headers to every response."""

    def __init__(self, app: ASGIApp, images: bool = False) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", csp(images).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *self.headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


# -- parameters ---------------------------------------------------------------------------


def bad(message: str) -> HTTPException:
    return HTTPException(400, message)


def text_param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is None or not value.strip():
        return None
    if len(value) > MAX_PARAM:
        raise bad(f"{name} is too long (at most {MAX_PARAM} characters)")
    return value.strip()


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise bad(f"{name} must be a whole number from {low} to {high}, not {value[:40]!r}")
    return int(value)


def time_param(request: Request, name: str, now: datetime) -> datetime | None:
    value = text_param(request, name)
    try:
        return parse_since(value, now)
    except ValueError as exc:
        raise bad(f"{name}: {exc}") from None


def category_param(request: Request) -> str | None:
    value = text_param(request, "category")
    if value is not None and value not in data.CATEGORIES:
        raise bad(f"category must be one of {', '.join(data.CATEGORIES)}, not {value[:40]!r}")
    return value


def flag_param(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "")
    if value not in ("", "0", "1", "on"):
        raise bad(f"{name} must be 1 or 0, not {value[:40]!r}")
    return value in ("1", "on")


def id_param(request: Request, engine: Engine) -> int:
    raw = request.path_params["id"]
    if not (raw.isascii() and raw.isdigit()):
        raise HTTPException(404, f"no such id: {raw[:40]!r}")
    value = int(raw)
    if value > MAX_ID.get(engine.dialect.name, 2**63 - 1):
        raise HTTPException(404, f"no such id: {value}")
    return value


def search_filters(request: Request) -> tuple[Filters, str | None]:
    now = datetime.now(timezone.utc)
    filters = Filters(
        source=text_param(request, "source"),
        author=text_param(request, "author"),
        since=time_param(request, "since", now),
        until=time_param(request, "until", now),
    )
    return filters, category_param(request)


# -- template helpers -------------------------------------------------------------------------


def safe_href(url: str | None) -> str | None:
    """``url`` if it is an http(s) URL (stored URLs come from the open web: a
    ``javascript:`` one must never become a link), else None."""
    if not url:
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def _offset_text(minutes: int | None) -> str:
    if minutes is None:
        return ""
    sign = "+" if minutes >= 0 else "−"
    h, m = divmod(abs(minutes), 60)
    return f"UTC{sign}{h:02d}:{m:02d}"


@dataclass(frozen=True)
class Shown:
    """A stored time as a page shows it: machine text, UTC text, the page's own clock."""

    iso: str
    utc: str
    page: str | None
    precision: str


def shown(dt: datetime | None, precision: str | None = None, offset: int | None = None) -> Any:
    """A time for a template: ``<time datetime=iso>utc</time>`` with the page's own time
    and offset beside it when the page gave one (times are kept to the precision the page
    gave them; the script rewrites ``utc`` into the reader's zone)."""
    if dt is None:
        return None
    precision = precision or "minute"
    utc = format_date(dt, precision, offset)
    page = None
    if offset is not None and precision not in ("month", "day") and offset != 0:
        local = on_page_clock(dt, offset)
        page = f"{local.strftime('%Y-%m-%d %H:%M')} {_offset_text(offset)}"
    iso = dt.astimezone(timezone.utc).isoformat()
    return Shown(iso, utc if precision in ("month", "day") else f"{utc} UTC", page, precision)


def paragraphs(body: str | None) -> list[str]:
    return [p.strip() for p in (body or "").split("\n") if p.strip()]


# -- the application ----------------------------------------------------------------------------


@dataclass
class Site:
    engine: Engine
    templates: Jinja2Templates
    registry: dict[str, Any]
    images: bool
    health: data.HealthCache


def read_only(engine: Engine) -> None:
    """Every connection of ``engine`` refuses writes: the server only reads."""

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        if engine.dialect.name == "sqlite":
            cur.execute("PRAGMA query_only=ON")
        elif engine.dialect.name == "postgresql":
            cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            dbapi_conn.commit()
        cur.close()

    event.listen(engine, "connect", on_connect)


def create_app(
    engine: Engine, *, registry: dict[str, Any] | None = None, images: bool = False
) -> Starlette:
    """The application over ``engine`` (which it makes read-only). ``registry``: the
    outlets the sources page lists (default: the bundled registry); ``images``: show the
    outlets' lead images (loaded by the reader's browser from the outlets' hosts)."""
    from aggregator.sources import load_sources

    read_only(engine)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.autoescape = True
    env.filters["href"] = safe_href
    env.globals["shown"] = shown
    env.globals["categories"] = data.CATEGORIES
    env.globals["images"] = images
    env.globals["paragraphs"] = paragraphs
    env.globals["marked"] = data.marked
    env.globals["bar_chart"] = data.bar_chart
    env.globals["windows"] = WINDOWS
    site = Site(
        engine,
        templates,
        registry if registry is not None else load_sources(),
        images,
        data.HealthCache(),
    )

    def page(fn: Callable[[Site, Request], Response]) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            return fn(site, request)

        endpoint.__name__ = fn.__name__
        return endpoint

    routes = [
        Route("/", page(front), name="front"),
        Route("/stories/{id}", page(story_page), name="story"),
        Route("/articles/{id}", page(article_page), name="article"),
        Route("/search", page(search), name="search"),
        Route("/sources", page(sources), name="sources"),
        Route("/feed.atom", page(feed("atom")), name="feed_atom"),
        Route("/feed.rss", page(feed("rss")), name="feed_rss"),
        Route("/feed.json", page(feed("json")), name="feed_json"),
        Route("/api/stories", page(api_stories), name="api_stories"),
        Route("/api/stories/{id}", page(api_story), name="api_story"),
        Route("/api/articles/{id}", page(api_article), name="api_article"),
        Route("/api/search", page(api_search), name="api_search"),
        Route("/api/sources", page(api_sources), name="api_sources"),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error(site, request, exc.status_code, str(exc.detail))

    async def database_error(request: Request, exc: Exception) -> Response:
        # The database is down, gone, locked or unreachable; not our own errors, which
        # are 500s like any other bug.
        from aggregator.storage.engine import error_line

        return error(site, request, 503, f"the database cannot be read: {error_line(exc)}")

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # The sources page's figures read every article (seconds at 200,000): computed
        # once in the background as the server starts, not at its first reader's request.
        threading.Thread(target=_warm, args=(site,), name="sources-figures", daemon=True).start()
        yield

    app = Starlette(
        lifespan=lifespan,
        routes=routes,
        middleware=[Middleware(SecurityHeaders, images=images)],
        exception_handlers={
            HTTPException: http_error,
            OperationalError: database_error,
            InterfaceError: database_error,
            PoolTimeoutError: database_error,
        },
    )
    # /stories/1/ is not /stories/1: no redirect built from the request's Host header.
    assert isinstance(app.router, Router)
    app.router.redirect_slashes = False
    app.state.site = site
    return app


def _warm(site: Site) -> None:
    # A database not readable now is the page's to report, when someone asks for it.
    with suppress(SQLAlchemyError):
        site.health.get(site.engine, site.registry)


def error(site: Site, request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    titles = {400: "Bad request", 404: "Not found", 503: "Database unavailable"}
    return site.templates.TemplateResponse(
        request,
        "error.html",
        {"title": titles.get(status, "Error"), "status": status, "message": message},
        status_code=status,
    )


def query_url(request: Request, **changes: Any) -> str:
    """This page's URL with ``changes`` to its query (None removes a parameter)."""
    params = dict(request.query_params)
    for k, v in changes.items():
        if v is None:
            params.pop(k, None)
        else:
            params[k] = str(v)
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


def render(site: Site, request: Request, name: str, context: dict[str, Any]) -> Response:
    context.setdefault("title", "")
    context["query_url"] = lambda **kw: query_url(request, **kw)
    return site.templates.TemplateResponse(request, name, context)


# -- pages -----------------------------------------------------------------------------------


def _front_args(request: Request) -> dict[str, Any]:
    window_name = text_param(request, "window") or DEFAULT_WINDOW
    if window_name not in WINDOWS:
        raise bad(f"window must be one of {', '.join(WINDOWS)}, not {window_name[:40]!r}")
    # The same forms as since/until (2022-06-10, 2022-06-10T12:00:00Z, 2d), in UTC.
    before = time_param(request, "before", datetime.now(timezone.utc))
    return {
        "window_name": window_name,
        "window": WINDOWS[window_name],
        "category": category_param(request),
        "before": before,
        "page": int_param(request, "page", 1, 1, data.MAX_PAGE),
    }


def front(site: Site, request: Request) -> Response:
    args = _front_args(request)
    result = data.front_page(
        site.engine,
        window=args["window"],
        category=args["category"],
        before=args["before"],
        page=args["page"],
    )
    older = result.start.isoformat() if result.start else None
    return render(
        site,
        request,
        "front.html",
        {
            "title": (args["category"] or "Top").capitalize() + " stories"
            if args["category"] != "tv"
            else "TV stories",
            "front": result,
            "category": args["category"],
            "window_name": args["window_name"],
            "older": older,
        },
    )


def story_page(site: Site, request: Request) -> Response:
    story_id = id_param(request, site.engine)
    view = StoryQuery(site.engine).story(story_id)
    if view is None:
        raise HTTPException(404, f"no story {story_id}")
    by_id = {a.id: a for a in view.articles}
    return render(
        site,
        request,
        "story.html",
        {"title": view.story.headline, "view": view, "card": data.card(view), "by_id": by_id},
    )


def article_page(site: Site, request: Request) -> Response:
    article_id = id_param(request, site.engine)
    article = Query(site.engine).get(str(article_id))
    if article is None:
        raise HTTPException(404, f"no article {article_id}")
    story = StoryQuery(site.engine).story(article.story_id) if article.story_id else None
    original = Query(site.engine).get(str(article.duplicate_of)) if article.duplicate_of else None
    return render(
        site,
        request,
        "article.html",
        {"title": article.title, "a": article, "story": story, "original": original},
    )


def _search_page(
    site: Site, q: str, filters: Any, category: str | None, page_no: int, by_story: bool
) -> data.SearchPage:
    """``data.search_page``, a search the query language cannot read being a 400."""
    from aggregator.storage import SearchSyntaxError

    try:
        return data.search_page(
            site.engine, q, filters, category=category, page=page_no, by_story=by_story
        )
    except SearchSyntaxError as exc:
        raise bad(f"cannot search for {q!r}: {exc}") from None


def search(site: Site, request: Request) -> Response:
    q = text_param(request, "q")
    filters, category = search_filters(request)
    page_no = int_param(request, "page", 1, 1, data.MAX_PAGE)
    by_story = flag_param(request, "by_story")
    result = None
    if q:
        result = _search_page(site, q, filters, category, page_no, by_story)
    return render(
        site,
        request,
        "search.html",
        {
            "title": f"Search: {q}" if q else "Search",
            "q": q or "",
            "result": result,
            "params": {k: request.query_params.get(k, "") for k in SEARCH_PARAMS},
            "by_story": by_story,
            "sources": sorted(site.registry),
        },
    )


def sources(site: Site, request: Request) -> Response:
    health = site.health.get(site.engine, site.registry)
    first, last = data.history_days()
    return render(
        site,
        request,
        "sources.html",
        {
            "title": "Sources",
            "health": health,
            "failing": sum(h.failing for h in health),
            "first_day": first,
            "last_day": last,
            "fields": data.MISSING_FIELDS,
        },
    )


# -- feeds ------------------------------------------------------------------------------------


def _story_filters(request: Request, default_limit: int) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    return {
        "since": time_param(request, "since", now),
        "category": category_param(request),
        "min_sources": int_param(request, "min_sources", 1, 1, 2**31 - 1),
        "limit": int_param(request, "limit", default_limit, 1, 200),
    }


def feed(kind: str) -> Callable[[Site, Request], Response]:
    fmt, media_type = FEED_TYPES[kind]

    def feed_endpoint(site: Site, request: Request) -> Response:
        from aggregator.aggregate.feeds import feed_stories
        from aggregator.aggregate.feeds import render as render_feed

        views = data.story_views(site.engine, **_story_filters(request, 50))
        home = str(request.base_url)
        text = render_feed(
            feed_stories(views),
            fmt,
            title="Entertainment news: stories",
            home=home,
            feed_url=str(request.url),
        )
        return Response(text, media_type=media_type)

    feed_endpoint.__name__ = f"feed_{kind}"
    return feed_endpoint


# -- the JSON API -------------------------------------------------------------------------------


def _json(payload: Any, status: int = 200) -> Response:
    body = json.dumps(payload, ensure_ascii=False, default=str)
    return Response(body, status_code=status, media_type="application/json")


def _next(request: Request, has_next: bool, page_no: int) -> str | None:
    return query_url(request, page=page_no + 1) if has_next else None


def api_stories(site: Site, request: Request) -> Response:
    filters = _story_filters(request, data.PER_PAGE)
    page_no = int_param(request, "page", 1, 1, data.MAX_PAGE)
    limit = filters.pop("limit")
    # One more than a page says whether there is a next one.
    views = data.story_views(site.engine, limit=limit + 1, offset=(page_no - 1) * limit, **filters)
    more = len(views) > limit
    views = views[:limit]
    return _json(
        {
            "stories": [v.to_dict() for v in views],
            "page": page_no,
            "next": _next(request, more, page_no),
        }
    )


def api_story(site: Site, request: Request) -> Response:
    story_id = id_param(request, site.engine)
    view = StoryQuery(site.engine).story(story_id)
    if view is None:
        raise HTTPException(404, f"no story {story_id}")
    return _json(view.to_dict())  # as `aggregator show story:ID --json`


def api_article(site: Site, request: Request) -> Response:
    article_id = id_param(request, site.engine)
    article = Query(site.engine).get(str(article_id))
    if article is None:
        raise HTTPException(404, f"no article {article_id}")
    return _json(article_dict(article))  # as `aggregator show ID --json`


def api_search(site: Site, request: Request) -> Response:
    q = text_param(request, "q")
    if not q:
        raise bad("q (the words to search for) is required")
    filters, category = search_filters(request)
    page_no = int_param(request, "page", 1, 1, data.MAX_PAGE)
    by_story = flag_param(request, "by_story")
    result = _search_page(site, q, filters, category, page_no, by_story)
    key, items = (
        ("stories", [story_group_dict(sid, group) for sid, group in result.article_groups()])
        if by_story
        else ("articles", [hit.to_dict() for hit in result.results])
    )
    return _json({key: items, "page": page_no, "next": _next(request, result.has_next, page_no)})


def api_sources(site: Site, request: Request) -> Response:
    health = site.health.get(site.engine, site.registry)
    entries = {name: s.to_dict() for name, s in site.registry.items()}
    return _json({"sources": [h.to_dict(entries.get(h.name)) for h in health]})


__all__ = ["create_app"]
