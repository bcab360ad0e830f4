"""Bad input catalogue: what hostile or broken websites send, and what a crawl does with it.

Every case proves the same four things: the crawl goes on, the bad page is dropped (or
stored with an empty field where that is right), the reason is logged and counted in the
run's figures (``aggregator/...`` stats, in ``crawl_runs.details`` for drops and errors),
and no stack trace reaches the user.

The pages live in ``fixtures/hostile/<host>/`` -- a root of their own, so ``aggregator
demo`` never serves them -- with per-path behaviours (status, delay, redirect, generated
size, content type, spider trap) in each host's ``_mirror.json``; see
``fixtures/hostile/README.md``. Each hostile outlet is crawled by its own ``aggregator
crawl`` process (all at once), so its log, stats dump and ``crawl_runs`` row are its own.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse

from aggregator.crawl import settings as project
from aggregator.extract import MAX_ELEMENTS, decode_html, extract_article
from aggregator.mirror import MirrorServer, generated_page
from aggregator.spiders.news import page_text
from tests.conftest import BIN, FIXTURES, PROJECT, cli, stats_dump

pytestmark = pytest.mark.e2e
HOSTILE = FIXTURES / "hostile"

SOURCES = """
[[source]]
name = "hostile_pages"
title = "Hostile Pages"
domains = ["pages.hostile.example"]
feeds = ["https://pages.hostile.example/feed/"]
article_pattern = '^https://pages\\.hostile\\.example/news/'

[[source]]
name = "hostile_net"
title = "Hostile Network"
domains = ["net.hostile.example"]
feeds = ["https://net.hostile.example/feed/"]
article_pattern = '^https://net\\.hostile\\.example/news/'

[[source]]
name = "hostile_trap"
title = "Hostile Trap"
domains = ["trap.hostile.example"]
listings = ["https://trap.hostile.example/calendar/2022/01/01/"]
article_pattern = '^https://trap\\.hostile\\.example/news/'

[[source]]
name = "hostile_deeptrap"
title = "Hostile Deep Trap"
domains = ["deeptrap.hostile.example"]
listings = ["https://deeptrap.hostile.example/calendar/2022/01/01/"]
article_pattern = '^https://deeptrap\\.hostile\\.example/news/'
max_pages = 1000

[[source]]
name = "hostile_discovery"
title = "Hostile Discovery"
domains = ["disco.hostile.example"]
feeds = [
    "https://disco.hostile.example/feed/broken.xml",
    "https://disco.hostile.example/feed/html.xml",
    "https://disco.hostile.example/feed/",
]
sitemaps = [
    "https://disco.hostile.example/sitemap-broken.xml",
    "https://disco.hostile.example/sitemap-html.xml",
    "https://disco.hostile.example/sitemap.xml",
]
listings = ["https://disco.hostile.example/latest/"]
article_pattern = '^https://disco\\.hostile\\.example/(news|private)/'
"""
HOSTS = {
    "hostile_pages": "pages.hostile.example",
    "hostile_net": "net.hostile.example",
    "hostile_trap": "trap.hostile.example",
    "hostile_deeptrap": "deeptrap.hostile.example",
    "hostile_discovery": "disco.hostile.example",
}
# Short enough for a fast test, long enough for pages that are not meant to time out on a
# busy machine. Only the network outlet tests timeouts (its slow page answers after 5 s).
TIMEOUTS = {"hostile_net": 2}
DEFAULT_TIMEOUT = 10
PAGES = "https://pages.hostile.example/news/"
NET = "https://net.hostile.example/news/"
DISCO = "https://disco.hostile.example/"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# -- running the crawls ---------------------------------------------------------------------


@dataclass
class Crawl:
    """One hostile outlet's crawl: what the user saw, what was recorded, what was fetched."""

    source: str
    returncode: int
    stderr: str
    stats: dict[str, Any]
    run: dict[str, Any]
    db: Path
    requested: list[str]

    @property
    def dropped(self) -> dict[str, int]:
        """``crawl_runs.details.dropped``: reason -> count."""
        value: dict[str, int] = self.run["details"]["dropped"]
        return value

    @property
    def errors(self) -> dict[str, int]:
        """``crawl_runs.details.errors``: kind -> count."""
        value: dict[str, int] = self.run["details"]["errors"]
        return value

    def articles(self) -> dict[str, dict[str, Any]]:
        """Stored articles by URL."""
        with sqlite3.connect(self.db) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute("select * from articles").fetchall()
        return {r["url"]: dict(r) for r in rows}

    def stat(self, key: str) -> int:
        """A Scrapy stat of the crawl (0 when it was never counted)."""
        return int(self.stats.get(key, 0))


