"""Crawl benchmark: the real ``dualshockers`` spider over a generated local site.

Run from anywhere: ``/work/venv/bin/python benchmarks/crawl.py [--pages 600] [--rounds 3]``.

Method
------
1. **Site.** ``--pages N`` (default 600) distinct article pages are generated into a
   temporary directory laid out like ``fixtures/site/www.dualshockers.com/<slug>/index.html``.
   Every page is the real fixture page
   ``fixtures/site/www.dualshockers.com/all-of-us-are-dead-season-2-confirmed-netflix/``
   with its title, description, canonical/og:url, JSON-LD headline and dates, author,
   image, article id, in-page links and body paragraphs replaced. Body paragraphs are
   assembled from a seeded random choice of sentence templates and slot values, so the
   run is deterministic and every body is distinct (checked with the store's own
   ``body_hash``: the in-run and database-side body dedup cannot collapse two pages).
   Slugs are checked against the source's ``article_pattern``. Beside the pages the
   generator writes ``robots.txt``, a Google News ``sitemap_news.xml`` listing every page,
   an RSS feed (``/feed/``, newest 10) and two listing pages (``/news/``, ``/news/2/``), as
   the real site has, so the spider discovers the pages through its normal paths (feed
   and listing overlap the sitemap, as on the real site; Scrapy's dupefilter drops the
   repeats). ``2N`` pages are generated when the memory-scaling check is on; the sitemap
   is rewritten to list N or 2N of them.
2. **Server.** :class:`aggregator.mirror.MirrorServer` serves the directory from this
   process; the crawl reaches it through ``AGGREGATOR_HOST_MAP``, so the spider, the
   extractor and the stored URLs see the real ``https://www.dualshockers.com/...`` URLs.
   (Its handler disables Nagle's algorithm: with it on, every response on a kept-alive
   connection waited ~40 ms for a delayed ACK and this measured the server.) A short calibration
   fetches every page from the mirror out of another process, with the same concurrency
   and no crawler: the server's ceiling, to compare the crawl rates with.
3. **Crawls.** ``scrapy crawl dualshockers`` runs as a subprocess from the project root,
   with AutoThrottle off, ``DOWNLOAD_DELAY=0``, ``CONCURRENT_REQUESTS`` and
   ``CONCURRENT_REQUESTS_PER_DOMAIN`` = ``--concurrency`` (16) and ``LOGSTATS_INTERVAL=1``
   (``--set KEY=VALUE`` adds any other setting, for experiments); everything else is
   the project's settings.
   Two modes, ``--rounds`` times each (default 3), the order alternating per round:

   * **full**: validate -> normalize -> dedup -> store into a fresh SQLite file
     (``AGGREGATOR_DB_URL=<tmp>/bench-*.db``);
   * **extraction-only**: ``AGGREGATOR_DB_URL=none``. The store pipeline is off; the
     validate, normalize and in-memory dedup pipelines still run.

   After each run: exit status 0, ``finish_reason == finished``, ``item_scraped_count``,
   ``aggregator/pages/article`` and ``aggregator/discovery/sitemap`` all equal N, the
   mirror saw every generated article path requested exactly once and, in full mode, the
   database (read with :mod:`sqlite3`) holds exactly N articles. Any failure makes the
   script exit non-zero (after printing what it measured).

What the numbers mean
---------------------
* **pages/s (elapsed)**: N / Scrapy's ``elapsed_time_seconds`` (``start_time`` to
  ``finish_time``; the whole crawl including robots.txt, feed, sitemap and listing
  fetches, but not interpreter start-up). This is the crawl throughput.
* **pages/s (wall)**: N / wall time of the subprocess (adds Python start-up, imports,
  engine set-up and shutdown; what a user waits for).
* **crawler CPU %**: CPU time (user + system) of the crawl process over the crawl window,
  from ``/proc/<pid>/stat``. Near 100 % means the crawl is CPU-bound in its one Python
  thread (reactor, extraction and pipelines share it), i.e. not waiting on the server.
  Beside it (per run, in the JSON) the **run-queue wait**: the share of the crawl window
  the process was ready to run but had no CPU (``/proc/<pid>/schedstat``); above a few
  percent, other load on this machine disturbed that run. A run that waited more than
  10 % is repeated (``--retries``, default 2) and the least disturbed attempt is kept;
  the findings list names runs that needed repeating or stayed disturbed.
* **peak RSS**: the largest ``VmRSS`` of the crawl process, sampled from
  ``/proc/<pid>/status`` every 0.1 s; the table also gives the kernel's own peak
  (``ru_maxrss`` from ``wait4``, which catches spikes between samples).
* **RSS growth 25%->100%**: RSS sampled at 25/50/75/100 % of the crawl window
  (Scrapy's start_time..finish_time, so start-up imports do not count as "growth"),
  and the growth from the 25 % to the 100 % sample in MB and percent. Flat memory (a
  crawl whose memory does not grow with the pages it has seen) shows as a growth near 0.
* **full / extraction-only** is the ratio of median elapsed throughputs; the **storage
  cost** is ``1 - ratio``: the share of crawl throughput spent in the store pipeline
  (SQLAlchemy upserts, the database-side URL and body-hash lookups, the FTS5 index
  triggers, commits). In-memory dedup runs in both modes, so it is not part of the cost.
* **memory scaling**: one extra full-mode crawl of 2N pages; its peak RSS against the
  median N peak. Memory that does not depend on the crawl size gives a ratio near 1.0;
  per-page state that is kept gives a ratio toward 2.0 (the fixed interpreter/Scrapy
  baseline keeps it below 2 even then, so the increase in MB per extra 1000 pages is
  given too).

Results go to the terminal (a rich table) and to ``benchmarks/results/crawl.json``;
each crawl's log is kept in ``benchmarks/results/crawl_logs/`` for inspection.
"""

from __future__ import annotations

import argparse
import ast
import html
import json
import os
import platform
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

PROJECT = Path(__file__).resolve().parent.parent
if str(PROJECT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(PROJECT))

from aggregator.mirror import MirrorServer  # noqa: E402
from aggregator.normalize.text import body_hash  # noqa: E402
from aggregator.sources import load_sources  # noqa: E402

