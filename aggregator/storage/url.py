"""The database a user names, parsed once: :class:`DatabaseURL`.

One owner of what a database setting means: ``--db``/``AGGREGATOR_DB_URL`` resolved
(a bare path is a SQLite file, ``postgresql://`` means the psycopg driver, ``none`` turns
storage off), the SQLAlchemy URL, whether it names a SQLite file and which, the password
masked for messages. The engine, the crawl locks and the CLI all ask it; none parses a
URL itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy.engine import URL, make_url

DEFAULT_DB_URL = "sqlite:///aggregator.db"
ENV_DB_URL = "AGGREGATOR_DB_URL"

# URL schemes without a driver name mean the driver the `postgres` extra installs
# (SQLAlchemy's default for them, psycopg2, is not a dependency).
_PG_SCHEMES = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}
_OFF = frozenset({"", "none", "off", "false", "0"})


def storage_disabled(value: str | None) -> bool:
    """True for the values that turn storage off (``none``, ``off``, empty)."""
    return value is not None and str(value).strip().lower() in _OFF


def resolve(value: str | None = None) -> str:
    """The database URL text: ``value``, else ``AGGREGATOR_DB_URL``, else
    ``./aggregator.db``. A bare file path (``data/news.db``) is taken as a SQLite file,
    whatever its characters (``?``, ``#``, ``%``: quoted in the URL, so that the URL names
    that file); ``postgresql://`` and ``postgres://`` mean ``postgresql+psycopg://``."""
    url = value or os.environ.get(ENV_DB_URL) or DEFAULT_DB_URL
    if "://" not in url:
        path = str(Path(url).expanduser())
        return URL.create("sqlite", database=path).render_as_string(hide_password=False)
    scheme, sep, rest = url.partition("://")
    return f"{_PG_SCHEMES.get(scheme, scheme)}{sep}{rest}"


@dataclass(frozen=True)
class DatabaseURL:
    """A resolved database URL and what it names. Build it with :meth:`of`."""

    text: str
    """The SQLAlchemy URL, driver names filled in (what engines are created from)."""
    url: URL
    """The parsed URL."""

    @classmethod
    def of(cls, value: str | DatabaseURL | None = None) -> DatabaseURL:
        """The database ``value`` names (see :func:`resolve`), parsed once per process
        for each text. Raises ``ValueError`` (SQLAlchemy's ``ArgumentError``) for text
        that is no URL."""
        if isinstance(value, DatabaseURL):
            return value
        return _parse(resolve(value))

    @property
    def backend(self) -> str:
        """``sqlite``, ``postgresql``, ..."""
        return self.url.get_backend_name()

    @property
    def shown(self) -> str:
        """The URL with any password masked, for logs and messages."""
        return self.url.render_as_string(hide_password=True)

    @property
    def sqlite_path(self) -> Path | None:
        """The file of a SQLite database; None for an in-memory one or another backend.
        SQLite's URI form, ``sqlite:///file:data/news.db?mode=ro&uri=true``, names
        ``data/news.db``."""
        if self.backend != "sqlite":
            return None
        database = self.url.database or ""
        query = {k: str(v).lower() for k, v in self.url.query.items()}
        if query.get("uri") in ("true", "1") and database.startswith("file:"):
            if query.get("mode") == "memory":
                return None
            database = unquote(urlsplit(database).path)
        if database in ("", ":memory:"):
            return None
        return Path(database).expanduser()

    @property
    def read_only(self) -> bool:
        """Whether a SQLite URL itself asks for read-only access (``mode=ro``,
        ``immutable``)."""
        query = {k: str(v).lower() for k, v in self.url.query.items()}
        return query.get("mode") == "ro" or query.get("immutable") in ("1", "true")

    def __str__(self) -> str:
        return self.text


@lru_cache(maxsize=64)
def _parse(text: str) -> DatabaseURL:
    return DatabaseURL(text, make_url(text))
