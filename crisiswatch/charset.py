"""Which code page an undeclared, non-UTF-8 feed is written in, chosen from its content.

A feed that declares no charset (or declares one its bytes contradict) and is
not valid UTF-8 is almost always in one of the Windows/ISO single-byte code
pages of its language. feedparser (without chardet) then guesses
windows-1252, which is right for French, Portuguese or German and turns
Serbian "Vučić" into "Vuèiæ"; always retrying as windows-1250 instead fixes
Serbian and breaks French ("à" → "ŕ", "modèles" → "modčles") and Portuguese
("simulações" → "simulaçőes"). No fixed choice is right.

So each candidate decoding is scored by the letters it produces: every
language has a small alphabet of non-ASCII letters (French àâçéèêëîïôœùûüÿ,
Serbian Latin čćđšž, Portuguese ãõáâàçéêíóôú…), and the right decoding is the
one whose non-ASCII letters are best explained by a single language of its
code page. A wrong decoding scatters letters of several alphabets ("ŕ" is
Slovak, "č" Czech, "ę" Polish), produces symbols inside words ("Ð÷"), or
mixes Latin and Cyrillic inside a word ("Vuиiж"). German and Albanian letters
(äöüß, ëç) sit at the same bytes in windows-1250 and -1252, so either reading
gives the same text. Scripts these code pages cannot explain (CJK, Thai,
Hebrew…) are left to ``charset-normalizer``, whose statistics are made for
them.
"""

from __future__ import annotations

import re

__all__ = ["detect"]

_LATIN_LANGUAGES: dict[str, str] = {
    # "frequent letters|rare letters": rare ones are explained but earn nothing, so a wrong
    # reading cannot win on letters its language hardly uses (Slovak ŕ ĺ ť for French à « »).
    # Western European (windows-1252 / ISO-8859-1 / -15)
    "fr": "àâçéèêëîôùûÀÂÇÉÈÊÎÔ|ïœüÿËÏŒÙÛÜŸæÆ",
    "pt": "áâãàçéêíóôõúÁÂÃÀÇÉÊÍÓÔÕÚ|üºª",
    "es": "áéíñóúÁÉÍÑÓÚ|ü¿¡ÜºªÑ",
    "it": "àèéìòùÀÈÉÌÒÙ|íîóúÍÓÚ",
    "de": "äöüßÄÖÜ|éÉ",
    "nl": "éëïöüÉ|èáóËÏÖÜ",
    "ca": "àçéèíòóúÀÇÉÈÍÒÓÚ|ïüÏÜ",
    "sq": "ëçËÇ|",
    "nordic": "åäöæøÅÄÖÆØ|éÉ",
    # Central European (windows-1250 / ISO-8859-2)
    "sh": "čćđšžČĆĐŠŽ|",  # Serbian, Croatian, Bosnian, Montenegrin Latin
    "sl": "čšžČŠŽ|",
    "cs": "áčéěířšúůýžÁČÉÍŘŠÚÝŽ|ďňóťĎĚŇÓŤŮ",
    "sk": "áäčéíóôšúýžÁČÉÍÓŠÚÝŽ|ďĺľňŕťÄĎĹĽŇÔŔŤ",
    "pl": "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ|",
    "hu": "áéíóöőúüűÁÉÍÓÖŐÚÜŰ|",
    "ro": "ăâîşţșțĂÂÎŞŢȘȚ|",
    "de2": "äöüßÄÖÜ|éÉ",
    "sq2": "ëçËÇ|",
}
_CYRILLIC = "".join(chr(c) for c in range(0x0400, 0x0460)) + "ҐґЎў"
_CYRILLIC_VOWELS = frozenset("аеиоуыэюяёіїєАЕИОУЫЭЮЯЁІЇЄ")
_CANDIDATES: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Order breaks ties: identical scores mean identical letters (German, Albanian), so any is right.
    ("windows-1252", ("fr", "pt", "es", "it", "de", "nl", "ca", "sq", "nordic")),
    ("windows-1250", ("sh", "sl", "cs", "sk", "pl", "hu", "ro", "de2", "sq2")),
    ("iso-8859-2", ("sh", "sl", "cs", "sk", "pl", "hu", "ro", "de2", "sq2")),
    ("windows-1251", ("cyrillic",)),
)
_ALPHABETS = {name: (frozenset(letters.split("|")[0]), frozenset(letters.replace("|", "")))
              for name, letters in _LATIN_LANGUAGES.items()}
_ALPHABETS["cyrillic"] = (frozenset(_CYRILLIC), frozenset(_CYRILLIC))
_WORD = re.compile(rb"[A-Za-z\x80-\xff]*[\x80-\xff][A-Za-z\x80-\xff]*")
_SAMPLE = 65536
"""Bytes of words with high bytes looked at: a feed's first items settle its code page."""


