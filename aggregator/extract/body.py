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
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from itertools import pairwise

from lxml import etree

from aggregator.extract.page import HtmlElement, has_class
from aggregator.extract.subtree import SubtreeText
from aggregator.normalize.text import clean_body

# Elements that never hold article text.
_DROP_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "iframe",
        "object",
        "embed",
        "svg",
        "canvas",
        "button",
        "input",
        "select",
        "textarea",
        "option",
        "nav",
        "footer",
        "figcaption",
        "label",
        "dialog",
        "menu",
        "map",
        "audio",
        "video",
        "source",
        "picture",
        "link",
        "meta",
        "head",
    }
)
_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "header",
        "footer",
        "aside",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "blockquote",
        "pre",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "td",
        "th",
        "figure",
        "hr",
        "address",
        "center",
        "details",
        "summary",
        "fieldset",
        "body",
        "html",
        "caption",
    }
)
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_PARAGRAPH_TAGS = frozenset({"p", "pre", "blockquote", "td", "dd", "li"})

# class/id tokens naming furniture. Matched against whole tokens of class and id split at
# non-letters, so "ad" matches "ad-slot" but not "header" or "read".
_FURNITURE_TOKENS = frozenset(
    [
        "share",
        "sharing",
        "sharebar",
        "social",
        "socials",
        "related",
        "relatedposts",
        "recommended",
        "recommendations",
        "recirc",
        "recirculation",
        "newsletter",
        "newsletters",
        "subscribe",
        "subscription",
        "signup",
        "promo",
        "promos",
        "promoted",
        "advert",
        "adverts",
        "advertisement",
        "advertising",
        "ad",
        "ads",
        "adslot",
        "adunit",
        "dfp",
        "sponsor",
        "sponsored",
        "pullquote",
        "outbrain",
        "taboola",
        "comment",
        "comments",
        "disqus",
        "breadcrumb",
        "breadcrumbs",
        "sidebar",
        "widget",
        "widgets",
        "popup",
        "modal",
        "cookie",
        "cookies",
        "consent",
        "caption",
        "captions",
        "credit",
        "credits",
        "toolbar",
        "pagination",
        "pager",
        "tags",
        "tagcloud",
        "bio",
        "authorbio",
        "tipbox",
        "tip",
        "tips",
        "trending",
        "popular",
        "mostread",
        "jumplink",
        "skiplink",
        "email",
        "rating",
        "ratings",
        "reactions",
        "subscribeprompt",
        "masthead",
        "hide",
        "visuallyhidden",
        "srOnly",
        "sronly",
        "offscreen",
        "gallery",
        "slideshow",
        "carousel",
    ]
)
# Tokens that mark the article container itself (positive weight).
_CONTENT_TOKENS = frozenset(
    [
        "article",
        "articlebody",
        "body",
        "content",
        "entry",
        "entrycontent",
        "main",
        "post",
        "postcontent",
        "story",
        "storybody",
        "text",
        "richtext",
        "prose",
        "blog",
        "news",
        "page",
    ]
)
_NEGATIVE_TOKENS = _FURNITURE_TOKENS | frozenset(
    ["footer", "header", "nav", "menu", "meta", "byline", "author", "masthead", "topbar"]
)
_TOKEN_SPLIT = re.compile(r"[^a-zA-Z]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")

# Semantic hints for the body container, most specific first.
# Markup that names the article body, most trusted first, as XPath predicates on the
# body element; the one at _PARENT_HINT names a child of the body.
_CLASS_HINTS = (
    "article-body", "article__body", "entry-content", "post-content", "article-content",
    "story-body",
)  # fmt: skip
_ATTR_HINTS = (
    "@itemprop='articleBody'",
    "@data-component='text-block' or @data-testid='article-body'",
    "@id='article-body' or @id='articleBody' or @id='article-content'",
)
_BODY_HINTS = (_ATTR_HINTS[0], _ATTR_HINTS[1], *map(has_class, _CLASS_HINTS), _ATTR_HINTS[2])
_PARENT_HINT = 1
# One scan of the tree for all of them (nine scans cost 7% of extraction). The class
# tests (normalize-space, concat) cost most: a plain contains() on a word every class
# hint has skips them on almost every element.
_HINT_CLASS_WORDS = ("body", "content")
assert all(any(w in c for w in _HINT_CLASS_WORDS) for c in _CLASS_HINTS)
_ANY_BODY_HINT = etree.XPath(
    "//*["
    + " or ".join([*_ATTR_HINTS, *(f"contains(@class, '{w}')" for w in _HINT_CLASS_WORDS)])
    + "]["
    + " or ".join(f"({p})" for p in _BODY_HINTS)
    + "]"
)
_BODY_HINT_TESTS = tuple(etree.XPath(f"boolean(self::*[{p}])") for p in _BODY_HINTS)

