"""``scrapy shell URL``: Scrapy's shell, which only looks: it stores nothing and records
no crawl (its spider is opened like a crawl's, and the store would record a run of the
outlet that never ends)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.commands.shell import Command as ScrapyShell

if TYPE_CHECKING:
    import argparse


class Command(ScrapyShell):
    """Scrapy's shell with storage off (the URL's outlet spider is picked by domain)."""

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        self.settings.set("AGGREGATOR_DB_URL", "none", priority="cmdline")
