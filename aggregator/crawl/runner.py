"""Run crawls in this process: what ``aggregator crawl`` and ``aggregator demo`` call."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from aggregator.crawl.stats import run_figures
from aggregator.storage.runs import RunFigures

# The finish reason of a crawl whose spider could not be made (Scrapy logs why).
NOT_STARTED = "not_started"


@dataclass
class CrawlResult:
    """Stats of one source's crawl."""

    source: str
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def finish_reason(self) -> str:
        return str(self.stats.get("finish_reason", "unknown"))

    def stat(self, key: str) -> int:
        return int(self.stats.get(key, 0) or 0)

    @cached_property
    def figures(self) -> RunFigures:
        """Status and figures, as the run's ``crawl_runs`` row records them."""
        return run_figures(self.stats)

    @property
    def status(self) -> str:
        """See :func:`~aggregator.crawl.stats.run_status`."""
        return self.figures.status

    @property
    def articles_new(self) -> int:
        return self.figures.new

    @property
    def articles_updated(self) -> int:
        return self.figures.updated

    @property
    def dropped(self) -> int:
        return self.figures.dropped

    @property
    def errors(self) -> int:
        return self.figures.errors


def project_settings(overrides: dict[str, Any] | None = None) -> Any:
    """The aggregator's Scrapy settings (as ``scrapy crawl`` sees them) plus ``overrides``."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "aggregator.crawl.settings")
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

    from aggregator.crawl.logfilter import log_setup_once

    settings = project_settings(overrides)
    settings.set("LOG_INSTALL_ROOT_HANDLER", True, priority="cmdline")
    log_setup_once()  # the crawlers share their settings: list them once, not per source
    process = CrawlerProcess(settings)
    crawlers = []
    for name in names:
        crawler = process.create_crawler(name)
        crawlers.append((name, crawler))
        process.crawl(crawler, **(spider_args or {}))
    process.start()
    results = []
    for name, crawler in crawlers:
        try:
            stats = dict(crawler.stats.get_stats())
        except RuntimeError:  # the crawl never started (its spider could not be made)
            stats = {"finish_reason": NOT_STARTED}
        results.append(CrawlResult(name, stats))
    return results
