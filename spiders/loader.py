"""Scrapy spider loader that turns every source-registry entry into a spider."""

from __future__ import annotations

from scrapy.settings import BaseSettings
from scrapy.spiderloader import SpiderLoader

from aggregator.sources import load_sources

from .news import spider_for


class SourceSpiderLoader(SpiderLoader):
    """Hand-written spiders from ``SPIDER_MODULES`` plus one spider per source in the
    registry file named by the ``AGGREGATOR_SOURCES`` setting (bundled file by default)."""

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        for src in load_sources(settings.get("AGGREGATOR_SOURCES") or None).values():
            self._spiders.setdefault(src.name, spider_for(src))
