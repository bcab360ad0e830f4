"""Property-based and fuzz tests: the extractor and the normalizers never raise, whatever
the page or string, and what they return always satisfies the item schema
(:class:`aggregator.items.ArticleItem`), checked by one helper, :func:`assert_valid_item`.

Reproducibility. By default every property runs with ``derandomize=True`` and no example
database: the examples are a pure function of the test's source (and the Hypothesis
version), so CI runs the same inputs on every run, a red build is red for everyone and
reproduces locally with the same command, and a green build cannot turn red by luck on an
unrelated commit. The price is that CI never explores beyond that fixed sample. To explore,
run ``AGGREGATOR_FUZZ=explore pytest tests/test_fuzz.py``: random seeds, ten times the
examples, and the local example database (``.hypothesis/``, git-ignored), which replays
failures until they are fixed. Every input such a run finds becomes an ``@example`` (or a
plain test) here, so the fixed sample grows with each bug.

Example counts keep the module at about 30 seconds: 300 for the cheap normalizers, 200-250
for item normalization, generated pages and manifests, fewer where every example extracts
whole pages (150 for bytes and per-site pages, 60 batch runs of up to five files).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import tempfile
import unicodedata
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aggregator.extract import extract_article
from aggregator.extract.batch import PageSpec, read_manifest, run
from aggregator.extract.page import decode_html
from aggregator.items import ArticleItem
from aggregator.normalize.authors import clean_authors
from aggregator.normalize.dates import (
    EARLIEST,
    date_from_url,
    is_future,
    parse_date,
    parse_since,
)
from aggregator.normalize.item import clean_fields, normalize_item
from aggregator.normalize.text import clean_body, clean_text, sanitize
from aggregator.normalize.titles import strip_site_name
from aggregator.normalize.urls import canonicalize_url

# A page declaring charset=unicode_escape makes Python warn about its invalid escapes.
pytestmark = pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")

# -- settings -------------------------------------------------------------------------------

_T = TypeVar("_T")
_EXPLORE = os.environ.get("AGGREGATOR_FUZZ") == "explore"
_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]


def fuzz(max_examples: int) -> settings:
    """Settings for one property: ``max_examples`` fixed examples in CI (see the module
    docstring), ten times as many random ones under ``AGGREGATOR_FUZZ=explore``."""
    if _EXPLORE:
        chosen = settings(
            max_examples=max_examples * 10,
            deadline=None,
            suppress_health_check=_SUPPRESS,
            print_blob=True,
        )
    else:
        chosen = settings(
            max_examples=max_examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=_SUPPRESS,
            print_blob=True,
        )
    return chosen


# -- the schema -----------------------------------------------------------------------------

_LANGUAGE = re.compile(r"[a-z]{2,3}")


def _is_http_url(value: object) -> bool:
    """An absolute http(s) URL with a host, without fragment, whitespace or non-ASCII."""
    if not isinstance(value, str) or not value.isascii() or not value.isprintable():
        return False
    if any(c.isspace() for c in value) or "#" in value:
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _assert_line(value: object, name: str) -> None:
    """None, or non-empty one-line NFC text without surrounding whitespace."""
    if value is None:
        return
    assert isinstance(value, str), f"{name} is {type(value).__name__}"
    assert value, f"{name} is empty"
    assert value == value.strip(), f"{name} has surrounding whitespace: {value!r}"
    assert len(value.splitlines()) == 1, f"{name} has a line break: {value!r}"
    assert unicodedata.is_normalized("NFC", value), f"{name} is not NFC: {value!r}"


def _assert_body(value: object) -> None:
    """None, or paragraphs of stripped non-empty lines separated by exactly one blank line."""
    if value is None:
        return
    assert isinstance(value, str) and value, f"body is {value!r}"
    assert value == value.strip(), f"body has surrounding whitespace: {value!r}"
    assert "\n\n\n" not in value, f"body has a double blank line: {value!r}"
    assert unicodedata.is_normalized("NFC", value), f"body is not NFC: {value!r}"
    for paragraph in value.split("\n\n"):
        for line in paragraph.split("\n"):
            assert line and line == line.strip(), f"body line {line!r} in {value!r}"


def _assert_unique_lines(values: object, name: str) -> None:
    assert isinstance(values, list), f"{name} is {type(values).__name__}"
    for v in values:
        _assert_line(v, name)
        assert v is not None, f"{name} holds None"
    keys = [v.casefold() for v in values]
    assert len(set(keys)) == len(keys), f"{name} has duplicates: {values!r}"


def assert_valid_item(item: ArticleItem, url: str | None = None) -> None:
    """``item`` satisfies every documented field format of :class:`ArticleItem`; ``url``,
    when given, is the URL the item must carry."""
    assert isinstance(item, ArticleItem)
    if url is not None:
        assert item.url == url
    assert isinstance(item.url, str)
    assert item.canonical_url is None or _is_http_url(item.canonical_url), item.canonical_url
    assert item.image is None or _is_http_url(item.image), item.image
    for name in ("title", "subtitle", "site_name", "section"):
        _assert_line(getattr(item, name), name)
    _assert_unique_lines(item.authors, "authors")
    _assert_unique_lines(item.tags, "tags")
    for name in ("published", "modified"):
        dt, raw = getattr(item, name), getattr(item, f"{name}_raw")
        assert dt is None or isinstance(dt, datetime), f"{name} is {dt!r}"
        assert raw is None or isinstance(raw, str), f"{name}_raw is {raw!r}"
        assert raw is not None or dt is None, f"{name} {dt!r} without {name}_raw"
    assert item.fetched_at is None or isinstance(item.fetched_at, datetime)
    _assert_body(item.body)
    assert item.language is None or _LANGUAGE.fullmatch(item.language), item.language


def _item_from_row(row: dict[str, Any]) -> ArticleItem:
    """An ArticleItem back from a ``batch.run`` JSON line (ISO strings to datetimes)."""
    values = {f.name: row[f.name] for f in fields(ArticleItem)}
    for name in ("published", "modified", "fetched_at"):
        if values[name] is not None:
            values[name] = datetime.fromisoformat(values[name])
    return ArticleItem(**values)


def _short(strategy: st.SearchStrategy[_T]) -> st.SearchStrategy[_T]:
    """``strategy`` with a short repr. Hypothesis spells nested strategies out in full in
    its reports, which made them hundreds of kilobytes long here."""
    return st.deferred(lambda: strategy)


# -- strings --------------------------------------------------------------------------------

# Pieces that have broken text handling somewhere: entities (double-escaped, invalid,
# decoding to invisible characters), controls, invisible and space characters, combining
# marks, characters NFC changes (U+0958 expands, U+037E becomes ";", U+212A becomes "K"),
# case oddities, markup and URL syntax.
_PIECES = [
    "&amp;", "&amp;amp;", "&lt;p&gt;", "&#8203;", "&#x200B;", "&nbsp;", "&#0;", "&#x110000;",
    "&#99999999999;", "&bogus;", "&", "&#", "&#x;", "&eacute", "&NotEqualTilde;", "&#13;",
    "&#133;", "&#x2028;", "&#769;", "&am", "p;", "\x00", "\x0b", "\x0c", "\r", "\n", "\n\n",
    "\n \n\n", "\t", "\x1c", "\x85", "\u2028", "\u2029", "\u200b", "\u200d", "\u2060",
    "\ufeff", "\u00ad", "\u00a0", "\u3000", "\u202f", "\u0301", "\u0308", "\u0327", "\u093c",
    "\u0958", "\u037e", "\u212a", "\u2126", "\u1fef", "e", "E", "ß", "İ", "ǅ", "ﬁ", " | ",
    " - ", " – ", " :: ", "｜", "：", ": ", "By ", "Von ", "and ", ", ", "@", "(c)", "©", "<p>",
    "</p>", "<", ">", "]]>", "<!--", "-->", "http://", "https://", "//", "#", "?", "%", "%zz",
    "²", "٣", "9" * 12, "기자", "記者",
]  # fmt: skip
_WORDS = [
    "The", "star", "film", "said", "Netflix", "season", "review", "Jane", "Doe", "John",
    "Smith", "Variety", "IGN", "People", "and", "the", "of", "in", "new", "album", "2022",
    "June", "6,", "Juni", "hours", "ago", "is", "a", "Staff", "Writer", "Senior", "Editor",
]  # fmt: skip

text = st.text(max_size=40)
# Surrogates too: they exist in Python strings (``surrogateescape``) if never in pages.
any_char_text = st.text(st.characters(exclude_categories=()), max_size=40)
nasty_text = st.lists(
    st.one_of(st.sampled_from(_PIECES), st.sampled_from(_WORDS), text), max_size=12
).map("".join)
prose = st.lists(
    st.one_of(st.sampled_from(_WORDS), st.sampled_from(_WORDS), st.sampled_from(_PIECES)),
    max_size=80,
).map(" ".join)
some_text = _short(st.one_of(text, nasty_text, prose, any_char_text))

_DATES = [
    "2022-06-06T12:00:00-04:00", "2022-06-06", "2022-06-06T12:00", "June 6, 2022",
    "6. Juni 2022, 14:03 Uhr", "2 hours ago", "vor 2 Stunden", "yesterday", "tomorrow",
    "in 2 days", "12:40 AM PT", "June 6, 2022 12:40 AM ET", "Mon, 06 Jun 2022 16:05:00 +0000",
    "Mon, 06 Jun 2022 99:99:00 +9999", "Mon, 06 Jun 0 16:05:00 +0000", "1654531200",
    "1654531200000", "9999999999", "9999-12-31T23:59:59-18:00", "9999-12-31T23:59:59+18:00",
    "0001-01-01T00:00:00+18:00", "0000-00-00", "2022-02-30", "20220606", "2022-06-06T25:61",
    "2022-06-06T12:00:00+24:00", "٢٠٢٢-٠٦-٠٦", "31.12.9999 23:59", "1.1.0001", "next year",
    "2022-06-06T12:00:00.123456789Z", "2022-06-06 12:00 GMT", "Z", "+05:30", "-",
]  # fmt: skip
dates = _short(st.one_of(st.sampled_from(_DATES), some_text))

_URLS = [
    "https://variety.com/2022/film/news/some-story-1235/", "https://www.ign.com/articles/x",
    "https://people.com/tv/story-123", "https://dualshockers.com/x/",
    "https://example.com/2022/06/06/slug?utm_source=x&id=3#frag", "http://[", "http://[::1",
    "http://[::1]:99999/", "http://[v1.x]/", "http://./", "http://../", "http://..",
    "//cdn.example.com/a.jpg", "javascript:alert(1)", "data:,x", "mailto:a@b.c",
    "/relative/path", "?q=1", "#frag", "http://xn--/", "http://ex ample.com/",
    "http://example.com:abc/", "http://example.com:0/", "http://example.com:/",
    "https://例え.テスト/パス?ä=ö", "http://a@b:c@d/", "HTTP://EXAMPLE.COM:80/A",
    "https://example.com/%zz", "https://example.com/?a=1&a=2&utm_medium=x&fbclid=y&b=c d",
    "http://\x00/", "http://" + "a" * 300 + ".com/", "http://a..b/", "http://-a-.com/",
    "https://xn--ls8h.la/", "http://1.2.3.4.5/", "http:example.com", "https:///x",
    "http://%41.com/", "http://a.com/\u2028", "http://\u0958.com/", "https://a.com/?#",
    "https://a.com/?q=%23", "ftp://example.com/", "https://example.com/2022/13/45/x",
]  # fmt: skip
urls = _short(
    st.one_of(
        st.sampled_from(_URLS),
        st.builds(
            "".join,
            st.tuples(
                st.sampled_from(["http://", "https://", "HTTPS://", "//", "", "http:/"]),
                st.one_of(st.sampled_from(["example.com", "www.variety.com", "ign.com"]), text),
                st.sampled_from(["", "/", ":8080/", "/2022/06/06/", "/a?utm_source=b&c=d#e"]),
                some_text,
            ),
        ),
        some_text,
    )
)
article_urls = st.one_of(
    st.sampled_from(_URLS[:5]),
    st.builds(
        lambda host, path: f"https://{host}/{path}",
        st.sampled_from(["variety.com", "www.ign.com", "people.com", "example.com", "a.b.c"]),
        text,
    ),
    urls,
)

_URL = "https://variety.com/2022/film/news/some-story-1235/"
_PLUS_2359 = timezone(timedelta(hours=23, minutes=59))
_MINUS_2359 = timezone(timedelta(hours=-23, minutes=-59))
_OFFSETS = st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-1439, 1439))
_TZINFOS = st.one_of(st.none(), st.just(timezone.utc), _OFFSETS, st.timezones())
_EXTREME_DATETIMES = [
    datetime.min,
    datetime.max,
    datetime.min.replace(tzinfo=_PLUS_2359),
    datetime.max.replace(tzinfo=_MINUS_2359),
    datetime.max.replace(tzinfo=timezone.utc),
]
datetimes = st.one_of(st.datetimes(timezones=_TZINFOS), st.sampled_from(_EXTREME_DATETIMES))
_TZ_NAMES = [
    "UTC", "GMT", "Z", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Nowhere/City",
    "", "../../etc/passwd", "/etc/localtime", "America", "\x00", "a" * 300, "EST5EDT",
]  # fmt: skip
tz_names = st.one_of(st.none(), st.sampled_from(_TZ_NAMES), text)
languages = st.one_of(
    st.none(),
    st.lists(st.one_of(st.sampled_from(["en", "de", "fr", "es", "ja", "xx", "EN", ""]), text)),
)
site_names = st.lists(st.one_of(st.sampled_from(["Variety", "IGN", "variety.com"]), text))

# -- JSON-LD --------------------------------------------------------------------------------

_JSON_KEYS = [
    "@context", "@type", "@graph", "@id", "mainEntity", "headline", "name", "description",
    "author", "creator", "publisher", "datePublished", "dateCreated", "uploadDate",
    "dateModified", "image", "thumbnailUrl", "keywords", "articleSection", "inLanguage",
    "articleBody", "itemListElement", "position", "item", "url", "contentUrl",
]  # fmt: skip
_TYPES = [
    "NewsArticle", "Article", "BlogPosting", "WebPage", "Person", "Organization",
    "NewsMediaOrganization", "BreadcrumbList", "ListItem", "ClaimReview", "VideoObject",
    "http://schema.org/NewsArticle", "ReportageNewsArticle", "Thing", "",
]  # fmt: skip
_JSON_STRINGS = [*_DATES, *_URLS, *_TYPES, "Jane Doe"]
json_scalars = _short(
    st.one_of(
        st.none(),
        # Numbers as strings that str.isdigit() accepts and int() refuses, and near misses.
        st.sampled_from(["²", "٣", "①", "-1", "1.5", "1e3", " 1", "0x10", "10"]),
        st.integers(4301, 4400).map(lambda n: "9" * n),  # beyond int()'s 4300-digit limit
        st.booleans(),
        st.integers(),
        st.floats(),  # NaN and infinities too: json.dumps writes them, json.loads reads them
        st.sampled_from(_JSON_STRINGS),
        some_text,
        st.builds(lambda p: f"<p>{p}</p><p>{p}</p>", some_text),
    )
)
json_values = _short(
    st.recursive(
        json_scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.one_of(st.sampled_from(_JSON_KEYS), text), inner, max_size=5),
        ),
        max_leaves=25,
    )
)
# Values shaped like what a field holds (a Person, a list of them, an ImageObject, a
# ListItem) with every member of a wrong or odd type now and then.
json_things = _short(
    st.fixed_dictionaries(
        {},
        optional={
            "@type": st.one_of(st.sampled_from(_TYPES), json_scalars),
            "name": st.one_of(st.sampled_from(_WORDS), json_scalars, st.lists(json_scalars)),
            "url": st.one_of(urls, json_scalars),
            "@id": urls,
            "position": json_scalars,
            "item": st.one_of(urls, st.fixed_dictionaries({"name": json_scalars, "@id": urls})),
        },
    )
)
field_values = _short(
    st.one_of(
        json_scalars,
        st.lists(json_scalars, max_size=4),
        json_things,
        st.lists(st.one_of(json_things, json_scalars), max_size=4),
        json_values,
    )
)
json_objects = st.builds(
    lambda t, d: {"@type": t, **d},
    st.one_of(st.sampled_from(_TYPES), st.lists(st.sampled_from(_TYPES)), json_values),
    st.dictionaries(st.sampled_from(_JSON_KEYS), field_values, max_size=10),
)


@st.composite
def jsonld_texts(draw: st.DrawFn) -> str:
    """A JSON-LD script's text: valid or broken JSON, wrong types, wrappers, deep nesting."""
    breadcrumbs = st.builds(
        lambda items: {"@type": "BreadcrumbList", "itemListElement": items},
        st.one_of(st.lists(json_things, max_size=5), json_scalars),
    )
    value = draw(
        st.one_of(
            json_objects,
            st.lists(st.one_of(json_objects, breadcrumbs), max_size=3),
            breadcrumbs,
            json_values,
        )
    )
    if draw(st.booleans()):
        value = {"@context": "https://schema.org", "@graph": value}
    out = json.dumps(value, ensure_ascii=draw(st.booleans()))
    mode = draw(st.integers(0, 9))  # 0, 7-9: the JSON as it is
    if mode == 1:  # truncated
        out = out[: draw(st.integers(0, len(out)))]
    elif mode == 2:  # deep nesting, beyond any recursion limit
        depth = draw(st.sampled_from([50, 900, 5000]))
        out = "[" * depth + out + "]" * depth
    elif mode == 3:  # a deeply nested field value
        depth = draw(st.sampled_from([50, 900, 990, 5000]))
        key = draw(st.sampled_from(["author", "headline", "keywords", "image", "publisher"]))
        out = f'{{"@type": "NewsArticle", "{key}": {"[" * depth}"Jane Doe"{"]" * depth}}}'
    elif mode == 4:  # CMS wrappers and trailing junk
        out = draw(st.sampled_from(["<!--", "//<![CDATA[", "/*<![CDATA[*/", ""])) + out
        out += draw(st.sampled_from(["-->", "//]]>", ";", ",", "", "\x00"]))
    elif mode == 5:  # control characters inside
        pos = draw(st.integers(0, len(out)))
        out = out[:pos] + draw(st.sampled_from(["\x00", "\x01", "\x1f", "\n", "\\"])) + out[pos:]
    elif mode == 6:  # numbers Python refuses to convert
        out = '{"@type": "BreadcrumbList", "itemListElement": [{"position": ' + "9" * 5000 + "}]}"
    return out


