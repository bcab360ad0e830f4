"""Storage: models, engine, upserts and queries (SQLite by default, any SQLAlchemy URL)."""

from aggregator.normalize.text import body_hash
from aggregator.storage.database import make_engine
from aggregator.storage.engine import db_url, safe_url
from aggregator.storage.query import Filters, Query, SearchHit, article_dict
from aggregator.storage.search import SearchSyntaxError
from aggregator.storage.store import ArticleStore

__all__ = [
    "ArticleStore",
    "Filters",
    "Query",
    "SearchHit",
    "SearchSyntaxError",
    "article_dict",
    "body_hash",
    "db_url",
    "make_engine",
    "safe_url",
]
