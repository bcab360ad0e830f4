"""Measuring and removing elements of the page tree: text and link lengths per element
(:func:`_measure`), and removal that keeps the text after an element."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from aggregator.extract.page import HtmlElement

# Characters lxml's HTML parser keeps in text but its setters refuse (not XML 1.0 chars).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def drop_keep_tail(el: HtmlElement, *, blank_tail: bool = False) -> None:
    """Remove ``el`` from the tree, keeping its tail text in place (a whitespace-only
    tail only with ``blank_tail``, as lxml's ``drop_tree()`` does)."""
    drop_all([el], blank_tail=blank_tail)


@dataclass
class _Joined:
    """Text a tail or a ``.text`` is becoming: pieces joined once, at the end."""

    pieces: list[str]
    nonempty: bool
    nonblank: bool


def drop_all(elements: Iterable[HtmlElement], *, blank_tail: bool = False) -> None:
    """:func:`drop_keep_tail` for each element in turn (one without a parent is
    skipped). A run of dropped siblings moves every tail onto the same text: it is joined
    once at the end, as joining it anew per element is quadratic in the run."""
    # (element, True): its .text; (element, False): its .tail.
    joined: dict[tuple[HtmlElement, bool], _Joined] = {}

    def current(el: HtmlElement, is_text: bool) -> _Joined:
        value = joined.get((el, is_text))
        if value is None:
            text = (el.text if is_text else el.tail) or ""
            value = _Joined([text], bool(text), bool(text.strip()))
        return value

    for el in elements:
        parent = el.getparent()
        if parent is None:
            continue
        tail = joined.pop((el, False), None) or current(el, False)
        if tail.nonempty and (blank_tail or tail.nonblank):
            prev = el.getprevious()
            key = (prev, False) if prev is not None else (parent, True)
            target = current(*key)
            target.pieces.extend(tail.pieces)
            target.nonempty = True
            target.nonblank = target.nonblank or tail.nonblank
            joined[key] = target
        parent.remove(el)
    for (el, is_text), value in joined.items():
        # Text moved by assignment must be XML-safe: a control character in a page
        # ("<script>..</script>\x08") made the setter raise ValueError.
        text = _NOT_XML.sub("", "".join(value.pieces))
        if is_text:
            el.text = text
        else:
            el.tail = text


@dataclass
class _Stats:
    text: int = 0
    links: int = 0
    children: int = 0
    """``len(el)``, which lxml counts anew on every call."""


def _text_len(s: str | None) -> int:
    return len(s.strip()) if s else 0


def _measure(root: HtmlElement) -> dict[HtmlElement, _Stats]:
    """Text and link-text length under every element, in one bottom-up pass."""
    stats: dict[HtmlElement, _Stats] = {}

    def visit(el: HtmlElement, in_link: bool) -> tuple[int, int]:
        is_link = in_link or el.tag == "a"
        t = _text_len(el.text)
        total, links, children = t, (t if is_link else 0), 0
        for child in el:
            ct, cl = visit(child, is_link)
            tail = _text_len(child.tail)
            total += ct + tail
            links += cl + (tail if is_link else 0)
            children += 1
        stats[el] = _Stats(total, links, children)
        return total, links

    visit(root, False)
    return stats