# Labels that introduce links to other stories, as regex alternatives: furniture as a
# short block of their own (_FURNITURE_TEXT), and the whole first text of a teaser card
# (_CARD_LABEL). Both regexes are only used as yes/no tests, so the order of the
# alternatives does not matter.
_LINK_LABELS = (
    "more", "related", "read more", "read also", "read next", "see also", "also read",
    "recommended", "you may also like", "you might also like", "trending", "popular",
    "most read", "lesen sie auch", "mehr zum thema", "auch interessant", "lire aussi",
    "à lire aussi", "leer más", "lee también",
)  # fmt: skip
# Short blocks that are furniture whatever their markup.
_FURNITURE_TEXT = re.compile(
    r"^(?:"
    + "|".join(_LINK_LABELS)
    + r"|also see|related articles?|related stories|related coverage|more from|more on"
    r"|watch|listen|sign up|subscribe|got a tip|follow us|follow me"
    r"|share this|share on|click here|advertisement|anzeige|werbung|publicité|image|photo"
    r"|credit|source|getty images|weiterlesen"
    r"|read the full|continue reading|tags?"
    r"|filed under|topics?|newsletter|let us know|log in|login"
    r"|like this (?:story|article)|share (?:it|this story|this article) with|tell us what you think"
    r"|leave a (?:comment|reply)|comments?|join the conversation|revisit"
    r")\b\s*[:?!.\-–—]*",
    re.IGNORECASE,
)
_ADVERT = re.compile(
    r"^\s*(advertisement|advert|ad|anzeige|werbung|publicité|publicidad|pubblicità|reklame"
    r"|sponsored|реклама|广告|広告)\s*$",
    re.I,
)
# A caption with its copyright credit: "A cyclist rides ... © Reuters / David Mercado".
_CREDIT_LINE = re.compile(r"©")
_BYLINE = re.compile(r"^\s*(?:by|von|par|por)\s+\S", re.IGNORECASE)
# The readers' comments announced in the article's last lines: a count ("16 Comments",
# "0 Comments"), a prompt ("Post a comment", "Leave a reply", "Add yours"), a closed
# thread, the comment form's notes ("You may use these HTML tags...").
_COMMENT_PROMPT = re.compile(
    r"(?:there\s+(?:are|is)\s+)?\d+\s+(?:comments?|responses?|replies|reply)"
    r"|(?:post|leave|add|write)\s+a\s+"
    r"(?:comment|reply|response)|add\s+yours|comments?\s+(?:are\s+)?closed"
    r"|you\s+must\s+be\s+logged\s+in\s+to\s+post\s+a\s+comment"
    r"|you\s+may\s+use\s+these\s+html\s+tags.*"
    r"|your\s+email\s+address\s+will\s+not\s+be\s+published.*",
    re.IGNORECASE,
)
# What a post's meta line holds beside its comment count ("Posted by Jane Doe |
# Permalink | 6 Comments | Trackback"): a date beside a count is a dateline, kept.
_POST_META = re.compile(
    r"(?:posted|filed)\s+(?:by|in|under)\b.*|permalink|trackbacks?|share|email|print",
    re.IGNORECASE,
)
_META_SEPARATOR = re.compile(r"\s*[|·•]\s*|(?<=[.!?])\s+")


def _is_comment_prompt(text: str) -> bool:
    """Whether a short line only announces the readers' comments: each part (split at
    ``|``, ``·``, ``•`` and sentence ends) is a comment count or prompt, or the post's
    meta around one (who posted it, permalink, trackback), and one part at least is the
    former."""
    if len(text) > 160:
        return False
    parts = [p.strip(" .:!") for p in _META_SEPARATOR.split(text.strip()) if p.strip(" .:!")]
    prompts = [p for p in parts if _COMMENT_PROMPT.fullmatch(p)]
    return bool(prompts) and all(p in prompts or _POST_META.fullmatch(p) for p in parts)


