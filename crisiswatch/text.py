"""Text cleaning for storage and the one normaliser used for matching.

Feed text is hostile: it may carry markup, terminal escapes and bidi overrides.
``plain_text`` makes it inert before it is stored; ``normalise`` folds scripts,
case and diacritics so keywords and text compare alike.

The normaliser is shared by the keyword compiler and by every piece of text the
matcher sees, so "Вучић", "VUČIĆ", "Vu&shy;cic" and "ＶＵＣＩＣ" all become
``vucic``. It keeps an offset map so that a hit found in the folded text can be
reported at its place in the ORIGINAL text (the TUI highlights it, ``match``
prints it). Most headlines are plain ASCII or simple Latin/Cyrillic, so there
are two fast paths (``str.lower`` and ``str.translate``, both 1:1 so offsets are
the identity) in front of the general per-character path.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TAG = re.compile(r"<[^>]*>?", re.S)
_BLOCK = re.compile(r"<\s*(br|/p|/div|/li|/h\d|p|div|li|tr)\b[^>]*>", re.I)
_SCRIPT = re.compile(r"<\s*(script|style)\b.*?<\s*/\s*\1\s*>", re.I | re.S)
_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")
_WS = re.compile(r"[ \t\r\n\f\v\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")


def _is_unsafe(ch: str) -> bool:
    """Control, format (bidi overrides, zero-width) and private/unassigned characters."""
    cat = unicodedata.category(ch)
    return cat in ("Cc", "Cf", "Cs", "Co", "Cn")


def strip_unsafe(text: str) -> str:
    """Remove ANSI escape sequences and every control/format character."""
    text = _ANSI.sub("", text)
    return "".join(ch for ch in text if not _is_unsafe(ch) or ch in "\n\t")


def plain_text(raw: str | None, *, max_len: int | None = None) -> str:
    """HTML fragment → one line of safe plain text, capped with an ellipsis.

    Entities are unescaped until stable because titles often arrive escaped
    twice (``&amp;amp;``).
    """
    if not raw:
        return ""
    text = _SCRIPT.sub(" ", raw)
    text = _BLOCK.sub(" ", text)
    text = _TAG.sub("", text)
    for _ in range(3):
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = _TAG.sub("", unescaped)
    text = strip_unsafe(text)
    text = _WS.sub(" ", text).strip()
    if max_len is not None and len(text) > max_len:
        text = text[: max_len - 1].rstrip() + "…"
    return text


# ---------------------------------------------------------------------------
# The normaliser
# ---------------------------------------------------------------------------

_CYRILLIC_TO_LATIN: dict[str, str] = {
    # Serbian Cyrillic (Vuk's alphabet), folded straight to the ASCII the
    # Latin spelling folds to (č ć → c, š → s, ž → z, đ → d, dž → dz).
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "ђ": "d", "е": "e", "ж": "z", "з": "z",
    "и": "i", "ј": "j", "к": "k", "л": "l", "љ": "lj", "м": "m", "н": "n", "њ": "nj", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "ћ": "c", "у": "u", "ф": "f", "х": "h", "ц": "c",
    "ч": "c", "џ": "dz", "ш": "s",
    # Macedonian, Russian, Ukrainian, Belarusian letters that show up in quotes.
    "ѓ": "g", "ќ": "k", "ѕ": "dz", "ѐ": "e", "ѝ": "i", "й": "j", "ы": "y", "э": "e", "ю": "ju",
    "я": "ja", "ъ": "", "ь": "", "ё": "e", "щ": "sc", "є": "je", "і": "i", "ї": "ji", "ґ": "g",
    "ў": "u",
}  # fmt: skip
"""Lower-case Cyrillic → folded Latin. Upper case is casefolded before lookup."""

_LETTER_SPECIAL: dict[str, str] = {
    # Latin letters with no Unicode decomposition; folded by hand.
    "đ": "d", "ð": "d", "ø": "o", "ł": "l", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th",
    "ħ": "h", "ŧ": "t", "ŀ": "l", "ƚ": "l", "ɨ": "i", "ʉ": "u",
}  # fmt: skip

_PUNCT: dict[str, str] = {
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63\uff0d", "-"),
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u2035\u02bc\u02b9\u02bb\u00b4\u0060\uff07", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033\u2036\u2039\u203a\uff02", '"'),
}
"""Every dash is "-", every apostrophe "'", every double quote '"'."""

# Letters that look like Latin ones; used only inside a word that is mostly
# Latin (a spoofed or mistyped "KFОR" with a Cyrillic О), never on Cyrillic text.
_LOOKALIKE_TO_LATIN: dict[str, str] = {
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J", "а": "a", "е": "e", "о": "o",
    "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "һ": "h", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "ӏ": "l",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ο": "o", "ι": "i", "κ": "k", "ν": "v",
    "α": "a", "ρ": "p", "υ": "u", "τ": "t",
}  # fmt: skip
# …and the reverse, for a Latin look-alike inside a word that is mostly Cyrillic
# ("Bучић" typed with a Latin B must still read as Вучић → vucic).
_LOOKALIKE_TO_CYRILLIC: dict[str, str] = {
    "A": "А", "B": "В", "E": "Е", "K": "К", "M": "М", "H": "Н", "O": "О", "P": "Р", "C": "С",
    "T": "Т", "Y": "У", "X": "Х", "J": "Ј", "a": "а", "e": "е", "o": "о", "p": "р", "c": "с",
    "y": "у", "x": "х", "j": "ј",
}  # fmt: skip

_LATIN, _CYRILLIC, _GREEK, _OTHER = 1, 2, 3, 0


def _script(ch: str) -> int:
    o = ord(ch)
    if o < 0x80:
        return _LATIN if ch.isalpha() else _OTHER
    if 0xC0 <= o <= 0x24F and o not in (0xD7, 0xF7) or 0x1E00 <= o <= 0x1EFF:
        return _LATIN
    if 0x400 <= o <= 0x52F:
        return _CYRILLIC
    if 0x370 <= o <= 0x3FF:
        return _GREEK
    return _OTHER


_FOLD_CACHE: dict[str, str] = {}


def _fold_char(ch: str) -> str:
    """One character → its folded form (zero, one or more characters).

    Order matters: NFKC first (full-width letters, ligatures), then casefold,
    then Cyrillic transliteration (before decomposition, or й would lose its
    breve and become и), then NFKD and drop combining marks (č → c, ë → e).
    """
    cached = _FOLD_CACHE.get(ch)
    if cached is not None:
        return cached
    if ch in _PUNCT:
        out = _PUNCT[ch]
    elif unicodedata.category(ch) in ("Cf", "Mn", "Me"):
        # Soft hyphen, zero-width space/joiner, bidi marks, stray combining marks.
        out = ""
    else:
        parts: list[str] = []
        for c in unicodedata.normalize("NFKC", ch).casefold():
            if c in _CYRILLIC_TO_LATIN:
                parts.append(_CYRILLIC_TO_LATIN[c])
                continue
            if c in _PUNCT:
                parts.append(_PUNCT[c])
                continue
            for d in unicodedata.normalize("NFKD", c):
                if unicodedata.combining(d) or unicodedata.category(d) == "Cf":
                    continue
                parts.append(_LETTER_SPECIAL.get(d, d))
        out = "".join(parts)
    if len(_FOLD_CACHE) < 100_000:
        _FOLD_CACHE[ch] = out
    return out


def _build_fast_tables() -> tuple[dict[int, str], re.Pattern[str]]:
    """Characters that fold 1:1, as a ``str.translate`` table and a "not simple" regex.

    Covers ASCII, Latin-1, Latin Extended-A/B, Serbian/Russian Cyrillic and the
    common typographic punctuation: nearly every headline in the feeds we follow.
    Text made only of these folds with one C-level ``translate`` and the offset
    map is the identity.
    """
    table: dict[int, str] = {}
    simple: list[str] = []
    candidates = [chr(c) for c in range(0x20, 0x7F) if chr(c) not in "<&"]
    candidates += ["\t", "\n", "\r"]
    candidates += [chr(c) for c in range(0xA0, 0x250)]
    candidates += [chr(c) for c in range(0x400, 0x460)]
    candidates += list(_PUNCT)
    for ch in candidates:
        folded = _fold_char(ch)
        if len(folded) != 1:
            continue
        simple.append(ch)
        if folded != ch:
            table[ord(ch)] = folded
    cls = "".join(re.escape(c) for c in sorted(set(simple)))
    latin = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
    cyr = "\u0400-\u04ff"
    not_simple = re.compile(f"[^{cls}]|[{latin}][{cyr}]|[{cyr}][{latin}]")
    return table, not_simple


_FAST_TABLE, _NOT_SIMPLE = _build_fast_tables()

# Markup the normaliser understands. Stricter than plain_text's _TAG on purpose:
# stored text is already plain, and "x<y KFOR" must not lose "KFOR" to a
# would-be tag that never closes.
_HTML_TOKEN = re.compile(
    r"(?P<script><(script|style)\b.*?</\2\s*>)"
    r"|(?P<comment><!--.*?-->)"
    r"|(?P<tag></?(?P<name>[A-Za-z][A-Za-z0-9]*)\b[^<>]*>)"
    r"|(?P<entity>&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?)",
    re.I | re.S,
)
_INLINE_TAGS = frozenset(
    "a abbr b bdi bdo cite code data del dfn em font i ins kbd mark q s samp small span strike "
    "strong sub sup time tt u var wbr".split()
)
"""Tags that sit inside a word ("K<b>FOR</b>"); every other tag separates words."""


@dataclass(frozen=True, slots=True)
class Normalised:
    """Folded text plus, for every folded character, where it came from.

    ``offsets[i]`` is the index in the original text of the character (or
    entity, or tag) that produced ``text[i]``; ``ends[i]`` is the index just
    past it. ``offsets`` has one extra entry, ``len(original)``, so a slice end
    can be looked up too. Use :meth:`span` to map a folded slice back.
    """

    text: str
    offsets: Sequence[int]
    ends: Sequence[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``[start, end)`` covering folded ``text[start:end]``."""
        if end <= start:
            o = self.offsets[start]
            return o, o
        return self.offsets[start], self.ends[end - 1]


