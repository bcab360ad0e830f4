"""Spiders: crawling only. One :class:`~spiders.news.NewsSpider` per registered source."""
