"""Penske Media's WordPress VIP themes (Variety, Deadline, The Hollywood Reporter,
IndieWire, Billboard, Rolling Stone, TVLine).

The generic rules read these pages well from their JSON-LD (PMC's wpcom NewsArticle block)
and OpenGraph. What they cannot know is where each theme prints its dek:

- Rolling Stone and THR (Larva ``article-excerpt``): ``<div|h2 class="article-excerpt larva
  // ...">`` under the ``<h1>``;
- Variety (Larva ``o-custom-paragraph``): ``<p class="o-custom-paragraph // ...">``, printed
  *empty* when a story has no dek, which is most news stories;
- IndieWire: ``<h2 class="c-article__dek">``.

Without this the dek falls back to the meta description, which on PMC sites is an SEO
rewrite (plain quotes, other wording) or the first sentences of the body.
"""

from __future__ import annotations

from aggregator.extract.generic import GenericExtractor
from aggregator.extract.page import has_class


class PmcExtractor(GenericExtractor):
    subtitle_xpath = (
        "//*[self::div or self::h2 or self::p]["
        + " or ".join(
            has_class(c) for c in ("article-excerpt", "o-custom-paragraph", "c-article__dek")
        )
        + "]"
    )