def next_month_page(root: Path) -> None:
    """A page dated a month from now (a date no fixture file can hold)."""
    when = (datetime.now(timezone.utc) + timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%SZ")
    template = root / "pages.hostile.example/news/date-year-9999/index.html"
    html = template.read_text(encoding="utf-8").replace("9999-12-31T23:59:59-12:00", when)
    html = html.replace("Year 9999: a date from the far future", "Next month: not yet reached")
    target = root / "pages.hostile.example/news/date-next-month/index.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")


# A page of more elements than extraction takes (MAX_ELEMENTS), as one huge list.
TOO_COMPLEX_ELEMENTS = MAX_ELEMENTS + 6  # html, head, title, body, h1, ul and the items


def too_complex_page(root: Path) -> None:
    """A 1.6 MB page over the extraction budget (generated: nothing big is stored)."""
    title = "Too complex: a list without end"
    items = "".join(f"<li>Entry {i}, one of many.</li>" for i in range(MAX_ELEMENTS))
    target = root / "pages.hostile.example/news/too-complex/index.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1>"
        f"<ul>{items}</ul></body></html>",
        encoding="utf-8",
    )


@pytest.fixture(scope="module")
def hostile_mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MirrorServer]:
    """``fixtures/hostile`` (plus the page dated next month) on 127.0.0.1."""
    root = tmp_path_factory.mktemp("hostile") / "site"
    shutil.copytree(HOSTILE, root)
    next_month_page(root)
    too_complex_page(root)
    with MirrorServer(root) as server:
        yield server


@pytest.fixture(scope="module")
def crawls(
    hostile_mirror: MirrorServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Crawl]:
    """Crawl every hostile outlet, each in its own ``aggregator crawl`` process, all at once."""
    work = tmp_path_factory.mktemp("crawls")
    registry = work / "sources.toml"
    registry.write_text(SOURCES, encoding="utf-8")
    env = {**os.environ, "AGGREGATOR_HOST_MAP": hostile_mirror.host_map()}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for name in HOSTS:
        timeout = TIMEOUTS.get(name, DEFAULT_TIMEOUT)
        cmd = [str(BIN / "aggregator"), "crawl", name, "--sources", str(registry),
               "--db", str(work / f"{name}.db"), "--log-level", "INFO",
               "--set", f"DOWNLOAD_TIMEOUT={timeout}", "--set", "RETRY_TIMES=1",
               "--set", "AUTOTHROTTLE_ENABLED=False",
               # Backoff (on 500/503/timeouts) may slow a domain down to this, not 30 s.
               "--set", "AUTOTHROTTLE_MAX_DELAY=0.1"]  # fmt: skip
        with (work / f"{name}.stderr").open("wb") as err:  # the child keeps its own handle
            procs[name] = subprocess.Popen(
                cmd, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=err
            )
    for proc in procs.values():
        proc.wait(timeout=240)

    def list_runs(name: str) -> subprocess.CompletedProcess[str]:
        return cli("runs", "--db", str(work / f"{name}.db"), "--json", timeout=60)

    with ThreadPoolExecutor(len(HOSTS)) as pool:  # all at once, as the crawls ran
        listings = dict(zip(HOSTS, pool.map(list_runs, HOSTS), strict=True))
    out: dict[str, Crawl] = {}
    for name, listing in listings.items():
        assert listing.returncode == 0, listing.stderr
        (run,) = [json.loads(line) for line in listing.stdout.splitlines()]
        stderr = (work / f"{name}.stderr").read_text(encoding="utf-8", errors="replace")
        requested = [path for host, path in hostile_mirror.requests if host == HOSTS[name]]
        out[name] = Crawl(
            name, procs[name].returncode, stderr, stats_dump(stderr), run, work / f"{name}.db",
            requested,
        )  # fmt: skip
    return out


# -- the crawl goes on, no trace reaches the user --------------------------------------------


@pytest.mark.parametrize("source", list(HOSTS))
def test_every_hostile_crawl_finishes_without_a_traceback(
    crawls: dict[str, Crawl], source: str
) -> None:
    crawl = crawls[source]
    assert "Traceback" not in crawl.stderr, crawl.stderr[-3000:]
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    assert crawl.run["status"] == "finished"
    # Broken websites are warnings in the log, not errors: errors are for our bugs.
    assert crawl.stat("log_count/ERROR") == 0, crawl.stderr[-3000:]


