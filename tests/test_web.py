"""``aggregator serve``'s application through Starlette's test client, on a database the
demo built (SQLite, and PostgreSQL where a server answers), with hostile rows added: a
headline that is markup, a ``javascript:`` URL, and an outlet whose last crawl failed."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient
from typer.testing import CliRunner

from aggregator.cli import app as cli_app
from aggregator.storage.database import make_engine
from aggregator.storage.engine import connect
from aggregator.storage.models import Article, CrawlRun, Story
from aggregator.web.app import create_app
from aggregator.web.data import marked
from tests.conftest import BIN, SEED_URL, cli, jsonl, pg_schema, pg_server_url

pytestmark = pytest.mark.e2e
runner = CliRunner()

HOSTILE_TITLE = '<script>alert("pwned")</script> Hostile "><img src=x onerror=alert(1)> headline'
HOSTILE_DEK = "</p><iframe src=//evil.example></iframe> dek"
HOSTILE_BODY = "First <b>bold</b> paragraph.\n\n<script>alert(2)</script> second paragraph."
JS_URL = "javascript:alert(document.domain)//evil"
FAILING_SOURCE = "tmz"


def add_hostile_rows(url: str) -> dict[str, int]:
    """A hostile article in a story of its own (the newest, so on the default front page),
    and a failed last run for :data:`FAILING_SOURCE`; the new ids."""
    engine = make_engine(url)
    try:
        with Session(engine) as s, s.begin():
            newest = s.execute(select(func.max(Story.updated))).scalar_one()
            when = newest + timedelta(minutes=1)
            story = Story(headline=HOSTILE_TITLE, first_seen=when, updated=when,
                          article_count=1, outlet_count=1, category="tv")  # fmt: skip
            s.add(story)
            s.flush()
            article = Article(
                canonical_url=JS_URL, url=JS_URL, source="variety", site_name="Variety",
                title=HOSTILE_TITLE, subtitle=HOSTILE_DEK, authors=['<b onmouseover="x">Eve</b>'],
                published=when, published_offset=-240, published_precision="minute",
                body=HOSTILE_BODY, image=JS_URL, first_seen=when, last_seen=when,
                story_id=story.id,
            )  # fmt: skip
            s.add(article)
            s.add(CrawlRun(source=FAILING_SOURCE, started_at=when, finished_at=when,
                           status="failed", pages=3, errors=3,
                           details={"errors": {"download/timeout": 3}}))  # fmt: skip
            s.flush()
            return {"story": story.id, "article": article.id}
    finally:
        engine.dispose()


def build_demo(url: str) -> dict[str, int]:
    """The demo's crawl into ``url``, then the hostile rows."""
    cli("demo", "--db", url, timeout=300, check=True)
    return add_hostile_rows(url)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The demo database on each backend, its hostile ids, and a test client."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'demo.db'}"
        ids = build_demo(url)
        yield from _site(url, ids)
        return
    with pg_schema(pg_server_url()) as url:
        ids = build_demo(url)
        yield from _site(url, ids)


def _site(url: str, ids: dict[str, int]) -> Iterator[dict[str, Any]]:
    engine = connect(url)
    yield {"url": url, "ids": ids, "engine": engine, "client": TestClient(create_app(engine))}
    engine.dispose()


def get(site: dict[str, Any], path: str, status: int = 200) -> Any:
    res = site["client"].get(path)
    assert res.status_code == status, (path, res.status_code, res.text[:500])
    return res


def cli_json(site: dict[str, Any], *args: str) -> list[dict[str, Any]]:
    res = runner.invoke(cli_app, [*args, "--db", site["url"], "--json"])
    assert res.exit_code == 0, res.output
    return jsonl(res.stdout)


def seed_story(site: dict[str, Any]) -> dict[str, Any]:
    stories = cli_json(site, "stories", "--limit", "200")
    return next(s for s in stories if SEED_URL in {a["canonical_url"] for a in s["articles"]})


# -- pages ---------------------------------------------------------------------------------


