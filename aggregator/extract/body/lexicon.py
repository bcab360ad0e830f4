"""The body extractor's lexicon: the tags, class/id words and text patterns its rules
read (what never holds article text, what names furniture or a body, what a byline,
an advert or a comment prompt looks like), and the tokenizer of class/id names."""

from __future__ import annotations

import re

from lxml import etree

from aggregator.extract.page import HtmlElement, has_class

# Words of four letters or more: what a text is compared with a title or a summary by
# (shorter ones are mostly function words).
LONG_WORD = re.compile(r"\w{4,}")

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
    r"(?:comment|reply|response)|add\s+yours"
    r"|comments?\s+(?:are\s+)?(?:now\s+)?closed(?:\s+for\s+this\s+(?:story|article|post|entry))?"
    r"|you\s+must\s+be\s+logged\s+in\s+to\s+post\s+a\s+comment"
    r"|you\s+may\s+use\s+these\s+html\s+tags.*"
    r"|your\s+email\s+address\s+will\s+not\s+be\s+published.*",
    re.IGNORECASE,
)
# The heading of a blog post's trackbacks (other blogs' replies, listed like comments):
# "TrackBack", "Trackbacks (3)", "TrackBack URL for this entry:", alone on its line; not
# the post's meta line ("Trackbacks are closed, but you can post a comment").
_TRACKBACKS = re.compile(r"trackbacks?(?:\s*\(\d+\))?\s*(?:$|\n)|trackback\s+url\b", re.IGNORECASE)
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
# The text of a "two-click" embed placeholder: a video or post from another site shown
# only after the reader agrees ("Ich bin damit einverstanden, dass mir Inhalte von
# YouTube angezeigt werden", "We need your consent to load this content").
_EMBED_CONSENT = re.compile(
    r"einverstanden|datenschutz|drittanbieter|drittplattform|externe[nrms]? inhalt|zustimm"
    r"|consent|privacy|cookies?\b|third[- ]party|external content|données personnelles"
    r"|consentement|contenu externe|consentimiento",
    re.IGNORECASE,
)
# The whole first text of a teaser card: a label, nothing else.
_CARD_LABEL = re.compile(
    r"(?:"
    + "|".join(_LINK_LABELS)
    + r"|related (?:articles?|stories|coverage|news|content)|recommended for you"
    r"|more from [\w .'-]+|more on [\w .'-]+|explore(?: more)?|must read|don't miss|up next"
    r"|trending now|editor'?s pick|leggi anche|czytaj także|les også)\s*[:.!»›→-]*",
    re.IGNORECASE,
)
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
# Words starting with "comment" that describe an article rather than name a thread: a post
# that has comments ("commented", "commentable"), an opinion piece ("commentary").
_COMMENT_STATES = ("commentary", "commentaries", "commented", "commentable", "commentator")


def _comment_named(toks: set[str]) -> bool:
    """Whether class/id tokens name a part of the readers' comments: "comment-body",
    "commentlisting", "comment_entry", "commentaires" (the joined forms start with
    "comment")."""
    return any(t.startswith("comment") and not t.startswith(_COMMENT_STATES) for t in toks)
