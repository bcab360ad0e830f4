"""``scrapy check`` contracts for the outlet spiders, against the bundled fixture site.

Every outlet's spider gets two contracts (:func:`add_contracts`): its first discovery URL
(feed, else sitemap, else listing page, from the registry) must lead to at least one
article request, and one of its article pages in the fixture site must give exactly one
article with a headline, a body and a publication date. The fixture pages are made for
the tests (their URLs are not the outlets' real pages), so the contracts hold against
the fixture site served locally: ``scrapy check`` serves it itself (see
:mod:`aggregator.crawl.commands.check`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.contracts import Contract
from scrapy.exceptions import ContractFail
from scrapy.http import Response

from aggregator.items import ArticleItem
from aggregator.sources import Source

if TYPE_CHECKING:
    from .news import NewsSpider

# The fields an article from an outlet's fixture page must have.
REQUIRED_FIELDS = ("title", "body", "published")


class FillsContract(Contract):
    """``@fills field ...``: every article returned has these fields, not empty.

    (Scrapy's ``@scrapes`` only checks that the field exists, which every field of a
    dataclass item always does.)"""

    name = "fills"

    def post_process(self, output: list[Any]) -> None:
        for item in output:
            if isinstance(item, ArticleItem):
                empty = [f for f in self.args if not getattr(item, f, None)]
                if empty:
                    raise ContractFail(f"{item.url}: empty {', '.join(empty)}")


def fixture_articles(site: Path, src: Source) -> list[str]:
    """The URLs of ``src``'s article pages in a fixture site laid out as the mirror serves
    it: ``<host>/<path>.html`` is ``https://<host>/<path>.html``, ``<host>/<path>/index.html``
    is ``https://<host>/<path>/`` (or ``.../<path>`` where the outlet's article URLs end
    without a slash)."""
    urls: list[str] = []
    if not site.is_dir():
        return urls
    for host in sorted(p for p in site.iterdir() if p.is_dir()):
        if not src.owns(f"https://{host.name}/"):
            continue
        for page in sorted(host.rglob("*.html")):
            base = f"https://{host.name}/"
            if page.name != "index.html":
                candidates = [base + page.relative_to(host).as_posix()]
            elif page.parent != host:
                path = base + page.parent.relative_to(host).as_posix()
                candidates = [path + "/", path]
            else:
                continue
            urls += [u for u in candidates if src.is_article(u)][:1]
    return urls


def _discovery(src: Source) -> tuple[str, str] | None:
    """The first discovery URL and the callback that reads it."""
    for urls, callback in ((src.feeds, "parse_feed"), (src.sitemaps, "parse_sitemap"),
                           (src.listings, "parse_listing")):  # fmt: skip
        if urls:
            return urls[0], callback
    return None


def _calling(callback: str, doc: str) -> Callable[..., Any]:
    """A method that hands the response to ``callback`` and carries the contract ``doc``
    (Scrapy reads contracts from the docstrings of the spider's methods)."""
    if callback == "parse_article":

        async def check_article(self: NewsSpider, response: Response) -> AsyncIterator[Any]:
            async for out in self.parse_article(response):
                yield out

        method: Callable[..., Any] = check_article
    else:

        def check_discovery(self: NewsSpider, response: Response) -> Any:
            return getattr(self, callback)(response)

        method = check_discovery
    method.__doc__ = doc
    return method


def add_contracts(cls: type[NewsSpider], site: Path) -> list[str]:
    """Give the outlet spider ``cls`` its contracts against the fixture site at ``site``;
    the names of the methods that carry them."""
    src = cls.source
    added = []
    found = _discovery(src)
    if found is not None:
        url, callback = found
        doc = f"Discovery ({callback}) finds articles.\n@url {url}\n@returns requests 1\n"
        cls.check_discovery = _calling(callback, doc)  # type: ignore[attr-defined]
        added.append("check_discovery")
    articles = fixture_articles(site, src)
    if articles:
        doc = (
            f"An article page gives one complete article.\n@url {articles[0]}\n"
            f"@returns items 1 1\n@returns requests 0 0\n@fills {' '.join(REQUIRED_FIELDS)}\n"
        )
        cls.check_article = _calling("parse_article", doc)  # type: ignore[attr-defined]
        added.append("check_article")
    return added