def _identity(text: str, original_len: int) -> Normalised:
    return Normalised(text, range(original_len + 1), range(1, original_len + 1))


def fold_simple(text: str) -> str | None:
    """The folded text when it maps 1:1 onto ``text`` (offsets = identity), else None.

    This is the fast path the matcher runs on every headline; ``None`` means the
    text needs :func:`normalise` (markup, entities, format characters, letters
    that expand such as Љ → lj, or a word mixing scripts).
    """
    if text.isascii():
        if "<" in text or "&" in text:
            return None
        folded = text.lower()
        return folded.replace("`", "'") if "`" in folded else folded
    if _NOT_SIMPLE.search(text):
        return None
    return text.translate(_FAST_TABLE)


def _unescape_markup(chars: list[str], starts: list[int], ends: list[int]) -> bool:
    """One pass of tag removal and entity unescaping over per-character units, in place.

    Each produced character keeps the original span of the tag or entity it came
    from, so offsets survive double escaping (``&amp;lt;b&amp;gt;``).
    """
    joined = "".join(chars)
    if "<" not in joined and "&" not in joined:
        return False
    new_chars: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    pos = 0
    changed = False
    for m in _HTML_TOKEN.finditer(joined):
        a, b = m.span()
        if m.group("entity"):
            replacement = html.unescape(m.group(0))
            if replacement == m.group(0):
                continue
        elif m.group("tag") and (m.group("name") or "").lower() in _INLINE_TAGS:
            replacement = ""
        else:
            replacement = " "
        changed = True
        new_chars.extend(chars[pos:a])
        new_starts.extend(starts[pos:a])
        new_ends.extend(ends[pos:a])
        for c in replacement:
            new_chars.append(c)
            new_starts.append(starts[a])
            new_ends.append(ends[b - 1])
        pos = b
    if not changed:
        return False
    new_chars.extend(chars[pos:])
    new_starts.extend(starts[pos:])
    new_ends.extend(ends[pos:])
    chars[:] = new_chars
    starts[:] = new_starts
    ends[:] = new_ends
    return True


