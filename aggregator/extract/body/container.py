"""Choosing the container: score elements by the prose they hold, prefer the markup's
named body when it holds that prose, and merge siblings and fragments of a body split
across blocks."""

from __future__ import annotations

import re

from aggregator.extract.body.lexicon import (
    _ANY_BODY_HINT,
    _BLOCK_TAGS,
    _BODY_HINT_TESTS,
    _CONTENT_TOKENS,
    _NEGATIVE_TOKENS,
    _PARAGRAPH_TAGS,
    _PARENT_HINT,
    _comment_named,
    _tokens,
)
from aggregator.extract.body.tree import _Stats, _text_len
from aggregator.extract.page import HtmlElement
from aggregator.extract.subtree import SubtreeSearch


def _class_factor(el: HtmlElement) -> float:
    """A multiplier from class/id names: content names up, furniture names down."""
    toks = _tokens(el)
    if not toks:
        return 1.0
    factor = 1.0
    if toks & _CONTENT_TOKENS:
        factor *= 1.25
    if toks & _NEGATIVE_TOKENS:
        factor *= 0.6
    return factor


def _own_text(el: HtmlElement, stats: dict[HtmlElement, _Stats]) -> int:
    """Unlinked text a block contributes by itself: all of it for a paragraph, only its
    direct text for a div that also holds other blocks."""
    st = stats[el]
    if el.tag != "p" and any(isinstance(c.tag, str) and c.tag in _BLOCK_TAGS for c in el):
        return _text_len(el.text) + sum(_text_len(c.tail) for c in el)
    return st.text - st.links


def _score(
    root: HtmlElement, stats: dict[HtmlElement, _Stats], *, inline: bool = False
) -> dict[HtmlElement, float]:
    """Content scores: every text block credits its unlinked characters to its parent,
    half to its grandparent and a third to its great-grandparent (wrappers with a single
    child are looked through), so the element that directly holds most of the prose
    wins; then scaled by 1 - link density and by class names. With ``inline``, a span
    inside a paragraph or cell counts as a block too (for a page where nothing else
    scores: an old table layout whose article is the text of spans in one cell)."""
    scores: dict[HtmlElement, float] = {}
    punctuated = SubtreeSearch(_PUNCTUATION)
    for el in root.iter(*_PARAGRAPH_TAGS, "div", "section", "article", "font", "span"):
        if el not in stats:
            continue
        own: float = _own_text(el, stats)
        if own < 25:
            continue
        if (
            el.tag == "span"
            and not inline
            and (el.getparent() is None or el.getparent().tag in _PARAGRAPH_TAGS)
        ):
            continue  # a span counts only when it stands in for a paragraph
        # Prose has sentence punctuation; menus, tag lists and teasers have little.
        if own < 400 and not punctuated(el):
            own *= 0.3
        depth = 0
        for anc in el.iterancestors():
            st = stats.get(anc)
            children = st.children if st is not None else len(anc)
            if children == 1 and not (anc.text and anc.text.strip()):
                continue  # a pass-through wrapper (styled-components nest each <p> in 4)
            scores[anc] = scores.get(anc, 0.0) + own / (1, 2, 3)[depth]
            depth += 1
            if depth > 2:
                break
    for el, sc in scores.items():
        st = stats[el]
        scores[el] = sc * (1 - st.links / max(st.text, 1)) * _class_factor(el)
    return scores


# Sentence punctuation, in _score's test for prose.
_PUNCTUATION = re.compile("[.,;:!?。،、]")


def find_container(root: HtmlElement, stats: dict[HtmlElement, _Stats]) -> list[HtmlElement]:
    """The element(s) holding the article text, in document order; empty if none.

    The best-scored element wins unless a semantic container (``itemprop=articleBody``...)
    names the same text (:func:`_prefer_hint`). A winner in a later story or in a list
    of teasers gives way to the headline's own article. Siblings and same-class
    fragments of the body are merged in.
    """
    # No block of prose anywhere: the spans in cells and paragraphs are the prose, rather
    # than an empty body. Only then: elsewhere a span in a cell is inline text.
    scores = _score(root, stats) or _score(root, stats, inline=True)
    best = max(scores, key=scores.__getitem__) if scores else None
    hint = _hinted(root, stats)
    if hint is not None and (best is None or _prefer_hint(hint, best, stats)):
        return _with_fragments(root, [hint], stats)
    if best is None:
        return []
    earlier = _earlier_story(root, best, scores)
    if earlier is not None:
        best = earlier
    best = _article_inside(best, scores, stats)
    whole = _whole_container(best, scores, stats)
    # A landmark taken as the whole may have no score of its own: it stands for the
    # winner it holds (its siblings are measured against that).
    scores.setdefault(whole, scores[best])
    best = whole
    main = _main_article(root, best, scores, stats)
    if main is not None:
        under_main = set(main.iter())
        inside = [el for el in scores if el in under_main]
        # The story alone: its siblings are the teasers.
        return [max(inside, key=scores.__getitem__) if inside else main]
    return _with_fragments(root, _with_siblings(best, scores, stats), stats)


