"""The one normaliser used for matching, search and story keys.

It is shared by the keyword compiler and by every piece of text the matcher
sees, so "Вучић", "VUČIĆ", "Vu&shy;cic" and "ＶＵＣＩＣ" all become
``vucic``. It keeps an offset map so that a hit found in the folded text can be
reported at its place in the ORIGINAL text (the TUI highlights it, ``match``
prints it). Most headlines are plain ASCII or simple Latin/Cyrillic, so there
are two fast paths (``str.lower`` and ``str.translate``, both 1:1 so offsets are
the identity) in front of the general per-character path. :func:`fold` is the
same folding without offsets, used for the full-text index and its queries.
"""

from __future__ import annotations

import codecs
import html
import importlib
import re
import unicodedata
from collections.abc import Sequence

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


def _build_tables() -> tuple[dict[int, str], re.Pattern[str], re.Pattern[str]]:
    """Precomputed folds for the characters headlines are made of.

    Returns a ``str.translate`` table (ASCII, Latin-1, Latin Extended, Serbian
    and Russian Cyrillic, combining marks, general punctuation with the zero-width
    and bidi format characters, full-width forms, ligatures), a regex finding any
    character outside it or a Latin/Cyrillic letter pair (a mixed-script word),
    and a regex finding the characters that do not fold 1:1 (Љ → lj, soft
    hyphen → nothing). Text of known characters folds with one C-level
    ``translate``; the offset map is the identity unless an irregular character
    occurs, and even then is only built when a hit needs it.
    """
    table: dict[int, str] = {}
    irregular: list[str] = []
    ranges = [(0x09, 0x0A), (0x0D, 0x0D), (0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x36F), (0x400, 0x52F),
              (0x1E00, 0x1EFF), (0x2000, 0x206F), (0xFB00, 0xFB06), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
              (0xFF01, 0xFF5E)]  # fmt: skip
    known: list[str] = []
    for lo, hi in ranges:
        for code in range(lo, hi + 1):
            ch = chr(code)
            if unicodedata.category(ch) in ("Cn", "Cs"):
                continue
            folded = _fold_char(ch)
            known.append(ch)
            if folded != ch:
                table[code] = folded
            if len(folded) != 1:
                irregular.append(ch)
    known_cls = "".join(re.escape(c) for c in known)
    # Script classes as the general path sees them (after NFKC: "Ｋ" and "™" are Latin).
    latin = "".join(re.escape(c) for c in known if any(_script(d) == _LATIN for d in unicodedata.normalize("NFKC", c)))
    cyr = "\u0400-\u052f"
    joiner = "".join(re.escape(c) for c in known if unicodedata.category(c) in ("Cf", "Mn", "Me"))
    unknown = re.compile(f"[^{known_cls}]|[{latin}][{joiner}]*[{cyr}]|[{cyr}][{joiner}]*[{latin}]")
    irregular_re = re.compile("[" + "".join(re.escape(c) for c in irregular) + "]")
    return table, unknown, irregular_re


_TABLES: tuple[dict[int, str], re.Pattern[str], re.Pattern[str]] | None = None
""":func:`_build_tables`, built on first use: most text folds through the code pages below,
and building costs tens of ms that every command would otherwise pay at import."""


def _tables() -> tuple[dict[int, str], re.Pattern[str], re.Pattern[str]]:
    global _TABLES
    if _TABLES is None:
        _TABLES = _build_tables()  # idempotent: two threads racing here build equal tables
    return _TABLES


