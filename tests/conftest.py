"""Shared test fixtures: corpora location, the fixture-site mirror, service checks.

Corpora (``../shared/corpora`` or ``$AGGREGATOR_CORPORA``) and services (PostgreSQL) are
absent on a user's machine: tests that need them skip with the reason, unless
``AGGREGATOR_REQUIRE_CORPORA=1`` / ``AGGREGATOR_REQUIRE_SERVICES=1`` (set by CI) turn the
skip into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.mirror import MirrorServer

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
