"""The database as other tools see it: Datasette and sqlite-utils find the full-text index
and search it, and Datasette links rows through the declared foreign keys."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from aggregator.aggregate.index import indexed_store
from aggregator.items import ArticleItem
from aggregator.storage import make_engine
from tests.conftest import cli, distinct_body

datasette_app = pytest.importorskip("datasette.app", reason="datasette is a dev dependency")
sqlite_utils = pytest.importorskip("sqlite_utils", reason="sqlite-utils is a dev dependency")

ARTICLES = [
    ArticleItem(url=f"https://news.example/{n}/", canonical_url=f"https://news.example/{n}/",
                source="example", title=title, body=f"{body} {distinct_body(n)}")
    for n, title, body in (
        (1, "Netflix renews the zombie hit", "All of Us Are Dead returns."),
        (2, "Hulu drops a trailer", "A comedy about chefs."),
        (3, "A festival lineup", "Bands and dates announced."),
    )
]  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "news.db"
    engine = make_engine(f"sqlite:///{path}")
    indexed_store(engine).upsert(ARTICLES)
    engine.dispose()
    return path


def datasette_get(db: Path, path: str) -> Any:
    """``path`` of a Datasette serving ``db``, through its Python API (no server)."""

    async def get() -> Any:
        ds = datasette_app.Datasette([str(db)])
        response = await ds.client.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    return asyncio.run(get())


def test_datasette_finds_and_searches_the_fulltext_index(db: Path) -> None:
    rows = datasette_get(db, "/news/articles.json?_search=chefs&_shape=array")
    assert [r["title"] for r in rows] == ["Hulu drops a trailer"]
    rows = datasette_get(db, "/news/articles.json?_search=dead&_shape=array")
    assert [r["title"] for r in rows] == ["Netflix renews the zombie hit"]

    async def fts_table() -> str | None:
        ds = datasette_app.Datasette([str(db)])
        return await ds.get_database("news").fts_table("articles")  # type: ignore[no-any-return]

    assert asyncio.run(fts_table()) == "articles_fts"


def test_sqlite_utils_search(db: Path) -> None:
    table = sqlite_utils.Database(db)["articles"]
    assert table.detect_fts() == "articles_fts"
    assert [r["title"] for r in table.search("chefs")] == ["Hulu drops a trailer"]
    out = cli("search", str(db), "articles", "lineup", prog="sqlite-utils", cwd=None, check=True)
    assert [r["title"] for r in json.loads(out.stdout)] == ["A festival lineup"]


def test_datasette_links_rows_through_the_foreign_keys(db: Path) -> None:
    rows = datasette_get(db, "/news/articles.json?_shape=array&_labels=on")
    # Expanded through articles.story_id -> stories.id: a link, not a bare number.
    assert all(isinstance(r["story_id"], dict) and r["story_id"]["value"] for r in rows)
    row = datasette_get(db, "/news/articles/1.json?_extras=foreign_key_tables")
    linked = {(t["other_table"], t["other_column"]): t["count"] for t in row["foreign_key_tables"]}
    assert linked[("lsh_keys", "article_id")] > 0 and linked[("story_terms", "article_id")] > 0
    assert ("articles", "duplicate_of") in linked
