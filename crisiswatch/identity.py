"""Story identity: one key for the same story however an outlet links or titles it.

The store groups items into one alert when their :func:`canonical_link` or
:func:`title_key` agree, so these decide what counts as "the same story".
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from .fold import normalise

_WS = re.compile(r"[ \t\r\n\f\v\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")

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
    them into one alert. Remaining query parameters are kept verbatim and
    sorted (their order never changes which page is served); credentials and a
    default port are dropped. Non-http(s) identifiers are returned
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
    # Pieces kept verbatim (no decode/re-encode round trip that could change them).
    query = []
    for piece in parts.query.split("&"):
        if not piece:
            continue
        key = unquote_plus(piece.split("=", 1)[0]).lower()
        if key.startswith(("utm_", "utm-")) or key in _TRACKING_PARAMS:
            continue
        query.append(piece)
    query.sort()
    path = parts.path or ""
    while path.endswith("/"):
        path = path[:-1]
    return urlunsplit((scheme, netloc, path, "&".join(query), ""))


_TITLE_SEPARATORS = re.compile(r"\s+(?:[-|:•·»/]|--)\s+")
_TITLE_PREFIX = re.compile(
    r"^\s*(?:breaking(?: news)?|update[d]?|live|watch|video|exclusive|analysis|opinion|foto|uzivo"
    r"|hitno|ekskluzivno|lajm i fundit|e fundit)\s*[:\-|]\s*",
)
_NON_WORD = re.compile(r"[\W_]+")


def title_key(title: str | None) -> str:
    """A key equal for near-identical titles of one story from different outlets.

    Normalised (so scripts, case and diacritics do not matter), a trailing
    outlet name (at most five words) after `` - ``/`` | ``/`` — `` dropped when
    what remains still reads like a headline (four words or more, and longer
    than the name), twice for "Title | Site | Group"; a leading "BREAKING:" style
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
        tail_words, head_words = len(_NON_WORD.sub(" ", tail).split()), len(_NON_WORD.sub(" ", head).split())
        if tail_words <= 5 and head_words >= 4 and head_words > tail_words:
            text = head
        else:
            break
    text = _TITLE_PREFIX.sub("", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


__all__ = ["canonical_link", "title_key"]
