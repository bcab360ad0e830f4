"""Log lines sized for people reading crawl logs and cron mail."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.logformatter import LogFormatter, LogFormatterResult


class AggregatorLogFormatter(LogFormatter):
    """Scrapy's formatter, except that a dropped item is one INFO line with the reason.

    Drops are routine (a duplicate URL, a page without a body) and already counted per
    reason in the run's stats; Scrapy logs each as a WARNING with the whole item,
    several kilobytes of article text per line.
    """

    def dropped(self, item: Any, exception: BaseException, response: Any, spider: Any,
                ) -> LogFormatterResult:  # fmt: skip
        return {
            "level": logging.INFO,
            "msg": "Dropped: %(exception)s",
            "args": {"exception": exception},
        }
