"""Text cleaning for storage and the one normaliser used for matching.

Feed text is hostile: it may carry markup, terminal escapes and bidi overrides.
``plain_text`` makes it inert before it is stored; ``normalise`` folds scripts,
case and diacritics so keywords and text compare alike.
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
