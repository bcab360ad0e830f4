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

import ast
import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from aggregator.mirror import MirrorServer
from aggregator.scoring import corpora_root
from aggregator.storage.database import make_engine
from aggregator.storage.engine import db_url, safe_url

PROJECT = Path(__file__).resolve().parent.parent
FIXTURES = PROJECT / "fixtures"
# The virtualenv's scripts: `aggregator`, `scrapy`.
BIN = Path(sys.executable).parent
# The seed article, in the fixture site and in the demo corpus.
SEED_URL = "https://www.dualshockers.com/all-of-us-are-dead-season-2-confirmed-netflix/"
SEED_EXPECTED = (
    FIXTURES / "expected/dualshockers/all-of-us-are-dead-season-2-confirmed-netflix.json"
)
# For a crawl whose Scrapy stats are read from its log (they are dumped at INFO).
LOG_INFO = {"AGGREGATOR_LOG_LEVEL": "INFO"}
# `aggregator feed` needs the address the feed is published at (no default); the tests
# that are not about it run as a user who set it once. tests/test_aggregate_feeds.py
# checks the usage error without it.
FEED_BASE_URL = "https://feeds.test/news"
os.environ.setdefault("AGGREGATOR_BASE_URL", FEED_BASE_URL)


def skip_or_fail(reason: str, env_var: str) -> None:
    """Skip for ``reason``, or fail when ``$env_var`` is ``1`` (CI sets it)."""
    if os.environ.get(env_var) == "1":
        pytest.fail(f"{reason}; {env_var}=1 requires it")
    pytest.skip(reason)


def require_service(reason: str) -> None:
    """Skip for ``reason``, or fail when ``AGGREGATOR_REQUIRE_SERVICES=1``."""
    skip_or_fail(reason, "AGGREGATOR_REQUIRE_SERVICES")


def require_corpus(name: str) -> Path:
    """The corpus directory, or skip (fail under AGGREGATOR_REQUIRE_CORPORA=1) if absent."""
    path = corpora_root() / name
    if not path.is_dir():
        reason = f"corpus {name!r} not found at {path} (set AGGREGATOR_CORPORA)"
        skip_or_fail(reason, "AGGREGATOR_REQUIRE_CORPORA")
    return path


def expected_seed() -> dict[str, Any]:
    """The seed article's expected fields (``fixtures/expected``)."""
    data: dict[str, Any] = json.loads(SEED_EXPECTED.read_text(encoding="utf-8"))
    return data


def jsonl(text: str) -> list[dict[str, Any]]:
    """The objects of JSON Lines output (blank lines ignored)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# -- subprocesses --------------------------------------------------------------------------


def cli(
    *args: str,
    prog: str = "aggregator",
    env: Mapping[str, str] | None = None,
    cwd: Path | None = PROJECT,
    timeout: float = 180,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``BIN/prog args`` (``aggregator`` or ``scrapy``) to completion, output captured.

    ``env`` is added to this process's environment; ``cwd=None`` inherits ours. With
    ``check``, a non-zero exit fails with the command's output."""
    cmd = [str(BIN / prog), *args]
    proc = subprocess.run(
        cmd, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


_DATETIME = re.compile(r"datetime\.datetime\((?:[^()]|\([^()]*\))*\)")


def stats_dump(log: str) -> dict[str, Any]:
    """The 'Dumping Scrapy stats' dict of a crawl log (datetimes become None)."""
    start = log.index("{", log.index("Dumping Scrapy stats:"))
    end = log.index("}\n", start) + 1
    value: dict[str, Any] = ast.literal_eval(_DATETIME.sub("None", log[start:end]))
    return value


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


@contextmanager
def other_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A second, independent empty database on ``backend`` (in ``tmp_path / "other"``)."""
    directory = tmp_path / "other"
    directory.mkdir()
    with backend_database(backend, directory) as url:
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
    with other_database(request.node.callspec.params["backend_url"], tmp_path) as url:
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


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """List the browser test's screenshots (tests/test_web_browser.py), also when worker
    processes (`-n`) wrote them under their own temporary directories."""
    if hasattr(config, "workerinput"):
        return
    chosen = os.environ.get("AGGREGATOR_SCREENSHOTS")
    if chosen:
        files = sorted(Path(chosen).glob("*.png"))
    else:
        factory = getattr(config, "_tmp_path_factory", None)
        base = getattr(factory, "_basetemp", None)  # None: no test used a temporary path
        files = sorted(Path(base).glob("**/screenshots/*.png")) if base else []
    if files:
        terminalreporter.write_line("")
        terminalreporter.write_line(f"screenshots ({len(files)}):")
        for f in files:
            terminalreporter.write_line(f"  {f}")