# Cookie-consent and privacy dialogs of the common consent platforms (OneTrust,
# Cookiebot, Didomi, Quantcast, TrustArc, Sourcepoint, Usercentrics): long prose that is
# never the article.
_CONSENT = re.compile(
    r"^(?:onetrust|ot-sdk|ot-pc|CybotCookiebot|didomi|qc-cmp|truste-|sp_message|usercentrics"
    r"|cmp-|cookie-?(?:banner|consent|notice|law))",
    re.IGNORECASE,
)


def _tokens(el: HtmlElement) -> set[str]:
    raw = f"{el.get('class') or ''} {el.get('id') or ''}"
    if not raw.strip():
        return set()
    raw = _CAMEL.sub(" ", raw)
    toks = {t.lower() for t in _TOKEN_SPLIT.split(raw) if t}
    # Also the joined forms: "related-posts" -> "relatedposts", "author-bio" -> "authorbio".
    for part in raw.split():
        joined = _TOKEN_SPLIT.sub("", part).lower()
        if joined:
            toks.add(joined)
    return toks


# Utility classes of the CSS frameworks that mean display:none (Bootstrap, Tailwind, ...).
_HIDDEN_CLASSES = frozenset({"hidden", "d-none", "is-hidden"})


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


# The text of a "two-click" embed placeholder: a video or post from another site shown
# only after the reader agrees ("Ich bin damit einverstanden, dass mir Inhalte von
# YouTube angezeigt werden", "We need your consent to load this content").
_EMBED_CONSENT = re.compile(
    r"einverstanden|datenschutz|drittanbieter|drittplattform|externe[nrms]? inhalt|zustimm"
    r"|consent|privacy|cookies?\b|third[- ]party|external content|données personnelles"
    r"|consentement|contenu externe|consentimiento",
    re.IGNORECASE,
)


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
    gone: set[HtmlElement] = set(doomed)
    article_text = _ArticleText()
    for el in root.iter():
        if el.getparent() in gone:
            gone.add(el)
            continue
        tag = el.tag
        if not isinstance(tag, str):  # comments, processing instructions
            doomed.append(el)
            gone.add(el)
            continue
        if tag in ("html", "body"):
            continue
        if tag in _DROP_TAGS or _CONSENT.match(el.get("id") or ""):
            doomed.append(el)
            gone.add(el)
        elif _is_hidden(el) and not article_text.holds(el):
            doomed.append(el)  # a hidden paywalled body (kept for search engines) stays
            gone.add(el)
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
    block named as furniture goes whatever its size when the article's prose comes before
    it (:data:`_PROSE_BEFORE`).
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
        if el.tag in ("form", "aside") or named or comment:
            # A long comment reads as article text; one of a run of comments is none.
            if size < 0.5 * total and (
                not article_text.holds(el) or (comment and threads.in_run(el))
            ):
                doomed.append(el)
            elif named and not comment and text_before(el) >= _PROSE_BEFORE:
                # A big module named as furniture ("promo", "gallery") below the
                # article's prose: a wrapper misnamed around the article has none before.
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
    drop_all(doomed)


# Elements that hold a module of teaser links (prune_furniture).
_LIST_TAGS = frozenset({"div", "section", "ul", "ol", "table", "tbody", "dl"})


# Unlinked text before a block that makes it a module below the article's prose rather
# than part of it: a block named as furniture goes whatever its size, a list of links
# goes (prune_furniture).
_PROSE_BEFORE = 1000
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


# The whole first text of a teaser card: a label, nothing else.
_CARD_LABEL = re.compile(
    r"(?:"
    + "|".join(_LINK_LABELS)
    + r"|related (?:articles?|stories|coverage|news|content)|recommended for you"
    r"|more from [\w .'-]+|more on [\w .'-]+|explore(?: more)?|must read|don't miss|up next"
    r"|trending now|editor'?s pick|leggi anche|czytaj także|les også)\s*[:.!»›→-]*",
    re.IGNORECASE,
)
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


