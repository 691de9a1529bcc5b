"""Feed bytes → :class:`~crisiswatch.models.ParsedFeed`, safely.

``parse_feed`` is a pure module-level function so the poller can run it in a
process pool (large feeds must not block the event loop). It hands feedparser
*bytes wrapped in a stream*, never a string: feedparser treats a string that
looks like a URL or path as something to open.

XML attacks are handled before feedparser sees the document. We decode to
UTF-8 first (using the HTTP charset, BOM or XML declaration), then drop the
whole prolog between the XML declaration and the root element — DOCTYPE,
internal subset, comments, processing instructions. With no DOCTYPE there
are no entity declarations, so external entities (XXE) cannot be resolved and
nested entities ("billion laughs") cannot expand, whichever parser path
feedparser takes. References to the removed entities become undefined, the
strict parser gives up and feedparser's loose parser keeps them as literal
text. We do not rely on feedparser's own DOCTYPE filtering (regex-based, it
keeps "safe" entities the loose parser expands without a size bound) nor on
the expat build's amplification limits.
"""

from __future__ import annotations

import hashlib
import io
import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlparse, urlsplit, urlunparse

import feedparser
from feedparser.encodings import convert_to_utf8
from feedparser.exceptions import CharacterEncodingOverride

from . import fastfeed
from .models import ParsedFeed, ParsedItem
from .sanitize import plain_text, strip_unsafe

TITLE_MAX = 1000
SUMMARY_MAX = 4000
AUTHOR_MAX = 200
FEED_TITLE_MAX = 300
MAX_ITEMS = 10_000
"""Real feeds carry tens to hundreds; a hostile 10 MB of tiny items must not flood the store."""
MAX_MARKUP = 100_000
"""Tags (``<``) handed to feedparser. A heavy real 5 MB feed has ~25,000; feedparser needs
20–90 µs per element, so this caps a hostile document at seconds, not minutes, of CPU."""
MAX_ENTITIES = 1_000_000
"""``&`` handed to feedparser (~2 µs each in the loose parser); escaped HTML uses plenty."""
PARSE_TIME_LIMIT = 20.0
"""CPU seconds before a parse is abandoned (where :func:`_time_limit` can enforce it); a
heavy 5 MB feed needs ~2.5 s."""
ID_MAX = 2048
"""Longer guids/links are replaced by a hash: identity must stay bounded too."""

_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*\?>", re.I)
_WS = re.compile(rb"\s*")
_NAME = re.compile(rb"<([A-Za-z_][\w:.\-]*)")
_EPOCH = datetime(1990, 1, 1, tzinfo=UTC)
"""Dates before this are treated as missing: no news feed predates the web."""
_FEED_ROOTS = frozenset({"rss", "feed", "rdf", "channel", "rss:rss", "atom:feed"})


