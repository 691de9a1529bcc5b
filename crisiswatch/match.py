"""Keyword, alias and rule matching over normalised text, in every script and inflection.

How a keyword matches (``match = "word"``, the default)
------------------------------------------------------
Both the keyword spellings and the text go through :func:`fold.normalise`, so
script, case, diacritics, markup and look-alike letters no longer matter. A
spelling then matches at a word start, and the word may go on only with a
*grammatical ending* of one of the languages the feeds are written in — a small,
bounded set, never "any suffix":

* Serbian case endings (Vučića, Vučiću, Vučićem, Brnjakom, Gračanici), the
  -ov-/-ev- plural and possessive-adjective endings (Kforovi vojnici, Вучићеви
  сарадници), adjective case endings (u Banjskoj) and the j-inserted forms of
  names that end in a vowel (Kurtija, Kurtiju);
* Albanian definite and case endings (Mitrovicës, Graçanicën, KFOR-it, Ibri);
* English plural and possessive (roadblocks, Vučić's, VUCIC'S).

Two stem rules cover the declensions that change the end of the word rather than
add to it: a final -a, -e/-ë or -o is replaced by one of the case endings of
that declension (Gračanica → Gračanici, Mitrovicë → Mitrovica, Kosovo → Kosovu;
see ``REPLACING``), and the "fleeting" a/ë of a last syllable between
consonants drops before a vowel ending (Ibar → Ibru, Ibër → Ibri). Acronyms
(all capitals: KFOR, EULEX) never change their stem; they take endings directly
or after a hyphen or apostrophe (Kfora, KFOR-a, KFOR’i). A word of fewer than
four letters takes endings only after a hyphen or apostrophe (EU-a, UN's), as
two or three letters plus an ending is usually another word (Una, bare). What
is not in the set is a different word and does not match: Ibarra, Ibarguen,
KFORCE, KFORM, Vučićević, Brnjakovic, Zvečanski, Gračaničanin, Raškin,
Unroadblock.

Known limits, inherent to folding diacritics away: a declined form can equal
an unrelated word of another language (Serbian "Prištine", genitive of Priština,
folds to English "pristine"). Such keywords can be set to ``match = "exact"``
with the declined forms listed as aliases.

Multi-word spellings match across any run of whitespace or a hyphen ("road
block", "road-block", and the closed compound "roadblock"); their inner words
may carry a case ending too ("u Zubinom Potoku"), but not an apostrophe.

Each spelling is also compiled in the forms the region's orthographies give it:
đ as "dj" (Djurić), the Albanian ć → q, đ → gj, dž → xh (Leposaviq, Gjuriq) and
a foreign x as "ks" (ЕУЛЕКС). ``explain`` reports which one matched.

``match = "exact"`` accepts the spelling only as a whole word, no endings;
``match = "prefix"`` accepts any continuation of the word.

Speed
-----
All spellings are compiled once into one regular expression shaped as a trie (a
shared-prefix alternation), with an empty capturing group at each leaf so
``m.lastindex`` says which spelling matched without a second lookup. It starts
with one non-word character (the text gets a leading space), which lets ``re``
skip in C to the next word boundary instead of trying every position; the word's
remaining letters are taken by a trailing ``\\w*`` and checked against the
ending set in Python, with a fallback to shorter spellings at the same place.
Normalisation folds ASCII with ``str.lower`` and Serbian/Albanian text through a
single-byte code page with ``bytes.translate`` (see ``fold.normalise``); offset
maps are built only for texts that hit.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .fold import Normalised, fold, normalise
from .models import SEVERITIES, Assessment, Hit

if TYPE_CHECKING:
    from .config import Config, Keyword, Rule

# ---------------------------------------------------------------------------
# Endings (after normalisation: no diacritics, ë → e)
# ---------------------------------------------------------------------------

_SERBIAN_CASE = "a e i u om em ima ama".split()
"""Noun case endings (gen/dat/acc/loc/instr, plurals); the vocative -o is left out on purpose
(Ibro, a name, is not Ibar)."""
_SERBIAN_LONG_PLURAL = "ovi ove ova ovima evi eve eva evima".split()
_SERBIAN_POSSESSIVE = [
    stem + end
    for stem in ("ov", "ev", "jev")
    for end in ("", "a", "o", "e", "i", "u", "og", "oga", "om", "ome", "omu", "oj", "ih", "im", "ima")
]
"""Possessive adjectives: Kforovi vojnici, Вучићеви сарадници (not -ović/-ević surnames)."""
_SERBIAN_ADJECTIVE = "og oga omu ome oj ih im ega emu eg ej".split()
"""Adjective case endings, for adjectival names (Banjska → u Banjskoj) and inner words."""
_SERBIAN_J = "ja ju je jem ji".split()
"""Names ending in a vowel insert j: Kurti → Kurtija, Kurtiju, Kurtijem."""
_ALBANIAN = "i u a e ja je ri ne es it in un ut et t te n s se en ve ave eve".split()
"""Definite and case forms: -i -u -a -ja -ri, acc. -in -un -n -në, gen. -it -ut -s -së -ës,
plural -t -të -et -ët -ve -ave (ë folds to e)."""
_ENGLISH = ["s", "es"]
"""Plural; the possessive 's is the same ending after an apostrophe."""