HOST = "www.dualshockers.com"
BASE = f"https://{HOST}"
SPIDER = "dualshockers"
TEMPLATE_SLUG = "all-of-us-are-dead-season-2-confirmed-netflix"
TEMPLATE = PROJECT / "fixtures" / "site" / HOST / TEMPLATE_SLUG / "index.html"
RESULTS_DIR = PROJECT / "benchmarks" / "results"
RESULTS_JSON = RESULTS_DIR / "crawl.json"
LOG_DIR = RESULTS_DIR / "crawl_logs"
VENV_BIN = Path(sys.executable).parent
SCRAPY = str(VENV_BIN / "scrapy") if (VENV_BIN / "scrapy").exists() else "scrapy"
SAMPLE_INTERVAL = 0.1
# A crawl that waited for a CPU more than this share of its window was disturbed by other
# load (2 cores: the mirror, this script and anything else running on the machine).
DISTURBED_PCT = 10.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
SEED = 20220606
# Newest article first; one every 47 minutes back from here (always in the past).
NEWEST = datetime(2022, 6, 6, 16, 5, tzinfo=timezone.utc)
# What the memory-scaling table shows for the N (median) and the 2N crawl.
_SCALING_KEYS = ("peak_rss_mb", "maxrss_mb", "growth_mb", "growth_pct", "pages_per_s_elapsed")

# -- text generation -----------------------------------------------------------------------

SHOWS = [
    "Squid Game",
    "All of Us Are Dead",
    "Stranger Things",
    "The Boys",
    "Arcane",
    "The Witcher",
    "Cyberpunk: Edgerunners",
    "The Last of Us",
    "House of the Dragon",
    "Wednesday",
    "One Piece",
    "Castlevania: Nocturne",
    "Peacemaker",
    "The Mandalorian",
    "Halo",
    "Sweet Home",
    "Kingdom",
    "Alice in Borderland",
    "Vinland Saga",
    "Chainsaw Man",
    "Sandman",
    "Andor",
    "Severance",
    "Dark",
    "Invincible",
    "Fallout",
    "Twisted Metal",
    "Devil May Cry",
    "Tomb Raider: The Legend of Lara Croft",
    "Blue Eye Samurai",
]
STUDIOS = [
    "Netflix",
    "Prime Video",
    "HBO",
    "Disney+",
    "Crunchyroll",
    "Apple TV+",
    "Paramount+",
    "Hulu",
    "Peacock",
    "Studio Mir",
    "Fortiche",
    "MAPPA",
]
PEOPLE = [
    "Hwang Dong-hyuk",
    "Lee Jae-kyoo",
    "the Duffer brothers",
    "Eric Kripke",
    "Craig Mazin",
    "Neil Druckmann",
    "Lauren Schmidt Hissrich",
    "Mike Flanagan",
    "Jenna Ortega",
    "Park Ji-hoo",
    "Yoon Chan-young",
    "Millie Bobby Brown",
    "Karl Urban",
    "Pedro Pascal",
    "Bella Ramsey",
    "Kim Jee-woon",
]
EVENTS = [
    "Geeked Week",
    "San Diego Comic-Con",
    "Anime Expo",
    "Tudum",
    "the Game Awards",
    "Summer Game Fest",
    "New York Comic Con",
    "D23 Expo",
]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
HEADLINES = [
    "{show} Season {n} Officially Confirmed by {studio}",
    "{show} Season {n}: Release Date, Cast and Everything We Know",
    "Why {show} Season {n} Could Change Everything",
    "{studio} Reveals First Look at {show} Season {n}",
    "{person} Teases What Comes Next for {show}",
    "{show} Season {n} Trailer Shown at {event}",
    "{show} Is Getting a Season {n}, {person} Confirms",
    "Everything Announced for {show} at {event}",
    "{show} Season {n} Episode Guide and Release Schedule",
    "{show} Breaks a {studio} Viewing Record in {n} Days",
]
SENTENCES = [
    "{studio} confirmed that {show} will return for a season {n}, ending months of speculation.",
    "The announcement came during {event}, where {person} appeared on stage with the cast.",
    "Season {m} premiered in {month} and quickly climbed to the top spot in {k} countries.",
    "{person} told reporters that the writers' room for the new season opened in {month}.",
    "Fans have been asking about the cliffhanger ending of season {m} since the finale aired.",
    "According to {studio}, the series was watched for more than {k} million hours in its "
    "first four weeks.",
    "The show is based on a webtoon that ran for {k} chapters before it was adapted.",
    "Production is expected to start in {month}, with filming split between two studios.",
    "It is still too early for {studio} to name a release window for the new episodes.",
    "{person} hinted that at least {k} new characters will join the story.",
    "Critics praised the first season for its pacing, its score and its practical effects.",
    "The season {m} finale left several major characters in an uncertain position.",
    "{show} currently holds an {k}% score from critics on Rotten Tomatoes.",
    "A short teaser shown at {event} offered a glimpse of the new setting.",
    "Several cast members from season {m} are expected to reprise their roles.",
    "{studio} has not said whether the new season will be released weekly or all at once.",
    "The budget for the new season is reportedly larger than that of season {m}.",
    "{person} described the next chapter as darker and more personal than what came before.",
    "The series joins a growing list of {studio} originals renewed after a strong debut.",
    "Viewers who missed {event} can watch the full panel on the official channel.",
    "The first {k} episodes were directed by {person}, who returns for season {n}.",
    "A companion game set in the world of {show} is also in development.",
    "Merchandise sales spiked in {month} after the trailer went viral on social media.",
    "The soundtrack for season {m} was released on streaming platforms in {month}.",
    "Some plot details were changed from the source material to suit a longer season.",
    "{person} said the team wants to give every returning character a proper arc.",
    "The renewal was widely expected given the ratings of the first {k} episodes.",
    "An anime adaptation of {show} has also been rumored, though {studio} declined to comment.",
    "Season {n} will reportedly run for {k} episodes, up from the previous season.",
    "The cast reunited for a table read in {month}, according to a post from {person}.",
    "Fans at {event} lined up for hours to get a seat at the {show} panel.",
    "Dubbed versions in more than {k} languages will be available on launch day.",
    "The writers are said to be planning the story with an ending already in mind.",
    "{studio} has scheduled a global fan screening for the premiere of season {n}.",
    "Early reactions from the press screening describe the new episodes as tense and surprising.",
    "The official synopsis for season {n} has not been shared yet.",
    "{person} joked that the cast had been sworn to secrecy since {month}.",
    "Filming locations for season {n} include a set built specifically for the finale.",
    "Interest in the original {show} source material rose sharply after the announcement.",
    "We will update this article as soon as {studio} shares more details.",
]
AUTHORS = ["Shivam Gulati", "Rachel Ortiz", "Marcus Bell", "Priya Natarajan", "Tom Kowalski"]
EXCERPTS = [
    "{studio} has confirmed that {show} is coming back with another season.",
    "{person} shared new details about season {n} of {show}.",
    "The next season of {show} is officially in the works at {studio}.",
    "Here is everything we know so far about {show} season {n}.",
]


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass
class Page:
    """One generated article."""

    index: int
    slug: str
    title: str
    excerpt: str
    author: str
    published: datetime
    modified: datetime
    paragraphs: list[str]

    @property
    def url(self) -> str:
        return f"{BASE}/{self.slug}/"


