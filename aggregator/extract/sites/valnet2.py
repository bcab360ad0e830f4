"""Valnet outlets of the valnet2 fixture family (Screen Rant, Collider, CBR, Game Rant,
MovieWeb, TheGamer): the shared Valnet rules plus one Valnet-specific piece of furniture.

Inside ``section#article-body`` Valnet drops "Related" article cards between the prose
blocks: a ``div.display-card`` whose label (``div.article-card-label``) says "Related",
with a linked title and a plain-text teaser (``p.display-card-excerpt``). Nothing in the
card's class names says "related", so the generic furniture rules keep the teaser as a
paragraph of the article. The card is dropped here.

The registry names this class for those outlets (``extractor = ...:ValnetRelatedExtractor``);
it registers no domains, so ``valnet.ValnetExtractor`` stays the default by domain.
"""

from __future__ import annotations

from aggregator.extract.sites.valnet import ValnetExtractor


class ValnetRelatedExtractor(ValnetExtractor):
    drop_xpaths = (
        ".//div[contains(concat(' ', normalize-space(@class), ' '), ' display-card ')]"
        "[.//*[contains(concat(' ', normalize-space(@class), ' '), ' article-card-label ')]]",
    )
