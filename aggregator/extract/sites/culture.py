"""Per-site rules for the culture outlets whose templates the generic rules misread.

Dotdash Meredith (People, Entertainment Weekly): the article text is the structured-content
page (``div.mntl-sc-page``), a flat run of ``mntl-sc-block`` elements. Two of those blocks
are furniture with exactly the markup of a paragraph (``p.mntl-sc-block-html``), so only
their wording tells them apart: People's newsletter line ("Never miss a story — sign up
for PEOPLE's free daily newsletter ...") and, on stories syndicated from a sister brand,
the provenance line ("This article originally appeared on Entertainment Weekly.").
"""

from __future__ import annotations

from aggregator.extract.generic import GenericExtractor
from aggregator.extract.page import has_class

_SC_BLOCK_P = f".//p[{has_class('mntl-sc-block-html')}]"


class DotdashMeredithExtractor(GenericExtractor):
    body_xpath = f"//div[{has_class('mntl-sc-page')}]"
    drop_xpaths = (
        _SC_BLOCK_P + "[starts-with(normalize-space(.), 'Never miss a story')]",
        _SC_BLOCK_P + "[starts-with(normalize-space(.), 'This article originally appeared on')]",
    )
