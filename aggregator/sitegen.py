"""A synthetic news site: distinct DualShockers articles, served by the mirror.

``generate_pages(n)`` makes ``n`` articles (seeded, so deterministic; slugs, titles and
body hashes all distinct), ``write_site(root, pages)`` renders them into
``root/www.dualshockers.com/<slug>/index.html`` the way :class:`aggregator.mirror.MirrorServer`
serves a fixture site, with ``robots.txt``, an RSS feed (``/feed/``, newest 10) and two
listing pages (``/news/``, ``/news/2/``), and ``write_sitemap(site, pages)`` writes the
Google News sitemap listing exactly ``pages``. The spider then discovers the articles
through its normal paths, as on the real site (feed and listing overlap the sitemap).

Every page is the fixture page
``fixtures/site/www.dualshockers.com/all-of-us-are-dead-season-2-confirmed-netflix/``
(found as the mirror finds its site: :func:`aggregator.mirror.default_site_root`) with its
title, description, canonical/og:url, JSON-LD headline and dates, author, image, article
id, in-page links and body paragraphs replaced. Body paragraphs are assembled from a seeded
random choice of sentence templates and slot values, so every body is distinct (checked
with the store's own ``body_hash``: the in-run and database-side body dedup cannot
collapse two pages); slugs are checked against the source's ``article_pattern``.

Used by the crawl benchmark (``python -m benchmarks.crawl``) and the crash-safety tests
(``tests/test_crash.py``).
"""

from __future__ import annotations

import html
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from aggregator.mirror import default_site_root
from aggregator.normalize.text import body_hash
from aggregator.sources import load_sources

HOST = "www.dualshockers.com"
BASE = f"https://{HOST}"
# The source whose spider crawls the generated site (its article_pattern checks the slugs).
SPIDER = "dualshockers"
TEMPLATE_SLUG = "all-of-us-are-dead-season-2-confirmed-netflix"
SEED = 20220606
# Newest article first; one every 47 minutes back from here (always in the past).
NEWEST = datetime(2022, 6, 6, 16, 5, tzinfo=timezone.utc)


def template_path() -> Path:
    """The fixture page every generated page is rendered from. Looked up when called, not
    at import, so ``AGGREGATOR_FIXTURES`` set later (as the mirror honours it) is seen."""
    return default_site_root() / HOST / TEMPLATE_SLUG / "index.html"


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
    """``text.replace(old, new)``, failing loudly when the template no longer has ``old``.

    SystemExit, as when this lived in the benchmark: a changed fixture page is a setup
    error to read, not a bug to trace (a test using the generator fails with it too)."""
    found = text.count(old)
    if found < at_least:
        where = template_path()
        raise SystemExit(f"template {where} changed: {old!r} found {found}x (< {at_least})")
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
        raise SystemExit(f"template {template_path()} changed: no article-body section")
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


def sitemap_xml(pages: Sequence[Page]) -> str:
    """A Google News sitemap of ``pages`` (written by :func:`write_sitemap`)."""
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


def feed_xml(pages: Sequence[Page]) -> str:
    """An RSS 2.0 feed of ``pages`` (written by :func:`write_site`)."""
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
    template = template_path().read_text(encoding="utf-8")
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
    (site / "feed" / "index.xml").write_text(feed_xml(pages[:10]), encoding="utf-8")
    (site / "news" / "2").mkdir(parents=True, exist_ok=True)
    (site / "news" / "index.html").write_text(_listing(pages[:10], 1, True), encoding="utf-8")
    (site / "news" / "2" / "index.html").write_text(
        _listing(pages[10:20], 2, False), encoding="utf-8"
    )
    return site


def write_sitemap(site: Path, pages: Sequence[Page]) -> None:
    """The news sitemap, listing exactly ``pages`` (N or 2N of the generated ones)."""
    (site / "sitemap_news.xml").write_text(sitemap_xml(pages), encoding="utf-8")
