"""Pruning: what is never article text goes before the container is chosen (scripts,
forms, hidden and consent blocks), and furniture inside the chosen container after it
(share bars, related modules, teaser cards, readers' comments)."""

from __future__ import annotations

from aggregator.extract.body.lexicon import (
    _BLOCK_TAGS,
    _CARD_LABEL,
    _CONSENT,
    _DROP_TAGS,
    _EMBED_CONSENT,
    _FURNITURE_TOKENS,
    _HIDDEN_CLASSES,
    _comment_named,
    _tokens,
)
from aggregator.extract.body.tree import _Stats, drop_all
from aggregator.extract.page import HtmlElement
from aggregator.extract.subtree import SubtreeText


def _is_hidden(el: HtmlElement) -> bool:
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    cls = el.get("class")
    if cls and ("hidden" in cls or "d-none" in cls) and not _HIDDEN_CLASSES.isdisjoint(cls.split()):
        return True
    style = el.get("style")
    if style:
        s = style.replace(" ", "").lower()
        if "display:none" in s or "visibility:hidden" in s:
            return True
    return False


def _embed_placeholders(root: HtmlElement) -> list[HtmlElement]:
    """Blocks around a form control (the "show content" toggle or button) whose short
    text asks for consent to load an embed: the placeholder, not the article."""
    found: list[HtmlElement] = []
    texts: dict[HtmlElement, str] = {}  # controls share ancestors: each read once
    subtree = SubtreeText()  # lengths first: a long text is never read
    for control in root.iter("input", "button"):
        if control.tag == "input" and (control.get("type") or "").lower() != "checkbox":
            continue  # the toggle is a checkbox; hidden and search inputs are everywhere
        for depth, block in enumerate(control.iterancestors()):
            if depth >= 4 or block.tag in ("article", "main", "body"):
                break
            if subtree.length(block) > 800:
                break
            text = texts.get(block)
            if text is None:
                text = texts[block] = block.text_content()
            if block.tag in ("div", "section", "figure", "aside") and _EMBED_CONSENT.search(text):
                found.append(block)
                break
    return found


def prune(root: HtmlElement) -> None:
    """Remove, in place, what never carries article text: scripts, styles, embeds and
    their consent placeholders, navigation, footers, captions, form controls, hidden
    elements (unless they hold an article's worth of paragraphs), comments. Asides go
    later, inside the container only: a few templates put the whole story in one."""
    doomed: list[HtmlElement] = _embed_placeholders(root)
    # What lies inside a doomed element goes with it: not examined, not dropped alone.
    # Collected when it is doomed (the set keeps the proxies lxml then hands back to
    # the walk), not asked of each element's parent: a getparent() per element cost more.
    gone: set[HtmlElement] = set()
    for el in doomed:
        gone.update(el.iterdescendants())
    article_text = _ArticleText()
    for el in root.iter():
        if el in gone:
            continue
        tag = el.tag
        if not isinstance(tag, str):  # comments, processing instructions
            doomed.append(el)  # no children (a comment's text is its own)
            continue
        if tag in ("html", "body"):
            continue
        if tag in _DROP_TAGS or _CONSENT.match(el.get("id") or ""):
            if tag == "textarea":
                # The box readers write in: its form is the reply form, which the
                # container's furniture pass ends the article at.
                form = next(el.iterancestors("form"), None)
                if form is not None:
                    form.set(_REPLY_FORM, "")
            doomed.append(el)
            gone.update(el.iterdescendants())
        elif _is_hidden(el) and not article_text.holds(el):
            doomed.append(el)  # a hidden paywalled body (kept for search engines) stays
            gone.update(el.iterdescendants())
    drop_all(doomed)