def test_front_page_lists_stories_with_their_outlets(site: dict[str, Any]) -> None:
    html = get(site, "/?window=1y").text
    seed = seed_story(site)
    assert seed["headline"] in html
    # Most outlets first: the seed story (6 outlets) before any story of fewer.
    assert html.index(seed["headline"]) < html.index("Top Gun: Maverick")
    for a in seed["articles"]:
        assert f'href="/articles/{a["id"]}"' in html
    assert f'href="/stories/{seed["id"]}"' in html
    # The default window (a week up to the newest story) holds the newest story only.
    default = get(site, "/").text
    assert "Hostile" in default and seed["headline"] not in default
    assert "Earlier stories" in default


def test_front_page_order_is_the_clis(site: dict[str, Any]) -> None:
    # Over a year every story is in the window, which SQLite reads by the outlet-count
    # index; a week holds a few, read by time: either way, the CLI's order.
    for window, days in (("1y", 365), ("1w", 7)):
        ids: list[int] = []
        page = 1
        while True:
            html = get(site, f"/?window={window}&page={page}").text
            ids += [int(x) for x in re.findall(r'<h2><a href="/stories/(\d+)">', html)]
            if 'rel="next"' not in html:
                break
            page += 1
        stories = cli_json(site, "stories", "--limit", "500")
        start = max(datetime.fromisoformat(s["updated"]) for s in stories) - timedelta(days)
        expected = [s["id"] for s in stories if datetime.fromisoformat(s["updated"]) > start]
        assert ids == expected
        assert len(ids) == (66 if window == "1y" else 3)  # the demo's stories, and a hostile one


def test_front_page_tabs_filter_by_category(site: dict[str, Any]) -> None:
    html = get(site, "/?category=film&window=1y").text
    assert "Top Gun: Maverick" in html
    assert "All of Us Are Dead" not in html  # tv
    assert 'aria-current="page">Film<' in html


def test_front_page_pages(site: dict[str, Any]) -> None:
    first = get(site, "/?window=1y").text
    second = get(site, "/?window=1y&page=2").text
    assert 'rel="next"' in first and 'rel="prev"' in second
    heads = [{line for line in t.splitlines() if "<h2>" in line} for t in (first, second)]
    assert heads[0] and heads[1] and not heads[0] & heads[1]


def test_story_page_lists_every_article_and_marks_copies(site: dict[str, Any]) -> None:
    stories = cli_json(site, "stories", "--limit", "200")
    story = next(s for s in stories if any(a["duplicate_of"] for a in s["articles"]))
    html = get(site, f"/stories/{story['id']}").text
    for a in story["articles"]:
        assert f'href="/articles/{a["id"]}"' in html
    copy = next(a for a in story["articles"] if a["duplicate_of"])
    assert "Syndicated copy of" in html
    assert f'<a href="/articles/{copy["duplicate_of"]}">' in html


def test_article_page_shows_the_extracted_article(site: dict[str, Any]) -> None:
    (article,) = cli_json(site, "show", SEED_URL)
    html = get(site, f"/articles/{article['id']}").text
    assert "All of Us Are Dead" in html
    assert article["authors"][0] in html
    assert f'href="{SEED_URL}"' in html  # the original
    assert f'href="/stories/{article["story_id"]}"' in html
    first_paragraph = article["body"].split("\n")[0].strip()
    assert f"<p>{first_paragraph[:60]}" in html.replace("&#39;", "'")
    assert '<time datetime="' in html


def test_article_time_keeps_the_pages_offset(site: dict[str, Any]) -> None:
    html = get(site, f"/articles/{site['ids']['article']}").text
    # Stored UTC; the page said UTC-04:00, which is kept beside it.
    assert "UTC−04:00 on the page" in html


def test_search_matches_the_cli(site: dict[str, Any]) -> None:
    cli_rows = cli_json(site, "search", "netflix season", "--limit", "20")
    html = get(site, "/search?q=netflix+season").text
    positions = [html.index(f'href="/articles/{r["id"]}"') for r in cli_rows]
    assert positions == sorted(positions)  # same results, same order
    assert "<mark>" in html
    api = get(site, "/api/search?q=netflix+season").json()
    assert api["articles"] == cli_rows


