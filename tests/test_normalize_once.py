"""The extractor cleans each field once and normalization does not clean it again
(:func:`~aggregator.normalize.item.normalize_item`): so every item the extractor hands
over must already be clean, which is checked here on every saved page of the fixtures,
each through the extractor the registry binds to its outlet (the per-site ones too)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from aggregator.extract import extract_article, extractor_for_source
from aggregator.extract.batch import read_page
from aggregator.items import ArticleItem
from aggregator.normalize.item import clean_fields, normalize_item
from aggregator.sources import load_sources, source_for_url
from tests.conftest import FIXTURES

FETCHED = datetime(2022, 8, 1, tzinfo=timezone.utc)
PAGES = sorted(
    p.relative_to(FIXTURES)
    for p in FIXTURES.rglob("*")
    if p.name.endswith((".html", ".html.gz")) and p.parts[len(FIXTURES.parts)] != "expected"
)


def _url(page: Path) -> str:
    """The URL the mirror serves ``page`` at: ``site/<host>/a/b/index.html`` is
    ``https://<host>/a/b/``."""
    host, *rest = page.parts[1:]
    path = "/".join(rest).removesuffix(".gz").removesuffix("index.html")
    return f"https://{host}/{path}"


def test_pages_cover_every_extractor() -> None:
    bound = {extractor_for_source(s) for s in load_sources().values()}
    used = {extractor_for_source(source_for_url(_url(p))) for p in PAGES}
    assert bound <= used, bound - used


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_extracted_items_are_clean(page: Path) -> None:
    url = _url(page)
    src = source_for_url(url)
    names = src.site_names if src else ()
    item = extract_article(
        read_page(FIXTURES / page),
        url,
        FETCHED,
        source=src.name if src else None,
        site_names=names,
        extractor=extractor_for_source(src),
    )
    assert clean_fields(item, names) == item


def test_a_character_sanitizing_removes_leaves_the_field_clean() -> None:
    item = ArticleItem(
        url="https://x.example/a",
        title="Lone surrogate \ud800 in the headline | Example",
        tags=["drama \udbff", "drama"],
        section="TV \ud801",
    )
    out = normalize_item(item, site_names=["Example"]).item
    assert out.title == "Lone surrogate in the headline"
    assert out.tags == ["drama"]
    assert out.section == "TV"
