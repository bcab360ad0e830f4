"""``scrapy check [SOURCE ...]``: the outlets' contracts (see
:mod:`aggregator.spiders.contracts`) against the bundled fixture site, which this command
serves on 127.0.0.1 for the run unless ``AGGREGATOR_HOST_MAP`` routes the hosts already."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.commands.check import Command as ScrapyCheck

if TYPE_CHECKING:
    import argparse


class Command(ScrapyCheck):
    """Scrapy's contract check, with every outlet's contracts and its fixture site."""

    def long_desc(self) -> str:
        return (
            "Check the outlet spiders' contracts against the bundled fixture site (served on "
            "127.0.0.1 for the run, unless AGGREGATOR_HOST_MAP is set)."
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        from aggregator.mirror import MirrorServer, default_site_root
        from aggregator.spiders.contracts import add_contracts

        assert self.crawler_process is not None and self.settings is not None
        site = default_site_root()
        loader = self.crawler_process.spider_loader
        for name in args or loader.list():
            spidercls = loader.load(name)
            if hasattr(spidercls, "source"):
                add_contracts(spidercls, site)
        if self.settings.get("AGGREGATOR_HOST_MAP") or opts.list:
            super().run(args, opts)
            return
        with MirrorServer(site) as server:
            for settings in (self.settings, self.crawler_process.settings):
                if not settings.frozen:
                    settings.set("AGGREGATOR_HOST_MAP", server.host_map(), priority="cmdline")
            super().run(args, opts)
