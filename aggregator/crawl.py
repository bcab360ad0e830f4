"""Run crawls in this process: what ``aggregator crawl`` and ``aggregator demo`` call."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Errors after which a run's results are not all in the database.
_INCOMPLETE = ("aggregator/errors/not_stored", "aggregator/errors/index_failed")


def run_status(stats: dict[str, Any]) -> str:
    """How a source's crawl ended, for people: "finished", "failed" (nothing could be
    fetched: the outlet is down, blocks us, or times out; a person should look),
    "incomplete" (articles were fetched but the database failed to store or index some)
    or Scrapy's own finish reason ("shutdown" on Ctrl-C, "closespider_..." limits)."""
    reason = str(stats.get("finish_reason", "unknown"))
    if reason != "finished":
        return reason
    if any(stats.get(key) for key in _INCOMPLETE):
        return "incomplete"
    ok = sum(
        int(v) for k, v in stats.items()
        if k.startswith("downloader/response_status_count/") and k.rsplit("/", 1)[1][:1] in "23"
    )  # fmt: skip
    return "finished" if ok else "failed"


@dataclass
class CrawlResult:
    """Stats of one source's crawl."""

    source: str
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def finish_reason(self) -> str:
        return str(self.stats.get("finish_reason", "unknown"))

    @property
    def status(self) -> str:
        """See :func:`run_status`."""
        return run_status(self.stats)

    def stat(self, key: str) -> int:
        return int(self.stats.get(key, 0) or 0)

    @property
    def articles_new(self) -> int:
        return self.stat("aggregator/stored/new")

    @property
    def articles_updated(self) -> int:
        return self.stat("aggregator/stored/updated") + self.stat("aggregator/stored/duplicate")

    @property
    def dropped(self) -> int:
        return sum(int(v) for k, v in self.stats.items() if k.startswith("aggregator/dropped/"))

    @property
    def errors(self) -> int:
        return sum(int(v) for k, v in self.stats.items() if k.startswith("aggregator/errors/"))


def project_settings(overrides: dict[str, Any] | None = None) -> Any:
    """The aggregator's Scrapy settings (as ``scrapy crawl`` sees them) plus ``overrides``."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "aggregator.settings")
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    for k, v in (overrides or {}).items():
        settings.set(k, v, priority="cmdline")
    return settings


def run_crawls(
    names: Iterable[str],
    *,
    overrides: dict[str, Any] | None = None,
    spider_args: dict[str, Any] | None = None,
) -> list[CrawlResult]:
    """Crawl the named sources concurrently in one Scrapy process; return their stats.

    A source that fails (unreachable, every page an error) does not stop the others.
    """
    from scrapy.crawler import CrawlerProcess

    settings = project_settings(overrides)
    settings.set("LOG_INSTALL_ROOT_HANDLER", True, priority="cmdline")
    process = CrawlerProcess(settings)
    crawlers = []
    for name in names:
        crawler = process.create_crawler(name)
        crawlers.append((name, crawler))
        process.crawl(crawler, **(spider_args or {}))
    process.start()
    results = []
    for name, crawler in crawlers:
        stats = crawler.stats.get_stats() if crawler.stats is not None else {}
        results.append(CrawlResult(name, dict(stats)))
    return results