def _content_elements(items: list[tuple[str, str]]) -> str:
    payload = [{"type": t, "content": c} for t, c in items]
    return 'window.Fusion={"content_elements": ' + json.dumps(payload) + "};"


_CONTENT_TYPES = ["text", "paragraph", "header", "heading", "list_item", "image", ""]
script_texts = _short(
    st.one_of(
        jsonld_texts(),
        st.builds(
            _content_elements,
            st.lists(st.tuples(st.sampled_from(_CONTENT_TYPES), prose)),
        ),
        st.sampled_from(['"content_elements": ' + "[" * 5000, '"content_elements": [', "{}"]),
        st.builds(
            lambda a, b: "self.__next_f.push(" + json.dumps([1, f"<p>{a}</p><p>{b}</p>"]) + ")",
            prose,
            some_text,
        ),
        some_text,
    )
)

# -- HTML -----------------------------------------------------------------------------------

_TAGS = [
    "p", "div", "article", "section", "main", "span", "a", "br", "h1", "h2", "h3", "time",
    "table", "tr", "td", "ul", "ol", "li", "style", "meta", "link", "strong", "em", "b",
    "img", "figure", "figcaption", "aside", "nav", "header", "footer", "pre", "blockquote",
    "noscript", "template", "iframe", "svg", "form", "title", "html", "body", "head", "dl",
    "dt", "dd", "x-widget", "font", "button", "label",
]  # fmt: skip
_VOID = frozenset({"br", "meta", "link", "img"})
_ATTR_NAMES = [
    "class", "id", "itemprop", "hidden", "style", "lang", "datetime", "content", "href", "rel",
    "name", "property", "type", "data-cy", "data-component", "data-testid", "aria-hidden",
    "src", "itemtype", "data-transform",
]  # fmt: skip
_ATTR_VALUES = [
    "article-body", "entry-content", "post-content", "article__body", "story-body", "byline",
    "author", "author-name", "byline__name", "date", "time", "published", "meta", "share",
    "related", "newsletter", "ad", "ad-slot", "hidden", "sr-only", "breadcrumb", "category",
    "kicker", "dek", "subtitle", "article-excerpt", "heading_excerpt", "mntl-sc-page",
    "mntl-sc-block-html", "c-article__dek", "o-custom-paragraph", "teaser", "caption",
    "credit", "comments", "sidebar", "onetrust-banner", "trending", "card", "article-page",
    "articleBody", "datePublished", "dateModified", "name", "display:none",
    "visibility: hidden", "true", "application/ld+json", "canonical", "author",
    "article-content", "text-block", "article-body",
]  # fmt: skip
attr_values = st.one_of(
    st.sampled_from(_ATTR_VALUES),
    st.lists(st.sampled_from(_ATTR_VALUES), max_size=3).map(" ".join),
    dates,
    urls,
    some_text,
)