def _fix_mixed_scripts(chars: list[str]) -> None:
    """Fold look-alike letters of the minority script inside one word, in place.

    A word that is mostly Latin with one Cyrillic "О" is a Latin word ("KFОR");
    a word that is mostly Cyrillic with one Latin "B" is Cyrillic. Letters
    without a look-alike (Cyrillic Ф) are left to plain transliteration.
    """
    n = len(chars)
    i = 0
    while i < n:
        if not chars[i].isalpha():
            i += 1
            continue
        j = i
        counts = [0, 0, 0, 0]
        while j < n and (chars[j].isalpha() or unicodedata.category(chars[j]) in ("Mn", "Me", "Cf")):
            counts[_script(chars[j])] += 1
            j += 1
        latin, cyrillic, greek = counts[_LATIN], counts[_CYRILLIC], counts[_GREEK]
        if latin and (cyrillic or greek):
            if latin >= cyrillic + greek:
                for k in range(i, j):
                    if _script(chars[k]) in (_CYRILLIC, _GREEK):
                        chars[k] = _LOOKALIKE_TO_LATIN.get(chars[k], chars[k])
            elif cyrillic > greek:
                for k in range(i, j):
                    if _script(chars[k]) == _LATIN:
                        chars[k] = _LOOKALIKE_TO_CYRILLIC.get(chars[k], chars[k])
        i = j


