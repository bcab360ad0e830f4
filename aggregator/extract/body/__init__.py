"""Article body: find the content container, drop page furniture, assemble plain text.

The steps, each a general rule rather than a per-site pattern:

1. **Prune** what is never article text: scripts, styles, forms, navigation, hidden
   elements, and blocks whose class/id names them as furniture (share bars, related
   links, newsletter boxes, author bios, comments, captions, ads).
2. **Choose the container**: score every element by the paragraphs it holds (text length,
   commas), discounted by link density and nudged by class/id names; a semantic hint
   (``itemprop=articleBody``, ``article-body``...) wins when it holds most of that text.
   Siblings carrying article paragraphs are merged in (bodies split across blocks).
3. **Assemble text** block by block (paragraphs, headings, list items, quotes), and drop
   blocks that read as furniture: mostly links, "More: ...", "Got a tip?", bylines, the
   headline repeated.

One module per stage: :mod:`.prune`, :mod:`.container`, :mod:`.assemble`, with the words
and patterns they read in :mod:`.lexicon` and the tree measures in :mod:`.tree`; this
module runs them in turn (:func:`extract_body`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from aggregator.extract.body.assemble import assemble
from aggregator.extract.body.container import find_container
from aggregator.extract.body.lexicon import LONG_WORD, _comment_named, _tokens
from aggregator.extract.body.prune import _thread, prune, prune_furniture
from aggregator.extract.body.tree import _measure, _Stats, drop_all, drop_keep_tail
from aggregator.extract.page import HtmlElement

__all__ = ["assemble", "drop_all", "drop_keep_tail", "extract_body", "find_container", "prune"]


# Containers tried in turn when the chosen one is the readers' comments or unrelated to
# the page's summary of its article (extract_body).
_CONTAINER_TRIES = 3


class _Summaries:
    """The page's own summaries of its article (description, JSON-LD ``articleBody``)
    and its headlines, as sets of their longer words."""

    def __init__(self, summaries: Iterable[str], headlines: Iterable[str]) -> None:
        # A summary of a few words is the site's tagline, not this article's.
        self._summaries = self._sets(summaries, 8)
        self._all = self._summaries + self._sets(headlines, 3)

    @staticmethod
    def _sets(texts: Iterable[str], least: int) -> list[set[str]]:
        # The opening of a long articleBody names the article as well as all of it.
        return [
            w for t in texts if t and len(w := set(LONG_WORD.findall(t[:1000].casefold()))) >= least
        ]

    def unrelated(self, body: str) -> bool:
        """True when the page has a summary and ``body`` has under a fifth of the words
        of each summary and headline: it is not this article (a dek written apart from
        the text still shares its subject)."""
        if not self._summaries:
            return False
        found = set(LONG_WORD.findall(body.casefold()))
        return all(len(words & found) * 5 < len(words) for words in self._all)

    def holds(self, body: str) -> bool:
        """True when ``body`` has half the words of a summary, which a sidebar matching
        a site-wide description or the headline in a list of links seldom has."""
        found = set(LONG_WORD.findall(body.casefold()))
        return any(len(words & found) * 2 >= len(words) for words in self._summaries)


# Text of a comment-named block that makes it an entry of a thread (in _several).
_ENTRY_TEXT = 100


def _several(thread: HtmlElement, stats: dict[HtmlElement, _Stats]) -> bool:
    """Whether the readers' comments hold a run of entries: two innermost blocks named
    as comments, with some text, of the same tag and class (repeated entries of the
    thread, not the parts of a reply form). The whole thread can then go at once, where a
    wrapper around a lone form goes block by block."""
    named = [
        el
        for el in thread.iterdescendants()
        if (st := stats.get(el)) is not None
        and st.text >= _ENTRY_TEXT
        and (t := _tokens(el))
        and _comment_named(t)
    ]
    # In document order a block's descendants come right after it: a block is innermost
    # when the next named block is not inside it.
    seen: set[tuple[str, str]] = set()
    for el, nxt in zip(named, [*named[1:], None], strict=False):
        if nxt is not None and any(a is el for a in nxt.iterancestors()):
            continue
        kind = (str(el.tag), el.get("class") or "")
        if kind in seen:
            return True
        seen.add(kind)
    return False


def extract_body(
    root: HtmlElement,
    *,
    headlines: Collection[str] = (),
    authors: Collection[str] = (),
    container: HtmlElement | None = None,
    references: Collection[str] = (),
) -> str | None:
    """The article text of a page tree (modified in place: run it after metadata).

    ``headlines`` (title variants) and ``authors`` let the assembler recognise the
    headline and byline when the container repeats them. ``references`` are the page's
    own summaries of the article (its description, its JSON-LD ``articleBody``): a
    container that shares nothing with them gives way to the next one that does.
    """
    prune(root)
    stats = _measure(root)
    if container is not None:
        prune_furniture(container, stats)
        return assemble([container], headlines=headlines, authors=authors)
    comments: str | None = None
    unrelated: str | None = None
    summaries = _Summaries(references, headlines)
    h1 = root.find(".//h1")
    headline = set() if h1 is None else {h1, *h1.iterancestors()}
    for _ in range(_CONTAINER_TRIES):
        parts = find_container(root, stats)
        if not parts:
            break
        threads = [] if root in parts else [_thread(part, headline) for part in parts]
        is_thread = bool(threads) and all(t is not None for t in threads)
        for part in parts:
            prune_furniture(part, stats, comments=not is_thread)
        body = assemble(parts, headlines=headlines, authors=authors)
        if is_thread:
            # The winner is in the readers' comments (a long thread outscores a short
            # post): it goes, and the rest of the page is scored again. Its text is
            # kept for a page with nothing else. A thread of several entries goes
            # whole, as one entry after another would outlast the tries.
            comments = comments or body
            drop_all(
                [t for t in dict.fromkeys(threads) if t is not None and _several(t, stats)] or parts
            )
        elif (
            body
            and root not in parts
            and (summaries.unrelated(body) if unrelated is None else not summaries.holds(body))
        ):
            # A sidebar or a module that outscores a short post: it shares nothing with
            # the page's own summary of its article or its headline. It gives way to the
            # next container that holds the summary, else it stays the body.
            unrelated = unrelated or body
            drop_all(parts)
        else:
            return body or unrelated or comments
        stats = _measure(root)  # only pages whose first winner failed measure twice
    return unrelated or comments