def _score(root: HtmlElement, stats: dict[HtmlElement, _Stats]) -> dict[HtmlElement, float]:
    """Content scores: every text block credits its unlinked characters to its parent,
    half to its grandparent and a third to its great-grandparent (wrappers with a single
    child are looked through), so the element that directly holds most of the prose
    wins; then scaled by 1 - link density and by class names."""
    scores: dict[HtmlElement, float] = {}
    punctuated = _Punctuated()
    for el in root.iter(*_PARAGRAPH_TAGS, "div", "section", "article", "font", "span"):
        if el not in stats:
            continue
        own: float = _own_text(el, stats)
        if own < 25:
            continue
        if el.tag == "span" and (el.getparent() is None or el.getparent().tag in _PARAGRAPH_TAGS):
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


class _Punctuated:
    """Whether an element's text has sentence punctuation, each subtree read once
    (nested blocks each read their whole text_content(): quadratic in the nesting)."""

    def __init__(self) -> None:
        self._seen: dict[HtmlElement, bool] = {}

    def __call__(self, el: HtmlElement) -> bool:
        found = self._seen.get(el)
        if found is None:
            found = bool(el.text and _PUNCTUATION.search(el.text))
            for child in el:  # a loop, not any(): one stack frame per level of nesting
                if found:
                    break
                found = (isinstance(child.tag, str) and self(child)) or bool(
                    child.tail and _PUNCTUATION.search(child.tail)
                )
            self._seen[el] = found
        return found


def find_container(root: HtmlElement, stats: dict[HtmlElement, _Stats]) -> list[HtmlElement]:
    """The element(s) holding the article text, in document order; empty if none.

    The best-scored element wins unless a semantic container (``itemprop=articleBody``...)
    names the same text (:func:`_prefer_hint`). A winner in a later story or in a list
    of teasers gives way to the headline's own article. Siblings and same-class
    fragments of the body are merged in.
    """
    scores = _score(root, stats)
    best = max(scores, key=scores.__getitem__) if scores else None
    hint = _hinted(root, stats)
    if hint is not None and (best is None or _prefer_hint(hint, best, stats)):
        return _with_fragments(root, [hint], stats)
    if best is None:
        return []
    earlier = _earlier_story(root, best, scores)
    if earlier is not None:
        best = earlier
    main = _main_article(root, best, scores, stats)
    if main is not None:
        under_main = set(main.iter())
        inside = [el for el in scores if el in under_main]
        # The story alone: its siblings are the teasers.
        return [max(inside, key=scores.__getitem__) if inside else main]
    return _with_fragments(root, _with_siblings(best, scores, stats), stats)


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


# ---------------------------------------------------------------------------------------
# Text assembly


