"""Per-site rules for the music family (Pitchfork and the other Condé Nast "Verso" sites).

Condé Nast's Verso template splits an article body into several "chunks": each chunk is
its own grid (``GridWrapper ... grid-layout--adrail``) holding a copy of the body wrapper
(``BodyWrapper ... body body__container article__body`` > ``body__inner-container``) next
to an ad rail, and newsletter units sit between the chunks. The generic semantic hint
(``article__body``) then names only the largest chunk, and the rest of the article is
lost. The container here is the ``article__chunks`` element that holds every chunk; the
ad rails and the newsletter units between chunks are dropped from it.
"""

from __future__ import annotations

from aggregator.extract.generic import GenericExtractor
from aggregator.extract.registry import register


@register("pitchfork.com")
class CondeNastExtractor(GenericExtractor):
    body_xpath = "//div[contains(concat(' ', normalize-space(@class), ' '), ' article__chunks ')]"
    drop_xpaths = (
        ".//div[contains(concat(' ', normalize-space(@class), ' '), ' grid-layout__aside ')]",
        ".//div[@data-testid='ConsumerMarketingUnitThemedWrapper']",
        ".//div[contains(@class, 'consumer-marketing-unit')]",
    )