def test_search_filters_group_and_page(site: dict[str, Any]) -> None:
    # "new": in more than two pages of articles, and no stop word ("the" is one in
    # PostgreSQL's english configuration, which stems English articles).
    cli_rows = cli_json(site, "search", "new", "--source", "variety", "--limit", "100")
    api = get(site, "/api/search?q=new&source=variety").json()
    assert [a["id"] for a in api["articles"]] == [r["id"] for r in cli_rows][:20]
    assert all(a["source"] == "variety" for a in api["articles"])
    everything = cli_json(site, "search", "new", "--limit", "100")
    page2 = get(site, "/api/search?q=new&page=2").json()
    assert [a["id"] for a in page2["articles"]] == [r["id"] for r in everything][20:40]
    tv = get(site, "/api/search?q=new&category=tv").json()["articles"]
    stories = {s["id"]: s for s in cli_json(site, "stories", "--limit", "500")}
    assert tv and all(stories[a["story_id"]]["category"] == "tv" for a in tv)
    grouped = get(site, "/api/search?q=All+of+Us+Are+Dead&by_story=1").json()["stories"]
    ids = [g["story_id"] for g in grouped]
    assert len(ids) == len(set(ids)) and seed_story(site)["id"] in ids
    html = get(site, "/search?q=All+of+Us+Are+Dead&by_story=1").text
    assert "matches)" in html
    since = get(site, "/api/search?q=new&since=2022-07-01").json()["articles"]
    assert since and all(a["published"] >= "2022-07-01" for a in since)


def test_sources_page_shows_health_and_failing_outlet_first(site: dict[str, Any]) -> None:
    html = get(site, "/sources").text
    sources = cli_json(site, "sources")
    for s in sources:
        assert f">{s['name']} · " in html
    assert html.count("<svg") >= len(sources)
    # The failing outlet stands out: first, marked, with its errors by kind.
    rows = html.split('<tr class="')[1:]
    assert rows[0].startswith("failing") and f"{FAILING_SOURCE} · " in rows[0]
    assert "download/timeout: 3" in rows[0] and "failing</span>" in rows[0]
    assert "1 failing" in html
    api = get(site, "/api/sources").json()["sources"]
    by_name = {s["name"]: s for s in api}
    for s in sources:  # the CLI's object, with health beside it
        assert {k: v for k, v in by_name[s["name"]].items() if k != "health"} == s
    assert by_name[FAILING_SOURCE]["health"]["failing"] is True
    assert len(by_name["variety"]["health"]["articles_per_day"]) == 30


# -- security --------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["front", "story", "article", "search"])
def test_hostile_text_renders_as_text(site: dict[str, Any], page: str) -> None:
    ids = site["ids"]
    paths = {
        "front": "/",
        "story": f"/stories/{ids['story']}",
        "article": f"/articles/{ids['article']}",
        "search": "/search?q=hostile+headline",
    }
    path = paths[page]
    html = get(site, path).text
    assert "<script>alert" not in html and "<img src=x" not in html and "<iframe" not in html
    assert "&lt;script&gt;alert(" in html
    assert "javascript:" not in html  # never a link, nor an image source
    assert "onmouseover=" not in html.replace("onmouseover=&#34;", "")


def test_every_response_has_a_strict_csp(site: dict[str, Any]) -> None:
    for path, status in [("/", 200), ("/static/style.css", 200), ("/api/stories", 200),
                         ("/?page=0", 400), ("/nowhere", 404), ("/feed.atom", 200)]:  # fmt: skip
        res = get(site, path, status)
        policy = res.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy
        assert "unsafe-inline" not in policy and "https:" not in policy
        assert res.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "before", ["2022-06-10T00:00:00", "2022-06-10", "0001-01-01T00:00:00Z", "9999-12-31", "2d"]
)
def test_front_page_before_takes_the_forms_of_since(site: dict[str, Any], before: str) -> None:
    html = get(site, f"/?before={before}&window=1w").text
    assert "<h1>Top stories</h1>" in html