ENDINGS: frozenset[str] = frozenset(
    _SERBIAN_CASE + _SERBIAN_LONG_PLURAL + _SERBIAN_POSSESSIVE + _SERBIAN_ADJECTIVE + _SERBIAN_J
    + _ALBANIAN + _ENGLISH
) - {""}  # fmt: skip
"""Every ending a ``word`` match may carry, directly or after a hyphen/apostrophe."""
REPLACING: dict[str, frozenset[str]] = {
    # Serbian feminine and adjectival -a (Gračanica → Gračanici, Banjska → u Banjskoj),
    # and the Albanian definite -a taking its case forms (Prishtina → Prishtinës, Prishtinën).
    "a": frozenset("e i u om oj ih im ima ama og oga ome omu es en".split()),
    # Serbian neuter -e (Jarinje → Jarinja, Jarinju, Jarinjem; Merdare → Merdarima)
    # and Albanian indefinite -ë turning definite (Mitrovicë → Mitrovica).
    "e": frozenset("a u i em om ima ama".split()),
    # Serbian neuter -o (Kosovo → Kosova, Kosovu, Kosovom) and the Albanian forms
    # of such names (Kosovë, Kosovës, Kosovën).
    "o": frozenset("a u e i om ima es en".split()),
}
"""Endings that replace a final vowel, by vowel. Names ending in -i/-u keep the vowel and
take endings after it (Kurti → Kurtija, Kurtit), so they have no replacing set."""
FLEETING_ENDINGS: frozenset[str] = frozenset("a e i u om em ima ama it in ut un es en et".split())
"""Vowel-initial case endings that follow a dropped fleeting a/ë (Ibr-u, Ibr-om, Ibr-it)."""
VOWEL_ENDINGS: frozenset[str] = frozenset().union(*REPLACING.values(), FLEETING_ENDINGS)
MIN_DIRECT = 4
"""A word shorter than this takes endings only after a hyphen or apostrophe (EU-a, UN's):
glued to two or three letters, an ending makes another common word (UN+a = Una, Bar+e = bare)."""
MAX_ENDING = max(len(e) for e in ENDINGS)
_NOTHING: frozenset[str] = frozenset({""})
_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}
_NO_ALERT = Assessment((), (), None, ())
_FULL_REMAINDERS: frozenset[str] = ENDINGS | _NOTHING

_VOWELS = "aeiou"
_SEP = r"(?:\s*-\s*|\s+)"
"""Between the words of a multi-word spelling: any whitespace, or a hyphen."""


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))


_ENDING_ALT = _alternation(ENDINGS)
_REPLACING_ALT = {v: _alternation(e) for v, e in REPLACING.items()}
_HYPHEN_ENDING = re.compile(rf"(['-])(\w{{1,{MAX_ENDING}}})(?!\w)")
"""KFOR-a, KFOR’i, Vučić's: an ending after a hyphen or apostrophe."""

