"""The search language, read once and written in each backend's own syntax.

What people type (the same on SQLite and PostgreSQL)::

    netflix renewed          every word (all required, in title or body, any order)
    "all of us are dead"     a phrase: these words, one after another
    netfl*                   a prefix: any word starting with "netfl"
    netflix OR hulu          either (OR in capitals; it binds closer than the spaces:
                             ``zombie netflix OR hulu`` is zombie and either of the two)
    netflix -hulu            netflix, but not hulu (``-"a phrase"`` too)

A word with punctuation inside (``spider-man``, ``don't``) is the phrase of its parts, as
both backends' tokenizers split it. Nothing typed is ever syntax to the database: on
SQLite every word or phrase is an FTS5 string (``"..."``, quotes doubled) and on
PostgreSQL a bound argument of ``phraseto_tsquery``, combined with the operators this
module chooses. What cannot be read as the language is read literally: a quote left open
runs to the end, an ``OR`` with nothing on one side and a ``*`` not after a word are
ignored; only a search made of exclusions alone is refused (:class:`SearchSyntaxError`:
FTS5 cannot say "every article without ...").

Stemming: SQLite's index uses the Porter stemmer (English) for every article; PostgreSQL
reads each article and the query with the configuration of the article's language
(revision 0009), so "renew" finds "renewed" on both, and on PostgreSQL "Tournee" finds
"Tourneen" in a German article. PostgreSQL's own ``websearch_to_tsquery`` is not used: it
has no prefix terms, and the two backends should read a query alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    cast,
    column,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import REGCONFIG, TSQUERY


class SearchSyntaxError(ValueError):
    """A search that says nothing to find (only exclusions)."""


@dataclass(frozen=True)
class Term:
    """A word or phrase as typed (the backend tokenizes it); ``prefix``: its last word
    is a prefix."""

    text: str
    prefix: bool = False


@dataclass(frozen=True)
class SearchQuery:
    """Clauses all required; each clause is its alternatives (OR), or one excluded term."""

    required: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.required)


# More words than a search needs, which would only make long SQL (PostgreSQL reads the
# query once per configuration).
MAX_TERMS = 64
# A phrase in double quotes (one left open runs to the end), or a run of other characters.
_TOKEN = re.compile(r'(-?)"([^"]*)(?:"|$)|(\S+)')
_WORD = re.compile(r"[^\W_]+")


def _has_word(value: str) -> bool:
    return _WORD.search(value) is not None


def parse(query: str) -> SearchQuery:
    """The user's text as a :class:`SearchQuery` (empty when it names no word)."""
    items: list[tuple[str, Term | None, bool]] = []  # (kind, term, negated)
    for m in _TOKEN.finditer(query):
        if m.group(3) is None:  # a quoted phrase
            negated, raw = m.group(1) == "-", m.group(2)
            if _has_word(raw):
                items.append(("term", Term(raw), negated))
            continue
        raw = m.group(3)
        if raw == "OR":
            items.append(("or", None, False))
            continue
        negated = raw.startswith("-") and len(raw) > 1
        raw = raw[1:] if negated else raw
        prefix = raw.endswith("*")
        raw = raw.rstrip("*")
        # A prefix is one word: "spider-m*" is read as the phrase "spider m".
        prefix = prefix and _WORD.fullmatch(raw) is not None
        if _has_word(raw):
            items.append(("term", Term(raw, prefix), negated))
    required: list[list[Term]] = []
    excluded: list[Term] = []
    joining = False  # an OR was read since the last term
    last_required = False  # the last term read is the end of a clause in ``required``
    for kind, term, negated in items:
        if kind == "or":
            joining = last_required
            continue
        assert term is not None
        if joining and not negated:
            required[-1].append(term)
        elif negated:
            excluded.append(term)
            last_required = False
            joining = False
            continue
        else:
            required.append([term])
        last_required, joining = True, False
    if excluded and not required:
        raise SearchSyntaxError("a search needs at least one word to find; '-' only excludes words")
    if sum(map(len, required)) + len(excluded) > MAX_TERMS:
        raise SearchSyntaxError(f"a search takes at most {MAX_TERMS} words or phrases")
    return SearchQuery(tuple(tuple(c) for c in required), tuple(excluded))


# -- SQLite FTS5 ------------------------------------------------------------------------------


def _fts_term(term: Term) -> str:
    quoted = '"' + term.text.replace('"', '""') + '"'
    return f"{quoted} *" if term.prefix else quoted


def fts5_match(query: SearchQuery) -> str:
    """The FTS5 MATCH expression: strings only, joined by AND, OR and NOT."""
    clauses = []
    for alternatives in query.required:
        terms = [_fts_term(t) for t in alternatives]
        clauses.append(terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")")
    out = " AND ".join(clauses)
    if query.excluded:  # one NOT: FTS5's parser nests each one
        out = f"({out}) NOT ({' OR '.join(_fts_term(t) for t in query.excluded)})"
    return out


# -- PostgreSQL tsquery ------------------------------------------------------------------------


# Article language (its primary subtag) -> text-search configuration, and the SQL that
# picks it: the same as revision 0009's (tests/test_storage_search.py compares them), which
# builds each article's stored document with it.
CONFIGS = {
    "da": "danish",
    "de": "german",
    "en": "english",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "hu": "hungarian",
    "it": "italian",
    "nb": "norwegian",
    "nl": "dutch",
    "nn": "norwegian",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sv": "swedish",
    "tr": "turkish",
}
CONFIG_NAMES = ("simple", *sorted(set(CONFIGS.values())))


