"""Article bodies that are not in the DOM: client-rendered pages.

Some pages ship the article only as data for JavaScript: as JSON-LD ``articleBody``, or
as an HTML string inside a script (Next.js flight data, Nuxt/Fusion state). When the DOM
yields (almost) nothing, these are read instead. Only then: parsing scripts costs time.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aggregator.extract.page import HtmlElement, parse_fragment, parse_tree

# JSON string literals, linear-time: each character is consumed once.
_JSON_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_HAS_P = re.compile(r"(?:\\u003c|<)p[ >\\]", re.IGNORECASE)
# Scripts above this size are skipped (bundled code, not data). Flight data and page
# state of a long article stay well under it.
MAX_SCRIPT = 2_000_000


def jsonld_body(articles: list[dict[str, Any]]) -> str | None:
    """``articleBody`` of the page's article JSON-LD, as paragraphs."""
    for obj in articles:
        body = obj.get("articleBody")
        if isinstance(body, list):
            body = "\n\n".join(x for x in body if isinstance(x, str))
        if isinstance(body, str) and body.strip():
            if "<p" in body:
                div = parse_fragment(body)
                return None if div is None else "\n\n".join(p.text_content() for p in div.iter("p"))
            return body
    return None


_CONTENT_ELEMENTS = re.compile(r'"content_elements"\s*:\s*\[')
_TEXT_TYPES = frozenset({"text", "paragraph", "header", "heading", "list_item"})


def content_elements(page_html: str) -> HtmlElement | None:
    """The story from Arc XP / Fusion page state (``"content_elements": [{"type":
    "paragraph", "content": "..."}]``), used by many newsrooms, as a ``<div>`` of
    paragraphs; the first such list with real text wins."""
    decoder = json.JSONDecoder()
    for m in _CONTENT_ELEMENTS.finditer(page_html):
        try:
            items, _ = decoder.raw_decode(page_html, m.end() - 1)
        except (ValueError, RecursionError):  # broken, or nested past the recursion limit
            continue
        paras = []
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("type") in _TEXT_TYPES:
                content = item.get("content")
                if isinstance(content, str) and content.strip():
                    tag = "h2" if item.get("type") in ("header", "heading") else "p"
                    paras.append(f"<{tag}>{content}</{tag}>")
        if sum(len(p) for p in paras) >= 200:
            div = parse_fragment("".join(paras))
            if div is None:
                continue
            return div
    return None


def script_html(page_html: str) -> HtmlElement | None:
    """The largest HTML fragment with paragraphs found in a script's JSON strings,
    parsed into a ``<div>``; None when there is none."""
    best: str | None = None
    best_len = 0
    for script in parse_tree(page_html).iter("script"):
        text = script.text or ""
        if len(text) > MAX_SCRIPT or not _HAS_P.search(text):
            continue
        for m in _JSON_STRING.finditer(text):
            literal = m.group(0)
            if len(literal) <= best_len or not _HAS_P.search(literal):
                continue
            try:
                value = json.loads(literal)
            except ValueError:
                continue
            if isinstance(value, str) and value.count("<p") >= 2:
                best, best_len = value, len(literal)
    if best is None:
        return None
    return parse_fragment(best)