def prune_furniture(
    part: HtmlElement, stats: dict[HtmlElement, _Stats], *, comments: bool = True
) -> None:
    """Inside a chosen container, remove blocks whose class/id names them as furniture
    (share bars, related links, newsletter boxes, author bios, ads, readers' comments unless
    ``comments`` is false), forms and asides.

    Only inside the container, and only blocks holding less than half of its text:
    class names lie in both directions ("ad-margins" or "paywall" around a whole
    article, ASP.NET forms around whole pages, "modal-enabled" on an article box). A
    block named as furniture or as the readers' comments goes whatever its size when the
    article's prose comes before it (:data:`_PROSE_BEFORE`). The readers' reply form after
    the prose ends the article (:func:`_reply_section`).
    """
    total = stats[part].text if part in stats else len(part.text_content())
    doomed: list[HtmlElement] = []
    article_text = _ArticleText()
    cards = _Cards()
    threads = _Threads()
    text_before = _TextBefore(part, stats)
    for el in part.iterdescendants():
        if not isinstance(el.tag, str):
            continue
        toks = _tokens(el)
        st = stats.get(el)
        size = st.text if st is not None else len(el.text_content())
        comment = bool(toks) and _comment_named(toks)
        if comment and not comments:
            continue  # the thread itself, kept as the text of a page with nothing else
        named = bool(toks) and not toks.isdisjoint(_FURNITURE_TOKENS)
        if (
            not named
            and not comment
            and "author" in toks
            and size >= _AUTHOR_BOX
            and text_before(el) >= _PROSE_BEFORE
        ):
            # The author's box (a bio, "about the author") below the article's prose:
            # a shorter block so named there is the post's signature, which stays.
            doomed.append(el)
        elif el.tag in ("form", "aside") or named or comment:
            # A long comment reads as article text; one of a run of comments is none.
            if size < 0.5 * total and (
                not article_text.holds(el) or (comment and threads.in_run(el))
            ):
                doomed.append(el)
            elif (named or comment) and text_before(el) >= _PROSE_BEFORE:
                # A big module named as furniture ("promo", "gallery") or a thread named
                # as comments, whose entries may be named nothing, below the article's
                # prose: a wrapper misnamed around the article has none before.
                doomed.append(el)
        elif el.tag in _CARD_TAGS and size < 1000 and cards.is_teaser(el, stats):
            doomed.append(el)
        elif (
            el.tag in _LIST_TAGS
            and st is not None
            and size >= 200
            and st.links >= 0.6 * size
            and text_before(el) >= _PROSE_BEFORE
            and sum(1 for c in el if (cs := stats.get(c)) is not None and cs.links) >= 3
            and not text_before.paragraph_after(el)
        ):
            # A list of headlines below the article's prose, with no paragraph after
            # it: a "latest news" module, however its items are labelled (a link list
            # inside the article is followed by the article's closing paragraph).
            doomed.append(el)
        elif (
            el.tag in _TEASER_LIST_TAGS
            and st is not None
            and size >= 200
            and text_before(el) >= _TEASERS_AFTER
            and not text_before.paragraph_after(el)
            and cards.teasers(el, stats) >= _TEASER_ITEMS
        ):
            # Teasers of other stories below the article's prose: items that each open
            # with a linked headline on a line of its own, then an excerpt. The excerpts
            # keep the link share under the link-list test above.
            doomed.append(el)
    doomed += _reply_section(part, text_before)
    drop_all(doomed)


# Marks a form that holds a text area (set by prune): a reply form.
_REPLY_FORM = "data-reply-form"
# Unlinked text before the reply form in the container: a short post's worth.
_REPLY_AFTER = 500
# Unlinked text before the reply form, inside one of its ancestors, that makes that
# ancestor more than the comment section: the article's text.
_SECTION_BEFORE = 300


def _reply_section(part: HtmlElement, text_before: _TextBefore) -> list[HtmlElement]:
    """The readers' reply section below the article's prose and what follows it: the
    reply form's largest ancestor with little text before the form (the comment box's
    heading and rules), and every element after that in the container (the policy
    under the form). Only after an article's worth of prose: a form at the top of a
    container is no comment section's."""
    form = next((f for f in part.iter("form") if f.get(_REPLY_FORM) is not None), None)
    if form is None or form is part:
        return []
    at_form = text_before(form)
    if at_form < _REPLY_AFTER:
        return []
    node = form
    for anc in form.iterancestors():
        if anc is part:
            break
        if at_form - text_before(anc) >= _SECTION_BEFORE:
            break  # the ancestor holds prose before the form: the article's
        node = anc
    doomed = [node]
    for anc in (node, *node.iterancestors()):
        if anc is part:
            break
        doomed += [sib for sib in anc.itersiblings() if isinstance(sib.tag, str)]
    return doomed


