"""Text cleanup shared by every field."""

from __future__ import annotations

import html
import re
import unicodedata

# Characters that render as nothing or as a plain space.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_NEWLINES_AROUND = re.compile(r" *\n *")
_BLANK_LINE = re.compile(r"\n\s*\n")
_ANY_WS = re.compile(r"\s+")


def clean_text(value: str | None) -> str | None:
    """One-line text: entities decoded, NFC, invisible characters removed, all whitespace
    runs collapsed to one space, trimmed. Returns None for None or empty results."""
    if value is None:
        return None
    if "&" in value:
        value = html.unescape(value)
    value = unicodedata.normalize("NFC", value).translate(_INVISIBLE)
    value = _ANY_WS.sub(" ", value).strip()
    return value or None


def clean_body(value: str | None) -> str | None:
    """Multi-paragraph text taken from the DOM (entities already decoded, so not decoded
    again): like :func:`clean_text` inside each paragraph, paragraphs
    separated by exactly one blank line; a single line break inside a paragraph (``<br>``)
    is kept."""
    if value is None:
        return None
    value = unicodedata.normalize("NFC", value).translate(_INVISIBLE)
    value = _SPACES.sub(" ", value)
    value = _NEWLINES_AROUND.sub("\n", value)
    blocks = []
    for block in _BLANK_LINE.split(value):
        lines = [line.strip() for line in block.split("\n")]
        text = "\n".join(line for line in lines if line)
        if text:
            blocks.append(text)
    return "\n\n".join(blocks) or None
