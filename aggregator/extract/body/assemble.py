"""Assembling text: the container's blocks (paragraphs, headings, list items, quotes)
as plain text, without the blocks that read as furniture (link lists, bylines, datelines,
adverts, the headline repeated)."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from itertools import pairwise

from aggregator.extract.body.lexicon import (
    _ADVERT,
    _AFFILIATE,
    _BLOCK_TAGS,
    _BYLINE,
    _COMMISSION,
    _CREDIT_LINE,
    _DATE_IN_TEXT,
    _DATELINE_WORDS,
    _FURNITURE_TEXT,
    _HEADINGS,
    _NOT_LETTERS,
    _READING_TIME,
    _TIME_IN_TEXT,
    _TRACKBACKS,
    LONG_WORD,
    _is_comment_prompt,
)
from aggregator.extract.page import HtmlElement
from aggregator.normalize.text import clean_body


@dataclass
class Block:
    """One block of text in the container, with what filtering needs to know."""

    tag: str
    text: str
    link_chars: int
    group: int = 0
    """Identifies the enclosing block element (the ``<ul>`` of an ``<li>``)."""
    line_links: tuple[int, ...] = ()
    """Link characters of each ``<br>``-separated line of ``text``, where it has several
    (not in ``<pre>``)."""

    @property
    def link_heavy(self) -> bool:
        """Mostly link text, with little text besides the links."""
        n = len(self.text.strip())
        return self.link_chars / max(n, 1) > 0.5 and n - self.link_chars < 40


_WS = re.compile(r"\s+")


def _blocks(container: HtmlElement) -> list[Block]:
    """Split the container into text blocks at block-level elements. Whitespace inside a
    block collapses as a browser renders it; ``<br>`` is a line break; ``<pre>`` is kept."""
    blocks: list[Block] = []
    buf: list[str] = []
    link_chars = 0
    line_links: list[int] = []  # link characters of the lines before the current one
    line_start = 0  # link_chars where the current line started
    in_pre = False  # the block holds preformatted text (its lines are not <br>s)
    block_tag = [container.tag if isinstance(container.tag, str) else "div"]
    block_el: list[int] = [0, id(container)]
    pre_depth = 0

    def flush() -> None:
        nonlocal link_chars, line_start, in_pre
        text = "".join(buf)
        if text.strip():
            lines = () if in_pre or not line_links else (*line_links, link_chars - line_start)
            blocks.append(Block(block_tag[-1], text, link_chars, block_el[-2], lines))
        buf.clear()
        link_chars = line_start = 0
        line_links.clear()
        in_pre = bool(pre_depth)

    def add(text: str, is_link: bool) -> None:
        nonlocal link_chars
        if not pre_depth:
            text = _WS.sub(" ", text)
        buf.append(text)
        if is_link:
            link_chars += len(text.strip())

    def walk(el: HtmlElement, in_link: bool) -> None:
        nonlocal pre_depth, line_start, in_pre
        tag = el.tag if isinstance(el.tag, str) else ""
        is_block = tag in _BLOCK_TAGS
        is_link = in_link or tag == "a"
        if tag == "br":
            buf.append("\n")
            line_links.append(link_chars - line_start)
            line_start = link_chars
        elif is_block:
            flush()
            block_tag.append(tag)
            block_el.append(id(el))
        if tag == "pre":
            pre_depth += 1
            in_pre = True
        if el.text:
            add(el.text, is_link)
        for child in el:
            walk(child, is_link)
            if child.tail:
                add(child.tail, is_link)
        if tag == "pre":
            pre_depth -= 1
        if is_block:
            flush()
            block_tag.pop()
            block_el.pop()

    walk(container, False)
    flush()
    return blocks


_NON_WORD = re.compile(r"\W+")
_INLINE_SPACE = re.compile(r"[ \t\r\f\v\u00a0]+")


def _norm(s: str) -> str:
    return _NON_WORD.sub(" ", s.casefold()).strip()


def assemble(
    parts: list[HtmlElement],
    *,
    headlines: Collection[str] = (),
    authors: Collection[str] = (),
) -> str | None:
    """Plain text of the article blocks in ``parts``, separated by blank lines.

    Dropped: link-dominated blocks, furniture phrases ("More:", "Got a tip?"), advert
    labels, bylines and date lines, and the headline repeated inside the container. A
    block equal to the dek stays: pages often use their first paragraph as description.
    A comment prompt after the article's prose ends the article, and so does a run of
    signed entries: the readers' comments, even where nothing in their markup names them.
    A rights notice followed by no prose ends it too, with the modules below it.
    """
    skip = {_norm(h) for h in headlines if h}
    skip.update(_title_heads(headlines))
    names = [a.casefold() for a in authors if len(a) > 3]
    out: list[str] = []
    kept = 0  # characters of text in out
    signed: list[int] = []  # indexes in out of attribution lines after the prose
    blocks = [b for part in parts for b in _blocks(part)]
    # Share of link-heavy items per list: a link list is furniture, a linked item in a
    # list of prose items is content.
    groups: dict[int, list[bool]] = {}
    for b in blocks:
        if b.tag in ("li", "dd", "dt"):
            groups.setdefault(b.group, []).append(b.link_heavy)
    heads = _section_heads(blocks)
    for i, b in enumerate(blocks):
        text = _INLINE_SPACE.sub(" ", _without_link_lines(b)).strip()
        if not text:
            continue
        n = len(text)
        if b.link_heavy and i not in heads:
            siblings = groups.get(b.group, [])
            if not (b.tag in ("li", "dd", "dt") and sum(siblings) * 2 < len(siblings)):
                continue  # related-link lines, tag lists, share bars
        if (
            n < 120
            and _FURNITURE_TEXT.match(text)
            and (b.link_chars or n < 40 or text.endswith("?"))
        ):
            continue
        if kept >= _PROSE_BEFORE_THREAD and _opens_thread(b.text):
            break  # the readers' comments, however their entries are marked up
        if kept >= _PROSE_BEFORE_TRACKBACKS and _TRACKBACKS.match(b.text.strip()):
            break  # the trackbacks: other blogs' replies, listed below the post
        if kept >= _PROSE_BEFORE_THREAD and _ends_with_notice(b, text, blocks[i + 1 :]):
            break  # the page's legal notice and the modules below it
        if _ADVERT.match(text) or (n < 80 and _BYLINE.match(text)) or _is_comment_prompt(text):
            continue
        if n < 300 and _CREDIT_LINE.search(text):
            continue
        if n < 100 and names and _is_byline(text, names):
            continue  # the byline repeated inside the container
        if n < 70 and _is_dateline(text):
            continue
        if n < 40 and _READING_TIME.match(text):
            continue
        if n < 400 and _AFFILIATE.search(text) and _COMMISSION.search(text):
            continue
        if skip and _norm(text) in skip:
            continue
        if not out and b.tag in _TOP_HEADINGS and n < 150 and _tells_headline(text, headlines):
            continue  # the headline at the container's top, worded apart from the title
        out.append(text)
        kept += n
        if kept - n >= _PROSE_BEFORE_THREAD and n < 160 and _ATTRIBUTION.match(text):
            signed.append(len(out) - 1)
    if len(signed) >= 2:
        # Entries signed one by one ("Posted by: name | date"): the readers' comments,
        # which end the article at the first signature (the post's own, if it has one).
        del out[signed[0] :]
    return clean_body("\n\n".join(out))


# Link-heavy lines in a row that make a link list inside a block: more than the few
# sources or further-reading links a post lists under its text (dragnet keeps a post's
# list of six; a run of five or six cost it, eight costs nothing).
_LINK_RUN = 8


def _without_link_lines(block: Block) -> str:
    """The block's text without its runs of link-heavy lines, where ``<br>`` splits it
    into lines: linked headlines set line by line in one block ("15 Funny Posts<br>Fun
    Facts<br>...") are a link list as much as list items are. A block that is all such
    lines is left to the block's own test."""
    if len(block.line_links) < _LINK_RUN:
        return block.text
    lines = block.text.split("\n")
    if len(lines) != len(block.line_links):
        return block.text
    heavy = [
        bool(line.strip()) and Block("", line, links).link_heavy
        for line, links in zip(lines, block.line_links, strict=True)
    ]
    # Runs of link-heavy lines (blank lines between them do not break a run).
    drop: set[int] = set()
    run: list[int] = []
    for j, line in enumerate([*lines, "end"]):
        if j < len(lines) and heavy[j]:
            run.append(j)
        elif j < len(lines) and not line.strip():
            continue
        else:
            if len(run) >= _LINK_RUN:
                drop.update(run)
            run = []
    kept = [line for j, line in enumerate(lines) if j not in drop]
    if not any(line.strip() for line in kept):
        return block.text
    return "\n".join(kept)


# Headings that print a headline at the container's top (_tells_headline).
_TOP_HEADINGS = frozenset({"h1", "h2", "h3"})


def _tells_headline(text: str, headlines: Collection[str]) -> bool:
    """Whether a heading that opens the body is the headline: it shares half its longer
    words with a headline candidate of three such words or more, and half of that
    candidate's (the title with a kicker or a dateline added, the headline cut short);
    or the page has no headline at all to compare with. A section's name ("News &
    Events") or a label ("FDA News Release") shares a word, not half of each."""
    words = set(LONG_WORD.findall(text.casefold()))
    if not words:
        return False
    cands = [set(LONG_WORD.findall(h.casefold())) for h in headlines if h]
    if not cands:
        return True
    return any(len(c) >= 3 and len(words & c) * 2 >= max(len(words), len(c)) for c in cands)


# What separates the headline from the site's name in a <title>.
_TITLE_SEPARATOR = re.compile(r"\s+[-|–—:»«]+\s+|:\s+")


def _title_heads(headlines: Collection[str]) -> set[str]:
    """The headline part of each title that goes on with the site's name ("Headline -
    Site Blog", "Headline: Site"): the text before each of its separators, when it has
    three words or more (a shorter one is a section name, "Review: ...")."""
    found: set[str] = set()
    for h in headlines:
        parts = _TITLE_SEPARATOR.split(h or "")
        for n in range(1, len(parts)):
            head = _norm(" ".join(parts[:n]))
            if len(head.split()) >= 3:
                found.add(head)
    return found


def _opens_thread(text: str) -> bool:
    """Whether a block opens the readers' comments: its first line announces them
    ("12 Comments", "Leave a reply", "Comments are now closed for this story"), whether
    the entries follow in blocks of their own or in the same block after a line break."""
    first = text.strip().split("\n", 1)[0]
    return _is_comment_prompt(_INLINE_SPACE.sub(" ", first).strip())


# Text kept before a comment prompt that makes it the end of the article rather than a
# line at its top (a comment count beside the byline): what follows is the thread.
_PROSE_BEFORE_THREAD = 500
# Text kept before a trackbacks heading that ends the article: a short post's line. Unlike
# a comment count, the heading is never the post's meta line at its top.
_PROSE_BEFORE_TRACKBACKS = 100
# A rights notice: "Copyright 2008 The Associated Press. All rights reserved. This
# material may not be published, broadcast, rewritten or redistributed."
_RIGHTS = re.compile(
    r"all rights reserved|may not be (?:re)?published|registered trademarks?", re.IGNORECASE
)
# Unlinked text of a block after a notice that makes it the article going on (a press
# release's trademark lines between its paragraphs), not a module below the article.
_PROSE_AFTER_NOTICE = 150
# A notice longer than this, or of several paragraphs, holds article text too.
_NOTICE_MAX = 1000


def _ends_with_notice(block: Block, text: str, following: list[Block]) -> bool:
    """Whether ``block`` is a rights notice that ends the article: one paragraph
    ("All rights reserved", "may not be published", "registered trademarks") followed
    by blocks with no prose of their own (headline lists, links, a footer). A notice
    that is the container's last block stays: some articles end with their agency's."""
    if len(text) >= _NOTICE_MAX or "\n\n" in block.text.strip() or not _RIGHTS.search(text):
        return False
    after = [len(b.text.strip()) - b.link_chars for b in following if not _RIGHTS.search(b.text)]
    return bool(after) and max(after) < _PROSE_AFTER_NOTICE


# A short line signing an entry with its author and a date or time.
_ATTRIBUTION = re.compile(r"(?:posted|written|submitted)\s+by\b:?.*\d", re.IGNORECASE)
# A paragraph this long, and mostly unlinked, is prose (in _section_heads).
_PROSE_MIN = 150


def _section_heads(blocks: list[Block]) -> set[int]:
    """Indexes of the linked headings that open a section of the article: each heading
    of a listicle linking to its item ("<h3><a>Game</a> ($30)</h3>", an anchor to the
    section itself) is followed by a prose paragraph under the same parent, and that
    parent holds at least half of the container's paragraphs and two or more. A linked
    heading in a box of its own (an author bio, a teaser card) stays dropped."""
    paragraphs: dict[int, int] = {}
    for b in blocks:
        if b.tag == "p":
            paragraphs[b.group] = paragraphs.get(b.group, 0) + 1
    total = sum(paragraphs.values())
    heads: set[int] = set()
    for i, (b, nxt) in enumerate(pairwise(blocks)):
        if not (b.link_heavy and b.tag in _HEADINGS) or nxt.tag != "p" or nxt.group != b.group:
            continue
        n = len(nxt.text.strip())
        count = paragraphs.get(b.group, 0)
        if n >= _PROSE_MIN and nxt.link_chars < 0.3 * n and count >= 2 and 2 * count >= total:
            heads.add(i)
    return heads


def _is_byline(text: str, names: list[str]) -> bool:
    """A short block that is author names plus little else (an outlet, a place)."""
    low = text.casefold()
    if not any(name in low for name in names):
        return False
    for name in names:
        low = low.replace(name, " ")
    return len(_NON_WORD.sub("", low)) <= 30


def _is_dateline(text: str) -> bool:
    """A short block that is only a date (and time) with a "Published"/"Updated" label.
    A time alone stays: live blogs head their entries with one."""
    if not _DATE_IN_TEXT.search(text):
        return False
    rest = _DATELINE_WORDS.sub(" ", _TIME_IN_TEXT.sub(" ", _DATE_IN_TEXT.sub(" ", text)))
    rest = _NOT_LETTERS.sub("", rest)
    return len(rest) <= 3
