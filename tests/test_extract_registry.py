"""One binding from outlet to extractor: the source registry's ``extractor`` key."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.extract import GenericExtractor, extract_article, extractor_for
from aggregator.extract.registry import extractor_for_source, extractor_named
from aggregator.sources import Source, SourceError, load_sources

SOURCES = sorted(load_sources().values(), key=lambda s: s.name)


@pytest.mark.parametrize("source", SOURCES, ids=[s.name for s in SOURCES])
def test_every_entry_binds_the_same_extractor_everywhere(source: Source) -> None:
    # The crawl resolves through the source, extract_article through the URL: the same
    # class for every domain of every registry entry.
    expected = extractor_named(source.extractor) if source.extractor else GenericExtractor
    assert extractor_for_source(source) is expected
    for domain in source.domains:
        for host in (domain, "www." + domain):
            assert extractor_for(f"https://{host}/some-article/") is expected


def test_extract_article_uses_the_registry_binding() -> None:
    # movieweb is bound to the Valnet extractor by the registry alone: extract_article on
    # its URL reads the body from the template's article section, not from the longer
    # prose beside it that the generic rules would prefer.
    short = "The article itself is short, two plain sentences of it. And that is all. "
    other = "A long block of other text that is not this article at all, at length. "
    html = (
        "<html><head><title>Headline</title></head><body><h1>Headline</h1>"
        f"<section id='article-body'><p>{short}</p></section>"
        f"<div class='content'><p>{other * 8}</p><p>{other * 8}</p></div></body></html>"
    )
    item = extract_article(html, "https://movieweb.com/some-article/")
    assert item.body == short.strip()
    generic = extract_article(html, "https://elsewhere.example/some-article/")
    assert generic.body != item.body


def test_an_unknown_url_gets_the_generic_extractor() -> None:
    assert extractor_for("https://news.example/2022/06/06/story/") is GenericExtractor


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("no_colon_here", "expected 'module:Class'"),
        ("aggregator.extract.nowhere:X", "cannot be loaded"),
        ("aggregator.extract.generic:NoSuchClass", "cannot be loaded"),
        ("aggregator.extract.generic:MAX_DATE", "is not a GenericExtractor subclass"),
    ],
)
def test_a_bad_extractor_name_says_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(SourceError, match=says):
        extractor_named(spec)


def test_a_registry_file_binds_its_own_extractors(tmp_path: Path) -> None:
    registry = tmp_path / "sources.toml"
    registry.write_text(
        '[[source]]\nname = "mine"\ndomains = ["mine.example"]\n'
        'extractor = "aggregator.extract.sites.pmc:PmcExtractor"\n',
        encoding="utf-8",
    )
    source = load_sources(registry)["mine"]
    assert extractor_for_source(source).__name__ == "PmcExtractor"
