"""The one HTML→text cleaner: feed text made inert before it is stored.

Feed text is hostile: it may carry markup, terminal escapes and bidi overrides.
``plain_text`` turns an HTML fragment into one line of safe plain text;
``strip_unsafe`` removes escape sequences and control/format characters from
any string shown in a terminal or written to a file.
"""

from __future__ import annotations

import html
import re
import unicodedata

_TAG = re.compile(r"<[^>]*>?", re.S)
_BLOCK = re.compile(r"<\s*(br|/p|/div|/li|/h\d|p|div|li|tr)\b[^>]*>", re.I)
_SCRIPT = re.compile(r"<\s*(script|style)\b.*?<\s*/\s*\1\s*>", re.I | re.S)
_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")
_WS = re.compile(r"[ \t\r\n\f\v\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")


def _is_unsafe(ch: str) -> bool:
    """Control, format (bidi overrides, zero-width) and private/unassigned characters."""
    cat = unicodedata.category(ch)
    return cat in ("Cc", "Cf", "Cs", "Co", "Cn")


_COMMON_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\ud800-\udfff\ue000-\uf8ff]"
)
"""The unsafe characters feeds actually carry; removed in C before any per-character check."""
_SPACES = re.compile("[\t\n\r\f\v\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
"""Whitespace that ``str.isprintable`` rejects but that is safe to keep."""


def strip_unsafe(text: str) -> str:
    """Remove ANSI escape sequences and every control/format character.

    Nearly all text is clean, so the common case is decided by C-speed
    ``isprintable`` and regexes; only text that still holds an unusual
    non-printable character (an unassigned code point, a rare format
    character) pays for the per-character Unicode category check.
    """
    if text.isprintable():
        return text
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    text = _COMMON_UNSAFE.sub("", text)
    if _SPACES.sub("", text).isprintable():
        return text
    return "".join(ch for ch in text if ch in "\n\t" or not _is_unsafe(ch))


def plain_text(raw: str | None, *, max_len: int | None = None) -> str:
    """HTML fragment → one line of safe plain text, capped with an ellipsis.

    Entities are unescaped until stable because titles often arrive escaped
    twice (``&amp;amp;``).
    """
    if not raw:
        return ""
    text = raw
    if "<" in text or "&" in text:  # markup and entities need both; most titles have neither
        text = _SCRIPT.sub(" ", text)
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


__all__ = ["plain_text", "strip_unsafe"]