def test_no_redirects(site: dict[str, Any]) -> None:
    for path in ["/stories/1/", "/articles/1/", "/search/?q=x"]:
        res = site["client"].get(path, follow_redirects=False)
        assert res.status_code == 404 and "location" not in res.headers


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/?page=0", "page must be a whole number"),
        ("/?page=abc", "page must be a whole number"),
        ("/?page=99999999999999999999", "page must be a whole number"),
        ("/?category=opera", "category must be one of"),
        ("/?window=9d", "window must be one of"),
        ("/?before=yesterday-ish", "before:"),
        ("/search?q=x&since=last+tuesday", "since:"),
        ("/search?q=x&until=13/13/2022", "until:"),
        ("/search?q=x&by_story=maybe", "by_story must be 1 or 0"),
        ("/search?q=" + "x" * 300, "q is too long"),
        ("/feed.atom?min_sources=0", "min_sources must be"),
    ],
)
def test_bad_parameters_are_a_400_with_a_message(
    site: dict[str, Any], path: str, message: str
) -> None:
    res = get(site, path, 400)
    assert message in res.text.replace("&#39;", "'")
    assert "Traceback" not in res.text
    api = get(site, "/api/stories?" + path.partition("?")[2], 400) if "page=" in path else None
    if api is not None:
        assert api.json()["status"] == 400 and "page" in api.json()["error"]


UNKNOWN = ["/stories/abc", "/stories/99999999999999999999999", "/articles/0",
           "/articles/%C2%B2", "/api/stories/999999"]  # fmt: skip


@pytest.mark.parametrize("path", UNKNOWN)
def test_unknown_ids_are_404(site: dict[str, Any], path: str) -> None:
    res = get(site, path, 404)
    assert "Traceback" not in res.text


def test_the_server_cannot_write(site: dict[str, Any]) -> None:
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError), site["engine"].connect() as conn:
        conn.exec_driver_sql("DELETE FROM articles")
        conn.commit()


# -- the API and the feeds ------------------------------------------------------------------------


def test_api_objects_are_the_clis(site: dict[str, Any]) -> None:
    seed = seed_story(site)
    assert get(site, f"/api/stories/{seed['id']}").json() == seed
    (article,) = cli_json(site, "show", SEED_URL)
    assert get(site, f"/api/articles/{article['id']}").json() == article
    listed = get(site, "/api/stories?min_sources=2&limit=5").json()
    assert listed["stories"] == cli_json(site, "stories", "--min-sources", "2", "--limit", "5")
    assert listed["next"] == "/api/stories?min_sources=2&limit=5&page=2"
    assert get(site, "/api/search", 400).json()["error"].startswith("q ")


@pytest.mark.parametrize("ext", ["atom", "rss"])
def test_xml_feeds_parse_and_filter(site: dict[str, Any], ext: str) -> None:
    res = get(site, f"/feed.{ext}?category=tv")
    parsed = feedparser.parse(res.text)
    assert not parsed.bozo, parsed.get("bozo_exception")
    titles = [e["title"] for e in parsed.entries]
    assert "All of Us Are Dead Season 2 Officially Confirmed by Netflix" in titles
    assert "Top Gun: Maverick Flies Past $1 Billion at the Global Box Office" not in titles
    assert res.headers["content-type"].startswith(f"application/{ext}+xml")


def test_json_feed(site: dict[str, Any]) -> None:
    doc = json.loads(get(site, "/feed.json?min_sources=3").text)
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["items"] and all(len(i["_aggregator"]["outlets"]) >= 3 for i in doc["items"])
    assert doc["feed_url"] == "http://testserver/feed.json?min_sources=3"


# -- helpers and the command ---------------------------------------------------------------------


