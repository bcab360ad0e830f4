"""What the text under an element looks like, answered once per element.

Extraction asks the same question of elements nested in each other: the text of this
``<div>``, of the ``<div>`` inside it, of the ``<span>`` inside that. ``text_content()``
answers by walking the whole subtree each time, so on a page of elements nested 250 deep
(libxml2's limit) every character was read and cleaned 250 times. :class:`SubtreeText`
builds each element's answer from its children's and keeps it, so a subtree is walked
once however many of its ancestors ask.

The answers describe the tree as it was when first asked: one instance per tree, and
none after the tree is modified.
"""

from __future__ import annotations

import re

from aggregator.extract.page import HtmlElement
from aggregator.normalize.text import clean_text

# clean_text() shrinks a text by collapsing whitespace, and beyond that (entities,
# invisible characters, NFC) by at most 1.35 on every element of the corpora. A text
# with more than _SHRINK times ``limit`` characters other than whitespace (plus a
# little slack for short ones) is longer than ``limit`` once cleaned.
_SHRINK = 4
_SLACK = 64
# A whitespace run becomes one space, as in clean_text(); the information separators
# and NEL, which clean_text() deletes as control characters, are left for it to delete.
_WS_RUN = re.compile(r"[^\S\x1c-\x1f\x85]+")
# A digit, or an entity that could decode to one ("&#49;").
_DIGIT_OR_ENTITY = re.compile(r"[\d&]")


def solid_length(text: str | None) -> int:
    """How many characters of ``text`` are not whitespace."""
    return len("".join(text.split())) if text else 0


def may_be_shorter(text: str, limit: int) -> bool:
    """False when ``clean_text(text)`` is certainly longer than ``limit`` characters."""
    return solid_length(text) <= _SHRINK * limit + _SLACK


def _collapse(text: str | None) -> str:
    return _WS_RUN.sub(" ", text) if text else ""


class SubtreeSearch:
    """Whether a pattern occurs in the text under an element (its text or any tail below
    it; a match spanning two of them is not looked for), each subtree read once: nested
    blocks each reading their whole ``text_content()`` is quadratic in the nesting."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self._pattern = pattern
        self._found: dict[HtmlElement, bool] = {}

    def __call__(self, el: HtmlElement) -> bool:
        found = self._found.get(el)
        if found is None:
            search = self._pattern.search
            found = bool(el.text and search(el.text))
            for child in el:  # a loop, not any(): one stack frame per level of nesting
                if found:
                    break
                found = (isinstance(child.tag, str) and self(child)) or bool(
                    child.tail and search(child.tail)
                )
            self._found[el] = found
        return found


class SubtreeText:
    """Facts about ``el.text_content()`` for any element of one tree, each element's
    computed once from its children's (comments contribute their tail only, as in
    ``text_content()``)."""

    def __init__(self) -> None:
        self._solid: dict[HtmlElement, int] = {}
        self._length: dict[HtmlElement, int] = {}
        self._collapsed: dict[HtmlElement, str] = {}
        self._cleaned: dict[HtmlElement, str] = {}
        self._has: dict[tuple[HtmlElement, str], bool] = {}
        self._may_hold_digit = SubtreeSearch(_DIGIT_OR_ENTITY)

    def solid(self, el: HtmlElement) -> int:
        """How many characters of the element's text are not whitespace."""
        n = self._solid.get(el)
        if n is None:
            n = solid_length(el.text)
            for child in el:
                if isinstance(child.tag, str):
                    n += self.solid(child)
                n += solid_length(child.tail)
            self._solid[el] = n
        return n

    def length(self, el: HtmlElement) -> int:
        """``len(el.text_content())``."""
        n = self._length.get(el)
        if n is None:
            n = len(el.text or "")
            for child in el:
                if isinstance(child.tag, str):
                    n += self.length(child)
                n += len(child.tail or "")
            self._length[el] = n
        return n

    def short_text(self, el: HtmlElement, limit: int, *, with_digit: bool = False) -> str | None:
        """``clean_text(el.text_content())`` ("" for no text) when that may be ``limit``
        characters or shorter; None when it is certainly longer (then it is not computed).
        With ``with_digit``, "" also for a text without a digit (no date): not cleaned."""
        if self.solid(el) > _SHRINK * limit + _SLACK:
            return None
        if with_digit and not self._may_hold_digit(el):
            return ""  # cleaning adds no digit, an entity aside
        text = self._cleaned.get(el)
        if text is None:
            # Whitespace runs collapsed first, which changes nothing clean_text() returns
            # and keeps the work per element small on a page stuffed with whitespace.
            text = self._cleaned[el] = clean_text(self._collapsed_text(el)) or ""
        return text

    def _collapsed_text(self, el: HtmlElement) -> str:
        text = self._collapsed.get(el)
        if text is None:
            parts = [_collapse(el.text)]
            for child in el:
                if isinstance(child.tag, str):
                    parts.append(self._collapsed_text(child))
                parts.append(_collapse(child.tail))
            text = self._collapsed[el] = "".join(parts)
        return text

    def has(self, el: HtmlElement, tag: str) -> bool:
        """Whether ``el`` is or holds a ``tag`` element (``el.iter(tag)`` is not empty)."""
        key = (el, tag)
        found = self._has.get(key)
        if found is None:
            found = el.tag == tag
            for child in el:  # a loop, not any(): one stack frame per level of nesting
                if found:
                    break
                found = isinstance(child.tag, str) and self.has(child, tag)
            self._has[key] = found
        return found