# Characters of an author's box below the article (a bio of a sentence or more), not its
# signature line ("Posted by Jane Doe at 11:56 PM").
_AUTHOR_BOX = 150
# Elements that hold a module of teaser links (prune_furniture).
_LIST_TAGS = frozenset({"div", "section", "ul", "ol", "table", "tbody", "dl"})
# Unlinked text before a block that makes it a module below the article's prose rather
# than part of it: a block named as furniture goes whatever its size, a list of links
# goes (prune_furniture).
_PROSE_BEFORE = 1000
# Elements whose children may be a list of teasers, a table's row of cells among them.
_TEASER_LIST_TAGS = _LIST_TAGS | {"tr"}
# Unlinked text before a list of teasers: the prose of a short article (a wire story of
# a few paragraphs is under 1000 characters), more than a lead-in above a list.
_TEASERS_AFTER = 500
# Teaser items that make a list of them: a repeated unit, not one linked headline.
_TEASER_ITEMS = 2
# Unlinked characters of a teaser item besides its headline: an excerpt, not a date.
_TEASER_EXCERPT = 40
# Levels between an item's first text and its headline link, and between the link and
# the block it fills (<h4><a><span>Headline</span></a></h4>).
_HEADLINE_LEVELS = 3
# Unlinked text of a paragraph that counts as the article going on (_TextBefore).
_PARAGRAPH_AFTER = 50


class _TextBefore:
    """Unlinked text of a container that comes before each of its elements: the earlier
    siblings of the element and of each of its ancestors below the container. Each
    parent's children are summed once and each element's sum is kept, so nested or
    sibling candidates cost no more than one pass over the tree. Also whether a
    paragraph comes after an element (one numbering of the tree, made on first use)."""

    def __init__(self, part: HtmlElement, stats: dict[HtmlElement, _Stats]) -> None:
        self._part = part
        self._stats = stats
        self._sums: dict[HtmlElement, int] = {part: 0}
        self._earlier: dict[HtmlElement, int] = {}
        self._order: dict[HtmlElement, int] | None = None
        self._last_paragraph = -1

    def paragraph_after(self, el: HtmlElement) -> bool:
        """Whether a ``<p>`` with some unlinked text comes after ``el`` and all it holds."""
        if self._order is None:
            self._order = {}
            for i, e in enumerate(self._part.iter()):
                self._order[e] = i
                st = self._stats.get(e)
                if e.tag == "p" and st is not None and st.text - st.links >= _PARAGRAPH_AFTER:
                    self._last_paragraph = i
        last = el
        while len(last):  # the last element inside el, in document order
            last = last[-1]
        return self._last_paragraph > self._order.get(last, self._last_paragraph)

    def __call__(self, el: HtmlElement) -> int:
        chain: list[HtmlElement] = []
        node: HtmlElement | None = el
        while node is not None and node not in self._sums:
            chain.append(node)
            node = node.getparent()
        n = 0 if node is None else self._sums[node]
        for e in reversed(chain):
            n += self._earlier_siblings(e)
            self._sums[e] = n
        return n

    def _earlier_siblings(self, el: HtmlElement) -> int:
        if el not in self._earlier:
            parent = el.getparent()
            run = 0
            for child in parent if parent is not None else (el,):
                self._earlier[child] = run
                st = self._stats.get(child)
                if st is not None:
                    run += st.text - st.links
        return self._earlier[el]


