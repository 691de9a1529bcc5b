"""What every renderer shares: safe text, safe links, times in UTC and local, sparklines.

Feed strings (titles, outlet names, error details) are hostile: they reach the
report only through :func:`clean` and then the renderer's own escaping
(:func:`md_text` here, ``html.escape`` in the HTML renderer). Links are kept
only when they are http(s), and lose any ``user:password@`` part.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from urllib.parse import quote, urlsplit, urlunsplit

from ..redact import redact_text, redact_url
from ..sanitize import strip_unsafe

_WS = re.compile(r"\s+")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#!|~&@$])")
"""Characters with an inline meaning in CommonMark/GFM (emphasis, code, links, HTML, entities, tables,
strikethrough, autolinks, math); each gets a backslash. Block markers (``-``, ``+``, ``1.``, ``>`` at a
line start) need nothing more: report text never starts a line, and newlines are folded to spaces."""
_AUTOLINK = re.compile(r"(?i)(?<=[a-z])(?=://)|(?<=\bwww)(?=\.)")
"""Where GFM would start an autolink (``scheme://``, ``www.``): an escaped ``:`` or ``.`` there breaks it."""
_URL_SAFE = "/:?#[]@!$&*+,;=%~-._"
"""Kept as is in a link; everything else (spaces, quotes, parentheses, ``<>``, ``|``, backslash) is %-encoded."""
SPARKS = "▁▂▃▄▅▆▇█"


def clean(text: str | None) -> str:
    """Stored text → one line: no control, format or escape characters, whitespace runs folded, and
    any URL in it without its secrets (an error detail may quote a feed's URL)."""
    if not text:
        return ""
    return redact_text(_WS.sub(" ", strip_unsafe(text)).strip())


def safe_url(url: str | None) -> str | None:
    """An http(s) URL without credentials (userinfo dropped, secret query values ``***`` as
    :func:`redact.redact_url` does everywhere), %-encoded so it cannot end a Markdown link or HTML
    attribute; None for anything else (javascript:, data:, relative, malformed)."""
    if not url:
        return None
    url = url.strip()
    if not url.isprintable() or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    rebuilt = urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))
    return quote(redact_url(rebuilt), safe=_URL_SAFE)


def md_text(text: str | None) -> str:
    """Feed text for Markdown: cleaned, every inline-significant character backslash-escaped."""
    escaped = _MD_SPECIAL.sub(r"\\\1", clean(text))
    return _AUTOLINK.sub(r"\\", escaped)


def md_link(text: str | None, url: str | None) -> str:
    """``[text](url)`` when the URL is safe, else just the escaped text."""
    label = md_text(text) or "link"
    href = safe_url(url)
    return f"[{label}]({href})" if href else label


def utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


def local(when: datetime, zone: tzinfo, *, date: bool = True) -> str:
    here = when.astimezone(zone)
    return here.strftime("%Y-%m-%d %H:%M %Z" if date else "%H:%M %Z")


def stamp(when: datetime, zone: tzinfo | None) -> str:
    """``2026-11-30 08:12Z``, with ``--tz`` followed by the local time (its date only when it differs)."""
    text = utc(when)
    if zone is None:
        return text
    same_day = when.astimezone(zone).date() == when.astimezone(UTC).date()
    return f"{text} ({local(when, zone, date=not same_day)})"


def sparkline(values: list[int]) -> str:
    """One character per value: ▁ for zero, ▂…█ scaled to the largest."""
    top = max(values, default=0)
    if top <= 0:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[0] if v <= 0 else SPARKS[max(1, -(-v * (len(SPARKS) - 1) // top))] for v in values)


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


__all__ = ["SPARKS", "clean", "local", "md_link", "md_text", "plural", "safe_url", "sparkline", "stamp", "utc"]