def _attr(name: str, value: str, quote: str) -> str:
    if quote == "none":
        return f" {name}={value}"
    if quote == "bare":
        return f" {name}"
    if quote == "broken":
        return f' {name}="{value}'
    return f" {name}={quote}{value.replace(quote, '&quot;')}{quote}"


attrs = _short(
    st.lists(
        st.builds(
            _attr,
            st.one_of(st.sampled_from(_ATTR_NAMES), text),
            attr_values,
            st.sampled_from(['"', '"', "'", "none", "bare", "broken"]),
        ),
        max_size=4,
    ).map("".join)
)


def _element(tag: str, attributes: str, children: list[str], closed: bool) -> str:
    if tag in _VOID:
        return f"<{tag}{attributes}>" + "".join(children)
    return f"<{tag}{attributes}>" + "".join(children) + (f"</{tag}>" if closed else "")


_META_KEYS = [
    "og:title", "og:description", "description", "twitter:title", "twitter:description",
    "og:site_name", "application-name", "twitter:site", "publisher", "og:url", "og:image",
    "og:image:url", "twitter:image", "twitter:image:src", "article:published_time",
    "og:published_time", "date", "pubdate", "dc.date", "article:modified_time",
    "og:updated_time", "last-modified", "article:tag", "news_keywords", "keywords",
    "article:section", "parsely-section", "section", "og:locale", "content-language",
    "language", "dc.language", "author", "article:author", "parsely-author", "dc.creator",
    "byl", "datePublished", "dateModified",
]  # fmt: skip
meta_tags = st.builds(
    lambda attr, key, value, q: f"<meta {attr}={q}{key}{q} content={q}{value}{q}>",
    st.sampled_from(["property", "name", "itemprop", "http-equiv"]),
    st.one_of(st.sampled_from(_META_KEYS), text),
    st.one_of(dates, urls, some_text, st.sampled_from(["en-US", "de_DE", "EN", "x", "eng"])),
    st.sampled_from(['"', "'"]),
)
link_tags = st.builds(
    lambda rel, href: f'<link rel="{rel}" href="{href}">',
    st.sampled_from(["canonical", "Canonical alternate", "author", "amphtml"]),
    urls,
)
script_tags = st.builds(
    lambda type_, body: f'<script type="{type_}">{body}</script>',
    st.sampled_from(["application/ld+json", " Application/LD+JSON ", "text/javascript", ""]),
    script_texts,
)
leaf_nodes = st.one_of(prose, some_text, st.sampled_from(_PIECES), meta_tags, script_tags)
elements = _short(
    st.recursive(
        leaf_nodes,
        lambda children: st.builds(
            _element,
            st.sampled_from(_TAGS),
            attrs,
            st.lists(children, max_size=6),
            st.booleans(),
        ),
        max_leaves=40,
    )
)