class _Threads:
    """Comment entries that stand in a run: siblings of one tag, each named as a
    comment. Each parent's children are read once."""

    def __init__(self) -> None:
        self._runs: dict[tuple[HtmlElement, str], int] = {}
        self._seen: set[HtmlElement] = set()

    def in_run(self, el: HtmlElement) -> bool:
        parent = el.getparent()
        if parent is None:
            return False
        if parent not in self._seen:
            self._seen.add(parent)
            for child in parent:
                if isinstance(child.tag, str) and _comment_named(_tokens(child)):
                    key = (parent, child.tag)
                    self._runs[key] = self._runs.get(key, 0) + 1
        return self._runs.get((parent, el.tag), 0) >= 2


_CARD_TAGS = frozenset({"div", "section", "figure", "aside", "ul", "ol", "li", "span"})


class _Cards:
    """Teaser cards among the elements of one tree. Nested candidates share their
    first text, links and blocks: each fact is found once per element (memoized), not
    once per enclosing candidate, which is quadratic in the nesting depth."""

    def __init__(self) -> None:
        self._owner: dict[HtmlElement, HtmlElement | None] = {}
        self._links: dict[HtmlElement, bool] = {}
        self._block: dict[HtmlElement, HtmlElement | None] = {}
        self._depth: dict[HtmlElement, int] = {}

    def is_teaser(self, el: HtmlElement, stats: dict[HtmlElement, _Stats]) -> bool:
        """A "Related" / "Read more" card: its first text is such a label, it links
        away, and besides label and links it holds no more than a teaser's excerpt (which
        would otherwise pass for a paragraph). A block that goes on with real prose is
        not one."""
        owner = self._first_text(el)
        if owner is None:
            return False
        first = owner.text.strip()
        if len(first) > 40 or not _CARD_LABEL.fullmatch(first):
            return False
        if not self._links_below(el):
            return False
        # The label stands in its own block; "<p><b>Related:</b> <a>...</a></p>" is a
        # related line inside the prose (dropped later as a link-heavy block), not a card.
        block = self._enclosing_block(owner)
        if block is None or self._depth_of(block) < self._depth_of(el):
            block = el  # no block between the label and the card
        if block is not el and self._links_below(block):
            return False
        st = stats.get(el)
        if st is None:
            return False
        return st.text - st.links - len(first) < 200

    def teasers(self, el: HtmlElement, stats: dict[HtmlElement, _Stats]) -> int:
        """How many children of ``el`` are teasers (:meth:`_is_teaser_item`), or 0 when
        under two thirds of its children with text are: a list of other stories."""
        items = found = 0
        for child in el:
            if not isinstance(child.tag, str):
                continue
            owner = self._first_text(child)
            if owner is None:
                continue
            items += 1
            found += self._is_teaser_item(child, owner, stats)
        return found if found * 3 >= items * 2 else 0

    @staticmethod
    def _is_teaser_item(
        item: HtmlElement, owner: HtmlElement, stats: dict[HtmlElement, _Stats]
    ) -> bool:
        """Whether ``item`` opens with a linked headline that stands on its own line (a
        ``<br>`` after it, or a block holding the link alone) and goes on with an
        excerpt. A link list's item ("<li><a>Laptop</a> for $550 at Store</li>") runs
        on after its link; a "See also" item has no excerpt."""
        link = owner
        for _ in range(_HEADLINE_LEVELS):
            if link.tag == "a" or link is item:
                break
            link = link.getparent()
        if link.tag != "a" or not link.get("href"):
            return False
        ls, st = stats.get(link), stats.get(item)
        if ls is None or st is None or ls.text < 15 or st.text - st.links < _TEASER_EXCERPT:
            return False
        nxt = link.getnext()
        if nxt is not None and nxt.tag == "br" and not (link.tail or "").strip():
            return True
        block = link
        for _ in range(_HEADLINE_LEVELS):
            if block is item:
                return False
            block = block.getparent()
            if block.tag in _BLOCK_TAGS:
                bs = stats.get(block)
                return bs is not None and bs.text == ls.text
        return False

    def _first_text(self, el: HtmlElement) -> HtmlElement | None:
        """The first element in ``el.iter()`` with text of its own."""
        if el in self._owner:
            return self._owner[el]
        found = el if (el.text or "").strip() else None
        if found is None:
            for child in el:
                if isinstance(child.tag, str):
                    found = self._first_text(child)
                    if found is not None:
                        break
        self._owner[el] = found
        return found

    def _links_below(self, el: HtmlElement) -> bool:
        """``el.find(".//a[@href]") is not None``."""
        found = self._links.get(el)
        if found is None:
            found = False
            for child in el:  # a loop, not any(): one stack frame per level of nesting
                if found:
                    break
                if isinstance(child.tag, str):
                    found = (child.tag == "a" and child.get("href") is not None) or (
                        self._links_below(child)
                    )
            self._links[el] = found
        return found

    def _enclosing_block(self, el: HtmlElement) -> HtmlElement | None:
        """``el`` or its nearest ancestor that is a block element."""
        if el in self._block:
            return self._block[el]
        parent = el.getparent()
        if el.tag in _BLOCK_TAGS:
            found = el
        else:
            found = None if parent is None else self._enclosing_block(parent)
        self._block[el] = found
        return found

    def _depth_of(self, el: HtmlElement) -> int:
        depth = self._depth.get(el)
        if depth is None:
            parent = el.getparent()
            depth = self._depth[el] = 0 if parent is None else self._depth_of(parent) + 1
        return depth


