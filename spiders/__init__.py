"""Spiders: crawling only. One :class:`~aggregator.spiders.news.NewsSpider` per registered source
(``spiders/`` installs as ``aggregator.spiders``, see pyproject.toml)."""