# -- 1. malformed and truncated HTML ----------------------------------------------------------

TEXT = "The story goes on about the café premiere and the crowd that waited all night. " * 6
# name: (page, a word its title must have -- None where there is no title to find)
MALFORMED: dict[str, tuple[str, str | None]] = {
    "unclosed tags": (
        "<html><head><title>Unclosed tags page</title></head><body><article>"
        f"<h1>Unclosed tags headline<p>{TEXT}<p>{TEXT}<div><span><b><i>",
        "Unclosed",
    ),
    "unclosed title": (
        "<html><head><title>Unclosed title page\n<meta charset='utf-8'></head><body>"
        f"<h1>Unclosed title headline</h1><article><p>{TEXT}</p><p>{TEXT}</p></article>",
        "Unclosed",
    ),
    "cut mid-tag": (
        "<html><head><title>Cut page</title></head><body><h1>Cut page headline</h1>"
        f'<article><p>{TEXT}</p><p class="x',
        "Cut",
    ),
    "cut mid-attribute": (
        "<html><head><title>Cut attr</title></head><body><h1>Cut attribute headline</h1>"
        f'<article><p>{TEXT}</p><a href="https://exa',
        "Cut",
    ),
    "garbage bytes": (
        "<html><head><title>Garbage</title></head><body>\x00\x01\ufffd\x1b[31m"
        f"<h1>Garbage bytes headline</h1><article><p>{TEXT}</p>\x7f\x00</article></body>",
        "Garbage",
    ),
    "NULs first": (
        "\x00\x00\x00<html><head><title>NULs first</title></head><body><h1>NULs first "
        f"headline</h1><article><p>{TEXT}</p></article></body></html>",
        "NULs",
    ),
    "unclosed comment": (
        "<html><head><title>Comment</title></head><body><h1>Unclosed comment headline</h1>"
        f"<article><p>{TEXT}</p><!-- never closed <p>hidden</p>",
        "comment",
    ),
    "unclosed script": (
        "<html><head><title>Script</title></head><body><h1>Unclosed script headline</h1>"
        f"<article><p>{TEXT}</p><script>var x = '<p>",
        "script",
    ),
    "10,000 nested divs": (
        "<html><head><title>Deep divs</title></head><body><h1>Deep divs headline</h1>"
        + "<div>" * 10_000
        + f"<p>{TEXT}</p>"
        + "</div>" * 10_000,
        "Deep",
    ),
    "random binary": (decode_html(bytes((i * 7919 + 13) % 256 for i in range(8192))), None),
    "empty": ("", None),
    "only a doctype": ("<!DOCTYPE html>", None),
    "plain text": (TEXT, None),
}


@pytest.mark.parametrize(("html", "word"), MALFORMED.values(), ids=list(MALFORMED))
def test_extractor_survives_malformed_html(html: str, word: str | None) -> None:
    item = extract_article(html, PAGES + "malformed/")
    assert item.url == PAGES + "malformed/"
    if word is not None:
        assert item.title and word in item.title, item.title
    if word in ("Unclosed", "Cut", "NULs", "comment", "script"):
        assert item.body and "café premiere" in item.body


def test_crawl_keeps_malformed_pages_that_still_read_as_articles(crawls: dict[str, Crawl]) -> None:
    crawl = crawls["hostile_pages"]
    stored = crawl.articles()
    unclosed = stored[PAGES + "malformed-unclosed/"]
    assert unclosed["title"].startswith("Unclosed tags: Beyoncé returns")
    assert "nothing on this page is ever closed" in unclosed["body"]
    truncated = stored[PAGES + "malformed-truncated/"]
    assert truncated["title"] == "Truncated page: Motörhead reissue"
    assert "paragraph 4" in truncated["body"]
    garbage = stored[PAGES + "malformed-garbage/"]
    assert garbage["title"] == "Garbage bytes: Zoë Kravitz interview"  # UTF-8 survives
    assert "Zoë Kravitz interview: paragraph 1" in garbage["body"]
    # An unclosed <title> swallows the page in a browser; its article text is still
    # there, so the title is closed at its first tag: the headline, not the document.
    swallowed = stored[PAGES + "malformed-unclosed-title/"]
    assert swallowed["title"].startswith("Unclosed title: the title swallows all")
    assert "the review of the Lorde concert goes on" in swallowed["body"]
    assert "<p>" not in swallowed["title"] + swallowed["body"]