def _fill(template: str, rng: random.Random) -> str:
    n = rng.randint(2, 6)
    return template.format(
        show=rng.choice(SHOWS),
        studio=rng.choice(STUDIOS),
        person=rng.choice(PEOPLE),
        event=rng.choice(EVENTS),
        month=rng.choice(MONTHS),
        n=n,
        m=n - 1,
        k=rng.randint(3, 95),
    )


def generate_pages(count: int, seed: int = SEED) -> list[Page]:
    """``count`` distinct articles (slug, title and body hash all unique), deterministic."""
    rng = random.Random(seed)
    source = load_sources()[SPIDER]
    pages: list[Page] = []
    slugs: set[str] = set()
    hashes: set[str] = set()
    for i in range(count):
        # One shared context per article so the headline and the text agree a little.
        show, studio = rng.choice(SHOWS), rng.choice(STUDIOS)
        person, event = rng.choice(PEOPLE), rng.choice(EVENTS)
        n = rng.randint(2, 6)
        ctx = {"show": show, "studio": studio, "person": person, "event": event, "n": n}
        title = rng.choice(HEADLINES).format(**ctx)
        slug = _slugify(title)
        if slug in slugs:
            slug = f"{slug}-{i}"
        while True:
            paragraphs = []
            for _ in range(rng.randint(4, 7)):
                sentences = rng.sample(SENTENCES, rng.randint(3, 5))
                paragraphs.append(" ".join(_fill(s, rng) for s in sentences))
            h = body_hash("\n\n".join(paragraphs))
            if h is not None and h not in hashes:
                hashes.add(h)
                break
        published = NEWEST - timedelta(minutes=47 * i)
        page = Page(
            index=i,
            slug=slug,
            title=title,
            excerpt=rng.choice(EXCERPTS).format(**ctx),
            author=rng.choice(AUTHORS),
            published=published,
            modified=published + timedelta(minutes=rng.randint(3, 300)),
            paragraphs=paragraphs,
        )
        if not source.is_article(page.url):
            raise SystemExit(f"generated slug {slug!r} does not match the article_pattern")
        slugs.add(slug)
        pages.append(page)
    return pages


# -- page rendering ------------------------------------------------------------------------


def _replace(text: str, old: str, new: str, at_least: int = 1) -> str:
    """``text.replace(old, new)``, failing loudly when the template no longer has ``old``."""
    found = text.count(old)
    if found < at_least:
        raise SystemExit(f"template {TEMPLATE} changed: {old!r} found {found}x (< {at_least})")
    return text.replace(old, new)


