"""The database URL, parsed once: what a --db value names, for the engine, locks and CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.crawl.lock import lock_dir
from aggregator.storage.url import DatabaseURL, resolve, storage_disabled
from tests.conftest import cli


def test_a_value_is_parsed_once_per_process() -> None:
    assert DatabaseURL.of("data/news.db") is DatabaseURL.of("data/news.db")
    url = DatabaseURL.of("data/news.db")
    assert DatabaseURL.of(url) is url


@pytest.mark.parametrize(
    ("given", "text", "backend"),
    [
        ("data/news.db", "sqlite:///data/news.db", "sqlite"),
        ("postgresql://u@h/news", "postgresql+psycopg://u@h/news", "postgresql"),
        ("postgres://u@h/news", "postgresql+psycopg://u@h/news", "postgresql"),
        ("postgresql+psycopg2://u@h/news", "postgresql+psycopg2://u@h/news", "postgresql"),
    ],
)
def test_what_a_value_names(given: str, text: str, backend: str) -> None:
    url = DatabaseURL.of(given)
    assert (url.text, url.backend, str(url)) == (text, backend, text)


@pytest.mark.parametrize("name", ["a?b.db", "a%20b.db", "a#b.db", "a b.db", "ü@x:y.db"])
def test_a_bare_path_names_that_file_whatever_its_characters(tmp_path: Path, name: str) -> None:
    assert DatabaseURL.of(str(tmp_path / name)).sqlite_path == tmp_path / name


def test_the_default_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGGREGATOR_DB_URL", raising=False)
    assert resolve(None) == "sqlite:///aggregator.db"
    monkeypatch.setenv("AGGREGATOR_DB_URL", "elsewhere.db")
    assert resolve(None) == "sqlite:///elsewhere.db"
    assert resolve("given.db") == "sqlite:///given.db"


@pytest.mark.parametrize(
    ("given", "path"),
    [
        ("sqlite:///data/news.db", Path("data/news.db")),
        ("sqlite:///file:data/news.db?mode=ro&uri=true", Path("data/news.db")),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file:mem?mode=memory&uri=true", None),
        ("postgresql+psycopg://u@h/news", None),
    ],
)
def test_the_sqlite_file_a_url_names(given: str, path: Path | None) -> None:
    assert DatabaseURL.of(given).sqlite_path == path


def test_read_only_urls_and_masked_passwords() -> None:
    assert DatabaseURL.of("sqlite:///file:x.db?mode=ro&uri=true").read_only
    assert DatabaseURL.of("sqlite:///file:x.db?immutable=1&uri=true").read_only
    assert not DatabaseURL.of("x.db").read_only
    shown = DatabaseURL.of("postgresql://user:s3cret@db.example/news").shown
    assert "s3cret" not in shown and "db.example" in shown


def test_storage_off() -> None:
    assert all(storage_disabled(v) for v in ("none", "OFF", " ", "false", "0"))
    assert not any(storage_disabled(v) for v in (None, "news.db", "sqlite://"))


def test_the_crawl_locks_sit_beside_the_file_the_url_names(tmp_path: Path) -> None:
    # SQLite's URI form names the same file as the plain form: one lock directory, so
    # crawls given the two spellings of one database still take turns.
    db = tmp_path / "news.db"
    plain = lock_dir(f"sqlite:///{db}")
    assert plain == db.resolve().with_suffix(".locks")
    assert lock_dir(f"sqlite:///file:{db}?mode=rwc&uri=true") == plain


def test_the_cli_creates_and_reads_the_file_named(tmp_path: Path) -> None:
    db = tmp_path / "news?2%20x.db"
    cli("db", "upgrade", "--db", str(db), check=True)
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".db"] == [db.name]
    assert cli("latest", "--db", str(db)).returncode == 0