def test_crawl_drops_malformed_pages_with_nothing_to_read(crawls: dict[str, Crawl]) -> None:
    crawl = crawls["hostile_pages"]
    stored = crawl.articles()
    # 4 KB of random bytes served as text/html: no title.
    assert PAGES + "malformed-binary/" not in stored
    assert "Dropped: missing_title: " + PAGES + "malformed-binary/" in crawl.stderr
    assert crawl.dropped["missing_title"] >= 1


def test_garbage_bytes_leave_no_control_characters_in_stored_text(
    crawls: dict[str, Crawl],
) -> None:
    garbage = crawls["hostile_pages"].articles()[PAGES + "malformed-garbage/"]
    for field in ("title", "body"):
        assert not _CONTROL.search(garbage[field]), (field, garbage[field][:60])


# -- 2. charsets ------------------------------------------------------------------------------

UTF8_PAGE = f"<html><head>{{meta}}<title>Beyoncé</title></head><body><p>{TEXT}</p></body></html>"
CHARSETS = {
    # (bytes, Content-Type header)
    "meta latin-1 on UTF-8": (
        UTF8_PAGE.replace("{meta}", '<meta charset="iso-8859-1">').encode("utf-8"),
        "text/html",
    ),
    "header latin-1 on UTF-8": (
        UTF8_PAGE.replace("{meta}", "").encode("utf-8"),
        "text/html; charset=iso-8859-1",
    ),
    "windows-1252 declared UTF-8": (
        UTF8_PAGE.replace("{meta}", '<meta charset="utf-8">').encode("cp1252"),
        "text/html",
    ),
    "windows-1252, no charset": (UTF8_PAGE.replace("{meta}", "").encode("cp1252"), "text/html"),
    "UTF-8, no charset": (UTF8_PAGE.replace("{meta}", "").encode("utf-8"), "text/html"),
    "UTF-8 with a few garbage bytes, declared UTF-8": (
        UTF8_PAGE.replace("{meta}", '<meta charset="utf-8">')
        .encode("utf-8")
        .replace(b"<p>", b"<p>\xff\xfe\xc3\x28 "),
        "text/html",
    ),
    "UTF-8 with BOM, header says latin-1": (
        b"\xef\xbb\xbf" + UTF8_PAGE.replace("{meta}", "").encode("utf-8"),
        "text/html; charset=iso-8859-1",
    ),
    "windows-1252 declared base64 (not a text charset)": (
        UTF8_PAGE.replace("{meta}", "").encode("cp1252"),
        "text/html; charset=base64",
    ),
    "windows-1251 declared": (
        UTF8_PAGE.replace("{meta}", '<meta charset="windows-1251">')
        .replace("Beyoncé", "Бейонсе")
        .replace("café", "кафе")
        .encode("cp1251"),
        "text/html",
    ),
}


def _words(label: str) -> tuple[str, str]:
    """The non-ASCII words a page must come out with."""
    return ("Бейонсе", "кафе") if "1251" in label else ("Beyoncé", "café")


@pytest.mark.parametrize(("label", "page"), CHARSETS.items(), ids=list(CHARSETS))
def test_spider_decodes_pages_whatever_they_declare(label: str, page: tuple[bytes, str]) -> None:
    data, ctype = page
    response = HtmlResponse(PAGES + "x/", body=data, headers={"Content-Type": ctype})
    text = page_text(response)
    for word in _words(label):
        assert word in text


@pytest.mark.parametrize(("label", "page"), CHARSETS.items(), ids=list(CHARSETS))
def test_decode_html_decodes_pages_whatever_they_declare(
    label: str, page: tuple[bytes, str]
) -> None:
    """``aggregator extract`` reads saved pages with ``decode_html``: the same pages must
    come out as right as they do in a crawl."""
    text = decode_html(*page)
    for word in _words(label):
        assert word in text


@pytest.mark.parametrize(
    "slug",
    [
        "charset-meta-latin1-on-utf8",
        "charset-header-latin1-on-utf8",
        "charset-cp1252-declared-utf8",
        "charset-none-cp1252",
        "charset-none-utf8",
    ],
)
def test_crawl_stores_the_right_text_whatever_the_charset(
    crawls: dict[str, Crawl], slug: str
) -> None:
    article = crawls["hostile_pages"].articles()[f"{PAGES}{slug}/"]
    assert article["title"].startswith("Charset check: Beyoncé and Motörhead")
    assert "Beyoncé, Motörhead and a naïve café" in article["body"]
    assert "\ufffd" not in article["body"] and "Ã" not in article["body"]
    if slug == "charset-cp1252-declared-utf8":
        assert "– “quoted”" in article["body"]  # windows-1252's own 0x80-0x9f range