class _Codepage:
    """Folding through a single-byte code page: encode, ``bytes.translate``, decode.

    ``str.translate`` costs a dictionary lookup per character (~50 ns), which
    alone would eat the matcher's budget on Cyrillic headlines. Windows-1250
    covers Serbian Latin and Albanian, Windows-1251 Serbian Cyrillic, and
    encoding to them, translating bytes and decoding are all C loops. Characters
    that do not fold to one Latin-1 character (Љ → lj, soft hyphen → nothing)
    become placeholder bytes 0x80–0x9F, expanded afterwards; their positions are
    exactly the irregular positions of the offset map.
    """

    def __init__(self, codec: str) -> None:
        self.codec = codec
        table = bytearray(range(256))
        script = bytearray(b" " * 256)
        self.expansions: dict[str, str] = {}
        placeholder_for: dict[str, int] = {}
        free = iter(range(0x80, 0xA0))
        for byte in range(256):
            try:
                ch = bytes([byte]).decode(codec)
            except UnicodeDecodeError:
                continue
            folded = _fold_char(ch)
            nfkc = unicodedata.normalize("NFKC", ch)
            kind = _LATIN if any(_script(c) == _LATIN for c in nfkc) else _script(ch)
            if unicodedata.category(ch) in ("Cf", "Mn", "Me"):
                script[byte] = ord("X")  # inside a word, invisible: joins the letters around it
            else:
                script[byte] = ord("L") if kind == _LATIN else ord("C") if kind == _CYRILLIC else ord(" ")
            if len(folded) == 1 and (ord(folded) < 0x80 or 0xA0 <= ord(folded) <= 0xFF):
                table[byte] = ord(folded)
                continue
            slot = placeholder_for.get(folded)
            if slot is None:
                slot = placeholder_for[folded] = next(free)
                self.expansions[chr(slot)] = folded
            table[byte] = slot
        self.table = bytes(table)
        self.script = bytes(script)
        # Expansions applied with bytes.replace (C speed) when they fit in Latin-1,
        # else after decoding with str.replace.
        self.byte_expansions: dict[int, tuple[bytes, bytes]] = {}
        self.str_expansions: dict[int, tuple[str, str]] = {}
        for ph, folded in self.expansions.items():
            try:
                self.byte_expansions[ord(ph)] = (ph.encode("latin-1"), folded.encode("latin-1"))
            except UnicodeEncodeError:
                self.str_expansions[ord(ph)] = (ph, folded)
        self.not_placeholder = bytes(b for b in range(256) if not 0x80 <= b <= 0x9F)
        self.not_latin = bytes(b for b in range(256) if self.script[b] != ord("L"))
        self.encoding_table = importlib.import_module(f"encodings.{codec}").encoding_table
        """The codec's own C encoding map: ``codecs.charmap_encode`` without the codec wrapper."""

    def encode(self, text: str) -> bytes:
        return codecs.charmap_encode(text, "strict", self.encoding_table)[0]

    def fold(self, raw: bytes) -> tuple[str, bytes | None]:
        """Folded text of ``raw`` (encoded text) and, if any character was irregular, the 1:1 bytes."""
        mid = raw.translate(self.table)
        present = mid.translate(None, self.not_placeholder)
        if not present:
            return mid.decode("latin-1"), None
        out = mid
        later: list[tuple[str, str]] = []
        for byte in set(present):
            pair = self.byte_expansions.get(byte)
            if pair is not None:
                out = out.replace(*pair)
            else:
                later.append(self.str_expansions[byte])
        text = out.decode("latin-1")
        for ph, folded in later:
            text = text.replace(ph, folded)
        return text, mid


_CP1250 = _Codepage("cp1250")
_CP1251 = _Codepage("cp1251")
_PLACEHOLDER_B = re.compile(b"[\x80-\x9f]")
_MIXED_B = re.compile(b"LX*C|CX*L")
_HAS_CYRILLIC = re.compile("[\u0400-\u04ff]")

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