# _article_inside: the winner's share of link text from which it may be a wrapper of the
# article and the page's furniture; what share of its score the article inside has, and
# at most what part of its link density.
_WRAPPER_LINKS = 0.15
_INSIDE_SCORE = 0.7
_INSIDE_LINKS = 0.5


def _article_inside(
    best: HtmlElement, scores: dict[HtmlElement, float], stats: dict[HtmlElement, _Stats]
) -> HtmlElement:
    """The best-scored element inside a winner full of links, when it has most of the
    winner's score, half its link density at most, and nothing written in sentences
    before it in the winner: the winner is a page wrapper that scored on the article
    plus the furniture around it (menus, the footer's legal text), and the article
    starts where its prose does."""
    b = stats[best]
    density = b.links / max(b.text, 1)
    if density < _WRAPPER_LINKS:
        return best
    inside = [e for e in best.iterdescendants() if e in scores]
    if not inside:
        return best
    cand = max(inside, key=scores.__getitem__)
    st = stats[cand]
    if (
        scores[cand] < _INSIDE_SCORE * scores[best]
        or st.links / max(st.text, 1) > _INSIDE_LINKS * density
    ):
        return best
    node = cand
    for anc in cand.iterancestors():
        if any(_prose(sib, stats) for sib in node.itersiblings(preceding=True)):
            return best
        if anc is best:
            break
        node = anc
    return cand


# _whole_container: how far up, and what an ancestor must have to replace the winner.
_WHOLE_LEVELS = 3
_WHOLE_SCORE = 0.6
_WHOLE_TEXT = 1.2
_WHOLE_LINKS = 0.15
# Unlinked characters of sentences before the winner, inside the ancestor: a paragraph's
# worth, more than a caption, a dateline or a dek.
_WHOLE_BEFORE = 150


def _whole_container(
    best: HtmlElement, scores: dict[HtmlElement, float], stats: dict[HtmlElement, _Stats]
) -> HtmlElement:
    """The ancestor (up to three levels up) that holds the article when the winner is
    a later part of it: it scores nearly as high, holds more text with few links and no
    readers' comments, is not named as furniture, and has a paragraph's worth of
    sentences before the winner. An article opens at its top: prose above the winner, in
    the same container, is its beginning (an intro section above feature sections, the
    report above a live log), where text only after it is more often a module (a press
    release's boilerplate). An ancestor the markup names as the article or the page's
    main content (:func:`_landmark`) need not score at all: scores reach three levels
    up, so one around sections nested deeper (a list of cards in a wrapper per
    section, a lead paragraph in a box of its own) scores on little of its text or
    none."""
    b = stats[best]
    before = 0
    node = best
    for depth, anc in enumerate(best.iterancestors()):
        if depth >= _WHOLE_LEVELS or anc.tag in ("body", "html"):
            break
        for sib in node.itersiblings(preceding=True):
            # A paragraph beside the winner is merged with it anyway (_with_siblings).
            if node is not best or sib.tag != "p":
                before += _prose(sib, stats)
        node = anc
        st = stats.get(anc)
        if st is None or _tokens(anc) & _NEGATIVE_TOKENS:
            continue  # a region named as furniture (a sidebar) is no article's whole
        if (
            before >= _WHOLE_BEFORE
            and (_landmark(anc) or scores.get(anc, 0.0) >= _WHOLE_SCORE * scores[best])
            and st.text >= _WHOLE_TEXT * b.text
            and st.links < _WHOLE_LINKS * st.text
            and not any((t := _tokens(e)) and _comment_named(t) for e in anc.iterdescendants())
        ):
            return anc
    return best