# -- 3. not HTML, 4. empty, 5. too large ------------------------------------------------------


def test_non_html_at_an_article_url_is_dropped_as_not_html(crawls: dict[str, Crawl]) -> None:
    crawl = crawls["hostile_pages"]
    stored = crawl.articles()
    for name, ctype in (("report.pdf", "application/pdf"), ("photo.png", "image/png"),
                        ("data.json", "application/json")):  # fmt: skip
        assert PAGES + name not in stored
        assert f"Not an HTML page ({ctype}): {PAGES}{name}" in crawl.stderr
    assert crawl.dropped["not_html"] == 3


def test_empty_200_is_dropped_as_empty_page(crawls: dict[str, Crawl]) -> None:
    crawl = crawls["hostile_pages"]
    for slug in ("empty", "whitespace-only"):
        assert f"{PAGES}{slug}/" not in crawl.articles()
        assert f"Empty page (HTTP 200, no content): {PAGES}{slug}/" in crawl.stderr
    assert crawl.dropped["empty_page"] == 2


def test_page_over_the_size_limit_is_aborted_and_counted(crawls: dict[str, Crawl]) -> None:
    crawl = crawls["hostile_pages"]
    assert project.DOWNLOAD_MAXSIZE == 8 * 1024 * 1024
    # 20 MB, announced by Content-Length (refused at once) and chunked (cut at 8 MB).
    for slug in ("huge", "huge-chunked"):
        assert f"{PAGES}{slug}/" not in crawl.articles()
        assert (
            f"article {PAGES}{slug}/ skipped: larger than DOWNLOAD_MAXSIZE (8388608 bytes)"
            in crawl.stderr
        )
        assert f"/news/{slug}/" in crawl.requested
    assert crawl.dropped["too_large"] == 2


def test_page_over_the_extraction_budget_is_dropped_as_too_complex(
    crawls: dict[str, Crawl],
) -> None:
    """Extraction was quadratic in a page's elements (a 7.9 MB page took 10 minutes, and
    stopped the whole crawl meanwhile); now it is linear, and a page with more elements
    than MAX_ELEMENTS is not extracted at all: counted, logged, and the crawl goes on."""
    crawl = crawls["hostile_pages"]
    url = f"{PAGES}too-complex/"
    assert "/news/too-complex/" in crawl.requested
    assert url not in crawl.articles()
    assert crawl.dropped["too_complex"] == 1
    assert crawl.stat("aggregator/dropped/too_complex") == 1
    assert (
        f"Page skipped, page too complex: {TOO_COMPLEX_ELEMENTS} elements "
        f"(limit {MAX_ELEMENTS}): {url}" in crawl.stderr
    )
    stored = crawl.articles()  # the feed's other pages: before and after it
    assert f"{PAGES}malformed-unclosed/" in stored and f"{PAGES}no-date/" in stored


# -- 6. missing fields ------------------------------------------------------------------------


def test_page_without_a_title_or_body_is_dropped_without_a_date_is_stored(
    crawls: dict[str, Crawl],
) -> None:
    crawl = crawls["hostile_pages"]
    stored = crawl.articles()
    assert PAGES + "no-title/" not in stored
    assert f"Dropped: missing_title: {PAGES}no-title/" in crawl.stderr
    assert PAGES + "no-body/" not in stored
    assert f"Dropped: missing_body: {PAGES}no-body/" in crawl.stderr
    undated = stored[PAGES + "no-date/"]
    assert undated["title"] == "No date: an undated story about Lizzo"
    assert undated["published"] is None and undated["published_raw"] is None
    assert f"No published date found: {PAGES}no-date/" in crawl.stderr
    # binary page + no-title; no-body
    assert crawl.dropped["missing_title"] == 2 and crawl.dropped["missing_body"] == 1
    assert crawl.stat("aggregator/normalized/missing_published_date") == 2  # + date-impossible


# -- 7. broken and hostile JSON-LD ------------------------------------------------------------

DOM = (
    '<h1>The DOM headline</h1><time datetime="2022-06-06T10:00:00Z">June 6</time>'
    f'<span class="byline">By Jane Doe</span><article><p>{TEXT}</p><p>{TEXT}</p></article>'
)


