"""Valnet's shared template (DualShockers, Screen Rant, Collider, CBR, Game Rant...).

The generic rules already find title, date and author in their JSON-LD; the body
container is named explicitly because Valnet pages interleave it with large
"related" and "trending" blocks that the scorer should not have to argue with.
"""

from __future__ import annotations

from aggregator.extract.generic import GenericExtractor


class ValnetExtractor(GenericExtractor):
    body_xpath = "//section[@id='article-body'] | //*[contains(@class,'article-body')]"
    subtitle_xpath = "//*[contains(@class,'heading_excerpt')]"
