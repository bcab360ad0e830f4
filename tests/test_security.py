"""Security properties that cut across layers: credentials never printed, crawls stay on
their outlets' domains, only http(s) is ever requested."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.discovery import parse_feed, parse_listing
from aggregator.sources import load_sources
from tests.conftest import cli, require_service

SECRET = "s3cr3t-Pa55"
# Nothing listens on port 9: the connection fails, and the error must not echo the password.
DB_WITH_PASSWORD = f"postgresql+psycopg://aggregator:{SECRET}@127.0.0.1:9/news"


def _require_psycopg() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        require_service("psycopg is not installed (pip install -e '.[dev]')")


@pytest.mark.parametrize(
    "args",
    [
        ["crawl", "dualshockers", "--db", DB_WITH_PASSWORD],
        ["latest", "--db", DB_WITH_PASSWORD],
        ["search", "netflix", "--db", DB_WITH_PASSWORD],
        ["demo", "--db", DB_WITH_PASSWORD],
    ],
)
def test_password_in_db_url_is_never_printed(args: list[str]) -> None:
    _require_psycopg()
    out = cli(*args, timeout=120)
    assert out.returncode == 2, out.stderr
    assert "cannot open database postgresql+psycopg://aggregator:***@127.0.0.1:9/news" in out.stderr
    assert SECRET not in out.stdout + out.stderr
    assert "Traceback" not in out.stderr


def test_password_in_env_url_is_not_logged_by_scrapy_crawl(tmp_path: Path) -> None:
    """`scrapy crawl` reads the URL from the environment: a database that does not answer
    is reported once, masked, and the spider closes before fetching anything."""
    _require_psycopg()
    env = {"AGGREGATOR_DB_URL": DB_WITH_PASSWORD,
           "AGGREGATOR_HOST_MAP": "www.dualshockers.com=127.0.0.1:9"}  # fmt: skip
    out = cli("crawl", "dualshockers", prog="scrapy", env=env, timeout=120)
    assert SECRET not in out.stdout + out.stderr
    assert "cannot open database postgresql+psycopg://aggregator:***@127.0.0.1:9/news" in out.stderr
    assert "'finish_reason': 'database_unavailable'" in out.stderr
    assert "downloader/request_count" not in out.stderr  # nothing fetched
    assert "Traceback" not in out.stderr, out.stderr[-3000:]


def test_discovery_never_yields_other_schemes() -> None:
    feed = b"""<rss><channel>
      <item><link>javascript:alert(1)</link></item>
      <item><link>mailto:tips@dualshockers.com</link></item>
      <item><link>data:text/html,hi</link></item>
      <item><link>ftp://www.dualshockers.com/a-b/</link></item>
      <item><link>https://www.dualshockers.com/real-article-here/</link></item>
    </channel></rss>"""
    urls = [e.url for e in parse_feed(feed, "https://www.dualshockers.com/feed/")]
    assert urls == ["https://www.dualshockers.com/real-article-here/"]
    links, _ = parse_listing(
        "<a href='javascript:void(0)'>x</a><a href='mailto:a@b.c'>y</a>"
        "<a href='//evil.example/a-b-c/'>z</a><a href='/real-article-here/'>ok</a>",
        "https://www.dualshockers.com/news/",
    )
    assert links == [
        "https://evil.example/a-b-c/",
        "https://www.dualshockers.com/real-article-here/",
    ]
    src = load_sources()["dualshockers"]
    assert [u for u in links if src.is_article(u)] == [
        "https://www.dualshockers.com/real-article-here/"
    ]  # the off-site link is never requested


def test_every_source_confines_its_spider_to_its_domains() -> None:
    from aggregator.spiders.news import spider_for

    for src in load_sources().values():
        spider = spider_for(src)()
        assert set(spider.allowed_domains) == set(src.domains)
        for pattern_url in ("https://evil.example/", "https://evil.example/some-long-article/"):
            assert not src.is_article(pattern_url)