class Normalised:
    """Folded text plus, for every folded character, where it came from.

    ``offsets[i]`` is the index in the original text of the character (or
    entity, or tag) that produced ``text[i]``; ``ends[i]`` is the index just
    past it. ``offsets`` has one extra entry, ``len(original)``, so a slice end
    can be looked up too. Use :meth:`span` to map a folded slice back.

    The maps are built on first use: the matcher folds every headline but needs
    offsets only for the few that hit, and for most text they are the identity.
    """

    __slots__ = ("text", "_length", "_source", "_irregular", "_offsets", "_ends", "_outer")

    def __init__(self, text: str, offsets: Sequence[int], ends: Sequence[int]) -> None:
        self.text = text
        self._length = len(offsets) - 1
        self._source: str | None = None
        self._irregular: list[int] | bytes | None = None
        self._offsets: Sequence[int] | None = offsets
        self._ends: Sequence[int] | None = ends
        self._outer: tuple[list[int], list[int]] | None = None

    @classmethod
    def _translated(cls, folded: str, source: str, irregular: list[int] | bytes | None) -> Normalised:
        """A 1:1-or-nearly fold of ``source``; maps only around the irregular characters."""
        self = cls.__new__(cls)
        self.text = folded
        self._length = len(source)
        self._source = source
        self._irregular = irregular
        self._offsets = None
        self._ends = None
        self._outer = None
        return self

    def _through(self, starts: list[int], ends: list[int], original_len: int) -> Normalised:
        """This fold of an intermediate text, mapped through that text's own spans (markup removal)."""
        if self._offsets is not None:
            inner_off, inner_end = self._offsets, self._ends or ()
            return Normalised(
                self.text,
                [starts[o] if o < len(starts) else original_len for o in inner_off],
                [ends[e - 1] for e in inner_end],
            )
        self._outer = (starts, ends)
        self._length = original_len
        return self

    def _build(self) -> None:
        source = self._source or ""
        if self._irregular is None:
            n = len(source)
            offsets: Sequence[int] = range(n + 1)
            ends: Sequence[int] = range(1, n + 1)
        else:
            off_list: list[int] = []
            end_list: list[int] = []
            prev = 0
            irregular = self._irregular
            if isinstance(irregular, bytes):
                # The code page's 1:1 fold: irregular characters are the placeholder bytes.
                irregular = [m.start() for m in _PLACEHOLDER_B.finditer(irregular)]
            for i in irregular:
                off_list.extend(range(prev, i))
                end_list.extend(range(prev + 1, i + 1))
                width = len(_fold_char(source[i]))
                off_list.extend([i] * width)
                end_list.extend([i + 1] * width)
                prev = i + 1
            off_list.extend(range(prev, len(source)))
            end_list.extend(range(prev + 1, len(source) + 1))
            off_list.append(len(source))
            offsets, ends = off_list, end_list
        if self._outer is not None:
            outer_starts, outer_ends = self._outer
            n = len(outer_starts)
            offsets = [outer_starts[o] if o < n else self._length for o in offsets]
            ends = [outer_ends[e - 1] for e in ends]
        self._offsets, self._ends = offsets, ends

    @property
    def offsets(self) -> Sequence[int]:
        if self._offsets is None:
            self._build()
        assert self._offsets is not None
        return self._offsets

    @property
    def ends(self) -> Sequence[int]:
        if self._ends is None:
            self._build()
        assert self._ends is not None
        return self._ends

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``[start, end)`` covering folded ``text[start:end]``."""
        if self._offsets is None and self._irregular is None and self._outer is None:
            return start, end
        if end <= start:
            o = self.offsets[start]
            return o, o
        return self.offsets[start], self.ends[end - 1]

    def __repr__(self) -> str:
        return f"Normalised({self.text!r})"


def _has_markup(text: str) -> bool:
    lt, amp = text.find("<"), text.find("&")
    if lt < 0 and amp < 0:
        return False
    # Every token starts with "<" or "&": start the (alternation, so per-position) scan there.
    start = amp if lt < 0 else lt if amp < 0 else min(lt, amp)
    return _HTML_TOKEN.search(text, start) is not None


def _fast(text: str) -> Normalised | None:
    """Fold by ``translate`` when the text has no unknown character and no mixed-script word.

    The caller has dealt with markup already.
    """
    if text.isascii():
        folded = text.lower()
        if "`" in folded:
            folded = folded.replace("`", "'")
        return Normalised._translated(folded, text, None)
    page = _CP1251 if _HAS_CYRILLIC.search(text) else _CP1250
    try:
        raw = page.encode(text)
    except UnicodeEncodeError:
        return _fast_general(text)
    if page is _CP1251:
        # Only text with some Latin letter can hold a word mixing scripts (rare:
        # most Cyrillic headlines have none, and this test is one C call).
        if raw.translate(None, page.not_latin) and _MIXED_B.search(raw.translate(page.script)):
            return None  # a word mixing scripts: look-alikes need the general path
    folded, irregular = page.fold(raw)
    return Normalised._translated(folded, text, irregular)


def _fast_general(text: str) -> Normalised | None:
    """``str.translate`` over the precomputed table, for known characters outside the code pages."""
    table, unknown, irregular_re = _tables()
    if unknown.search(text):
        return None
    folded = text.translate(table)
    irregular = None
    if irregular_re.search(text):
        irregular = [m.start() for m in irregular_re.finditer(text)]
    return Normalised._translated(folded, text, irregular)


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
    if not _has_markup(text):
        return _fast(text) or _general(text)
    chars = list(text)
    starts = list(range(len(text)))
    ends = list(range(1, len(text) + 1))
    for _ in range(3):
        if not _unescape_markup(chars, starts, ends):
            break
    plain = "".join(chars)
    inner = _fast(plain) or _general(plain)
    return inner._through(starts, ends, len(text))


def _general(text: str) -> Normalised:
    """The per-character path: NFKC, mixed-script look-alikes, then the character fold."""
    # NFKC per character first, so script detection sees "ＫＦＯＲ" as Latin.
    expanded: list[str] = []
    exp_starts: list[int] = []
    for i, c in enumerate(text):
        nk = c if c.isascii() else unicodedata.normalize("NFKC", c)
        expanded.extend(nk)
        exp_starts.extend([i] * len(nk))
    _fix_mixed_scripts(expanded)
    out: list[str] = []
    offsets: list[int] = []
    for c, s in zip(expanded, exp_starts, strict=True):
        folded = _fold_char(c)
        if not folded:
            continue
        out.append(folded)
        offsets.extend([s] * len(folded))
    ends = [o + 1 for o in offsets]
    offsets.append(len(text))
    return Normalised("".join(out), offsets, ends)


def fold(text: str) -> str:
    """Just the folded text of :func:`normalise` (for keywords, keys, comparisons)."""
    return normalise(text).text


__all__ = ["Normalised", "fold", "normalise"]
