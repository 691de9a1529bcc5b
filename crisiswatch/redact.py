"""The one redaction helper: secrets in URLs never leave the config.

A feed URL may carry a password (``https://user:pass@host/feed``) or an API key
in its query; a notification URL (Slack, Discord, Telegram, ntfy…) usually *is*
a secret, in its path or even its "host". So:

- :func:`redact_url` — any URL as it may be shown or stored: userinfo becomes
  ``***`` and the values of secret-looking query parameters (``token``, ``key``,
  ``sig``…) become ``***``; everything else stays, so the analyst still sees
  which feed it is;
- :func:`redact_notify_url` — a webhook/notification URL: only ``scheme://host/…``,
  and not even the host when it does not look like one (``tgram://123:ABC/…``
  has its bot token where the host would be);
- :func:`redact_text` — free text (an error message, an event's detail) with
  every URL in it passed through :func:`redact_url`.

Every message, event, export cell, ``check``/``check --probe`` line, log line
and TUI screen that shows a URL uses one of these. Only the standard library is
imported: every layer may use this module.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

__all__ = ["REDACTED", "redact_notify_url", "redact_text", "redact_url"]

REDACTED = "***"

_SECRET_PARAM = re.compile(
    r"(?i)^(?:.*[_-])?(?:token|key|apikey|secret|password|passwd|pass|pwd|sig|signature|auth|authorization|"
    r"credential|credentials|session|sid|access[_-]?token|client[_-]?secret)$"
)
_QUERY_PAIR = re.compile(r"([^&;=]*)(=)([^&;]*)")
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,30}://[^\s'\"<>()\[\]{}]+")
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#]*@")


def _redact_query(query: str) -> str:
    def pair(m: re.Match[str]) -> str:
        name, eq, value = m.groups()
        return f"{name}{eq}{REDACTED}" if value and _SECRET_PARAM.match(name) else m.group(0)

    return _QUERY_PAIR.sub(pair, query)


def redact_url(url: str | None) -> str:
    """``url`` without its secrets: userinfo → ``***``, secret query values → ``***``.

    Never raises: a URL too malformed to parse still loses everything between
    ``://`` and an ``@``.
    """
    if not url:
        return url or ""
    if "@" not in url and "=" not in url:
        return url  # nearly every URL: nothing to hide
    text = _USERINFO.sub(rf"\g<1>{REDACTED}@", url)
    if "=" in text:
        head, sep, rest = text.partition("?")
        if sep:
            query, hash_sep, fragment = rest.partition("#")
            text = head + sep + _redact_query(query) + hash_sep + fragment
    return text


def _looks_like_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        pass
    labels = host.split(".")
    return len(labels) > 1 and all(labels) and not labels[-1].isdigit() and all(
        re.fullmatch(r"[a-z0-9-]{1,63}", label) for label in labels)


def redact_notify_url(url: str | None) -> str:
    """A notification URL as it may be shown: ``scheme://host/…`` (``scheme://…`` if the host is a token)."""
    if not url:
        return url or ""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        host, port = "", None
        parts = urlsplit("")
    scheme = (parts.scheme or url.partition(":")[0] if "://" in url else "").lower()
    if not re.fullmatch(r"[a-z][a-z0-9+.\-]{0,30}", scheme or ""):
        return "…"
    if host and _looks_like_host(host):
        shown = f"[{host}]" if ":" in host else host
        return f"{scheme}://{shown}{f':{port}' if port else ''}/…"
    return f"{scheme}://…"


def redact_text(text: str | None) -> str:
    """Free text with every URL in it passed through :func:`redact_url`."""
    if not text:
        return text or ""
    if "://" not in text or ("@" not in text and "=" not in text):
        return text
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