# Characters of text that make an article's worth (_ArticleText).
_ARTICLE_SIZE = 1000
# Blocks whose text counts in _ArticleText.
_ARTICLE_BLOCKS = frozenset({"p", "div", "li", "td", "blockquote", "pre", "section"})


class _ArticleText:
    """Which elements of one tree hold article text, each subtree summed once: walking
    each of nested hidden or furniture elements in full is quadratic in the nesting."""

    def __init__(self) -> None:
        self._text = SubtreeText()
        self._sums: dict[HtmlElement, int] = {}
        self._links: dict[HtmlElement, int] = {}

    def holds(self, el: HtmlElement) -> bool:
        """True if ``el`` holds 1000+ characters of text outside links, in blocks of at
        least 150: article text rather than a teaser list, a widget or a share bar."""
        return self._sum(el) >= _ARTICLE_SIZE

    def _sum(self, el: HtmlElement) -> int:
        """Text of the blocks of 150+ characters at or under ``el``."""
        total = self._sums.get(el)
        if total is None:
            total = 0
            for child in el:  # a loop, not sum(): one stack frame per level of nesting
                if isinstance(child.tag, str):
                    total += self._sum(child)
            if el.tag in _ARTICLE_BLOCKS:
                n = self._block_text(el)
                if n >= 150:
                    total += n
            self._sums[el] = total
        return total

    def _block_text(self, block: HtmlElement) -> int:
        """The block's own text outside links: all of it for a paragraph or a block
        without block children, else its direct text."""
        if block.tag == "p" or not any(
            isinstance(c.tag, str) and c.tag in _BLOCK_TAGS for c in block
        ):
            return self._text.length(block) - self._link_text(block)
        own = (block.text or "").strip()
        return len(own) + sum(len((c.tail or "").strip()) for c in block)

    def _link_text(self, el: HtmlElement) -> int:
        """The text length of every ``<a>`` under ``el`` (nested ones counted again)."""
        n = self._links.get(el)
        if n is None:
            n = 0
            for child in el:
                if isinstance(child.tag, str):
                    n += self._link_text(child)
                    if child.tag == "a":
                        n += self._text.length(child)
            self._links[el] = n
        return n


def _thread(el: HtmlElement, headline: set[HtmlElement]) -> HtmlElement | None:
    """The readers' comments ``el`` belongs to: its outermost ancestor (or itself) named
    as comments ("comment_list", "commentsDiv", ``id="comments"``, "comment-body") that
    does not hold the headline (``headline``: the first ``<h1>`` and its ancestors), as
    wrappers named "comments-open" hold a whole page."""
    found = None
    for e in (el, *el.iterancestors()):
        if e.tag in ("body", "html") or e in headline:
            break
        toks = _tokens(e)
        if toks and _comment_named(toks):
            found = e
    return found