# ---------------------------------------------------------------------------
# Compiled spellings
# ---------------------------------------------------------------------------

Token = str | tuple[str, ...]
"""One character of a folded spelling, or a word separator ``("sep", variant[, vowel])``."""

FULL, VOWEL_STEM, FLEETING_STEM = "full", "vowel", "fleeting"


@dataclass(slots=True)
class _Entry:
    """One way a keyword can appear: a spelling (or a stem of it) and what may follow."""

    keyword: Keyword
    alias: str
    """The spelling as configured (term or alias)."""
    tokens: tuple[Token, ...]
    kind: str
    mode: str
    replaced: str = ""
    """For a vowel stem: the final vowel the ending replaces."""
    variant: str = ""
    """The respelling compiled (Gjuriq for Đurić), when it differs from ``alias``."""
    short: bool = False
    """The last word is shorter than MIN_DIRECT: no ending glued to it."""

    def allowed(self) -> frozenset[str] | None:
        """What may follow the spelling inside the same word (None: anything)."""
        if self.mode == "prefix":
            return None
        if self.mode == "exact" or self.short:
            return _NOTHING
        if self.kind == FULL:
            return _FULL_REMAINDERS
        if self.kind == VOWEL_STEM:
            return REPLACING[self.replaced]
        return FLEETING_ENDINGS


@dataclass(slots=True)
class _Leaf:
    """Entries sharing one token sequence (and so one capturing group)."""

    tokens: tuple[Token, ...]
    entries: list[_Entry] = field(default_factory=list)
    literal: str = ""
    """Characters before the first separator; a cheap pre-check for fallbacks."""
    alone: re.Pattern[str] | None = None
    """This leaf's own pattern, anchored at a word start, for fallbacks (compiled lazily)."""
    shorter: list[int] = field(default_factory=list)
    """Other leaves to try at the same start if none of this leaf's entries accepts."""
    checks: list[tuple[_Entry, frozenset[str] | None]] = field(default_factory=list)
    """Each entry with the set of word remainders it accepts (None: anything)."""
    hyphen: bool = False
    """Whether an ending may follow a hyphen or apostrophe (a full spelling in word mode)."""


def _render_token(tok: Token) -> str:
    if isinstance(tok, str):
        return re.escape(tok)
    if tok[1] == "exact":
        return _SEP
    if tok[1] == "word":
        return f"(?:(?:{_ENDING_ALT})?{_SEP}|)"
    vowel = tok[2]
    return f"(?:(?:{re.escape(vowel)}|{_REPLACING_ALT[vowel]}){_SEP}|{re.escape(vowel)})"