def normalise(text: str) -> Normalised:
    """THE normaliser: the same folding for keywords and for feed text.

    HTML tags stripped and entities unescaped (up to three times, for
    double-escaped titles), NFKC, format characters removed, Serbian (and
    Russian) Cyrillic transliterated to Latin, look-alike letters inside a
    mixed-script word folded, combining marks dropped, ``đ`` → ``d``,
    casefolded, dashes/apostrophes/quotes unified. ``offsets`` map every folded
    character back to the original text.
    """
    simple = fold_simple(text)
    if simple is not None:
        return _identity(simple, len(text))
    chars = list(text)
    starts = list(range(len(text)))
    ends = list(range(1, len(text) + 1))
    for _ in range(3):
        if not _unescape_markup(chars, starts, ends):
            break
    # NFKC per character first, so script detection sees "ＫＦＯＲ" as Latin.
    expanded: list[str] = []
    exp_starts: list[int] = []
    exp_ends: list[int] = []
    for c, s, e in zip(chars, starts, ends, strict=True):
        nk = c if c.isascii() else unicodedata.normalize("NFKC", c)
        for d in nk:
            expanded.append(d)
            exp_starts.append(s)
            exp_ends.append(e)
    _fix_mixed_scripts(expanded)
    out: list[str] = []
    offsets: list[int] = []
    out_ends: list[int] = []
    for c, s, e in zip(expanded, exp_starts, exp_ends, strict=True):
        folded = _fold_char(c)
        if not folded:
            continue
        out.append(folded)
        if len(folded) == 1:
            offsets.append(s)
            out_ends.append(e)
        else:
            offsets.extend([s] * len(folded))
            out_ends.extend([e] * len(folded))
    offsets.append(len(text))
    return Normalised("".join(out), offsets, out_ends)


def fold(text: str) -> str:
    """Just the folded text of :func:`normalise` (for keywords, keys, comparisons)."""
    simple = fold_simple(text)
    return simple if simple is not None else normalise(text).text


# ---------------------------------------------------------------------------
# Story identity: links and titles
# ---------------------------------------------------------------------------

_TRACKING_PARAMS = frozenset(
    """fbclid gclid gclsrc dclid gbraid wbraid msclkid yclid twclid ttclid li_fat_id igshid igsh
    mc_cid mc_eid _ga _gl _hsenc _hsmi __hstc __hssc __hsfp hsctatracking mkt_tok oly_enc_id
    oly_anon_id vero_id vero_conv rb_clickid s_cid ncid cmpid ocid icid spm ref_src ref_url
    at_medium at_campaign at_custom1 at_custom2 at_custom3 at_custom4 xtor wt.mc_id
    wt.mc_ev cmp cmpid_ smid sr_share share_id feature guccounter guce_referrer
    guce_referrer_sig""".split()
)
"""Query parameters that say how a reader arrived, never which story it is."""


def canonical_link(url: str | None) -> str:
    """The link with tracking parameters, fragment and cosmetic differences removed.

    Two outlets (or two polls of one outlet) linking the same story with
    different ``utm_*``/``fbclid`` tails, ``#comments`` anchors, an upper-case
    host or a trailing slash must produce the same key, so the store groups
    them into one alert. Remaining query parameters are sorted (their order
    never changes which page is served). Non-http(s) identifiers are returned
    stripped but otherwise untouched.
    """
    if not url:
        return ""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        return url
    host = (parts.hostname or "").rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host
    if ":" in host:  # IPv6 literal
        netloc = f"[{host}]"
    if port is not None and not (scheme == "http" and port == 80) and not (scheme == "https" and port == 443):
        netloc = f"{netloc}:{port}"
    if parts.username:
        # Credentials in a feed link are a mistake; never keep them in a key.
        pass
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(("utm_", "utm-")) and k.lower() not in _TRACKING_PARAMS
    ]
    query.sort()
    path = parts.path or ""
    while path.endswith("/"):
        path = path[:-1]
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))


_TITLE_SEPARATORS = re.compile(r"\s+(?:[-|:•·»/]|--)\s+")
_TITLE_PREFIX = re.compile(
    r"^\s*(?:breaking(?: news)?|update[d]?|live|watch|video|exclusive|analysis|opinion|foto|uzivo"
    r"|hitno|ekskluzivno|lajm i fundit|e fundit)\s*[:\-|]\s*",
)
_NON_WORD = re.compile(r"[\W_]+")


def title_key(title: str | None) -> str:
    """A key equal for near-identical titles of one story from different outlets.

    Normalised (so scripts, case and diacritics do not matter), a trailing
    outlet name after `` - ``/`` | ``/`` — `` dropped when what remains still
    reads like a headline (four words or more), a leading "BREAKING:" style
    label dropped, then punctuation and quotes removed and whitespace folded.
    """
    if not title:
        return ""
    text = normalise(title).text
    text = _WS.sub(" ", text).strip()
    for _ in range(2):
        seps = list(_TITLE_SEPARATORS.finditer(text))
        if not seps:
            break
        last = seps[-1]
        head, tail = text[: last.start()], text[last.end() :]
        if len(_NON_WORD.sub(" ", tail).split()) <= 4 and len(_NON_WORD.sub(" ", head).split()) >= 4:
            text = head
        else:
            break
    text = _TITLE_PREFIX.sub("", text)
    return " ".join(_NON_WORD.sub(" ", text).split())