def test_snippets_escape_and_mark() -> None:
    from aggregator.storage.query import MARK_CLOSE, MARK_OPEN

    snippet = f"Tom <b>{MARK_OPEN}Cruise{MARK_CLOSE}</b> & friends: {MARK_OPEN}cruise{MARK_CLOSE}"
    out = str(marked(snippet))
    assert out == "Tom &lt;b&gt;<mark>Cruise</mark>&lt;/b&gt; &amp; friends: <mark>cruise</mark>"
    assert str(marked(f"{MARK_OPEN}<script>{MARK_CLOSE}")) == "<mark>&lt;script&gt;</mark>"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_refuses_a_missing_database_and_creates_none(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.db"
    res = cli("serve", "--db", str(missing), "--port", str(_free_port()), timeout=30)
    assert res.returncode == 2
    assert f"no database at {missing}" in res.stderr and "Traceback" not in res.stderr
    assert not missing.exists()


def test_serve_refuses_a_port_in_use(site: dict[str, Any]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        res = cli("serve", "--db", site["url"], "--port", str(port), timeout=30)
    assert res.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}: " in res.stderr and "serving on" not in res.stderr


def test_serve_refuses_an_unreachable_server(tmp_path: Path) -> None:
    url = f"postgresql://nobody@127.0.0.1:{_free_port()}/none"
    res = cli("serve", "--db", url, timeout=30)
    assert res.returncode == 2
    assert "cannot open database" in res.stderr and "Traceback" not in res.stderr


def test_serve_refuses_a_database_of_another_schema(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    sqlite3.connect(db).execute("CREATE TABLE unrelated (x)").connection.commit()
    res = cli("serve", "--db", str(db), timeout=30)
    assert res.returncode == 2 and "aggregator db upgrade" in res.stderr


def serve(db: str, port: int, *extra: str) -> subprocess.Popen[str]:
    """``aggregator serve`` in a subprocess, once it answers."""
    proc = subprocess.Popen(
        [str(BIN / "aggregator"), "serve", "--db", db, "--port", str(port), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/favicon.svg", timeout=2):
                return proc
        except OSError:
            if proc.poll() is not None:
                _, err = proc.communicate()
                raise AssertionError(f"serve exited {proc.returncode}: {err}") from None
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("serve did not answer within 30 s")


def _state(site: dict[str, Any]) -> Any:
    """What a write would change: the SQLite file's bytes, or PostgreSQL's row counts and
    newest sightings."""
    url = site["url"]
    if url.startswith("sqlite:///"):
        return hashlib.sha256(Path(url.removeprefix("sqlite:///")).read_bytes()).hexdigest()
    with Session(site["engine"]) as s:
        return (
            s.execute(select(func.count(Article.id), func.max(Article.last_seen))).one(),
            s.execute(select(func.count(Story.id), func.max(Story.updated))).one(),
            s.execute(select(func.count(CrawlRun.id))).one(),
        )


def test_serve_serves_and_never_writes(site: dict[str, Any]) -> None:
    before = _state(site)
    port = _free_port()
    proc = serve(site["url"], port)
    try:
        for path in ["/", "/sources", "/search?q=netflix", f"/stories/{site['ids']['story']}"]:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as res:
                assert res.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert _state(site) == before


def test_a_database_gone_while_serving_is_a_503_page() -> None:
    engine = connect(f"postgresql://nobody@127.0.0.1:{_free_port()}/gone")
    client = TestClient(create_app(engine, registry={}))
    res = client.get("/")
    assert res.status_code == 503
    assert "Database unavailable" in res.text and "Traceback" not in res.text
    api = client.get("/api/stories")
    assert api.status_code == 503 and api.json()["error"].startswith("the database cannot be read")


def test_images_only_when_asked(site: dict[str, Any]) -> None:
    seed = seed_story(site)
    plain = get(site, f"/stories/{seed['id']}")
    assert "<img" not in plain.text
    client = TestClient(create_app(site["engine"], images=True))
    res = client.get(f"/stories/{seed['id']}")
    assert '<img class="lead" src="https://' in res.text
    assert 'alt="Image for: ' in res.text
    assert "img-src 'self' https:;" in res.headers["content-security-policy"]


def test_serve_listens_with_nagle_off_for_keep_alive_clients() -> None:
    # asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP, and accepted
    # sockets copy the listening one's: left 0, every small response on a keep-alive
    # connection waited for the client's delayed ACK (44 ms a page; benchmarks.web).
    import asyncio
    import socket

    from aggregator.cli.serving import listen

    sock = listen("127.0.0.1", 0)
    sock.listen()
    port = sock.getsockname()[1]

    async def accepted_nodelay() -> int:
        flags: list[int] = []

        def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peer = writer.get_extra_info("socket")
            flags.append(peer.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(serve, sock=sock)
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(100):
            if flags:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()
        return flags[0]

    assert asyncio.run(accepted_nodelay()) != 0