def _bot(i: int) -> str:
    """A distinct, plausible person name for every ``i`` ("Bot Aaaa", "Bot Baaa"...)."""
    return "Bot " + "".join(chr(97 + (i // 26**k) % 26) for k in range(4)).capitalize()


BOTS = ",".join(json.dumps({"@type": "Person", "name": _bot(i)}) for i in range(20_000))
JSONLD = {
    "invalid JSON": '{"@type": "NewsArticle", "headline": "Broken",, "author": {',
    "wrong types everywhere": json.dumps(
        {
            "@type": "NewsArticle",
            "headline": [17, {"@value": 3}, None],
            "author": 12345,
            "datePublished": {"date": "2022-06-06"},
            "dateModified": [1, 2],
            "publisher": 7,
            "articleBody": 42,
            "image": False,
            "keywords": {"a": 1},
            "articleSection": 3.5,
            "inLanguage": [],
            "mainEntityOfPage": 5,
            "@id": 3,
        }
    ),
    "a list of junk": json.dumps([1, "x", None, {"@type": 5, "headline": 3}, [[[]]]]),
    "10,000-deep object": '{"@type": "NewsArticle", "x": ' + '{"a":' * 10_000 + "1" + "}" * 10_001,
    "10,000-deep list": "[" * 10_000 + "]" * 10_000,
    "10,000-deep @graph": '{"@graph":' * 10_000 + '{"@type": "NewsArticle"}' + "}" * 10_000,
    "5,000-deep mainEntity": '{"mainEntity":' * 5_000 + '{"headline": "inner"}' + "}" * 5_000,
    "a huge array": '{"@type": "NewsArticle", "author": [' + ",".join(["1"] * 500_000) + "]}",
    "20,000 authors": '{"@type": "NewsArticle", "author": [' + BOTS + "]}",
}


@pytest.mark.parametrize("jsonld", JSONLD.values(), ids=list(JSONLD))
def test_extractor_survives_hostile_jsonld_and_reads_the_dom(jsonld: str) -> None:
    html = (
        f'<html><head><script type="application/ld+json">{jsonld}</script></head>'
        f"<body>{DOM}</body></html>"
    )
    item = extract_article(html, PAGES + "jsonld/")
    assert item.title == "The DOM headline"
    assert item.authors == ["Jane Doe"]
    assert item.published == datetime(2022, 6, 6, 10, tzinfo=timezone.utc)
    assert item.body and "café premiere" in item.body


@pytest.mark.parametrize("slug", ["invalid", "wrong-types", "deep", "huge-array"])
def test_crawl_stores_pages_with_hostile_jsonld_from_the_dom(
    crawls: dict[str, Crawl], slug: str
) -> None:
    article = crawls["hostile_pages"].articles()[f"{PAGES}jsonld-{slug}/"]
    assert article["title"].endswith(": the DOM still tells")
    assert json.loads(article["authors"]) == ["Jane Doe"]
    assert article["published"] == "2022-06-06T10:00:00.000000Z"
    assert "the DOM still tells the story: paragraph 1" in article["body"]


# -- 8. impossible and future dates -----------------------------------------------------------


def test_impossible_and_future_dates_are_stored_empty_and_counted(
    crawls: dict[str, Crawl],
) -> None:
    crawl = crawls["hostile_pages"]
    stored = crawl.articles()
    cases = {
        # slug: (raw date the page gives, what the log says)
        "date-impossible": (None, "No published date found"),  # 2022-13-45T25:61:00Z
        "date-year-9999": ("9999-12-31T23:59:59-12:00", "is in the future; left empty"),
        "date-next-month": ("", "is in the future; left empty"),
        "date-year-1-east": ("0001-01-01T00:00:00+14:00", "does not exist in UTC; left empty"),
    }
    for slug, (raw, logged) in cases.items():
        article = stored[f"{PAGES}{slug}/"]  # stored all the same, with its title and body
        assert article["title"] and len(article["body"]) > 200
        assert article["published"] is None, slug
        if raw:
            assert article["published_raw"] == raw  # kept, to show what was rejected
        assert re.search(f"{re.escape(logged)}.*{re.escape(PAGES + slug)}/", crawl.stderr), slug
    assert crawl.stat("aggregator/normalized/future_published_date") == 2
    assert crawl.stat("aggregator/normalized/impossible_published_date") == 1


# -- 9. redirects -----------------------------------------------------------------------------


def test_redirect_loops_and_endless_redirects_are_not_followed(crawls: dict[str, Crawl]) -> None:
    crawl = crawls["hostile_net"]
    # A -> B -> A and A -> A: the duplicate filter stops them; counted as loops.
    assert crawl.errors["redirect_loop"] == 2
    assert f"redirect loop ({NET}loop-a/ -> {NET}loop-b/ -> {NET}loop-a/)" in crawl.stderr
    assert crawl.requested.count("/news/loop-a/") == 1
    assert crawl.requested.count("/news/self-loop/") == 1
    # /chain/1/ -> /chain/2/ -> ... : REDIRECT_MAX_TIMES redirects, then given up.
    chain = [p for p in crawl.requested if p.startswith("/news/chain/")]
    assert len(chain) == project.REDIRECT_MAX_TIMES + 1
    assert crawl.errors["too_many_redirects"] == 1
    assert "more than REDIRECT_MAX_TIMES=5 redirects" in crawl.stderr


def test_redirect_off_the_source_domains_is_not_followed(
    crawls: dict[str, Crawl], hostile_mirror: MirrorServer
) -> None:
    crawl = crawls["hostile_net"]
    assert crawl.dropped["offsite"] == 1
    assert (
        f"Not following https://elsewhere.example/news/stolen/ off the source's domains "
        f"(from {NET}offsite-redirect/)" in crawl.stderr
    )
    assert not [r for r in hostile_mirror.requests if r[0] == "elsewhere.example"]


# -- 10. HTTP errors and slow servers ---------------------------------------------------------


def test_http_errors_and_timeouts_are_counted_per_kind_and_retried(
    crawls: dict[str, Crawl],
) -> None:
    crawl = crawls["hostile_net"]
    for status in (404, 410, 500, 503):
        assert crawl.errors[f"http_{status}"] == 1, crawl.errors
        assert f"failed: HTTP {status}" in crawl.stderr
    statuses = crawl.run["details"]["http_status"]
    assert statuses["404"] == 1 and statuses["410"] == 1  # not worth asking again
    assert statuses["500"] == 2 and statuses["503"] == 2  # retried (RETRY_TIMES=1)
    timeouts = {k: v for k, v in crawl.errors.items() if "Timeout" in k}
    assert timeouts == {"DownloadTimeoutError": 1}
    assert crawl.requested.count("/news/slow/") == 2  # retried once, then given up
    assert "took longer than 2.0 seconds" in crawl.stderr
    assert crawl.run["details"]["backoffs"] >= 3
    # The pages that work are stored, the slow one that answers in time included.
    assert set(crawl.articles()) == {NET + "ok/", NET + "slowish/"}


# -- 11. spider traps -------------------------------------------------------------------------


def test_endless_calendar_stops_at_max_pages(crawls: dict[str, Crawl]) -> None:
    crawl = crawls["hostile_trap"]
    pages = [p for p in crawl.requested if p.startswith("/calendar/")]
    assert pages == ["/calendar/2022/01/01/", "/calendar/2022/01/02/", "/calendar/2022/01/03/"]
    assert crawl.stat("aggregator/discovery/max_pages_reached") == 1
    assert "not following https://trap.hostile.example/calendar/2022/01/04/ (max_pages=3" in (
        crawl.stderr
    )


def test_endless_calendar_stops_at_depth_limit_whatever_max_pages_says(
    crawls: dict[str, Crawl],
) -> None:
    crawl = crawls["hostile_deeptrap"]  # max_pages = 1000
    pages = [p for p in crawl.requested if p.startswith("/calendar/")]
    assert len(pages) == project.DEPTH_LIMIT + 1 == len(set(pages))
    assert crawl.stat("aggregator/discovery/depth_limit_reached") == 1
    assert f"(DEPTH_LIMIT={project.DEPTH_LIMIT} reached)" in crawl.stderr


# -- 12. unreadable feeds and sitemaps --------------------------------------------------------


def test_unreadable_feeds_and_sitemaps_are_counted_and_discovery_goes_on(
    crawls: dict[str, Crawl],
) -> None:
    crawl = crawls["hostile_discovery"]
    assert crawl.errors["bad_feed"] == 1  # garbage bytes
    assert crawl.errors["empty_feed"] == 1  # an HTML page where the feed was
    assert crawl.errors["bad_sitemap"] == 2  # JSON; an HTML page
    assert f"Feed {DISCO}feed/broken.xml unreadable (not XML" in crawl.stderr
    assert f"Feed {DISCO}feed/html.xml lists no items" in crawl.stderr
    assert f"Sitemap {DISCO}sitemap-broken.xml unreadable (not XML)" in crawl.stderr
    assert f"Sitemap {DISCO}sitemap-html.xml unreadable (not a sitemap" in crawl.stderr
    assert set(crawl.articles()) == {
        DISCO + "news/from-feed/",
        DISCO + "news/from-sitemap/",
        DISCO + "news/from-listing/",
    }


# -- 13. robots.txt ---------------------------------------------------------------------------


def test_articles_robots_txt_forbids_are_not_fetched(crawls: dict[str, Crawl]) -> None:
    crawl = crawls["hostile_discovery"]
    assert not [p for p in crawl.requested if p.startswith("/private/")]
    assert crawl.dropped["robots_forbidden"] == 3  # one each from feed, sitemap, listing
    assert crawl.stat("robotstxt/forbidden") == 3
    for via in ("feed", "sitemap", "listing"):
        assert f"article {DISCO}private/from-{via}/ skipped: forbidden by robots.txt" in (
            crawl.stderr
        )


# -- links that are not http(s), or lead elsewhere --------------------------------------------


def test_non_http_and_off_domain_links_are_never_requested(
    crawls: dict[str, Crawl], hostile_mirror: MirrorServer
) -> None:
    crawl = crawls["hostile_discovery"]
    # The feed, the sitemap and the listing also carry javascript:, mailto:, data:, ftp:,
    # tel: and (protocol-relative) links to elsewhere.example.
    assert sorted(set(crawl.requested)) == sorted({
        "/robots.txt", "/feed/", "/feed/broken.xml", "/feed/html.xml", "/sitemap.xml",
        "/sitemap-broken.xml", "/sitemap-html.xml", "/latest/", "/news/from-feed/",
        "/news/from-sitemap/", "/news/from-listing/",
    })  # fmt: skip
    assert not [r for r in hostile_mirror.requests if r[0] == "elsewhere.example"]
    assert set(crawl.errors) == {"bad_feed", "empty_feed", "bad_sitemap"}
    # Of all those links, two per way in became requests: /news/from-X/ and /private/from-X/.
    for via in ("feed", "sitemap", "listing"):
        assert crawl.stat(f"aggregator/discovery/{via}") == 2


# -- the mirror's behaviours ------------------------------------------------------------------


def _get(server: MirrorServer, host: str, path: str) -> tuple[int, dict[str, str], bytes]:
    """GET ``path`` from the mirror as ``host``: status, headers (lowercased), body."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_mirror_per_path_behaviours(hostile_mirror: MirrorServer) -> None:
    net, pages = "net.hostile.example", "pages.hostile.example"
    assert _get(hostile_mirror, net, "/news/gone/")[0] == 410
    status, headers, _ = _get(hostile_mirror, net, "/news/chain/41/")
    assert status == 302 and headers["location"] == "/news/chain/42/"
    status, headers, _ = _get(hostile_mirror, net, "/news/self-loop/")
    assert status == 301 and headers["location"] == "/news/self-loop/"
    assert _get(hostile_mirror, net, "/news/ok/")[0] == 200  # no rule: the file
    status, headers, body = _get(hostile_mirror, pages, "/news/charset-none-cp1252/")
    assert status == 200 and headers["content-type"] == "text/html"
    assert "Beyonc\xe9".encode("cp1252") in body


def test_mirror_generates_big_pages_and_traps_on_the_fly(hostile_mirror: MirrorServer) -> None:
    hostile_mirror.set_behaviour(
        "gen.example",
        paths={"/sized/": {"size": 300_000}, "/chunked/": {"size": 200_000, "chunked": True}},
        trap="/days/",
    )
    status, headers, body = _get(hostile_mirror, "gen.example", "/sized/")
    assert status == 200 and int(headers["content-length"]) == len(body) == 300_000
    assert body.startswith(b"<!DOCTYPE html>") and body.endswith(b"</html>")
    status, headers, body = _get(hostile_mirror, "gen.example", "/chunked/")
    assert headers["transfer-encoding"] == "chunked" and len(body) == 200_000
    assert sum(map(len, generated_page(1_000_003))) == 1_000_003
    status, _, body = _get(hostile_mirror, "gen.example", "/days/2024/02/28/")
    page = body.decode()
    assert status == 200 and '<link rel="next" href="/days/2024/02/29/">' in page
    assert _get(hostile_mirror, "gen.example", "/days/")[0] == 200  # any path under it
    hostile_mirror.set_behaviour("gen.example", status=503)  # the old API still works
    assert _get(hostile_mirror, "gen.example", "/anything/")[0] == 503
