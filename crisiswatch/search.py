"""What a search box query means: keywords found through the matcher, words through full-text search.

The analyst types ``ibar`` and expects every Ibar story — "Most na Ibru",
"Мост на Ибру", "Ura mbi Ibër" — because the matcher raised Ibar alerts for all
of them. Full-text search alone cannot know that "ibru" is a form of "ibar";
the matcher can. So a query is read by the same :class:`~crisiswatch.match.Matcher`
the poller uses: every stretch of it that names a keyword (its term, an alias,
any inflected or transliterated form the matcher accepts) becomes a *keyword*
condition, answered from the keywords stored on the alerts; what is left is
free text, answered by FTS5 over folded text with prefix matching.

``a OR b`` gives either; ``"two words"`` is a phrase; anything the parser
cannot read (an unbalanced quote, a dangling OR) is searched as plain words,
with a one-line ``hint`` saying so. The hint also says when a keyword was
recognised, so the user knows why "ibar" found "Ибру".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .config import Keyword
from .models import Hit


class KeywordFinder(Protocol):
    """The matcher, as far as search needs it."""

    keywords: Sequence[Keyword]

    def find(self, text: str) -> list[Hit]: ...


@dataclass(frozen=True)
class Alternative:
    """One side of an ``OR``: items must carry every keyword and match every word or phrase."""

    keywords: tuple[str, ...] = ()
    """Canonical keyword terms, as stored in ``alerts.keywords``."""
    spellings: tuple[tuple[str, ...], ...] = ()
    """Per keyword, its term and aliases: items stored before the keyword existed have no alert,
    so they are found by these spellings in the full-text index as well."""
    words: tuple[str, ...] = ()
    """Free words (prefix-matched, folded by the store)."""
    phrases: tuple[str, ...] = ()
    """Quoted phrases (matched as a sequence of words)."""

    @property
    def empty(self) -> bool:
        return not (self.keywords or self.words or self.phrases)


@dataclass(frozen=True)
class SearchPlan:
    text: str
    alternatives: tuple[Alternative, ...] = ()
    hints: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not any(not a.empty for a in self.alternatives)

    @property
    def hint(self) -> str:
        """One line for the pane title: what was understood, and what was not."""
        return "; ".join(self.hints)

    @property
    def keywords(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(k for a in self.alternatives for k in a.keywords))


_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_OR = re.compile(r"\s+(?:OR|\|)\s+|\s*\|\s*")


def _keyword_part(text: str, finder: KeywordFinder | None) -> tuple[list[str], str]:
    """Keywords named in ``text`` and the text with those stretches removed."""
    if finder is None or not text.strip():
        return [], text
    try:
        hits = finder.find(text)
    except Exception:  # a broken matcher must not break the search box
        return [], text
    keywords: list[str] = []
    rest: list[str] = []
    at = 0
    for hit in hits:
        if hit.start < at:
            continue
        rest.append(text[at:hit.start])
        keywords.append(hit.keyword)
        at = hit.end
    rest.append(text[at:])
    return list(dict.fromkeys(keywords)), " ".join(rest)


def _alternative(part: str, finder: KeywordFinder | None, hints: list[str]) -> Alternative:
    phrases: list[str] = []
    loose: list[str] = []
    if part.count('"') % 2:
        hints.append("unbalanced quote ignored")
        part = part.replace('"', " ")
    for match in _TOKEN.finditer(part):
        if match.group(1) is not None:
            phrase = " ".join(match.group(1).split())
            if phrase:
                phrases.append(phrase)
        else:
            loose.append(match.group(2))
    keywords, rest = _keyword_part(" ".join(loose), finder)
    words = [w for w in re.split(r"\s+", rest) if w and re.search(r"\w", w)]
    # A quoted phrase that is exactly a keyword's spelling still means the keyword.
    kept_phrases = []
    for phrase in phrases:
        named, left = _keyword_part(phrase, finder)
        if named and not re.search(r"\w", left):
            keywords.extend(k for k in named if k not in keywords)
        else:
            kept_phrases.append(phrase)
    by_term = {k.term: k for k in getattr(finder, "keywords", ())}
    spellings = tuple((k, *(by_term[k].aliases if k in by_term else ())) for k in keywords)
    return Alternative(keywords=tuple(keywords), spellings=spellings, words=tuple(words), phrases=tuple(kept_phrases))


def plan(text: str, finder: KeywordFinder | None = None) -> SearchPlan:
    """Read a search-box query. ``finder`` is the matcher (None: words only)."""
    text = text.strip()
    if not text:
        return SearchPlan(text)
    hints: list[str] = []
    parts = _OR.split(f" {text} ")
    if len(parts) > 1 and any(not p.strip() for p in parts):
        hints.append("OR needs a word on each side")
    alternatives = [a for a in (_alternative(p, finder, hints) for p in parts if p.strip()) if not a.empty]
    if not alternatives:
        hints.append("nothing to search for")
    keywords = list(dict.fromkeys(k for a in alternatives for k in a.keywords))
    if keywords:
        hints.insert(0, "keyword " + ", ".join(keywords) + " in every spelling")
    if len(alternatives) > 1:
        hints.append("OR: either side")
    return SearchPlan(text, tuple(alternatives), tuple(hints))


__all__ = ["Alternative", "KeywordFinder", "SearchPlan", "plan"]