def _landmark(el: HtmlElement) -> bool:
    """Whether the markup names ``el`` as an article or the page's main content."""
    return el.tag in ("article", "main") or el.get("role") == "main"


# A word, then the end of a sentence.
_SENTENCE = re.compile(r"\w[.!?。](?:\s|$)")


def _prose(el: HtmlElement, stats: dict[HtmlElement, _Stats]) -> int:
    """Unlinked characters of the text blocks under ``el`` (itself included) that hold a
    sentence: paragraphs, and divs that hold no other block."""
    total = 0
    for e in el.iter(*_PARAGRAPH_TAGS, "div", "section"):
        st = stats.get(e)
        if st is None:
            continue
        if e.tag in ("div", "section"):
            if any(isinstance(c.tag, str) and c.tag in _BLOCK_TAGS for c in e):
                continue
        elif any(a.tag in _PARAGRAPH_TAGS for a in e.iterancestors()):
            continue  # counted with the paragraph around it
        if _SENTENCE.search(e.text_content() or ""):
            total += st.text - st.links
    return total


def _prefer_hint(hint: HtmlElement, best: HtmlElement, stats: dict[HtmlElement, _Stats]) -> bool:
    """Whether the semantic container should replace the best-scored one: it is the
    winner; it lies inside the winner and holds most of its text; it holds the winner
    (a body split into blocks) without being mostly links or far larger; or, elsewhere
    on the page, it holds as much low-link text."""
    h, b = stats[hint], stats[best]
    low_links = h.links / max(h.text, 1) < 0.3
    if best is hint:
        return True
    if hint in set(best.iterancestors()):
        return h.text >= 0.6 * b.text
    if best in set(hint.iterancestors()):
        return low_links and h.text <= 3 * b.text
    return low_links and h.text >= 0.6 * b.text


def _story_article(root: HtmlElement, stats: dict[HtmlElement, _Stats]) -> HtmlElement | None:
    """The ``<article>`` around the page's first ``<h1>``, when it is a single story
    (it holds no other ``<article>``)."""
    h1 = root.find(".//h1")
    if h1 is None:
        return None
    for anc in h1.iterancestors("article"):
        if anc.find(".//article") is None and anc in stats:
            return anc
        break
    return None


def _earlier_story(
    root: HtmlElement, best: HtmlElement, scores: dict[HtmlElement, float]
) -> HtmlElement | None:
    """When the winner belongs to a later story (infinite scroll appends the next
    article, with its own ``<h1>``, below the one the URL names), the best candidate
    that comes before that story."""
    first_h1 = root.find(".//h1")
    if first_h1 is None:
        return None
    story = next(best.iterancestors("article"), None)
    if story is None or story.find(".//h1") is None or first_h1 in set(story.iter("h1")):
        return None
    order = {el: i for i, el in enumerate(root.iter())}
    start = order[story]
    containers = set(story.iterancestors())  # before the story in document order, too
    earlier = [el for el in scores if order.get(el, start) < start and el not in containers]
    if not earlier:
        return None
    candidate = max(earlier, key=scores.__getitem__)
    return candidate if scores[candidate] >= 0.25 * scores[best] else None


def _main_article(
    root: HtmlElement,
    best: HtmlElement,
    scores: dict[HtmlElement, float],
    stats: dict[HtmlElement, _Stats],
) -> HtmlElement | None:
    """The story's ``<article>``, when the winner is elsewhere: either the winner holds
    several ``<article>`` elements (a list of teasers with long excerpts: "you may also
    like"), or it lies in another ``<article>`` (the next story of an infinite scroll)
    while the headline's own article has a body of its own."""
    story = _story_article(root, stats)
    if story is None or story is best:
        return None
    teasers = [
        a for a in best.iter("article") if a is not best and a in stats and stats[a].text >= 100
    ]
    if len(teasers) >= 2:
        return story
    best_ancestors = set(best.iterancestors())
    if story in best_ancestors or best in set(story.iterancestors()):
        return None
    if not any(a.tag == "article" for a in best_ancestors):
        return None  # the winner is not another story's body
    under_story = set(story.iterdescendants())
    inside = [scores[el] for el in scores if el in under_story]
    if inside and max(inside) >= 0.25 * scores[best]:
        return story
    return None