@dataclass
class Block:
    """One block of text in the container, with what filtering needs to know."""

    tag: str
    text: str
    link_chars: int
    group: int = 0
    """Identifies the enclosing block element (the ``<ul>`` of an ``<li>``)."""

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
    block_tag = [container.tag if isinstance(container.tag, str) else "div"]
    block_el: list[int] = [0, id(container)]
    pre_depth = 0

    def flush() -> None:
        nonlocal link_chars
        text = "".join(buf)
        if text.strip():
            blocks.append(Block(block_tag[-1], text, link_chars, block_el[-2]))
        buf.clear()
        link_chars = 0

    def add(text: str, is_link: bool) -> None:
        nonlocal link_chars
        if not pre_depth:
            text = _WS.sub(" ", text)
        buf.append(text)
        if is_link:
            link_chars += len(text.strip())

    def walk(el: HtmlElement, in_link: bool) -> None:
        nonlocal pre_depth
        tag = el.tag if isinstance(el.tag, str) else ""
        is_block = tag in _BLOCK_TAGS
        is_link = in_link or tag == "a"
        if tag == "br":
            buf.append("\n")
        elif is_block:
            flush()
            block_tag.append(tag)
            block_el.append(id(el))
        if tag == "pre":
            pre_depth += 1
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
    """
    skip = {_norm(h) for h in headlines if h}
    names = [a.casefold() for a in authors if len(a) > 3]
    out: list[str] = []
    blocks = [b for part in parts for b in _blocks(part)]
    # Share of link-heavy items per list: a link list is furniture, a linked item in a
    # list of prose items is content.
    groups: dict[int, list[bool]] = {}
    for b in blocks:
        if b.tag in ("li", "dd", "dt"):
            groups.setdefault(b.group, []).append(b.link_heavy)
    heads = _section_heads(blocks)
    for i, b in enumerate(blocks):
        text = _INLINE_SPACE.sub(" ", b.text).strip()
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
        out.append(text)
    return clean_body("\n\n".join(out))


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


_DATE_IN_TEXT = re.compile(
    r"\d{1,2}[./]\s?\d{1,2}[./]\s?\d{2,4}|\d{4}-\d{2}-\d{2}"
    r"|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:,\s*\d{4})?",
    re.IGNORECASE,
)
_TIME_IN_TEXT = re.compile(r"\d{1,2}:\d{2}")
_NOT_LETTERS = re.compile(r"[\W\d_]+")
_DATELINE_WORDS = re.compile(
    r"\b(?:published|updated|posted|last|modified|on|at|am|pm|a\.m\.|p\.m\.|[a-z]{2,4}t|utc|gmt"
    r"|veröffentlicht|aktualisiert|stand|uhr|am|um|publié|mis à jour|le|à|publicado|actualizado"
    r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|montag|dienstag|mittwoch"
    r"|donnerstag|freitag|samstag|sonntag|lundi|mardi|mercredi|jeudi|vendredi|samedi"
    r"|dimanche|lunes|martes|miércoles|jueves|viernes|sábado|domingo)\b",
    re.IGNORECASE,
)
# "3 Min Lesezeit", "5 min read", "Reading time: 4 minutes": the reading-time label.
_READING_TIME = re.compile(
    r"^(?:(?:lesezeit|reading time|read time|lecture|lectura|tempo di lettura)\s*:?\s*)?"
    r"(?:ca\.\s*)?\d{1,3}(?:\s*-\s*\d{1,3})?\s*(?:min|mins|minute|minutes|minuten|minuti"
    r"|minutos)\.?(?:\s*(?:lesezeit|read|reading time|de lecture|de lectura|di lettura))?$",
    re.IGNORECASE,
)
# Affiliate-link disclaimers: "Die ... gekennzeichneten Links sind Affiliate-Links. Kommt
# darüber ein Einkauf zustande, erhalten wir eine Provision", "we may earn a commission".
_AFFILIATE = re.compile(
    r"affiliate[- ]?(?:links?|commission|partner|programs?)|partner-?links?|werbe-?links?",
    re.IGNORECASE,
)
_COMMISSION = re.compile(r"provision|commission|earn|verdienen|vergütung", re.IGNORECASE)


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


# Words starting with "comment" that describe an article rather than name a thread: a post
# that has comments ("commented", "commentable"), an opinion piece ("commentary").
_COMMENT_STATES = ("commentary", "commentaries", "commented", "commentable", "commentator")


def _comment_named(toks: set[str]) -> bool:
    """Whether class/id tokens name a part of the readers' comments: "comment-body",
    "commentlisting", "comment_entry", "commentaires" (the joined forms start with
    "comment")."""
    return any(t.startswith("comment") and not t.startswith(_COMMENT_STATES) for t in toks)


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


# Containers tried in turn when the chosen one is the readers' comments or unrelated to
# the page's summary of its article (extract_body).
_CONTAINER_TRIES = 3
_WORD = re.compile(r"\w{4,}")


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
            w for t in texts if t and len(w := set(_WORD.findall(t[:1000].casefold()))) >= least
        ]

    def unrelated(self, body: str) -> bool:
        """True when the page has a summary and ``body`` has under a fifth of the words
        of each summary and headline: it is not this article (a dek written apart from
        the text still shares its subject)."""
        if not self._summaries:
            return False
        found = set(_WORD.findall(body.casefold()))
        return all(len(words & found) * 5 < len(words) for words in self._all)

    def holds(self, body: str) -> bool:
        """True when ``body`` has half the words of a summary, which a sidebar matching
        a site-wide description or the headline in a list of links seldom has."""
        found = set(_WORD.findall(body.casefold()))
        return any(len(words & found) * 2 >= len(words) for words in self._summaries)


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
            # kept for a page with nothing else.
            comments = comments or body
            drop_all(parts)
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
