"""The one terminal-safety filter for text we print or show that came from outside.

Config values, OPML attributes, feed titles, server error messages and URLs are
hostile: a C0/C1 control (ESC, U+009B CSI, U+009D OSC), a bidi override (U+202E)
or a zero-width character can recolour the terminal, set its title, hide or
reorder what the analyst reads, or — through CR/LF — forge a second line in a
one-line field. Every string the CLI prints or the TUI shows from those sources
goes through :func:`one_line` (or :func:`multi_line` for text that may keep its
line breaks); :func:`url_problem` is what ``feeds add``, ``feeds import`` and the
config loader use to refuse such URLs outright.

Only the standard library is imported: every layer may use this module.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["control_problem", "json_escape_controls", "multi_line", "one_line", "blank_escapes", "strip_escapes",
           "unsafe_char", "url_problem"]

_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|[@-Z\\-_])"
                     r"|[\x9b][0-?]*[ -/]*[@-~]?|[\x9d\x90\x98\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?")
"""Whole escape sequences (7-bit ESC… and 8-bit CSI/OSC/DCS/PM/APC…), removed with their parameters."""
_LINE_BREAKS = re.compile("\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_UNSAFE_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))
"""Controls (C0, C1, DEL), format characters (bidi overrides and isolates, zero-width), surrogates, line/para separators."""


def strip_escapes(text: str) -> str:
    """``text`` without whole terminal escape sequences (colours, titles, cursor moves) and their parameters.

    For text that is *read* rather than shown: a headline piped in from a coloured terminal log keeps
    ``KFOR`` a word of its own instead of ``[31mKFOR``. Other characters are left for the caller.
    """
    if "\x1b" in text or any(c in text for c in "\x9b\x9d\x90\x98\x9e\x9f"):
        return _ESCAPE.sub("", text)
    return text


def blank_escapes(text: str) -> str:
    """``text`` with each escape sequence overwritten by as many spaces: offsets into it stay offsets into
    ``text``, so a matcher can read the words and report positions in the original line."""
    if "\x1b" in text or any(c in text for c in "\x9b\x9d\x90\x98\x9e\x9f"):
        return _ESCAPE.sub(lambda m: " " * len(m.group()), text)
    return text


def unsafe_char(ch: str) -> bool:
    """True for a character a terminal may act on or that hides or reorders text."""
    return unicodedata.category(ch) in _UNSAFE_CATEGORIES


def _filter(text: str, keep_newlines: bool) -> str:
    text = strip_escapes(text)
    text = _LINE_BREAKS.sub("\n" if keep_newlines else " ", text)
    out = []
    for ch in text:
        if ch == "\t":
            out.append("\t" if keep_newlines else " ")
        elif ch == "\n" and keep_newlines:
            out.append(ch)
        elif not unsafe_char(ch):
            out.append(ch)
    return "".join(out)


def one_line(value: object) -> str:
    """``value`` as one line of inert text: escapes and controls removed, line breaks and tabs → a space.

    Nearly every string is printable already and is returned as it is (one C-speed check).
    """
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    if text.isprintable():
        return text
    return _filter(text, keep_newlines=False)


def multi_line(value: object) -> str:
    """Like :func:`one_line`, but line breaks (normalised to ``\\n``) and tabs stay."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    if text.isprintable():
        return text
    return _filter(text, keep_newlines=True)


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]")


def json_escape_controls(encoded: str) -> str:
    """JSON text with every character a terminal could act on written as ``\\uXXXX``: same data, inert bytes.

    ``json.dumps(ensure_ascii=False)`` escapes only C0 controls; C1 (U+009B CSI,
    U+009D OSC), bidi overrides and line separators would reach the terminal raw.
    """
    if encoded.isascii():
        return encoded
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", encoded)


def url_problem(url: str) -> str | None:
    """Why ``url`` must be refused (a control, format or line-break character in it), or None.

    Such a URL is never a typo to repair silently: it arrives from a hostile
    OPML file or a pasted string, and printing it would act on the terminal.
    """
    return control_problem(url)


def control_problem(text: str) -> str | None:
    """The first character of ``text`` a terminal could act on, described for an error message; or None."""
    for i, ch in enumerate(text):
        if unsafe_char(ch):
            name = unicodedata.name(ch, "") or {"\n": "LINE FEED", "\r": "CARRIAGE RETURN", "\t": "TAB",
                                                 "\x1b": "ESCAPE"}.get(ch, "control character")
            return f"contains U+{ord(ch):04X} {name} at position {i + 1} (a control or invisible character)"
    return None