_AFTER_SHARE = 0.5


def _with_siblings(
    best: HtmlElement, scores: dict[HtmlElement, float], stats: dict[HtmlElement, _Stats]
) -> list[HtmlElement]:
    parent = best.getparent()
    if parent is None:
        return [best]
    threshold = max(10.0, scores[best] * 0.2)
    # After the body, a block of another class scoring under half of it is a module
    # (recent posts, job ads, a form), not the body's continuation.
    threshold_after = max(10.0, scores[best] * _AFTER_SHARE)
    best_class = best.get("class")
    parts: list[HtmlElement] = []
    after = False
    for sib in parent:
        if not isinstance(sib.tag, str):
            continue
        if sib is best:
            parts.append(sib)
            after = True
            continue
        toks = _tokens(sib)
        if toks and _comment_named(toks):
            continue  # the readers' comments below the post
        if best_class and sib.get("class") == best_class:
            needed = threshold - scores[best] * 0.2
        else:
            needed = threshold_after if after else threshold
        if scores.get(sib, 0.0) >= needed:
            parts.append(sib)
            continue
        st = stats.get(sib)
        if sib.tag == "p" and st is not None and st.text:
            density = st.links / st.text
            if (st.text > 80 and density < 0.25) or (
                density == 0 and _ENDS_SENTENCE.search(sib.text_content() or "")
            ):
                parts.append(sib)
    return parts


def _signature(el: HtmlElement, depth: int = 3) -> tuple[tuple[str, str], ...]:
    """Tag and class of the element's nearest ancestors: where in the template it sits."""
    out = []
    for anc in el.iterancestors():
        out.append((str(anc.tag), anc.get("class") or ""))
        if len(out) == depth:
            break
    return tuple(out)


def _with_fragments(
    root: HtmlElement, parts: list[HtmlElement], stats: dict[HtmlElement, _Stats]
) -> list[HtmlElement]:
    """Add the article's other fragments: elements elsewhere on the page with the same
    tag, class and ancestry as the chosen container (CMSes split long bodies into repeated
    blocks between ads and embeds), when they carry low-link text."""
    best = parts[0] if len(parts) == 1 else None
    cls = best.get("class") if best is not None else None
    if best is None or not cls or not cls.strip():
        return parts
    taken = set(parts)
    fragments: list[HtmlElement] = []
    signature = _signature(best)
    # What lies inside a part or a fragment (added as each is taken), and around the
    # part, as sets made once: asking each candidate's ancestors and descendants is
    # quadratic on nested candidates. A fragment taken earlier comes earlier in document
    # order, so it can be around a later candidate but never inside it.
    inside_taken: set[HtmlElement] | None = None
    around_best: set[HtmlElement] = set()
    for el in root.iter(best.tag):
        if el in taken or el.get("class") != cls or el not in stats:
            continue
        if _signature(el) != signature:
            continue  # same class in another context (a summary box, a sidebar)
        if inside_taken is None:
            inside_taken = set(best.iterdescendants())
            around_best = set(best.iterancestors())
        if el in inside_taken or el in around_best:
            continue
        st = stats[el]
        if st.text >= 100 and st.links / st.text < 0.3:
            fragments.append(el)
            taken.add(el)
            inside_taken.update(el.iterdescendants())
    if not fragments:
        return parts
    order = {el: i for i, el in enumerate(root.iter())}
    return sorted([*parts, *fragments], key=order.__getitem__)


_ENDS_SENTENCE = re.compile(r"[.!?。]\s*$")


def _hinted(root: HtmlElement, stats: dict[HtmlElement, _Stats]) -> HtmlElement | None:
    """The body container the markup names (:data:`_BODY_HINTS`, in order): of
    the elements a hint finds, the one with the most text, if it has 200+ characters."""
    matches = [e for e in _ANY_BODY_HINT(root) if isinstance(e.tag, str)]
    if not matches:
        return None
    for i, test in enumerate(_BODY_HINT_TESTS):
        hits = [e for e in matches if test(e)]
        if i == _PARENT_HINT:
            hits = list(dict.fromkeys(p for e in hits if (p := e.getparent()) is not None))
        found = [e for e in hits if e in stats]
        if not found:
            continue
        el = max(found, key=lambda e: stats[e].text)
        if stats[el].text >= 200:
            return el
    return None
