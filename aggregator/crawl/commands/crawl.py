"""``scrapy crawl SOURCE``: Scrapy's command, with the checks ``aggregator crawl`` makes."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

if TYPE_CHECKING:
    import argparse

    from aggregator.crawl.lock import PgSourceLocks, SourceLocks


class Command(ScrapyCrawl):
    """Run one outlet's spider; refused (exit 75) while another crawl holds its lock."""

    lock: SourceLocks | PgSourceLocks | None = None

    def long_desc(self) -> str:
        return (
            "Run a spider of the current project, by name. Spider arguments are checked "
            "first (a bad one is a usage error, exit 2); the source's crawl lock is held as "
            "by `aggregator crawl` (exit 75 when another crawl of it runs on the database)."
        )

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        """Scrapy's, then the spider's name and arguments (a usage error, exit 2) and the
        source's lock (exit 75), before Scrapy starts: one line, not a traceback from
        inside Scrapy nor its start-up log."""
        super().process_options(args, opts)
        if len(args) != 1:
            return  # Scrapy's run() says what is wrong
        from scrapy.spiderloader import get_spider_loader

        assert self.settings is not None
        loader = get_spider_loader(self.settings)
        if args[0] not in loader.list():
            raise UsageError(f"no spider {args[0]!r} (`scrapy list` names them)", print_help=False)
        check = getattr(loader.load(args[0]), "check_arguments", None)
        if check is not None:
            try:
                check(**opts.spargs)
            except ValueError as exc:
                raise UsageError(f"-a {exc}", print_help=False) from None
        self._lock(args[0])

    def _lock(self, source: str) -> None:
        """Take the source's crawl lock, or exit 75 with one line (the refusal recorded)."""
        from sqlalchemy.exc import SQLAlchemyError

        from aggregator.crawl.lock import EXIT_LOCKED, LockedError, crawl_locks

        assert self.settings is not None
        try:
            self.lock = crawl_locks(self.settings.get("AGGREGATOR_DB_URL"), [source])
        except LockedError as exc:
            sys.stderr.write(f"scrapy crawl: {exc}\n")
            sys.exit(EXIT_LOCKED)
        except (SQLAlchemyError, OSError):
            # The database (PostgreSQL's locks are its own) does not answer: nothing could
            # be stored, and the store pipeline says so once, masked, and closes the spider
            # before any request is made.
            self.lock = None

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        try:
            super().run(args, opts)
        finally:
            if self.lock is not None:
                self.lock.release()
