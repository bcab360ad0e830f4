"""The seed article's page: the fields a clean extraction gives and none of the furniture.

Every other fixture page is compared field by field with its expected JSON in
``tests/test_source_fixtures.py``.
"""

from __future__ import annotations

from aggregator.extract import GenericExtractor, extract_article
from aggregator.extract.batch import PageSpec, extract_file, read_page
from tests.conftest import FIXTURES, PROJECT, SEED_URL, skip_or_fail

SEED_PAGE = (
    FIXTURES / "site/www.dualshockers.com/all-of-us-are-dead-season-2-confirmed-netflix/index.html"
)
# Page furniture around the seed article that a clean extraction leaves out.
SEED_FURNITURE = [
    "More:", "Why Does Enzo", "Got a tip", "Let us know", "Read more of Shivam",
    "Shiv (He/Him)", "Advertisement", "Trending Now", "Related Articles", "Image: Netflix",
    "Sign up", "Copyright", "Tags:",
]  # fmt: skip


def test_seed_page_has_the_seed_fields() -> None:
    got = extract_file(PageSpec(SEED_PAGE, SEED_URL, None))
    assert got["title"] == "All of Us Are Dead Season 2 Officially Confirmed by Netflix"
    assert got["subtitle"] == "'All of us Are Dead' is coming back with another season."
    assert got["authors"] == ["Shivam Gulati"]
    assert got["published"].startswith("2022-06-06")
    for furniture in SEED_FURNITURE:
        assert furniture not in got["body"], furniture


def _seed_text_paragraphs() -> list[str]:
    seed_dir = PROJECT.parent / "shared" / "seed"
    files = sorted(seed_dir.glob("*.txt")) if seed_dir.is_dir() else []
    if not files:
        skip_or_fail(f"seed text not found in {seed_dir}", "AGGREGATOR_REQUIRE_CORPORA")
    paras = [line.strip() for line in files[0].read_text(encoding="utf-8").splitlines()]
    paras = [p for p in paras if p]
    end = paras.index("Shivam Gulati")  # the author bio starts here
    # Title, dek and date come first; the bulleted "More:" line is a related link.
    return [p for p in paras[3:end] if not p.startswith(("•", "More:"))]


def test_seed_body_equals_what_a_reader_sees() -> None:
    """The body is exactly the seed's article paragraphs, in order, nothing else."""
    got = extract_file(PageSpec(SEED_PAGE, SEED_URL, None))
    assert got["body"].split("\n\n") == _seed_text_paragraphs()


def test_generic_rules_alone_extract_the_seed() -> None:
    """Without the per-site extractor the generic rules give the same article."""
    html = read_page(SEED_PAGE)
    item = extract_article(html, SEED_URL, extractor=GenericExtractor)
    assert item.title == "All of Us Are Dead Season 2 Officially Confirmed by Netflix"
    assert item.authors == ["Shivam Gulati"]
    assert item.body is not None
    assert item.body.split("\n\n") == _seed_text_paragraphs()


def test_extractor_uses_no_scrapy() -> None:
    """The extractor is usable without Scrapy: importing it must not import Scrapy."""
    import subprocess
    import sys

    code = "import sys, aggregator.extract.batch; print('scrapy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