def _is_acronym(spelling: str) -> bool:
    letters = [c for c in spelling if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _split_words(folded: str) -> list[str]:
    return [w for w in re.split(r"[\s\-]+", folded) if w]


def _word_tokens(word: str, mode: str, acronym: bool) -> list[Token]:
    """Tokens for an inner word of a multi-word spelling, including the separator after it."""
    if mode != "word" or len(word) < MIN_DIRECT:
        return [*word, ("sep", "exact")]
    if not acronym and word[-1] in REPLACING:
        return [*word[:-1], ("sep", "vowel", word[-1])]
    return [*word, ("sep", "word")]


def _fleeting_vowel_index(spelling: str, folded_last: str) -> int | None:
    """Index in ``folded_last`` of a fleeting a/ë (Ibar → Ibr-u, Ibër → Ibr-i), if any.

    Serbian drops the a, Albanian the ë, of a last syllable consonant–vowel–
    consonant before a vowel ending. Which words do is lexical, so this applies
    it to every such spelling; the stems it makes ("zvecn", "brnjk") are not
    words in any of the three languages, so over-generating costs nothing, and
    a stem shorter than three letters is refused (Bar must not become "br").
    """
    n = len(folded_last)
    if n < 4:
        return None
    c1, v, c2 = folded_last[-3], folded_last[-2], folded_last[-1]
    if not (c1.isalpha() and c2.isalpha()) or c1 in _VOWELS or c2 in _VOWELS or v not in "ae":
        return None
    # Check the vowel as written: an "e" must have been an Albanian ë, not a plain e.
    letters = [c for c in unicodedata.normalize("NFC", spelling).casefold() if c.isalpha()]
    if len(letters) < 2:
        return None
    written = letters[-2]
    if written not in ("a", "ë", "а"):
        return None
    return n - 2


_KS = (("X", "KS"), ("x", "ks"))
"""A foreign x is written ks in both Serbian scripts: EULEX → ЕУЛЕКС, Euleks."""
_DJ = (("Đ", "Dj"), ("đ", "dj"), ("Ђ", "Dj"), ("ђ", "dj"))
"""Serbian without đ at hand: Đurić → Djurić ("Duric" is covered: đ folds to d)."""
_SQ = (("Ć", "Q"), ("ć", "q"), ("Ћ", "Q"), ("ћ", "q"), ("Đ", "Gj"), ("đ", "gj"), ("Ђ", "Gj"), ("ђ", "gj"),
       ("DŽ", "XH"), ("Dž", "Xh"), ("dž", "xh"), ("Џ", "Xh"), ("џ", "xh"))  # fmt: skip
"""Albanian spelling of Serbian names: ć → q, đ → gj, dž → xh (Leposavić → Leposaviq,
Đurić → Gjuriq, Vučić → Vuçiq; č → ç folds to c already)."""


def _respell(spelling: str, pairs: tuple[tuple[str, str], ...]) -> str:
    for old, new in pairs:
        spelling = spelling.replace(old, new)
    return spelling


def _spelling_variants(spelling: str) -> list[str]:
    """The spelling plus the ways the region's orthographies respell it.

    ks for x first (it applies to the name as written), then, for each of
    those, the Serbian dj form and the Albanian q/gj/xh form — never both on one
    variant, and never ks on an Albanian xh.
    """
    bases = [spelling, _respell(spelling, _KS)]
    out = []
    for base in bases:
        out += [base, _respell(base, _DJ), _respell(base, _SQ)]
    return list(dict.fromkeys(out))


def _entries_for(keyword: Keyword) -> list[_Entry]:
    """Every token sequence under which a keyword may appear, per its match mode."""
    entries: list[_Entry] = []
    seen: set[tuple[tuple[Token, ...], str, str]] = set()
    mode = keyword.match
    for spelling in keyword.spellings:
        acronym = _is_acronym(spelling)
        for variant in _spelling_variants(spelling):
            words = _split_words(fold(variant))
            if not words:
                continue
            inner: list[Token] = []
            for w in words[:-1]:
                inner.extend(_word_tokens(w, mode, acronym))
            last = words[-1]
            short = len(last) < MIN_DIRECT
            forms: list[tuple[tuple[Token, ...], str, str]] = [((*inner, *last), FULL, "")]
            if mode == "word" and not acronym and not short:
                if last[-1] in REPLACING:
                    forms.append(((*inner, *last[:-1]), VOWEL_STEM, last[-1]))
                idx = _fleeting_vowel_index(variant, last)
                if idx is not None:
                    forms.append(((*inner, *(last[:idx] + last[idx + 1 :])), FLEETING_STEM, ""))
            for tokens, kind, replaced in forms:
                if (tokens, kind, replaced) in seen:
                    continue
                seen.add((tokens, kind, replaced))
                respelled = variant if variant != spelling else ""
                entries.append(_Entry(keyword, spelling, tokens, kind, mode, replaced=replaced, short=short, variant=respelled))
    return entries


class _Trie:
    """Token trie rendered as one regex; a leaf is an empty capturing group."""

    def __init__(self) -> None:
        self.children: dict[Token, _Trie] = {}
        self.leaf: int | None = None

    def insert(self, tokens: Sequence[Token], leaf: int) -> None:
        node = self
        for tok in tokens:
            node = node.children.setdefault(tok, _Trie())
        node.leaf = leaf

    def render(self, order: list[int]) -> str:
        """Regex for this subtree; ``order`` collects leaf ids in group-number order.

        Children come before the leaf so the longest spelling wins ("Kosovo
        Force" over "Kosovo"); shorter ones are retried by the fallback.
        """
        alts: list[str] = []
        for tok, child in self.children.items():
            alts.append(_render_token(tok) + child.render(order))
        if self.leaf is not None:
            order.append(self.leaf)
            alts.append("()")
        if len(alts) == 1:
            return alts[0]
        return "(?:" + "|".join(alts) + ")"


def _tokens_regex(tokens: Sequence[Token]) -> str:
    return "".join(_render_token(t) for t in tokens)


def _literal(tokens: Sequence[Token]) -> str:
    out = []
    for t in tokens:
        if not isinstance(t, str):
            break
        out.append(t)
    return "".join(out)


# ---------------------------------------------------------------------------
# The matcher
# ---------------------------------------------------------------------------


class Matcher:
    """Finds keywords in text and decides whether an item alerts.

    Build it once per config (compiling is the slow part); ``find`` and
    ``assess`` are then safe to call from any thread (no mutable state).
    """

    def __init__(self, keywords: Sequence[Keyword], rules: Sequence[Rule] = (), *, trie: bool = True) -> None:
        self.keywords: tuple[Keyword, ...] = tuple(keywords)
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._by_term: dict[str, Keyword] = {k.term.casefold(): k for k in self.keywords}
        self._rules: list[tuple[str, frozenset[str], frozenset[str], frozenset[str], int]] = [
            (
                r.name,
                frozenset(t.casefold() for t in r.all),
                frozenset(t.casefold() for t in r.any),
                frozenset(t.casefold() for t in r.none),
                -1 if r.severity == "mute" else _RANK[r.severity],
            )
            for r in self.rules
            if r.all or r.any  # a rule without a condition never fires (config refuses it anyway)
        ]
        leaves: list[_Leaf] = []
        by_tokens: dict[tuple[Token, ...], int] = {}
        for keyword in self.keywords:
            for entry in _entries_for(keyword):
                idx = by_tokens.get(entry.tokens)
                if idx is None:
                    idx = by_tokens[entry.tokens] = len(leaves)
                    leaves.append(_Leaf(entry.tokens, literal=_literal(entry.tokens)))
                leaves[idx].entries.append(entry)
        self._leaves = leaves
        by_first: dict[Token, list[int]] = {}
        for i, leaf in enumerate(leaves):
            leaf.checks = [(e, e.allowed()) for e in leaf.entries]
            leaf.hyphen = any(e.mode == "word" and e.kind == FULL for e in leaf.entries)
            by_first.setdefault(leaf.tokens[0], []).append(i)
        for group in by_first.values():
            group.sort(key=lambda j: -len(leaves[j].tokens))
            for i in group:
                leaves[i].shorter = [j for j in group if j != i]
        order: list[int] = []
        if not leaves:
            body = "(?!)"
        elif trie:
            root = _Trie()
            for i, leaf in enumerate(leaves):
                root.insert(leaf.tokens, i)
            body = root.render(order)
        else:
            # The naive form, kept for the benchmark's "before" figure.
            alts = []
            for i in sorted(range(len(leaves)), key=lambda j: -len(leaves[j].tokens)):
                order.append(i)
                alts.append(_tokens_regex(leaves[i].tokens) + "()")
            body = "(?:" + "|".join(alts) + ")"
        self._group_leaf: list[int] = [-1, *order]
        self._pattern = re.compile(f"\\W(?:{body})\\w*")

    @classmethod
    def from_config(cls, cfg: Config) -> Matcher:
        return cls(cfg.keywords, cfg.rules)

    # -- finding -----------------------------------------------------------
    def find(self, text: str, norm: Normalised | None = None) -> list[Hit]:
        """Every keyword occurrence, sorted by start, with offsets into ``text`` as given.

        ``norm`` is ``normalise(text)`` when the caller already has it (the poller
        folds the same text for search), so it is not computed twice.
        """
        if not text:
            return []
        if norm is None:
            norm = normalise(text)
        # The pattern starts with one non-word character (a charset sre can scan for
        # in C) instead of a lookbehind tried at every position; a leading space
        # gives the first word one. Positions below are in ``padded``.
        padded = " " + norm.text
        search = self._pattern.search
        group_leaf = self._group_leaf
        hits: list[Hit] = []
        pos = 0
        while True:
            m = search(padded, pos)
            if m is None:
                break
            start = m.start() + 1
            group = m.lastindex or 0
            leaf_id = group_leaf[group]
            found = self._accept(padded, leaf_id, m.end(group), m.end())
            if found is None:
                found = self._fallback(padded, start, leaf_id)
            if found is None:
                pos = start
                continue
            entries, end, ending = found
            o_start, o_end = norm.span(start - 1, end - 1)
            if o_end < len(text) and not text[o_end].isascii():
                # Keep trailing combining marks with their letter ("kfor" + U+0308).
                while o_end < len(text) and unicodedata.category(text[o_end]) in ("Mn", "Me"):
                    o_end += 1
            matched = text[o_start:o_end]
            normalised = padded[start:end]
            if len(entries) == 1:
                kw = entries[0].keyword
                hits.append(Hit(kw.term, matched, o_start, o_end, kw.severity, entries[0].alias, normalised, ending))
            else:
                seen: set[str] = set()
                for entry in entries:
                    kw = entry.keyword
                    if kw.term not in seen:
                        seen.add(kw.term)
                        hits.append(Hit(kw.term, matched, o_start, o_end, kw.severity, entry.alias, normalised, ending))
            pos = end
        return hits

    def _accept(self, s: str, leaf_id: int, alias_end: int, word_end: int) -> tuple[list[_Entry], int, str] | None:
        """Entries of a leaf that accept what follows the spelling, the hit end and the ending."""
        if leaf_id < 0:
            return None
        leaf = self._leaves[leaf_id]
        rest = s[alias_end:word_end]
        accepted = [e for e, allowed in leaf.checks if allowed is None or rest in allowed]
        if not accepted:
            return None
        if not rest and leaf.hyphen and word_end < len(s) and s[word_end] in "-'":
            hm = _HYPHEN_ENDING.match(s, word_end)
            if hm and hm.group(2) in ENDINGS and any(e.mode == "word" and e.kind == FULL for e in accepted):
                return accepted, hm.end(), hm.group(0)
        return accepted, word_end, rest

    @staticmethod
    def _alone(leaf: _Leaf) -> re.Pattern[str]:
        """The leaf's own pattern, compiled on first use (fallbacks and explain only)."""
        if leaf.alone is None:
            leaf.alone = re.compile(f"(?<!\\w)(?:{_tokens_regex(leaf.tokens)})()\\w*")
        return leaf.alone

    def _fallback(self, folded: str, start: int, leaf_id: int) -> tuple[list[_Entry], int, str] | None:
        """The regex took the longest spelling and its ending was refused; try the others here."""
        if leaf_id < 0:
            return None
        for j in self._leaves[leaf_id].shorter:
            leaf = self._leaves[j]
            if not folded.startswith(leaf.literal, start):
                continue
            m = self._alone(leaf).match(folded, start)
            if m is None:
                continue
            found = self._accept(folded, j, m.end(1), m.end())
            if found is not None:
                return found
        return None

    # -- explaining ----------------------------------------------------------
    def explain(self, hit: Hit) -> dict[str, object]:
        """Why a hit matched: spelling, its folded form, the stem rule and the accepted ending.

        Re-runs the hit's own spelling over the folded match, so the answer is
        the matcher's actual reasoning, not a reconstruction.
        """
        keyword = self._by_term.get(hit.keyword.casefold())
        mode = keyword.match if keyword else "word"
        padded = " " + hit.normalised
        entry: _Entry | None = None
        for leaf in self._leaves:
            candidates = [e for e in leaf.entries if e.keyword.term == hit.keyword and e.alias == hit.alias]
            if not candidates:
                continue
            m = self._alone(leaf).match(padded, 1)
            if m is None:
                continue
            found = self._accept(padded, self._leaves.index(leaf), m.end(1), m.end())
            if found is None or found[1] != len(padded) or found[2] != hit.ending:
                continue
            accepted = [e for e in found[0] if e in candidates]
            if accepted:
                entry = accepted[0]
                break
        ending = hit.ending.lstrip("-'")
        if entry is None:
            rule = "no longer matches this spelling (config changed?)"
        elif entry.mode == "prefix":
            rule = "prefix: any continuation of the spelling" if ending else "the spelling as a whole word"
        elif not hit.ending:
            rule = "the spelling as a whole word"
        elif hit.ending[0] in "-'":
            rule = f"ending '{ending}' after {'a hyphen' if hit.ending[0] == '-' else 'an apostrophe'}"
        elif entry.kind == VOWEL_STEM:
            rule = f"final '{entry.replaced}' replaced by the ending '{ending}'"
        elif entry.kind == FLEETING_STEM:
            rule = f"fleeting a/ë dropped before the ending '{ending}'"
        else:
            rule = f"ending '{ending}' added to the spelling"
        alias_words = _split_words(fold(entry.variant or entry.alias)) if entry else []
        body = hit.normalised[: len(hit.normalised) - len(hit.ending)]
        if len(alias_words) > 1 and _split_words(body)[:-1] != alias_words[:-1]:
            rule += "; inner words declined"
        out: dict[str, object] = {
            "keyword": hit.keyword,
            "alias": hit.alias,
            "alias_normalised": " ".join(alias_words),
            "normalised": hit.normalised,
            "ending": hit.ending,
            "mode": mode,
            "rule": rule,
        }
        if entry is not None and entry.variant:
            out["respelled"] = entry.variant
        return out

    # -- assessing -----------------------------------------------------------
    def assess(self, title: str, summary: str = "", *,
               normalised: tuple[Normalised, Normalised] | None = None) -> Assessment:
        """The alert verdict for one item.

        Hits from the summary are shifted by ``len(title) + 1``: offsets index
        ``f"{title}\\n{summary}"``. Severity is the highest of the alerting
        keywords found; then every rule whose conditions hold fires. A firing
        rule with a severity can only raise it (and can make an alert out of
        context-only keywords); a firing ``mute`` rule suppresses the alert
        unless an escalating rule fired too — an explicit "this combination is
        dangerous" outranks "this is usually noise", because a missed alert is
        the worst failure.
        """
        title_norm, summary_norm = normalised if normalised is not None else (None, None)
        hits = self.find(title or "", title_norm)
        if summary:
            shift = len(title or "") + 1
            for h in self.find(summary, summary_norm):
                hits.append(
                    Hit(h.keyword, h.matched, h.start + shift, h.end + shift, h.severity, h.alias, h.normalised, h.ending)
                )
        if not hits:
            return _NO_ALERT  # no rule can fire without a keyword
        present = {h.keyword.casefold() for h in hits}
        alerting: set[str] = set()
        rank = -1
        for term in present:
            kw = self._by_term.get(term)
            if kw is not None and kw.alert:
                alerting.add(kw.term)
                rank = max(rank, _RANK[kw.severity])
        fired: list[str] = []
        raised = -1
        muted = False
        for name, all_, any_, none_, severity_rank in self._rules:
            if all_ and not all_ <= present:
                continue
            if any_ and present.isdisjoint(any_):
                continue
            if not present.isdisjoint(none_):
                continue
            fired.append(name)
            if severity_rank < 0:
                muted = True
            else:
                raised = max(raised, severity_rank)
        if raised >= 0:
            severity: str | None = SEVERITIES[max(rank, raised)]
        elif muted or rank < 0:
            severity = None
        else:
            severity = SEVERITIES[rank]
        return Assessment(tuple(hits), tuple(sorted(alerting)), severity, tuple(fired))