# Body containers of the per-site extractors (their drop_xpaths prune inside them).
_SITE_CONTAINERS = [
    ' data-cy="article-content"',
    ' class="mntl-sc-page"',
    ' id="article-body"',
    ' class="article-body"',
    ' itemprop="articleBody"',
]
paragraphs = _short(
    st.builds(
        lambda a, tag, p, tail: f"<{tag}{a}>{p}</{tag}>{tail}",
        attrs,
        st.sampled_from(["p", "p", "p", "aside", "section", "h2", "li", "blockquote"]),
        st.one_of(
            prose,
            st.sampled_from(["Never miss a story", "This article originally appeared on EW"]),
            st.builds(lambda p: f"<em>{p} IGN</em>", prose),
        ),
        # A tail: text, and characters lxml parses but refuses to set (the pruning moves tails).
        st.one_of(st.just(""), st.sampled_from(["\x08", "\x00 x", "\x1f", "\ufffe"]), some_text),
    )
)


@st.composite
def html_documents(draw: st.DrawFn) -> str:
    """Random but HTML-shaped pages: a head with meta tags, JSON-LD and links, a body of
    nested elements, sometimes an article skeleton of long paragraphs; broken at times."""
    head = draw(st.lists(st.one_of(meta_tags, link_tags, script_tags, elements), max_size=10))
    body = draw(st.lists(elements, max_size=6))
    if draw(st.booleans()):  # an article skeleton the body scorer takes seriously
        blocks = draw(st.lists(st.one_of(paragraphs, paragraphs, elements), max_size=12))
        container = draw(st.one_of(attrs, st.sampled_from(_SITE_CONTAINERS)))
        body.append(
            f"<article><h1>{draw(some_text)}</h1><div{container}>"  # hidden, hinted...
            + "".join(blocks)
            + "</div></article>"
        )
    if draw(st.integers(0, 5)) == 0:  # nesting deeper than parsers and recursion allow
        depth = draw(st.sampled_from([30, 300, 3000]))
        tag = draw(st.sampled_from(["div", "p", "span", "li", "a", "blockquote"]))
        body = [f"<{tag}>" * depth + "".join(body) + f"</{tag}>" * depth]
    lang = draw(st.one_of(st.none(), st.sampled_from(["en", "de-DE", "EN_us", "x", ""]), text))
    doc = (
        draw(st.sampled_from(["<!DOCTYPE html>", "", "\ufeff", "<?xml version='1.0'?>", "<!--"]))
        + (f'<html lang="{lang}">' if lang is not None else "<html>")
        + "<head>"
        + "".join(head)
        + "</head><body>"
        + "".join(draw(st.permutations(body)))
        + "</body></html>"
    )
    if draw(st.integers(0, 4)) == 0:  # truncated download
        doc = doc[: draw(st.integers(0, len(doc)))]
    return doc


