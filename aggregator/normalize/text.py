"""Text cleanup shared by every field, and the body's dedup hash."""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from functools import lru_cache

# Characters that render as nothing: zero-width marks, and control characters (C0 except
# the whitespace ones, DEL, C1) which never belong in text and could drive a terminal
# ("\x1b[31m" in a garbage page would colour `aggregator show`).
_CONTROLS = [c for c in range(0x20) if chr(c) not in "\t\n\r\x0b\x0c"] + list(range(0x7F, 0xA0))
_INVISIBLE = dict.fromkeys([*map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), *_CONTROLS], None)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_NEWLINES_AROUND = re.compile(r" *\n *")
_BLANK_LINE = re.compile(r"\n\s*\n")
_ANY_WS = re.compile(r"\s+")
# What no stored or exported text may hold: lone surrogates (UTF-8 cannot encode them,
# so a database driver fails on the whole statement), non-characters (U+FDD0..U+FDEF and
# the last two code points of every plane, which XML forbids) and control characters
# other than tab and line breaks (C0, DEL, C1).
_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(f"{chr(p * 0x10000 + 0xFFFE)}{chr(p * 0x10000 + 0xFFFF)}" for p in range(17))
    + "]"
)


def sanitize(value: str) -> str:
    """``value`` without the characters no text of ours may hold (lone surrogates,
    non-characters, control characters other than tab, LF and CR)."""
    return _FORBIDDEN.sub("", value)


def truncate(value: str, limit: int) -> str:
    """``value`` cut to at most ``limit`` characters, at a space when one is near the end,
    with an ellipsis when anything was cut."""
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


def clean_text(value: str | None) -> str | None:
    """One-line text: entities decoded, NFC, invisible characters removed, all whitespace
    runs collapsed to one space, trimmed. Returns None for None or empty results."""
    if value is None:
        return None
    if value.isascii() and value.isprintable() and "&" not in value and "  " not in value:
        # Nothing to decode, delete or compose, and no whitespace but single spaces: the
        # passes below would only trim it (most texts of a page, read cheaply).
        return value.strip() or None
    # Repeated until nothing changes, so that cleaning twice is cleaning once: a pass can
    # leave work for the next ("&amp;amp;" escaped twice by a CMS, "&am\u200bp;"). After
    # the first, a pass that changes anything shortens the text, so this ends (as a rule
    # after two passes).
    while True:
        cleaned = _clean_once(value)
        if cleaned == value:
            return value or None
        value = cleaned


def _clean_once(value: str) -> str:
    if "&" in value:
        value = html.unescape(value)
    # Invisible characters go before NFC: between a base and its combining mark they
    # block composition ("A\u200b\u0300" must become "À", not "A\u0300").
    value = unicodedata.normalize("NFC", value.translate(_INVISIBLE))
    return _ANY_WS.sub(" ", value).strip()


def clean_body(value: str | None) -> str | None:
    """Multi-paragraph text taken from the DOM (entities already decoded, so not decoded
    again): like :func:`clean_text` inside each paragraph, paragraphs
    separated by exactly one blank line; a single line break inside a paragraph (``<br>``)
    is kept."""
    if value is None:
        return None
    # Invisible characters first: left in place they block NFC composition.
    value = unicodedata.normalize("NFC", value.translate(_INVISIBLE))
    value = _SPACES.sub(" ", value)
    value = _NEWLINES_AROUND.sub("\n", value)
    blocks = []
    for block in _BLANK_LINE.split(value):
        lines = [line.strip() for line in block.split("\n")]
        text = "\n".join(line for line in lines if line)
        if text:
            blocks.append(text)
    return "\n\n".join(blocks) or None


_HASH_WORDS = re.compile(r"\w+", re.UNICODE)
# Bodies shorter than this many words are not hashed: short stubs ("Watch the trailer")
# collide across unrelated articles.
MIN_HASH_WORDS = 30


@lru_cache(maxsize=256)
def body_hash(body: str | None) -> str | None:
    """SHA-256 of the body's words, casefolded: the same text with other whitespace,
    punctuation or case gives the same hash. None for short or missing bodies.

    Cached: the dedup pipeline and the store ask for the same body's hash in turn."""
    if not body:
        return None
    words = _HASH_WORDS.findall(body.casefold())
    if len(words) < MIN_HASH_WORDS:
        return None
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()
