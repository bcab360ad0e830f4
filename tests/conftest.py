"""Shared test fixtures: corpora location, the fixture-site mirror, database backends.

Corpora (``../shared/corpora`` or ``$AGGREGATOR_CORPORA``) and services (PostgreSQL) are
absent on a user's machine: tests that need them skip with the reason, unless
``AGGREGATOR_REQUIRE_CORPORA=1`` / ``AGGREGATOR_REQUIRE_SERVICES=1`` (set by CI) turn the
skip into a failure.

Storage tests take the ``engine`` (or ``backend_url``) fixture and run once per backend:
SQLite in the test's temporary directory, and PostgreSQL (``$AGGREGATOR_TEST_PG_URL``,
default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) in a schema of its own,
created for the test and dropped after it, so runs never see each other's rows.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from aggregator.mirror import MirrorServer
from aggregator.storage.engine import db_url, make_engine, safe_url

PROJECT = Path(__file__).resolve().parent.parent
FIXTURES = PROJECT / "fixtures"


def corpora_root() -> Path:
    """Where the development corpora live (may not exist)."""
    env = os.environ.get("AGGREGATOR_CORPORA")
    return Path(env) if env else PROJECT.parent / "shared" / "corpora"


def require_corpus(name: str) -> Path:
    """The corpus directory, or skip (fail under AGGREGATOR_REQUIRE_CORPORA=1) if absent."""
    path = corpora_root() / name
    if not path.is_dir():
        reason = f"corpus {name!r} not found at {path} (set AGGREGATOR_CORPORA)"
        if os.environ.get("AGGREGATOR_REQUIRE_CORPORA") == "1":
            pytest.fail(reason + "; AGGREGATOR_REQUIRE_CORPORA=1 requires it")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def mirror() -> Iterator[MirrorServer]:
    """The bundled fixture site served on 127.0.0.1 for the whole test session."""
    with MirrorServer(FIXTURES / "site") as server:
        yield server


# -- database backends ---------------------------------------------------------------------

BACKENDS = ["sqlite", "postgresql"]
PG_URL_ENV = "AGGREGATOR_TEST_PG_URL"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# The probe's answer per server URL: None when it answered, else why not.
_PG_PROBED: dict[str, str | None] = {}


def require_service(reason: str) -> None:
    """Skip for ``reason``, or fail when ``AGGREGATOR_REQUIRE_SERVICES=1``."""
    if os.environ.get("AGGREGATOR_REQUIRE_SERVICES") == "1":
        pytest.fail(reason + "; AGGREGATOR_REQUIRE_SERVICES=1 requires it")
    pytest.skip(reason)


def _probe_pg(url: str) -> str | None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[dev]')"
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
        return (
            f"PostgreSQL not reachable at {safe_url(url)}: set {PG_URL_ENV} or start a "
            f"server ({detail})"
        )
    finally:
        engine.dispose()
    return None


def pg_server_url() -> str:
    """The test PostgreSQL server's URL (asked once per session), or skip / fail."""
    url = db_url(os.environ.get(PG_URL_ENV) or DEFAULT_PG_URL)
    if url not in _PG_PROBED:
        _PG_PROBED[url] = _probe_pg(url)
    reason = _PG_PROBED[url]
    if reason is not None:
        require_service(reason)
    return url


def with_search_path(url: str, schema: str) -> str:
    """``url`` whose connections work in ``schema`` (libpq ``options``, which SQLAlchemy
    passes to the driver as a connect argument; in the URL, so subprocesses get it too)."""
    parsed = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)


@contextmanager
def pg_schema(server_url: str) -> Iterator[str]:
    """A new, randomly named schema on the server; yields a URL that uses it, and drops
    the schema with everything in it afterwards."""
    name = f"aggtest_{secrets.token_hex(6)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {name}")
        yield with_search_path(server_url, name)
    finally:
        with admin.connect() as conn:
            # A connection left inside a transaction would hold locks the drop waits for:
            # fail the teardown rather than hang.
            conn.exec_driver_sql("SET lock_timeout = '20s'")
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        admin.dispose()


@contextmanager
def backend_database(backend: str, directory: Path) -> Iterator[str]:
    """A URL of an empty database on ``backend``: a SQLite file in ``directory``, or a
    fresh PostgreSQL schema (skips or fails when no server answers)."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'news.db'}"
        return
    with pg_schema(pg_server_url()) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database per test, once on SQLite and once on PostgreSQL."""
    with backend_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """An empty PostgreSQL schema only, for what SQLite does not have."""
    with pg_schema(pg_server_url()) as url:
        yield url


@pytest.fixture
def engine(backend_url: str) -> Iterator[Engine]:
    """An engine on an empty database at the current schema, on each backend."""
    eng = make_engine(backend_url)
    yield eng
    eng.dispose()


@pytest.fixture
def other_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A second, independent empty database on the same backend as ``engine``."""
    backend = request.node.callspec.params["backend_url"]
    directory = tmp_path / "other"
    directory.mkdir()
    with backend_database(backend, directory) as url:
        eng = make_engine(url)
        yield eng
        eng.dispose()


_VOCAB = (
    "studio cast trailer premiere finale episode director writer critics fans ratings "
    "streaming schedule sequel spinoff producer actor actress award festival release "
    "netflix hbo prime network showrunner script casting teaser poster soundtrack"
).split()


def distinct_body(n: int) -> str:
    """A body of its own for test article ``n``: no two share enough text to be linked
    as near-duplicates. Every one mentions "the zombie series" (for search tests)."""
    import random

    rng = random.Random(n)
    sentences = [
        " ".join(rng.choice(_VOCAB) for _ in range(10)) + f" of the zombie series {n}."
        for _ in range(8)
    ]
    return f"Story {n} unique opening. " + " ".join(sentences)