class _ParseTimeout(BaseException):
    """BaseException so that no ``except Exception`` inside feedparser can swallow it."""


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Abort a parse that uses more than ``seconds`` of CPU (SIGVTALRM; a process's main thread only).

    feedparser spends 20–90 µs per element, so 10 MB of tiny or broken tags is
    minutes of CPU. CPU time, not wall time, so a loaded machine slows a good
    feed down without failing it. In a process-pool worker (the poller's
    normal case) this is a hard wall. Elsewhere — a thread, Windows, or a
    caller already using the virtual timer — we leave signals alone and rely
    on the markup budgets alone.
    """
    if (
        not seconds
        or not hasattr(signal, "setitimer")
        or not hasattr(signal, "SIGVTALRM")
        or threading.current_thread() is not threading.main_thread()
        or signal.getitimer(signal.ITIMER_VIRTUAL)[0] > 0
    ):
        yield
        return

    def on_alarm(signum: int, frame: object) -> None:
        raise _ParseTimeout

    previous = signal.signal(signal.SIGVTALRM, on_alarm)
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    try:
        yield
    finally:
        try:
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        finally:
            signal.signal(signal.SIGVTALRM, previous)


def parse_feed(
    body: bytes,
    *,
    content_type: str | None,
    url: str,
    fetched_at: datetime,
    time_limit: float | None = PARSE_TIME_LIMIT,
) -> ParsedFeed:
    """Parse one fetched document; problems go in ``ParsedFeed.error``, never raised."""
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    fetched_at = fetched_at.astimezone(UTC)
    if not body or not body.strip(b" \t\r\n\x00\xef\xbb\xbf\xfe\xff"):
        return ParsedFeed(None, (), error="empty body")
    try:
        with _time_limit(time_limit):
            return _parse(body, content_type, url, fetched_at)
    except _ParseTimeout:
        return ParsedFeed(None, (), error=f"parse needed more than {time_limit:g}s of CPU (feed too large or pathological)")
    except Exception as exc:  # feedparser on hostile input: report, never crash the pool worker
        reason = plain_text(str(exc), max_len=160)
        return ParsedFeed(None, (), error=f"parser failed: {exc.__class__.__name__}: {reason}")


def _parse(body: bytes, content_type: str | None, url: str, fetched_at: datetime) -> ParsedFeed:
    info: dict[str, Any] = {}
    headers = {"content-type": content_type} if content_type else {}
    data = convert_to_utf8(headers, body, info)
    if info.get("encoding") == "windows-1252" and isinstance(info.get("bozo_exception"), CharacterEncodingOverride):
        # The declared charset was wrong and feedparser guessed Western European. The
        # feeds we follow are Serbian, Albanian and Bosnian: Central European (which
        # also has ë and ç where Western has them) turns "Vuèiæ" back into "Vučić".
        retry: dict[str, Any] = {}
        central = convert_to_utf8({"content-type": "application/xml; charset=windows-1250"}, body, retry)
        if retry.get("encoding") == "windows-1250":
            data, info = central, retry
    decoded = bool(info.get("encoding"))
    # convert_to_utf8 prepends "<?xml …?>\n" when the document had no declaration.
    line_shift = 1 if decoded and not _has_declaration(body) else 0
    data, root, doctype = _strip_prolog(data)
    if root is None:
        if doctype == "html":
            return ParsedFeed(None, (), error="got an HTML page, not a feed")
        return ParsedFeed(None, (), error="malformed feed: no XML element found")
    if root.lower() == "html":
        return ParsedFeed(None, (), error="got an HTML page, not a feed")

    # No content-location: feedparser would resolve relative *guids* against it,
    # so every identity would change when a feed moves. We resolve links ourselves.
    # Bound the work in any thread: keep the first MAX_MARKUP tags and MAX_ENTITIES
    # entity references. The cut makes the tail malformed; entries before it survive.
    cut = min(_nth(data, b"<", MAX_MARKUP), _nth(data, b"&", MAX_ENTITIES))
    if cut < len(data):
        data = data[:cut]

    # Plain RSS 2.0 / Atom 1.0 (most news feeds) take the fast path, which gives
    # feedparser's answer ~10× faster; anything else it declines goes to feedparser.
    fast = fastfeed.read(data) if decoded and cut == len(data) else None
    if fast is not None:
        raw_title, entries = fast
        items = _items(entries, url, fetched_at)
        if items:
            return ParsedFeed(plain_text(_head(raw_title, FEED_TITLE_MAX), max_len=FEED_TITLE_MAX) or None,
                              tuple(items.values()))

    response_headers: dict[str, str] = {}
    if decoded:
        response_headers["content-type"] = "application/xml; charset=utf-8"
    elif content_type:
        response_headers["content-type"] = content_type
    # No sanitising: feedparser's HTML sanitiser was ~20% of a parse, and every
    # text field we keep (feed title, item title, summary, author) goes through
    # plain_text, which drops all markup, script/style bodies, entities' tags and
    # unsafe characters; links are filtered to http(s) by _clean_link; ids by
    # strip_unsafe. Nothing feedparser returns reaches the store unfiltered.
    parsed = feedparser.parse(
        io.BytesIO(data),
        response_headers=response_headers,
        resolve_relative_uris=False,
        sanitize_html=False,
    )
    feed_info = parsed.get("feed") or {}
    feed_title = plain_text(_head(feed_info.get("title"), FEED_TITLE_MAX), max_len=FEED_TITLE_MAX) or None
    items = _items(parsed.get("entries") or [], url, fetched_at)

    if not items:
        if _looks_like_html(root, content_type):
            return ParsedFeed(None, (), error="got an HTML page, not a feed")
        if parsed.get("bozo") and not feed_title:
            return ParsedFeed(None, (), error=f"malformed feed: {_bozo_reason(parsed.get('bozo_exception'), line_shift)}")
        if not parsed.get("version") and not feed_title:
            return ParsedFeed(None, (), error=f"not a feed: the document's root element is <{root[:40]}>")
    return ParsedFeed(feed_title, tuple(items.values()))


def _items(entries: Any, base: str, fetched_at: datetime) -> dict[str, ParsedItem]:
    """Entries (feedparser's, or the fast path's in the same shape) → items by key, first one wins."""
    items: dict[str, ParsedItem] = {}
    for entry in entries:
        item = _item(entry, base, fetched_at)
        if item is not None and item.key not in items:
            items[item.key] = item
            if len(items) >= MAX_ITEMS:
                break
    return items


def _nth(data: bytes, needle: bytes, n: int) -> int:
    """Index of the n-th (1-based) occurrence of ``needle``; len(data) if there are fewer."""
    if data.count(needle) < n:
        return len(data)
    pos = -1
    for _ in range(n):
        pos = data.find(needle, pos + 1)
        if pos < 0:
            return len(data)
    return pos


def _strip_prolog(data: bytes) -> tuple[bytes, str | None, str | None]:
    """Remove everything between the XML declaration and the root element.

    Returns (document, root element name or None, doctype name or None). The
    scan is quote- and comment-aware so a ``>`` or ``<x`` inside an entity
    value cannot end the DOCTYPE early and smuggle declarations past us.
    """
    decl = b""
    pos = 0
    if data.startswith(b"\xef\xbb\xbf"):
        pos = 3
    m = _XML_DECL.match(data, pos)
    if m:
        decl = data[m.start():m.end()].lstrip()
        pos = m.end()
    doctype: str | None = None
    n = len(data)
    while True:
        pos = _WS.match(data, pos).end()
        if pos >= n:
            return decl, None, doctype
        if data.startswith(b"<?", pos):
            end = data.find(b"?>", pos + 2)
            if end < 0:
                return decl, None, doctype
            pos = end + 2
        elif data.startswith(b"<!--", pos):
            end = data.find(b"-->", pos + 4)
            if end < 0:
                return decl, None, doctype
            pos = end + 3
        elif data[pos:pos + 9].upper() == b"<!DOCTYPE":
            name = _NAME.match(b"<" + data[pos + 9:pos + 80].lstrip())
            doctype = name.group(1).decode("ascii", "replace").lower() if name else ""
            end = _declaration_end(data, pos + 9)
            if end < 0:
                return decl, None, doctype
            pos = end
        elif data.startswith(b"<!", pos):
            # Any other markup declaration outside a DOCTYPE is not XML; skip it whole.
            end = _declaration_end(data, pos + 2)
            if end < 0:
                return decl, None, doctype
            pos = end
        else:
            m = _NAME.match(data, pos)
            if not m:
                return decl, None, doctype
            root = m.group(1).decode("ascii", "replace")
            # Keep the removed lines as newlines so parser errors point at the right line.
            removed = data[len(decl):pos].count(b"\n") if decl else data[:pos].count(b"\n")
            return decl + b"\n" * removed + data[pos:], root, doctype


def _declaration_end(data: bytes, pos: int) -> int:
    """Index just past the ``>`` closing a ``<!…`` declaration that started before ``pos``, or -1.

    Declarations inside an internal subset ``[…]`` end with their own ``>``
    at depth 1, so only a ``>`` outside brackets, quotes and comments counts.
    """
    depth = 0
    n = len(data)
    while pos < n:
        c = data[pos]
        if c in (0x22, 0x27):  # " or '
            end = data.find(bytes((c,)), pos + 1)
            if end < 0:
                return -1
            pos = end + 1
            continue
        if data.startswith(b"<!--", pos):
            end = data.find(b"-->", pos + 4)
            if end < 0:
                return -1
            pos = end + 3
            continue
        if data.startswith(b"<?", pos):
            end = data.find(b"?>", pos + 2)
            if end < 0:
                return -1
            pos = end + 2
            continue
        if c == 0x5B:  # [
            depth += 1
        elif c == 0x5D:  # ]
            depth = max(0, depth - 1)
        elif c == 0x3E and depth == 0:  # >
            return pos + 1
        pos += 1
    return -1


def _looks_like_html(root: str, content_type: str | None) -> bool:
    if root.lower() in ("html", "head", "body"):
        return True
    if content_type and "html" in content_type.lower() and root.lower() not in _FEED_ROOTS:
        return "xhtml" not in content_type.lower() or root.lower() == "html"
    return False


def _has_declaration(body: bytes) -> bool:
    head = body[:64]
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            head = head[len(bom):].decode(enc, "ignore").encode("ascii", "ignore")
            break
    else:
        if head[:2] in (b"<\x00", b"\x00<"):
            head = head.replace(b"\x00", b"")
    return head.lstrip().startswith(b"<?xml")


def _bozo_reason(exc: object, line_shift: int = 0) -> str:
    if exc is None:
        return "not well-formed"
    text = str(exc).strip() or exc.__class__.__name__
    m = re.match(r"^<unknown>:(\d+):(\d+):\s*", text)
    if m:
        line = max(1, int(m.group(1)) - line_shift)
        text = f"line {line}, column {m.group(2)}: {text[m.end():]}"
    return plain_text(text, max_len=200) or exc.__class__.__name__


def _clean_id(raw: object) -> str | None:
    """Identity strings stay byte-for-byte stable but inert and bounded."""
    if not isinstance(raw, str):
        return None
    value = " ".join(strip_unsafe(raw).split())
    if not value:
        return None
    if len(value) > ID_MAX:
        return "sha1:" + hashlib.sha1(value.encode("utf-8", "surrogatepass")).hexdigest()
    return value


def _clean_link(raw: object, base: str) -> str | None:
    if not isinstance(raw, str):
        return None
    raw = raw.strip()
    # isprintable() is False for every control character and every whitespace but " ":
    # a printable link without a space needs no per-character scan (nearly all of them).
    if not raw or not (raw.isprintable() and " " not in raw) and any(
            ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in raw):
        raw = "".join(raw.split())
        if not raw or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in raw):
            return None
    try:
        absolute = urlparse(raw)
        if absolute.scheme in ("http", "https") and absolute.netloc:
            # What urljoin does with an absolute URL, without parsing it twice more:
            # kept as written under another scheme than the base's, else re-assembled.
            link = raw if absolute.scheme != _scheme_of(base) else urlunparse(absolute)
        else:
            link = urljoin(base, raw)
            parts = urlsplit(link)
            if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
                return None
    except ValueError:
        return None
    if len(link) > ID_MAX or strip_unsafe(link) != link:
        return None
    return link


@lru_cache(maxsize=64)
def _scheme_of(base: str) -> str:
    """The feed URL's scheme as urljoin sees it (one feed's items all share the base)."""
    return urlparse(base).scheme


def _head(raw: object, cap: int) -> str | None:
    """Bound the work of cleaning: a 10 MB summary must not cost seconds to cut to 4000 chars.

    Markup and entities shrink when cleaned, so 16× the cap of raw text leaves
    room for heavy HTML while keeping the cost per item constant.
    """
    if not isinstance(raw, str):
        return None
    return raw[: cap * 16]


def _is_absolute_http(value: object) -> bool:
    return isinstance(value, str) and value.strip().lower().startswith(("http://", "https://"))


def _when(entry: Any, fetched_at: datetime) -> datetime:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get skips FeedParserDict's deprecated updated→published aliasing (and its warning).
        value = dict.get(entry, key)
        if isinstance(value, time.struct_time | tuple) and len(value) >= 6:
            try:
                when = datetime(*value[:6], tzinfo=UTC)
            except (TypeError, ValueError, OverflowError):
                continue
            if when < _EPOCH:
                continue  # 1970 and the like: a broken default, not a publication date
            return min(when, fetched_at)
    return fetched_at


def _item(entry: Any, base: str, fetched_at: datetime) -> ParsedItem | None:
    raw_summary = entry.get("summary")
    if not raw_summary:
        content = entry.get("content") or []
        if content and isinstance(content[0], dict):
            raw_summary = content[0].get("value")
    title = plain_text(_head(entry.get("title"), TITLE_MAX), max_len=TITLE_MAX)
    summary = plain_text(_head(raw_summary, SUMMARY_MAX), max_len=SUMMARY_MAX)
    guid = _clean_id(entry.get("id"))
    raw_link = entry.get("link")
    if entry.get("guidislink") and not _is_absolute_http(raw_link):
        raw_link = None  # feedparser copied a non-URL guid into link; it is not a link
    link = _clean_link(raw_link, base)
    if not (title or summary or link):
        return None
    key = guid or link or "sha1:" + hashlib.sha1(f"{title}\n{summary}".encode()).hexdigest()
    if not title:
        title = plain_text(summary, max_len=120) or (link or "")
    author = plain_text(_head(entry.get("author"), AUTHOR_MAX), max_len=AUTHOR_MAX) or None
    return ParsedItem(
        key=key,
        title=title,
        link=link,
        guid=guid,
        summary=summary,
        author=author,
        published=_when(entry, fetched_at),
    )