_CHARSETS = [
    "utf-8", "iso-8859-1", "windows-1252", "utf-16", "utf-16be", "utf-32", "utf-7", "shift_jis",
    "euc-jp", "iso-2022-jp", "hz", "gb18030", "x-user-defined", "base64", "zlib", "rot13",
    "hex", "idna", "punycode", "uu", "bz2", "quopri", "unicode_escape", "undefined", "bogus",
    "",
]  # fmt: skip
charsets = st.sampled_from(_CHARSETS)
content_types = st.one_of(st.none(), st.builds(lambda c: f"text/html; charset={c}", charsets), text)


@st.composite
def page_bytes(draw: st.DrawFn) -> bytes:
    """Bytes as a server might send them: random, or a page encoded in some charset,
    possibly declaring another one."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=2000))
    declared = draw(charsets)
    prefix = f'<meta charset="{declared}">' if draw(st.booleans()) else ""
    doc = prefix + draw(html_documents())
    encoding = draw(st.sampled_from(["utf-8", "latin-1", "cp1252", "utf-16", "shift_jis"]))
    data = doc.encode(encoding, "replace")
    if kind == 2:
        data = draw(st.binary(max_size=50)) + data + draw(st.binary(max_size=50))
    return data


# -- extraction -----------------------------------------------------------------------------


def _extract(html: str, url: str, fetched_at: datetime | None = None, **kw: Any) -> None:
    item = extract_article(html, url, fetched_at, **kw)
    assert_valid_item(item, url=canonicalize_url(sanitize(url)) or url)  # the clean URL


@fuzz(150)
@given(data=page_bytes(), content_type=content_types, url=article_urls)
# A charset Python cannot decode text with: w3lib raised UnicodeError / LookupError.
@example(data=b"\x80", content_type="text/html; charset=punycode", url=_URL)
@example(data=b"\x80", content_type="text/html; charset=idna", url=_URL)
@example(data=b"\x80", content_type="text/html; charset=base64", url=_URL)
@example(data=b'<meta charset="undefined">\x80', content_type=None, url=_URL)
def test_bytes_decode_and_extract(data: bytes, content_type: str | None, url: str) -> None:
    text_ = decode_html(data, content_type)
    assert isinstance(text_, str)
    _extract(text_, url)


@fuzz(200)
@given(html=some_text, url=urls, fetched_at=st.one_of(st.none(), datetimes))
# Page URLs canonicalize_url / domain_of raised ValueError on (IPv6 bracket, port) or
# turned into no URL ("http:///", a host with a space or a control character).
@example(html="", url="http://[", fetched_at=None)
@example(html="", url="http://example.com:abc/", fetched_at=None)
@example(html="", url="http://[::1]:99999/", fetched_at=None)
@example(html="", url="http://./", fetched_at=None)
@example(html="", url="HTTP:// 0", fetched_at=None)
@example(html="", url="HTTP://\x7f", fetched_at=None)
@example(html="", url="http://[::1]/x", fetched_at=None)
def test_text_extract(html: str, url: str, fetched_at: datetime | None) -> None:
    _extract(html, url, fetched_at)


@fuzz(200)
@given(
    html=html_documents(),
    url=article_urls,
    fetched_at=st.one_of(st.none(), datetimes),
    tz=tz_names,
    names=site_names,
    source=st.one_of(st.none(), text),
)
def test_generated_html_extract(
    html: str,
    url: str,
    fetched_at: datetime | None,
    tz: str | None,
    names: list[str],
    source: str | None,
) -> None:
    _extract(html, url, fetched_at, tz=tz, site_names=names, source=source)


# Per-site extractors: the URL picks the extractor, the page has its body container.
_SITE_PAGES = [
    ("https://www.ign.com/articles/x", '<div data-cy="article-content">'),
    ("https://www.ign.com/articles/x", '<section class="article-page">'),
    ("https://people.com/tv/x", '<div class="mntl-sc-page">'),
    ("https://ew.com/x", '<div class="mntl-sc-page">'),
    ("https://dualshockers.com/x/", '<section id="article-body">'),
    ("https://variety.com/2022/film/news/x/", '<div class="article-excerpt">'),
]


@fuzz(150)
@given(site=st.sampled_from(_SITE_PAGES), blocks=st.lists(paragraphs, max_size=10))
# A control character after an element a drop_xpath removes: lxml's drop_tree() raised.
@example(site=_SITE_PAGES[0], blocks=["<p>Text.</p><aside>x</aside>\x08"])
@example(site=_SITE_PAGES[2], blocks=['<p class="mntl-sc-block-html">Never miss a story</p>\x08'])
def test_site_extractors(site: tuple[str, str], blocks: list[str]) -> None:
    url, container = site
    end = "</" + container[1:].split()[0].rstrip(">") + ">"
    _extract(f"<html><body><h1>A headline</h1>{container}{''.join(blocks)}{end}</body></html>", url)


# -- normalizers ----------------------------------------------------------------------------


@fuzz(300)
@given(value=st.one_of(st.none(), some_text))
@example(value="&amp;amp;")  # decoded once only: a second pass changed it again
@example(value="A\u200b\u0300")  # invisible character removed after NFC: "A\u0300"
def test_clean_text(value: str | None) -> None:
    once = clean_text(value)
    _assert_line(once, "clean_text")
    assert clean_text(once) == once


@fuzz(300)
@given(value=st.one_of(st.none(), some_text, st.lists(some_text).map("\n".join)))
@example(value="A\u200b\u0300")  # invisible character removed after NFC: "A\u0300"
def test_clean_body(value: str | None) -> None:
    once = clean_body(value)
    _assert_body(once)
    assert clean_body(once) == once


@fuzz(300)
@given(title=st.one_of(st.none(), some_text), names=st.lists(st.one_of(st.none(), some_text)))
def test_strip_site_name(title: str | None, names: list[str | None]) -> None:
    out = strip_site_name(title, names)
    _assert_line(out, "title")
    if out is not None:
        cleaned = clean_text(title)
        assert cleaned is not None and out in cleaned  # only ever removes segments
        if cleaned == title:
            assert len(out) <= len(title)


@fuzz(300)
@given(
    raw=st.lists(st.one_of(st.none(), some_text), max_size=6),
    names=st.lists(st.one_of(st.none(), some_text), max_size=3),
)
def test_clean_authors(raw: list[str | None], names: list[str | None]) -> None:
    _assert_unique_lines(clean_authors(raw, names), "authors")


@fuzz(300)
@given(
    raw=st.one_of(st.none(), dates),
    now=st.one_of(st.none(), datetimes),
    langs=languages,
    tz=tz_names,
)
# A fetch time within a day of datetime.min/max: converting it to UTC overflowed.
@example(raw="June 6, 2022", now=datetime.min.replace(tzinfo=_PLUS_2359), langs=None, tz=None)
@example(raw="2 hours ago", now=datetime.max.replace(tzinfo=_MINUS_2359), langs=None, tz=None)
def test_parse_date(
    raw: str | None, now: datetime | None, langs: list[str] | None, tz: str | None
) -> None:
    out = parse_date(raw, now=now, languages=langs, tz=tz)
    assert out is None or isinstance(out, datetime)


@fuzz(300)
@given(
    value=st.one_of(
        st.none(),
        dates,
        st.builds(lambda n, u: f"{n}{u}", st.integers(0, 10**20), st.sampled_from("mhdwMHDW")),
    ),
    now=datetimes,
)
@example(value="1M", now=datetime.min)  # OverflowError, not ValueError
@example(value="99999999999w", now=datetime(2022, 6, 6, tzinfo=timezone.utc))
def test_parse_since(value: str | None, now: datetime) -> None:
    try:
        out = parse_since(value, now)
    except ValueError:
        return
    assert out is None or isinstance(out, datetime)


@fuzz(300)
@given(url=st.one_of(st.none(), urls), base=st.one_of(st.none(), urls))
@example(url="http://./", base=None)  # gave "http:///"
@example(url="http://\x00/", base=None)  # gave "http://\x00/"
@example(url="HTTP://´", base=None)  # IDNA gave "http://xn-- -xbb/"
@example(url="http://[::1]/x", base=None)  # gave "http://::1/x", brackets lost
@example(url="x", base="http://[")  # urljoin raised ValueError
def test_canonicalize_url(url: str | None, base: str | None) -> None:
    out = canonicalize_url(url, base)
    if out is None:
        return
    assert _is_http_url(out), out
    assert canonicalize_url(out) == out


@fuzz(300)
@given(url=urls)
def test_date_from_url(url: str) -> None:
    out = date_from_url(url)
    assert out is None or (isinstance(out, datetime) and out.tzinfo is None)


@st.composite
def article_items(draw: st.DrawFn, well_formed: bool = True) -> ArticleItem:
    """Items as an extractor could hand them over: messy text in every field; with
    ``well_formed``, the invariants normalization does not own hold (a date has its raw
    text, the language is a primary tag)."""
    maybe_text = st.one_of(st.none(), some_text)
    values: dict[str, Any] = {
        "url": draw(urls),
        "canonical_url": draw(st.one_of(st.none(), urls)),
        "source": draw(maybe_text),
        "site_name": draw(maybe_text),
        "title": draw(maybe_text),
        "subtitle": draw(maybe_text),
        "authors": draw(st.lists(some_text, max_size=4)),
        "body": draw(st.one_of(st.none(), some_text, st.lists(some_text).map("\n\n".join))),
        "image": draw(st.one_of(st.none(), urls)),
        "tags": draw(st.lists(st.one_of(st.sampled_from(["TV", "tv", " TV", "&amp;"]), text))),
        "section": draw(maybe_text),
        "fetched_at": draw(st.one_of(st.none(), datetimes)),
    }
    for name in ("published", "modified"):
        values[name] = draw(st.one_of(st.none(), datetimes))
        raw = draw(st.one_of(st.none(), dates))
        if well_formed and values[name] is not None:
            raw = raw or "2022-06-06"
        values[f"{name}_raw"] = raw
    if well_formed:
        values["language"] = draw(st.one_of(st.none(), st.sampled_from(["en", "de", "ger"])))
    else:
        values["language"] = draw(st.one_of(st.none(), some_text))
    return ArticleItem(**values)


@fuzz(250)
@given(
    item=article_items(),
    tz=tz_names,
    names=site_names,
    now=st.one_of(st.none(), datetimes),
    keep_naive=st.booleans(),
)
# Tags were cleaned but not deduplicated.
@example(item=ArticleItem(url=_URL, tags=["TV", "tv ", "T&amp;V", "T&V"]), tz=None, names=[],
         now=None, keep_naive=False)  # fmt: skip
def test_normalize_item(
    item: ArticleItem, tz: str | None, names: list[str], now: datetime | None, keep_naive: bool
) -> None:
    # Cleaned as the extractor cleans (normalization does not clean again), with the
    # characters no text may hold still in: sanitizing is normalization's.
    item = clean_fields(item, site_names=names)
    out = normalize_item(item, tz=tz, site_names=names, now=now, keep_naive=keep_naive).item
    url = sanitize(item.url)
    assert_valid_item(out, url=canonicalize_url(url) or url)
    for value in out.to_dict().values():
        for text in value if isinstance(value, list) else [value]:
            assert not isinstance(text, str) or sanitize(text) == text, f"kept in {text!r}"
    reference = now or item.fetched_at
    for name in ("published", "modified"):
        dt = getattr(out, name)
        if dt is None:
            continue
        assert keep_naive or dt.tzinfo is not None, f"{name} stayed naive"
        if reference is not None:
            assert not is_future(dt, reference), f"future {name} kept"
        assert (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)) >= EARLIEST
    assert out.fetched_at is None or out.fetched_at.tzinfo is not None


@fuzz(100)
@given(item=article_items(well_formed=False), tz=tz_names, now=st.one_of(st.none(), datetimes))
def test_normalize_item_never_raises(
    item: ArticleItem, tz: str | None, now: datetime | None
) -> None:
    normalize_item(item, tz=tz, now=now)


# -- the batch run --------------------------------------------------------------------------


@st.composite
def saved_pages(draw: st.DrawFn) -> tuple[str, bytes]:
    """(file suffix, bytes) of a saved page: plain, gzipped, truncated or corrupt gzip."""
    data = draw(page_bytes())
    kind = draw(st.integers(0, 4))
    if kind == 1:
        data = gzip.compress(data)
    elif kind == 2:  # truncated gzip
        packed = gzip.compress(data)
        data = packed[: draw(st.integers(0, len(packed) - 1))]
    elif kind == 3:  # a gzip member whose deflate stream is damaged
        damaged = bytearray(gzip.compress(data))
        pos = draw(st.integers(10, len(damaged) - 1))
        damaged[pos] ^= draw(st.integers(1, 255))
        data = bytes(damaged)
    elif kind == 4:
        data = b"\x1f\x8b" + draw(st.binary(max_size=100))
    suffix = ".html.gz" if kind else draw(st.sampled_from([".html", ".html.gz", ".htm", ""]))
    return suffix, data


@fuzz(60)
@given(
    pages=st.lists(
        st.tuples(saved_pages(), article_urls, st.one_of(st.none(), datetimes)),
        min_size=1,
        max_size=4,
    )
)
def test_batch_run(pages: list[tuple[tuple[str, bytes], str, datetime | None]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        specs = []
        for i, ((suffix, data), url, fetched_at) in enumerate(pages):
            path = Path(tmp) / f"page{i}{suffix}"
            path.write_bytes(data)
            specs.append(PageSpec(path, url, fetched_at))
        specs.append(PageSpec(Path(tmp) / "missing.html", "https://example.com/"))
        out = io.StringIO()
        ok, failed = run(specs, out)
    lines = out.getvalue().split("\n")
    assert lines.pop() == ""
    assert len(lines) == len(specs) == ok + failed
    for spec, line in zip(specs, lines, strict=True):
        row = json.loads(line)
        assert row["path"] == str(spec.path)
        if "error" in row:
            assert row["url"] == spec.url
        else:
            url = sanitize(spec.url)
            assert_valid_item(_item_from_row(row), url=canonicalize_url(url) or url)
    assert failed >= 1  # the missing file


manifest_lines = st.one_of(
    st.builds(
        lambda row: json.dumps(row, allow_nan=True),
        st.fixed_dictionaries(
            {},
            optional={
                "path": st.one_of(st.sampled_from(["a.html", "/abs/b.html.gz"]), json_scalars),
                "url": st.one_of(urls, json_scalars),
                "fetched_at": st.one_of(dates, json_scalars),
            },
        ),
    ),
    st.builds(json.dumps, json_values),
    st.sampled_from(["{", "", "   ", '{"path": "\\u0000", "url": "x"}']),
    st.integers(1000, 100_000).map(lambda n: "[" * n),
    text,
)


@fuzz(200)
@given(lines=st.lists(manifest_lines, max_size=5))
@example(lines=["[" * 100_000])  # RecursionError escaped read_manifest
def test_read_manifest(lines: list[str]) -> None:
    """A manifest line is read into a PageSpec or refused with ValueError (the CLI reports
    it with the line number)."""
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "pages.jsonl"
        manifest.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
        try:
            specs = list(read_manifest(manifest))
        except ValueError:
            return
    for spec in specs:
        assert isinstance(spec.path, Path) and isinstance(spec.url, str)
        assert spec.fetched_at is None or spec.fetched_at.tzinfo is not None


# -- plain regression tests: pages that made extraction raise ---------------------------


def _jsonld(text_: str) -> str:
    return f'<script type="application/ld+json">{text_}</script>'


@pytest.mark.parametrize(
    "html",
    [
        # A control character after a pruned <script>: moving the tail into the parent's
        # text raised ValueError (lxml setters refuse what its parser keeps).
        "<html><body><p><script>x</script>\x08</p></body></html>",
        # Arc/Fusion page state nested past the recursion limit: RecursionError.
        '<script>"content_elements": ' + "[" * 5000 + "</script>",
        # A breadcrumb position str.isdigit() accepts and int() refuses: ValueError.
        _jsonld('{"@type": "BreadcrumbList", "itemListElement": [{"position": "²"}]}'),
        _jsonld('{"@type": "BreadcrumbList", "itemListElement": [{"position": "'
                + "9" * 5000 + '"}]}'),
        # Garbage URLs in meta and link tags (ValueError from urljoin/urlsplit/w3lib).
        '<link rel="canonical" href="http://["><meta property="og:image" content="http://x:99999/">',
        '<meta property="og:url" content="http://[::1]:abc/">',
    ],
    ids=["control-char-tail", "deep-content-elements", "position-superscript",
         "position-5000-digits", "bad-canonical-and-image", "bad-og-url"],
)  # fmt: skip
def test_extract_regressions(html: str) -> None:
    assert_valid_item(extract_article(html, _URL), url=_URL)


def test_batch_damaged_gzip(tmp_path: Path) -> None:
    """A gzip member whose deflate stream is damaged raised zlib.error, which batch.run
    does not catch: the whole run died instead of recording the page as failed."""
    data = bytearray(gzip.compress(b"<p>hello</p>"))
    data[10] = 0xFF  # the first deflate byte: "invalid block type"
    path = tmp_path / "page.html.gz"
    path.write_bytes(bytes(data))
    out = io.StringIO()
    assert run([PageSpec(path, _URL)], out) == (0, 1)
    assert "corrupt gzip data" in json.loads(out.getvalue())["error"]