def primary_language_sql(language: str) -> str:
    """The primary subtag of the SQL expression ``language``, lowercased (``en`` of
    ``en-US`` or ``EN_us``; ``''`` for NULL)."""
    return f"lower(split_part(replace(coalesce({language}, ''), '_', '-'), '-', 1))"


def config_sql(language: str) -> str:
    """The configuration of an article whose language is the SQL expression
    ``language`` (revision 0009's expression)."""
    primary = primary_language_sql(language)
    arms = " ".join(f"WHEN '{code}' THEN '{name}'::regconfig" for code, name in CONFIGS.items())
    return f"(CASE {primary} {arms} ELSE 'simple'::regconfig END)"


def pg_tsquery(
    query: SearchQuery,
    config: ColumnElement[Any] | str,
    prepare: Callable[[Any], ColumnElement[Any]] = literal,
) -> ColumnElement[Any]:
    """The query as a ``tsquery`` in text-search configuration ``config`` (a name, or an
    expression such as an article's own); ``prepare`` turns each bound word or phrase
    into the text to read (accent folding).

    A word or phrase is ``phraseto_tsquery(config, text)``: PostgreSQL's parser splits and
    normalizes it (stemming, stop words) and nothing in it is an operator. A prefix is one
    word of letters and digits (:func:`parse` makes sure), quoted as a tsquery lexeme with
    ``:*`` and read by ``to_tsquery``."""
    if isinstance(config, str):
        if not config.isalnum():  # one of ours, never text from outside
            raise ValueError(f"not a configuration name: {config!r}")
        config = literal_column(f"'{config}'::regconfig", REGCONFIG)
    cfg = config

    def term(t: Term) -> ColumnElement[Any]:
        if t.prefix:
            lexeme = func.concat("'", prepare(literal(t.text)), "':*")
            return func.to_tsquery(cfg, lexeme, type_=TSQUERY)
        return func.phraseto_tsquery(cfg, prepare(literal(t.text)), type_=TSQUERY)

    def any_of(terms: tuple[Term, ...]) -> ColumnElement[Any]:
        return balanced(func.tsquery_or, [term(t) for t in terms])

    result = balanced(func.tsquery_and, [any_of(c) for c in query.required])
    if query.excluded:
        result = func.tsquery_and(
            result, func.tsquery_not(any_of(query.excluded), type_=TSQUERY), type_=TSQUERY
        )
    return result


def balanced(
    operator: Callable[..., ColumnElement[Any]], operands: list[ColumnElement[Any]]
) -> ColumnElement[Any]:
    """``operands`` joined by the binary ``operator`` as a balanced tree (nested calls as
    deep as log2 of their number, not their number)."""
    while len(operands) > 1:
        pairs = [
            operator(a, b, type_=TSQUERY)
            for a, b in zip(operands[0::2], operands[1::2], strict=False)
        ]
        operands = pairs + (operands[-1:] if len(operands) % 2 else [])
    return operands[0]


def pg_query_texts(
    query: SearchQuery, prepare: Callable[[Any], ColumnElement[Any]] = literal
) -> Select[Any]:
    """A row per configuration of :data:`CONFIG_NAMES`: its name and the query read in
    it, as ``tsquery`` text. Read once per search, so that the search itself binds these
    few texts (:func:`pg_readings`) rather than carrying the whole query once per
    configuration; and the query is written once, for a configuration that is a column,
    rather than once per configuration (a statement built anew for every search)."""
    names = ", ".join(f"'{name}'" for name in CONFIG_NAMES)  # ours, never text from outside
    configs = (
        func.unnest(literal_column(f"ARRAY[{names}]::regconfig[]"))
        .table_valued(column("config", REGCONFIG))
        .render_derived(name="configs")
    )
    config = configs.c.config
    columns: list[ColumnElement[Any]] = [
        cast(config, Text),
        cast(pg_tsquery(query, config, prepare), Text),
    ]
    return select(*columns).select_from(configs)


@dataclass(frozen=True)
class Reading:
    """One way the query reads on PostgreSQL: its ``tsquery`` text, and the articles read
    with it (``where``: a condition on their language; None: every article)."""

    text: str
    where: ColumnElement[bool] | None

    @property
    def tsquery(self) -> ColumnElement[Any]:
        return cast(literal(self.text, Text), TSQUERY)


def pg_readings(texts: Mapping[str, str], language: str) -> list[Reading]:
    """The query's distinct readings, from :func:`pg_query_texts`' rows: configurations
    that read it alike share one (a name is read alike by most), and an article of the
    SQL expression ``language`` is matched, ranked and quoted with the reading of its own
    configuration. Searched one reading at a time, the match is a constant ``tsquery``
    that the GIN index answers, not an expression computed for every candidate. A
    reading without a word (stop words only) matches nothing: left out, so no reading at
    all means no match."""
    primary: ColumnElement[Any] = literal_column(primary_language_sql(language))
    alike: dict[str, list[str]] = {}
    for name in CONFIG_NAMES:
        alike.setdefault(texts[name], []).append(name)

    def codes(names: list[str]) -> list[str]:
        return [code for code, cfg in CONFIGS.items() if cfg in names]

    readings = []
    for text_, names in alike.items():
        if not text_:
            continue
        if CONFIG_NAMES[0] in names:  # 'simple': every language not listed elsewhere
            others = codes([n for n in CONFIG_NAMES if n not in names])
            readings.append(Reading(text_, primary.not_in(others) if others else None))
        else:
            readings.append(Reading(text_, primary.in_(codes(names))))
    return readings
