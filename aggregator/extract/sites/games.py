"""Per-site rules for the games outlets whose templates the generic rules misread.

IGN (Next.js "kraken" front end): the article body is the ``data-cy="article-content"``
block, rendered from the CMS's processed HTML. Embeds in it are ``<section
data-transform="...">`` blocks (IGN video players with their duration label, pull-quote
boxes that repeat a sentence of the article, mobile ad breaks, slideshows, polls), related
stories are ``<aside>`` interlink cards, and news posts end with the writer's tagline as a
paragraph that is entirely italic ("Jane Doe is a news writer for IGN.") -- an author bio,
not article text.
"""

from __future__ import annotations

from aggregator.extract.generic import GenericExtractor
from aggregator.extract.page import has_class


class IGNExtractor(GenericExtractor):
    body_xpath = "//*[@data-cy='article-content']"
    drop_xpaths = (
        ".//section[@data-transform]",
        ".//aside",
        # The closing tagline: a last paragraph that is one <em>, naming IGN.
        f".//section[{has_class('article-page')}]"
        "/p[last()][em][normalize-space(.) = normalize-space(em)][contains(., 'IGN')]",
    )
