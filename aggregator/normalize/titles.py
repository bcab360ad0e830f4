"""Headlines: site-name suffixes and prefixes removed."""

from __future__ import annotations

import re
from collections.abc import Iterable

from aggregator.normalize.text import clean_text

# " | ", " - ", " – ", " — ", " :: ", " · ", " » ", " • ", " / " between headline and site name;
# unspaced: full-width bar and colon, and the Hangul letter "ㅣ" (U+3163) that Korean sites
# use as a bar ("Headline-정치ㅣ한국일보"). A lone compatibility jamo never occurs inside
# Korean words, which are written in precomposed syllables.
_SEPARATOR = re.compile(r"\s+(?:[|\-–—·»•/~*]|::)\s+|\s*[｜：ㅣ]\s*")
# A trailing byline in a <title>: "Headline | Site | by Jane Doe".
_BY_SEGMENT = re.compile(r"^(?i:by|von|par|por)\s+[^\W\d_][\w.'’-]*(?:\s+[^\W\d_][\w.'’-]*){0,3}$")
_NON_ALNUM = re.compile(r"[\W_]+", re.UNICODE)


def name_key(value: str) -> str:
    """Comparison key of a name: casefolded letters and digits only."""
    return _NON_ALNUM.sub("", value.casefold())


def site_keys(names: Iterable[str | None]) -> set[str]:
    """Comparison keys for site names and domains: ``The Hollywood Reporter``,
    ``hollywoodreporter.com`` and ``www.hollywoodreporter.com`` all give matching keys."""
    keys: set[str] = set()
    for name in names:
        if not name:
            continue
        name = name.strip()
        host = name.lower()
        if "." in host and " " not in host:
            host = host.removeprefix("www.")
            keys.add(name_key(host))
            keys.add(name_key(host.rsplit(".", 1)[0]))
        k = name_key(name)
        if k:
            keys.add(k)
            if k.startswith("the") and len(k) > 5:
                keys.add(k[3:])
    return keys


def _is_site(segment: str, keys: set[str]) -> bool:
    k = name_key(segment)
    if _BY_SEGMENT.match(segment):
        return True
    if not k or not any(c.isalpha() for c in segment):
        return True  # "28.04.2023", "#1": dates and numbers are not part of a headline
    if k in keys:
        return True
    # "DualShockers.com", "Variety Magazine", "NME Music News"...: the key of a known
    # name at the start of a short segment.
    return len(segment.split()) <= 4 and any(len(s) >= 3 and k.startswith(s) for s in keys)


def strip_site_name(title: str | None, site_names: Iterable[str | None] = ()) -> str | None:
    """Clean ``title`` and remove a leading or trailing segment that names the site.

    ``All of Us Are Dead Season 2 ... | DualShockers`` gives the headline alone. Only
    segments separated by a spaced separator are candidates, and only when they match
    one of ``site_names`` (names or domains); an unknown trailing segment is kept.
    """
    title = clean_text(title)
    if not title:
        return None
    keys = site_keys(site_names)
    if not keys:
        return title
    for _ in range(3):  # "Headline - Section | Site | by X": at most three trailing segments
        parts = _SEPARATOR.split(title)
        seps = _SEPARATOR.findall(title)
        if len(parts) < 2:
            break
        if _is_site(parts[-1], keys):
            title = title[: len(title) - len(parts[-1]) - len(seps[-1])].strip()
        elif _is_site(parts[0], keys):
            title = title[len(parts[0]) + len(seps[0]) :].strip()
        else:
            break
    # "Site: Headline" prefix with a colon.
    head, sep, rest = title.partition(": ")
    if sep and rest and name_key(head) in keys:
        title = rest.strip()
    return title or None
