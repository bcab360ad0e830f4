"""The crawl wing: Scrapy settings, the runner, per-source locks, run stats, backoff,
host map, progress and log filtering. Spiders and pipelines (``spiders/``,
``pipelines/``) are wired to it by Scrapy's dotted settings."""

from aggregator.crawl.runner import CrawlResult, project_settings, run_crawls
from aggregator.crawl.stats import run_figures, run_status

__all__ = ["CrawlResult", "project_settings", "run_crawls", "run_figures", "run_status"]