def _iso_z(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_offset(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def render_page(template: str, page: Page, pages: Sequence[Page]) -> str:
    """The fixture page with this article's metadata, links and body."""
    others = [pages[(page.index + k) % len(pages)] for k in (1, 2, 3, 4, 5)]
    esc_title = html.escape(page.title, quote=True)
    esc_excerpt = html.escape(page.excerpt, quote=True)
    out = template
    # Body: keep the section's markup (blocks, ad zone, embed), swap the paragraphs.
    m = re.search(r'(<section id="article-body"[^>]*>)(.*?)(</section>)', out, re.S)
    if m is None:
        raise SystemExit(f"template {TEMPLATE} changed: no article-body section")
    paragraphs = [html.escape(p, quote=False) for p in page.paragraphs]
    # Some inline markup, as real bodies have: the show name in <em> in the 2nd paragraph.
    show = next((s for s in SHOWS if s in page.paragraphs[1]), None)
    if show:
        paragraphs[1] = paragraphs[1].replace(
            html.escape(show, quote=False), f"<em>{html.escape(show, quote=False)}</em>", 1
        )
    slots = len(re.findall(r"<p>.*?</p>", m.group(2), re.S))
    head, tail = paragraphs[: slots - 1], paragraphs[slots - 1 :]
    queue = iter([*head, "</p>\n      <p>".join(tail)])
    inner = re.sub(r"<p>.*?</p>", lambda _: f"<p>{next(queue)}</p>", m.group(2), flags=re.S)
    inner = _replace(
        inner,
        'https://www.dualshockers.com/stranger-things-season-4-enzo-actor/">'
        "Why Does Enzo From Stranger Things Season 4 Look so Familiar?",
        f'{others[0].url}">{html.escape(others[0].title, quote=False)}',
    )
    out = out[: m.start(2)] + inner + out[m.end(2) :]
    # Links to other articles (sidebar, related): other generated pages.
    for old, other in zip(
        (
            "stranger-things-season-4-enzo-actor",
            "the-boys-season-3-episode-guide",
            "squid-game-season-2-netflix",
            "netflix-geeked-week-2022-schedule",
        ),
        others[1:],
        strict=True,
    ):
        out = _replace(out, f"{BASE}/{old}/", other.url)
    # Metadata.
    out = _replace(out, "All of Us Are Dead Season 2 Officially Confirmed by Netflix", esc_title, 5)
    out = _replace(out, "'All of us Are Dead' is coming back with another season.", esc_excerpt, 3)
    out = _replace(
        out,
        "&#039;All of us Are Dead&#039; is coming back with another season.",
        json.dumps(page.excerpt)[1:-1],
    )
    out = _replace(out, TEMPLATE_SLUG, page.slug, 4)
    out = _replace(out, "All-of-Us-Are-Dead-Season-2.jpg", f"{page.slug}-hero.jpg", 2)
    out = _replace(out, "1150000", str(2_000_000 + page.index), 2)
    out = _replace(out, "2022-06-06T16:05:00+00:00", _iso_offset(page.published))
    out = _replace(out, "2022-06-06T16:12:41+00:00", _iso_offset(page.modified))
    out = _replace(out, "2022-06-06T16:05:00Z", _iso_z(page.published))
    out = _replace(out, "2022-06-06T16:12:41Z", _iso_z(page.modified))
    out = _replace(out, "2022-06-06 16:05:00", page.published.strftime("%Y-%m-%d %H:%M:%S"))
    out = _replace(
        out, "Jun 6, 2022", f"{page.published:%b} {page.published.day}, {page.published.year}"
    )
    out = _replace(out, "shivam-gulati", _slugify(page.author), 2)
    out = _replace(out, "Shivam Gulati", page.author, 3)
    return out


def _sitemap(pages: Sequence[Page]) -> str:
    urls = "".join(
        f"""  <url>
    <loc>{p.url}</loc>
    <news:news>
      <news:publication>
        <news:name>DualShockers</news:name>
        <news:language>en</news:language>
      </news:publication>
      <news:publication_date>{_iso_z(p.published)}</news:publication_date>
      <news:title>{html.escape(p.title, quote=False)}</news:title>
    </news:news>
  </url>
"""
        for p in pages
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n'
        f"{urls}</urlset>\n"
    )


def _feed(pages: Sequence[Page]) -> str:
    items = "".join(
        f"""    <item>
      <title>{html.escape(p.title, quote=False)}</title>
      <link>{p.url}?utm_source=rss&amp;utm_medium=feed&amp;utm_campaign=rss</link>
      <dc:creator><![CDATA[{p.author}]]></dc:creator>
      <pubDate>{p.published:%a, %d %b %Y %H:%M:%S} +0000</pubDate>
      <guid isPermaLink="false">{BASE}/?p={2_000_000 + p.index}</guid>
      <description><![CDATA[{p.excerpt}]]></description>
    </item>
"""
        for p in pages
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" \
xmlns:atom="http://www.w3.org/2005/Atom">
  <channel>
    <title>DualShockers</title>
    <atom:link href="{BASE}/feed/" rel="self" type="application/rss+xml"/>
    <link>{BASE}</link>
    <description>Gaming news, reviews and guides</description>
    <language>en-US</language>
{items}  </channel>
</rss>
"""


def _listing(pages: Sequence[Page], number: int, has_next: bool) -> str:
    cards = "".join(
        f"""  <div class="display-card article-card">
    <h5 class="display-card-title"><a href="/{p.slug}/">{html.escape(p.title)}</a></h5>
    <p class="display-card-excerpt">{html.escape(p.excerpt)}</p>
    <a class="display-card-author" href="/author/{_slugify(p.author)}/">{p.author}</a>
  </div>
"""
        for p in pages
    )
    here = f"{BASE}/news/" if number == 1 else f"{BASE}/news/{number}/"
    nxt = f"{BASE}/news/{number + 1}/"
    rel_next = f'<link rel="next" href="{nxt}">' if has_next else ""
    a_next = f'<a class="next-page" href="/news/{number + 1}/">Next</a>' if has_next else ""
    return f"""<!DOCTYPE html>
<html lang="en-US"><head><meta charset="utf-8">
<title>Latest News - Page {number} | DualShockers</title>
<link rel="canonical" href="{here}">{rel_next}</head>
<body>
<header class="header"><nav><a href="/news/">News</a> <a href="/reviews/">Reviews</a> \
<a href="/tv/">TV</a> <a href="/author/shivam-gulati/">Authors</a></nav></header>
<main class="listing">
<h1>Latest News</h1>
<section class="sentinel-listing-page-list">
{cards}</section>
<div class="pagination">{a_next}</div>
</main>
<footer class="footer"><a href="/about/">About Us</a> \
<a href="/privacy-policy/">Privacy Policy</a></footer>
</body></html>
"""


def write_site(root: Path, pages: Sequence[Page]) -> Path:
    """Write every page plus robots.txt, feed and listings under ``root/<host>``."""
    site = root / HOST
    template = TEMPLATE.read_text(encoding="utf-8")
    for page in pages:
        target = site / page.slug / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_page(template, page, pages), encoding="utf-8")
    (site / "robots.txt").write_text(
        "User-agent: *\nDisallow: /wp-admin/\nDisallow: /search/\n"
        f"Sitemap: {BASE}/sitemap_news.xml\n",
        encoding="utf-8",
    )
    (site / "feed").mkdir(exist_ok=True)
    (site / "feed" / "index.xml").write_text(_feed(pages[:10]), encoding="utf-8")
    (site / "news" / "2").mkdir(parents=True, exist_ok=True)
    (site / "news" / "index.html").write_text(_listing(pages[:10], 1, True), encoding="utf-8")
    (site / "news" / "2" / "index.html").write_text(
        _listing(pages[10:20], 2, False), encoding="utf-8"
    )
    return site


def write_sitemap(site: Path, pages: Sequence[Page]) -> None:
    """The news sitemap, listing exactly ``pages`` (N or 2N of the generated ones)."""
    (site / "sitemap_news.xml").write_text(_sitemap(pages), encoding="utf-8")


# -- measuring a crawl ---------------------------------------------------------------------


@dataclass
class Sample:
    """One reading of the crawl process's memory and CPU time."""

    t: float  # time.time()
    rss_kb: int
    hwm_kb: int
    cpu_s: float  # user + system CPU seconds so far
    runq_s: float  # seconds spent runnable but waiting for a CPU (schedstat run_delay)


class ProcSampler(threading.Thread):
    """Reads ``/proc/<pid>/status`` and ``/proc/<pid>/stat`` every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = SAMPLE_INTERVAL) -> None:
        super().__init__(name=f"sampler-{pid}", daemon=True)
        self.status = Path(f"/proc/{pid}/status")
        self.stat = Path(f"/proc/{pid}/stat")
        self.schedstat = Path(f"/proc/{pid}/schedstat")
        self.interval = interval
        self.samples: list[Sample] = []
        self.stop_event = threading.Event()

    def read(self) -> Sample | None:
        try:
            status = self.status.read_text()
            stat = self.stat.read_text()
            sched = self.schedstat.read_text().split()
        except OSError:
            return None
        fields: dict[str, int] = {}
        for line in status.splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0])
        if "VmRSS" not in fields:  # a zombie: memory already released
            return None
        # Fields after "(comm)": state is [0], utime [11], stime [12] (clock ticks).
        rest = stat.rsplit(")", 1)[1].split()
        cpu = (int(rest[11]) + int(rest[12])) / CLK_TCK
        runq = int(sched[1]) / 1e9 if len(sched) > 1 else 0.0
        return Sample(time.time(), fields["VmRSS"], fields.get("VmHWM", 0), cpu, runq)

    def run(self) -> None:
        while not self.stop_event.is_set():
            s = self.read()
            if s is not None:
                self.samples.append(s)
            self.stop_event.wait(self.interval)


_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")
_STAT_LINE = re.compile(r"^[{ ]'([^']+)': (.*?),?}?$")
_DATETIME = re.compile(r"^datetime\.datetime\(([\d, ]+)(?:, tzinfo=datetime\.timezone\.utc)?\)$")
_LOGSTATS = re.compile(
    r"\[scrapy\.extensions\.logstats\] INFO: Crawled \d+ pages .*"
    r"scraped (\d+) items \(at (\d+) items/min\)"
)


def parse_stats(log: str) -> dict[str, Any]:
    """Scrapy's final stats from the "Dumping Scrapy stats" block of a crawl log.

    Values are ints, floats, strings, None or (for start/finish time) aware datetimes;
    anything else (a wrapped long value) is kept as its text.
    """
    lines = log.splitlines()
    try:
        start = next(i for i, ln in enumerate(lines) if "Dumping Scrapy stats:" in ln) + 1
    except StopIteration:
        return {}
    stats: dict[str, Any] = {}
    for line in lines[start:]:
        if _TIMESTAMP.match(line):
            break
        m = _STAT_LINE.match(line.rstrip())
        if not m:
            continue
        key, raw = m.group(1), m.group(2)
        dt = _DATETIME.match(raw)
        if dt:
            y, mo, d, h, mi, sec, us = [int(x) for x in dt.group(1).split(",")] + [0] * (
                7 - len(dt.group(1).split(","))
            )
            stats[key] = datetime(y, mo, d, h, mi, sec, us, tzinfo=timezone.utc)
            continue
        try:
            stats[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            stats[key] = raw
    return stats


def interval_rates(log: str, n: int) -> list[float]:
    """Items/s over each full LogStats interval inside the crawl (Scrapy's own per-interval
    rate; the first interval, which includes discovery, and the last, partial one are left
    out): how steady extraction and storage are from start to end."""
    rates = []
    before = 0
    for line in log.splitlines():
        m = _LOGSTATS.search(line)
        if m:
            items, per_min = int(m.group(1)), int(m.group(2))
            if before > 0 and items < n:
                rates.append(per_min / 60)
            before = items
    return rates


def log_findings(log: str) -> dict[str, Any]:
    """Warnings, errors and tracebacks in a crawl log (with their messages, counted)."""
    levels: Counter[str] = Counter()
    messages: Counter[str] = Counter()
    for line in log.splitlines():
        m = re.match(r"^\S+ \S+ \[([^\]]+)\] (WARNING|ERROR|CRITICAL): (.*)$", line)
        if m:
            levels[m.group(2)] += 1
            # Group similar messages: strip URLs and numbers.
            msg = re.sub(r"https?://\S+", "<url>", m.group(3))
            messages[f"[{m.group(1)}] {re.sub(r'[0-9]+', 'N', msg)[:160]}"] += 1
    return {
        "levels": dict(levels),
        "messages": dict(messages.most_common(10)),
        "tracebacks": log.count("Traceback (most recent call last)"),
    }


@dataclass
class RunResult:
    """Everything measured about one crawl."""

    mode: str
    pages: int
    round: int
    returncode: int
    wall_s: float
    elapsed_s: float | None
    items: int
    article_pages: int
    discovered_sitemap: int
    requested_articles: int
    distinct_requested_articles: int
    db_articles: int | None
    finish_reason: str
    peak_rss_mb: float
    hwm_mb: float
    maxrss_mb: float
    rss_quartiles_mb: dict[str, float]
    growth_mb: float
    growth_pct: float
    samples: int
    pages_per_s_elapsed: float | None
    pages_per_s_wall: float
    stats: dict[str, Any]
    findings: dict[str, Any]
    slowest_interval_items_per_s: float | None
    fastest_interval_items_per_s: float | None
    log_file: str
    cpu_pct_crawl: float | None
    runq_wait_pct: float | None
    cpu_s_total: float
    attempts: int = 1
    problems: list[str] = field(default_factory=list)


def _at(samples: Sequence[Sample], t: float) -> Sample:
    """The last sample taken at or before ``t`` (the first one if none was)."""
    best = samples[0]
    for s in samples:
        if s.t <= t:
            best = s
        else:
            break
    return best


def run_crawl(
    *,
    mode: str,
    n: int,
    round_no: int,
    mirror: MirrorServer,
    tmp: Path,
    expected_paths: set[str],
    concurrency: int,
    log_level: str,
    extra_settings: dict[str, str],
    attempt: int = 0,
) -> RunResult:
    """One ``scrapy crawl`` subprocess, measured and checked."""
    db_path: Path | None = None
    if mode == "full":
        db_path = tmp / f"bench-{n}-{round_no}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    env = dict(os.environ)
    env.update(
        AGGREGATOR_HOST_MAP=mirror.host_map(),
        AGGREGATOR_DB_URL=str(db_path) if db_path else "none",
        PYTHONUNBUFFERED="1",
    )
    env.pop("AGGREGATOR_SOURCES", None)  # the bundled registry: the real dualshockers source
    settings = {
        "AUTOTHROTTLE_ENABLED": "False",
        "DOWNLOAD_DELAY": "0",
        "CONCURRENT_REQUESTS": str(concurrency),
        "CONCURRENT_REQUESTS_PER_DOMAIN": str(concurrency),
        "LOG_LEVEL": log_level,
        "LOGSTATS_INTERVAL": "1.0",
        **extra_settings,
    }
    cmd = [SCRAPY, "crawl", SPIDER]
    for k, v in settings.items():
        cmd += ["-s", f"{k}={v}"]
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    retry = f"-retry{attempt}" if attempt else ""
    log_file = LOG_DIR / f"{mode}-{n}-round{round_no}{retry}.log"
    first_request = len(mirror.requests)
    with log_file.open("w", encoding="utf-8") as log_fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=PROJECT, env=env, stdout=log_fh, stderr=subprocess.STDOUT)
        sampler = ProcSampler(proc.pid)
        sampler.start()
        try:
            # wait4 gives this child's own rusage: ru_maxrss is its kernel-tracked peak RSS.
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.send_signal(signal.SIGTERM)
            proc.wait()
            raise
        finally:
            sampler.stop_event.set()
            sampler.join()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    log = log_file.read_text(encoding="utf-8", errors="replace")
    stats = parse_stats(log)
    article_paths = [
        path for _host, path in mirror.requests[first_request:] if path in expected_paths
    ]
    samples = sampler.samples or [Sample(time.time(), 0, 0, 0.0, 0.0)]

    start_time, finish_time = stats.get("start_time"), stats.get("finish_time")
    if isinstance(start_time, datetime) and isinstance(finish_time, datetime):
        w0, w1 = start_time.timestamp(), finish_time.timestamp()
    else:
        w0, w1 = samples[0].t, samples[-1].t
    quartiles = {
        f"{q}%": _at(samples, w0 + (w1 - w0) * q / 100).rss_kb / 1024 for q in (25, 50, 75, 100)
    }
    # CPU share of the crawl process over the crawl window: ~100% means the crawler
    # (one thread: Twisted reactor + extraction + pipelines) is CPU-bound.
    s0, s1 = _at(samples, w0), _at(samples, w1)
    span = s1.t - s0.t
    cpu_pct = 100 * (s1.cpu_s - s0.cpu_s) / span if span > 0 else None
    # Share of the window the crawler was ready to run but had no CPU: other load on the
    # machine (the mirror included). High values mean a disturbed measurement.
    runq_pct = 100 * (s1.runq_s - s0.runq_s) / span if span > 0 else None
    growth = quartiles["100%"] - quartiles["25%"]
    elapsed = stats.get("elapsed_time_seconds")
    elapsed_s = float(elapsed) if isinstance(elapsed, (int, float)) else None

    # Throughput over each LogStats interval inside the crawl: where it slows down.
    rates = interval_rates(log, n)

    db_articles: int | None = None
    if db_path is not None and db_path.exists():
        with sqlite3.connect(db_path) as conn:
            db_articles = int(conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0])
        conn.close()

    def stat(key: str) -> int:
        v = stats.get(key, 0)
        return int(v) if isinstance(v, (int, float)) else 0

    result = RunResult(
        mode=mode,
        pages=n,
        round=round_no,
        returncode=proc.returncode,
        wall_s=wall,
        elapsed_s=elapsed_s,
        items=stat("item_scraped_count"),
        article_pages=stat("aggregator/pages/article"),
        discovered_sitemap=stat("aggregator/discovery/sitemap"),
        requested_articles=len(article_paths),
        distinct_requested_articles=len(set(article_paths)),
        db_articles=db_articles,
        finish_reason=str(stats.get("finish_reason", "?")),
        peak_rss_mb=max(s.rss_kb for s in samples) / 1024,
        hwm_mb=max(s.hwm_kb for s in samples) / 1024,
        maxrss_mb=usage.ru_maxrss / 1024,
        cpu_pct_crawl=cpu_pct,
        runq_wait_pct=runq_pct,
        cpu_s_total=usage.ru_utime + usage.ru_stime,
        rss_quartiles_mb=quartiles,
        growth_mb=growth,
        growth_pct=100 * growth / quartiles["25%"] if quartiles["25%"] else 0.0,
        samples=len(sampler.samples),
        pages_per_s_elapsed=n / elapsed_s if elapsed_s else None,
        pages_per_s_wall=n / wall,
        stats={
            k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in stats.items()
            if isinstance(v, (int, float, str, datetime)) or v is None
        },
        findings=log_findings(log),
        slowest_interval_items_per_s=min(rates) if rates else None,
        fastest_interval_items_per_s=max(rates) if rates else None,
        log_file=str(log_file.relative_to(PROJECT)),
    )
    result.problems = check(result, expected_paths)
    return result


def check(r: RunResult, expected_paths: set[str]) -> list[str]:
    """What is wrong with a run (empty when it crawled, extracted and stored all N)."""
    n = r.pages
    problems = []
    if r.returncode != 0:
        problems.append(f"exit status {r.returncode}")
    if r.finish_reason != "finished":
        problems.append(f"finish_reason={r.finish_reason}")
    for label, value in (
        ("item_scraped_count", r.items),
        ("aggregator/pages/article", r.article_pages),
        ("aggregator/discovery/sitemap", r.discovered_sitemap),
        ("article requests seen by the mirror", r.requested_articles),
        ("distinct article paths requested", r.distinct_requested_articles),
    ):
        if value != n:
            problems.append(f"{label}={value}, expected {n}")
    if len(expected_paths) != n:
        problems.append(f"{len(expected_paths)} expected paths for {n} pages")
    if r.mode == "full" and r.db_articles != n:
        problems.append(f"database holds {r.db_articles} articles, expected {n}")
    if r.elapsed_s is None:
        problems.append("no elapsed_time_seconds in the stats dump")
    return problems


# -- mirror calibration --------------------------------------------------------------------


_CLIENT = """
import http.client, json, sys, time
from concurrent.futures import ThreadPoolExecutor
port, host, paths, concurrency = json.load(sys.stdin)
def fetch(chunk):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for path in chunk:
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, (resp.status, path)
    conn.close()
    return len(chunk)
def latency():
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    t0 = time.perf_counter()
    for path in paths[:20]:
        conn.request("GET", path, headers={"Host": host})
        conn.getresponse().read()
    conn.close()
    return (time.perf_counter() - t0) / min(20, len(paths))
lat = latency()
t0 = time.perf_counter()
with ThreadPoolExecutor(concurrency) as pool:
    done = sum(pool.map(fetch, [paths[i::concurrency] for i in range(concurrency)]))
print(json.dumps({"pages_per_s": done / (time.perf_counter() - t0), "latency_ms": lat * 1000}))
"""


def mirror_ceiling(
    mirror: MirrorServer, paths: Sequence[str], concurrency: int
) -> dict[str, float]:
    """The mirror alone, fetched from another process (no crawler): pages/s with
    ``concurrency`` keep-alive connections, and one connection's sequential latency."""
    out = subprocess.run(
        [sys.executable, "-c", _CLIENT],
        input=json.dumps([mirror.port, HOST, list(paths), concurrency]),
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"mirror calibration failed: {out.stderr.strip()[-2000:]}")
    data: dict[str, float] = json.loads(out.stdout)
    return data


# -- reporting -----------------------------------------------------------------------------


def _median(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def summarize(runs: Sequence[RunResult]) -> dict[str, Any]:
    """Medians over the rounds of one mode."""
    return {
        "rounds": len(runs),
        "pages_per_s_elapsed": _median([r.pages_per_s_elapsed for r in runs]),
        "pages_per_s_wall": _median([r.pages_per_s_wall for r in runs]),
        "elapsed_s": _median([r.elapsed_s for r in runs]),
        "wall_s": _median([r.wall_s for r in runs]),
        "peak_rss_mb": _median([r.peak_rss_mb for r in runs]),
        "maxrss_mb": _median([r.maxrss_mb for r in runs]),
        "cpu_pct_crawl": _median([r.cpu_pct_crawl for r in runs]),
        "runq_wait_pct": _median([r.runq_wait_pct for r in runs]),
        "cpu_s_total": _median([r.cpu_s_total for r in runs]),
        "growth_mb": _median([r.growth_mb for r in runs]),
        "growth_pct": _median([r.growth_pct for r in runs]),
        "rss_quartiles_mb": {
            q: _median([r.rss_quartiles_mb[q] for r in runs]) for q in ("25%", "50%", "75%", "100%")
        },
        "items": sorted({r.items for r in runs}),
        "per_round_pages_per_s_elapsed": [r.pages_per_s_elapsed for r in runs],
    }


def _f(value: float | None, fmt: str = "{:.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def print_report(console: Console, result: dict[str, Any]) -> None:
    """The tables: throughput and memory per mode, the comparison, memory scaling."""
    cfg = result["config"]
    modes = result["modes"]
    table = Table(
        title=(
            f"Crawl benchmark: {cfg['pages']} article pages, median of {cfg['rounds']} rounds, "
            f"concurrency {cfg['concurrency']}"
        )
    )
    for col in (
        "mode",
        "pages/s (elapsed)",
        "pages/s (wall)",
        "elapsed s",
        "wall s",
        "crawler CPU %",
        "peak RSS MB",
        "RSS growth 25%→100%",
        "items",
    ):
        table.add_column(col, justify="left" if col == "mode" else "right")
    for mode in ("full", "extraction-only"):
        s = modes[mode]
        table.add_row(
            mode,
            _f(s["pages_per_s_elapsed"]),
            _f(s["pages_per_s_wall"]),
            _f(s["elapsed_s"], "{:.2f}"),
            _f(s["wall_s"], "{:.2f}"),
            _f(s["cpu_pct_crawl"], "{:.0f}"),
            _f(s["peak_rss_mb"]),
            f"{_f(s['growth_mb'], '{:+.1f}')} MB ({_f(s['growth_pct'], '{:+.1f}')}%)",
            ",".join(str(i) for i in s["items"]),
        )
    console.print(table)
    cmp = result["comparison"]
    console.print(
        f"full / extraction-only throughput (elapsed): {_f(cmp['ratio'], '{:.3f}')}   "
        f"storage cost = 1 - ratio: [bold]{_f(cmp['storage_cost_pct'], '{:.1f}')}%[/bold]   "
        f"(wall basis: ratio {_f(cmp['ratio_wall'], '{:.3f}')}, "
        f"cost {_f(cmp['storage_cost_pct_wall'], '{:.1f}')}%)"
    )
    per_round = "   ".join(
        f"{m}: " + ", ".join(_f(v) for v in modes[m]["per_round_pages_per_s_elapsed"])
        for m in ("full", "extraction-only")
    )
    console.print(f"per-round pages/s (elapsed): {per_round}")
    console.print(
        "mirror alone (another process, no crawler, same concurrency): "
        f"{_f(result['mirror_alone']['pages_per_s'])} pages/s; one keep-alive connection: "
        f"{_f(result['mirror_alone']['latency_ms'], '{:.2f}')} ms/response"
    )

    mem = Table(title="Memory over the crawl window (median over rounds, MB)")
    for col in ("mode", "RSS@25%", "RSS@50%", "RSS@75%", "RSS@100%", "peak (0.1 s)", "ru_maxrss"):
        mem.add_column(col, justify="left" if col == "mode" else "right")
    for mode in ("full", "extraction-only"):
        s = modes[mode]
        q = s["rss_quartiles_mb"]
        mem.add_row(
            mode,
            *(_f(q[k]) for k in ("25%", "50%", "75%", "100%")),
            _f(s["peak_rss_mb"]),
            _f(s["maxrss_mb"]),
        )
    console.print(mem)

    sc = result.get("scaling")
    if sc:
        st = Table(title="Memory scaling (full mode): N vs 2N pages")
        for col in ("pages", "peak RSS MB", "ru_maxrss MB", "RSS growth 25%→100%", "pages/s"):
            st.add_column(col, justify="right")
        for row in (sc["n"], sc["2n"]):
            st.add_row(
                str(row["pages"]),
                _f(row["peak_rss_mb"]),
                _f(row["maxrss_mb"]),
                f"{_f(row['growth_mb'], '{:+.1f}')} MB ({_f(row['growth_pct'], '{:+.1f}')}%)",
                _f(row["pages_per_s_elapsed"]),
            )
        console.print(st)
        console.print(
            f"2N/N peak RSS ratio: {_f(sc['peak_ratio'], '{:.3f}')}   "
            f"({_f(sc['mb_per_1000_pages'], '{:+.1f}')} MB per 1000 extra pages)"
        )
    console.print("[bold]Crawl log findings[/bold] (all runs):")
    for line in result["log_findings"]:
        console.print(f"  {line}")
    if result["problems"]:
        console.print("[bold red]FAILED checks:[/bold red]")
        for p in result["problems"]:
            console.print(f"  {p}")
    console.print(
        f"results: {RESULTS_JSON.relative_to(PROJECT)}; logs: {LOG_DIR.relative_to(PROJECT)}/"
    )


def collect_findings(runs: Sequence[RunResult]) -> list[str]:
    """Noteworthy stats and log lines over all runs: warnings, retries, drops, errors."""
    out: list[str] = []
    keys: Counter[str] = Counter()
    for r in runs:
        for k, v in r.stats.items():
            if isinstance(v, int) and (
                k.startswith(("retry/", "aggregator/dropped/", "aggregator/errors/"))
                or k.startswith(("downloader/exception", "log_count/WARNING", "log_count/ERROR"))
                or (k.startswith("downloader/response_status_count/") and not k.endswith("200"))
                or k in ("item_dropped_count", "httperror/response_ignored_count")
            ):
                keys[f"{r.mode}: {k}"] += v
        for msg, count in r.findings["messages"].items():
            keys[f"{r.mode}: log {msg}"] += count
        if r.findings["tracebacks"]:
            keys[f"{r.mode}: tracebacks"] += r.findings["tracebacks"]
    for k, v in sorted(keys.items()):
        out.append(f"{k} = {v}")
    if not out:
        out.append("no warnings, errors, retries, drops or non-200 responses in any run")
    for r in runs:
        label = f"{r.mode} N={r.pages} round {r.round}"
        if r.attempts > 1:
            out.append(f"{label}: {r.attempts} attempts (other load on the machine)")
        if _disturbed(r):
            out.append(
                f"{label}: waited for a CPU {r.runq_wait_pct:.0f}% of the crawl "
                "(other load on the machine): a disturbed measurement"
            )
        elif r.cpu_pct_crawl is not None and r.cpu_pct_crawl < 85:
            out.append(
                f"{label}: crawler busy only {r.cpu_pct_crawl:.0f}% of the crawl "
                "without waiting for a CPU: it waited on I/O or the server"
            )
    return out


# -- main ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--pages", type=int, default=600, help="article pages N (default 600)")
    p.add_argument("--rounds", type=int, default=3, help="rounds per mode (default 3)")
    p.add_argument("--concurrency", type=int, default=16, help="CONCURRENT_REQUESTS (16)")
    p.add_argument("--log-level", default="INFO", help="crawl LOG_LEVEL (INFO)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra Scrapy setting for every crawl (repeatable), e.g. CONCURRENT_ITEMS=1",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=2,
        help=f"repeat a crawl that waited > {DISTURBED_PCT:.0f}%% for a CPU up to this often (2)",
    )
    p.add_argument("--no-scaling", action="store_true", help="skip the 2N memory check")
    p.add_argument("--keep-temp", action="store_true", help="keep the generated site")
    return p.parse_args(argv)


@dataclass
class Context:
    """What every crawl of one benchmark run shares."""

    mirror: MirrorServer
    site: Path
    tmp: Path
    concurrency: int
    log_level: str
    extra_settings: dict[str, str]
    retries: int
    console: Console

    def crawl(self, mode: str, pages: Sequence[Page], round_no: int) -> RunResult:
        """One measured crawl; repeated (up to ``retries`` more times) while other load on
        the machine disturbs it, keeping the least disturbed attempt."""
        write_sitemap(self.site, pages)
        expected = {f"/{p.slug}/" for p in pages}
        attempts: list[RunResult] = []
        for attempt in range(1 + self.retries):
            r = run_crawl(
                mode=mode,
                n=len(pages),
                round_no=round_no,
                mirror=self.mirror,
                tmp=self.tmp,
                expected_paths=expected,
                concurrency=self.concurrency,
                log_level=self.log_level,
                extra_settings=self.extra_settings,
                attempt=attempt,
            )
            attempts.append(r)
            self._show(r)
            if r.problems or not _disturbed(r):
                break
            more = len(attempts) <= self.retries
            self.console.print(
                f"    disturbed ({r.runq_wait_pct or 0:.0f}% run-queue wait > "
                f"{DISTURBED_PCT:.0f}%)" + (", repeating" if more else ", keeping the least")
            )
        best = min(attempts, key=lambda a: a.runq_wait_pct or 0.0)
        best.attempts = len(attempts)
        return best

    def _show(self, r: RunResult) -> None:
        intervals = (
            "no full 1 s interval"
            if r.slowest_interval_items_per_s is None
            else f"1 s intervals {r.slowest_interval_items_per_s:.0f}-"
            f"{r.fastest_interval_items_per_s or 0:.0f} items/s"
        )
        status = "ok" if not r.problems else "[red]" + "; ".join(r.problems) + "[/red]"
        self.console.print(
            f"  {r.mode:<16} N={r.pages:<5} round {r.round}: "
            f"{_f(r.pages_per_s_elapsed)} pages/s elapsed, {_f(r.pages_per_s_wall)} wall, "
            f"CPU {_f(r.cpu_pct_crawl, '{:.0f}')}% (run-queue wait "
            f"{_f(r.runq_wait_pct, '{:.0f}')}%), peak {r.peak_rss_mb:.0f} MB, "
            f"growth {r.growth_mb:+.1f} MB, {intervals} - {status}"
        )


def _disturbed(r: RunResult) -> bool:
    return r.runq_wait_pct is not None and r.runq_wait_pct > DISTURBED_PCT


def _round_orders(rounds: int) -> Iterator[tuple[int, tuple[str, str]]]:
    for i in range(rounds):
        yield i, ("full", "extraction-only") if i % 2 == 0 else ("extraction-only", "full")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # Piped output (a log file, CI) would wrap the tables at 80 columns.
    console = Console() if sys.stdout.isatty() else Console(width=150)
    n = args.pages
    if n < 1 or args.rounds < 1:
        console.print("--pages and --rounds must be positive")
        return 2
    extra = dict(item.split("=", 1) for item in args.set if "=" in item)
    if len(extra) != len(args.set):
        console.print("--set takes KEY=VALUE")
        return 2
    if n < 500:
        console.print(f"[yellow]note: {n} pages is below the 500 this benchmark is meant for")
    tmp = Path(tempfile.mkdtemp(prefix="bench-crawl-"))
    try:
        total = 2 * n if not args.no_scaling else n
        t0 = time.perf_counter()
        pages = generate_pages(total)
        site = write_site(tmp / "site", pages)
        size = sum(f.stat().st_size for f in site.rglob("index.html")) / max(1, len(pages))
        console.print(
            f"generated {total} pages ({size / 1024:.1f} KiB each) in {tmp} "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        runs: list[RunResult] = []
        scaling_runs: list[RunResult] = []
        with MirrorServer(tmp / "site") as mirror:
            ceiling = mirror_ceiling(mirror, [f"/{p.slug}/" for p in pages[:n]], args.concurrency)
            ctx = Context(
                mirror, site, tmp, args.concurrency, args.log_level, extra, args.retries, console
            )
            for round_no, order in _round_orders(args.rounds):
                for mode in order:
                    runs.append(ctx.crawl(mode, pages[:n], round_no))
            if not args.no_scaling:
                scaling_runs.append(ctx.crawl("full", pages, 0))

        by_mode = {m: [r for r in runs if r.mode == m] for m in ("full", "extraction-only")}
        modes = {m: summarize(rs) for m, rs in by_mode.items()}
        full, ext = modes["full"], modes["extraction-only"]

        def ratio(a: float | None, b: float | None) -> float | None:
            return a / b if a is not None and b else None

        r_el = ratio(full["pages_per_s_elapsed"], ext["pages_per_s_elapsed"])
        r_wall = ratio(full["pages_per_s_wall"], ext["pages_per_s_wall"])
        comparison = {
            "ratio": r_el,
            "storage_cost_pct": None if r_el is None else 100 * (1 - r_el),
            "ratio_wall": r_wall,
            "storage_cost_pct_wall": None if r_wall is None else 100 * (1 - r_wall),
        }
        scaling: dict[str, Any] | None = None
        if scaling_runs:
            big = scaling_runs[0]
            peak_n = full["peak_rss_mb"] or 0.0
            scaling = {
                "n": {"pages": n, **{k: full[k] for k in _SCALING_KEYS}},
                "2n": {"pages": big.pages, **{k: getattr(big, k) for k in _SCALING_KEYS}},
                "peak_ratio": big.peak_rss_mb / peak_n if peak_n else None,
                "mb_per_1000_pages": (big.peak_rss_mb - peak_n) * 1000 / n,
            }
        problems = [
            f"{r.mode} N={r.pages} round {r.round}: {p}"
            for r in (*runs, *scaling_runs)
            for p in r.problems
        ]
        result: dict[str, Any] = {
            "benchmark": "crawl",
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "config": {
                "pages": n,
                "rounds": args.rounds,
                "concurrency": args.concurrency,
                "log_level": args.log_level,
                "extra_settings": extra,
                "page_kib": round(size / 1024, 1),
                "seed": SEED,
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
            },
            "mirror_alone": ceiling,
            "modes": modes,
            "comparison": comparison,
            "scaling": scaling,
            "log_findings": collect_findings([*runs, *scaling_runs]),
            "problems": problems,
            "runs": [asdict(r) for r in (*runs, *scaling_runs)],
        }
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        RESULTS_JSON.write_text(json.dumps(result, indent=2, default=str) + "\n")
        console.print()
        print_report(console, result)
        return 1 if problems else 0
    finally:
        if args.keep_temp:
            console.print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
