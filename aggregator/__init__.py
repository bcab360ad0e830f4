"""entertainment-news-aggregator: crawl entertainment outlets, extract, dedup, store, query."""

__version__ = "0.1.0"