_NEUTRAL = frozenset("\u00a0\u2019\u2018\u201a\u201e\u201c\u201d\u00b7\u2013\u2014\u2026\u00ab\u00bb\u00b0\u20ac")
"""Non-letters at the same bytes in every candidate (no-break space, quotes, dashes, €): no evidence."""
_CYRILLIC_FAMILY = frozenset({"cp1251", "windows-1251", "kz1048", "ptcp154", "mac_cyrillic", "iso8859_5"})
"""charset-normalizer's Cyrillic single-byte answers; Serbian needs windows-1251's ђ ј љ њ ћ џ."""


def _score(words: list[bytes], codec: str, languages: tuple[str, ...]) -> tuple[int, int]:
    """(score, letters explained) of reading ``words`` as ``codec``; higher is more plausible."""
    letters: dict[str, int] = {}
    penalty = 0
    cyrillic = codec == "windows-1251"
    for raw in words:
        word = raw.decode(codec, "replace")
        has_ascii = any("a" <= c.lower() <= "z" for c in word)
        high = sum(1 for b in raw if b >= 0x80)
        if not cyrillic and high >= 3 and high * 2 > len(raw):
            # Latin-script words are mostly ASCII letters; a run of accented letters is
            # another script's bytes (Cyrillic, Greek, CJK) read as Latin.
            penalty += high
            continue
        previous = ""
        for ch in word:
            if previous.islower() and ch.isupper():
                penalty += 2  # "кАК", "ÐÅÒ": case flips inside a word are bytes of another code page
            previous = ch
            if ch < "\x80":
                continue
            if not ch.isalpha():
                if ch not in _NEUTRAL:
                    penalty += 3  # a symbol or control inside a word: a letter read wrongly
                continue
            if cyrillic and has_ascii and "\u0400" <= ch <= "\u04ff":
                penalty += 2  # Latin and Cyrillic in one word: Latin bytes read as Cyrillic
                continue
            letters[ch] = letters.get(ch, 0) + 1
    total = sum(letters.values())
    if cyrillic and total:
        # Slavic Cyrillic text is ~40% vowels; other scripts' bytes read as Cyrillic are ~15%.
        vowels = sum(n for ch, n in letters.items() if ch in _CYRILLIC_VOWELS)
        if vowels * 4 < total:
            return -total - penalty, 0
    best_score, best = -total, 0
    for language in languages:
        frequent, alphabet = _ALPHABETS[language]
        explained = sum(n for ch, n in letters.items() if ch in alphabet)
        score = sum(n for ch, n in letters.items() if ch in frequent) - (total - explained)
        if score > best_score:
            best_score, best = score, explained
    return best_score - penalty, best


def _mostly_utf8(body: bytes) -> bool:
    """At least as many valid multi-byte UTF-8 characters as broken bytes (other code pages have ~none)."""
    text = body[: _SAMPLE * 4].decode("utf-8", "replace")
    broken = text.count("\ufffd")
    if not broken:
        return True
    valid = len(text) - len(text.encode("ascii", "ignore")) - broken
    return valid >= broken


def detect(body: bytes) -> str | None:
    """The most plausible encoding of ``body`` (not valid UTF-8), or None when nothing fits.

    Valid UTF-8 is the caller's business. UTF-8 with a few broken bytes (a
    character cut in half) is still UTF-8: "utf-8" when most high-byte
    sequences decode, for the caller to decode with replacement.
    """
    if _mostly_utf8(body):
        return "utf-8"
    words: list[bytes] = []
    size = 0
    for m in _WORD.finditer(body):
        words.append(m.group(0))
        size += len(words[-1])
        if size > _SAMPLE:
            break
    if not words:
        return None
    high = sum(1 for w in words for b in w if b >= 0x80)
    ranked = []
    for order, (codec, languages) in enumerate(_CANDIDATES):
        score, explained = _score(words, codec, languages)
        ranked.append((score, -order, explained, codec))
    score, _, explained, codec = max(ranked)
    if codec != "windows-1251" and score > 0 and explained * 2 >= high:
        return codec
    # Cyrillic, or most high bytes no letter of a Latin code page: multi-byte Asian
    # encodings, Thai, Hebrew, Greek, KOI8… — charset-normalizer's statistics decide
    # (they tell KOI8-R and Hebrew from windows-1251, which letter counts cannot).
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a declared dependency
        return codec if score > 0 else None
    match = from_bytes(body[: _SAMPLE * 4]).best()
    if match is None:
        return codec if score > 0 else None
    if match.encoding in _CYRILLIC_FAMILY:
        return "windows-1251"
    return match.encoding
