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

import codecs
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

from . import charset, fastfeed
from .models import ParsedFeed, ParsedItem, shared_link_key
from .sanitize import looks_like_html, plain_text, strip_unsafe
from .units import format_duration

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

    fired = False

    def on_alarm(signum: int, frame: object) -> None:
        # A signal handler's exception can be swallowed: raised while a finalizer runs
        # (garbage collection at any allocation) it is only reported as unraisable. So the
        # timer fires again soon after, and a parse that returns after it fired still fails.
        nonlocal fired
        fired = True
        signal.setitimer(signal.ITIMER_VIRTUAL, 0.05)
        raise _ParseTimeout

    previous = signal.signal(signal.SIGVTALRM, on_alarm)
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    try:
        yield
        if fired:
            raise _ParseTimeout
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
        return ParsedFeed(None, (), error=f"parse needed more than {format_duration(time_limit)} of CPU (feed too large or pathological)")
    except Exception as exc:  # feedparser on hostile input: report, never crash the pool worker
        reason = plain_text(str(exc), max_len=160)
        return ParsedFeed(None, (), error=f"parser failed: {exc.__class__.__name__}: {reason}")


def _parse(body: bytes, content_type: str | None, url: str, fetched_at: datetime) -> ParsedFeed:
    data, info = _to_utf8(body, content_type)
    decoded = bool(info.get("encoding"))
    # convert_to_utf8 prepends "<?xml …?>\n" when the document had no declaration.
    line_shift = 1 if decoded and not _has_declaration(body) else 0
    data, root, doctype = _strip_prolog(data)
    if root is None:
        if doctype == "html":
            return ParsedFeed(None, (), error="got an HTML page, not a feed")
        return ParsedFeed(None, (), error="malformed feed: no XML element found")
    if root.lower() == "html":
        # <html><body><feed xmlns="…Atom">: real (feedjira's DuplicateContentAtomFeed);
        # feedparser reads the feed inside, so do we. A page without one is a page.
        unwrapped = _unwrap_feed(data)
        if unwrapped is None:
            return ParsedFeed(None, (), error="got an HTML page, not a feed")
        data, root = unwrapped
    data = _repair_document(data)

    # Bound the work in any thread: keep the first MAX_MARKUP tags and MAX_ENTITIES
    # entity references. The cut makes the tail malformed; entries before it survive.
    cut = min(_nth(data, b"<", MAX_MARKUP), _nth(data, b"&", MAX_ENTITIES))
    if cut < len(data):
        data = data[:cut]

    # Plain RSS 2.0 / Atom 1.0 (most news feeds) take the fast path, which gives
    # feedparser's answer ~10× faster; anything else it declines goes to feedparser.
    fast = fastfeed.read(data) if decoded and cut == len(data) else None
    if fast is not None:
        feed_info, entries = fast
        items = _items(entries, url, fetched_at)
        if items:
            return ParsedFeed(_feed_title(feed_info), tuple(items.values()))

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
    # No content-location: feedparser would resolve relative permalink guids
    # against it, so identities would change when a feed moves; links we resolve
    # ourselves. But with an empty document base feedparser lets one entry's
    # xml:base leak into the entries after it (its base stack skips empty
    # bases), so documents using xml:base get a stand-in base (see _DOCUMENT_BASE).
    based = b"xml:base" in data
    if based:
        response_headers["content-location"] = _DOCUMENT_BASE + (urlsplit(url).path or "/")
    parsed = feedparser.parse(
        io.BytesIO(data),
        response_headers=response_headers,
        resolve_relative_uris=False,
        sanitize_html=False,
    )
    if based:
        _undo_document_base(parsed.get("entries") or [], url)
    feed_title = _feed_title(parsed.get("feed") or {})
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
    """Entries (feedparser's, or the fast path's in the same shape) → items by key, first one wins.

    Identity is guid → link → hash. Guid-less entries that share a link but not a
    title (15 podcast episodes all linking the show's page) are told apart by
    link + title; a link only one entry of the document uses stays the key by
    itself, so editing a lone entry's title never makes a second item.
    """
    parsed: list[ParsedItem] = []
    titles: dict[str, set[str]] = {}
    for entry in entries:
        item = _item(entry, base, fetched_at)
        if item is None:
            continue
        parsed.append(item)
        if item.guid is None and item.link is not None and item.key == item.link:
            titles.setdefault(item.link, set()).add(item.title)
        if len(parsed) >= MAX_ITEMS * 2:
            break
    shared = {link for link, seen in titles.items() if len(seen) > 1}
    items: dict[str, ParsedItem] = {}
    for item in parsed:
        if shared and item.key in shared and item.guid is None:
            item = _rekey(item)
        if item.key not in items:
            items[item.key] = item
            if len(items) >= MAX_ITEMS:
                break
    return items


def _rekey(item: ParsedItem) -> ParsedItem:
    return ParsedItem(shared_link_key(item.link or "", item.title), item.title, item.link, item.guid,
                      item.summary, item.author, item.published)


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
    summary_kind = _kind(entry.get("summary_detail"))
    content = entry.get("content") or []
    if content and isinstance(content[0], dict):
        if not raw_summary:
            raw_summary = content[0].get("value")
        if summary_kind is None:
            summary_kind = _kind(content[0])  # feedparser copied content into summary
    raw_title = entry.get("title")
    title = plain_text(_head(raw_title, TITLE_MAX), max_len=TITLE_MAX,
                       markup=_is_markup(_kind(entry.get("title_detail")), raw_title))
    summary = plain_text(_head(raw_summary, SUMMARY_MAX), max_len=SUMMARY_MAX,
                         markup=_is_markup(summary_kind, raw_summary))
    guid = _clean_id(entry.get("id"))
    raw_link = entry.get("link")
    if entry.get("guidislink") and raw_link == entry.get("id") and not _is_url_reference(raw_link):
        raw_link = None  # feedparser copied a guid that is no URL ("a1b2c3") into link
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


def _kind(detail: object) -> str | None:
    """The content type feedparser (or the fast path) recorded for a text field, if any."""
    if isinstance(detail, dict):
        kind = detail.get("type")
        return kind if isinstance(kind, str) else None
    return None


def _is_markup(kind: str | None, value: object) -> bool:
    """Whether a field's text is HTML, as feedparser (or the fast path, its way) typed it.

    HTML types are HTML. Plain text keeps its ``<`` ("History of the <blink>
    tag" in an Atom ``type="text"`` title) unless it passes feedparser's own
    looks-like-HTML test (a closing tag or an entity, and only HTML elements):
    feedparser makes that guess for RSS, and Atom generators that escape HTML
    into an untyped title are common enough to make it for Atom too. Untyped
    values (an author) are read as HTML, the careful choice.
    """
    if kind is None or "html" in kind:
        return True
    return kind == "text/plain" and isinstance(value, str) and looks_like_html(value)


def _feed_title(feed_info: Any) -> str | None:
    raw = feed_info.get("title")
    markup = _is_markup(_kind(feed_info.get("title_detail")), raw)
    return plain_text(_head(raw, FEED_TITLE_MAX), max_len=FEED_TITLE_MAX, markup=markup) or None


_DOCUMENT_BASE = "http://document-base.crisiswatch.invalid"
"""Origin of the stand-in document base: the feed URL's path under a host no feed uses, so
what feedparser resolved against the document (and not an xml:base) is recognisable after."""


def _undo_document_base(entries: Any, url: str) -> None:
    """Links resolved against the stand-in base get the feed's origin; ids go back to relative.

    A relative id goes back to how the document wrote it: relative to the
    feed's directory ("42" under /news/), else as a path ("/t3_42"), so
    identities do not depend on the feed's host; an id copied into ``link`` is undone the same way so the
    guid-copy rule in :func:`_item` still sees the copy.
    """
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    directory = (parts.path or "/").rsplit("/", 1)[0] + "/"
    for entry in entries:
        ident, link = entry.get("id"), entry.get("link")
        if isinstance(ident, str) and ident.startswith(_DOCUMENT_BASE + "/"):
            relative = ident[len(_DOCUMENT_BASE):]
            if directory != "/" and relative.startswith(directory):
                relative = relative[len(directory):]  # "42" under /news/rss: written "42" (or "./42")
            entry["id"] = relative or ident
            if link == ident:
                entry["link"] = link = entry["id"]
        if isinstance(link, str) and link.startswith(_DOCUMENT_BASE + "/"):
            entry["link"] = origin + link[len(_DOCUMENT_BASE):]


_URL_REFERENCE = re.compile(r"\s*(?:[A-Za-z][A-Za-z0-9+.\-]*:|/|\.\.?/)")


def _is_url_reference(value: object) -> bool:
    """A guid that reads as a URL (absolute, or a path to resolve against the feed): a permalink."""
    return isinstance(value, str) and _URL_REFERENCE.match(value) is not None


# -- the document before it is parsed ---------------------------------------------------------

_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:\-]+)", re.I)
_XML_DECL_TEXT = re.compile(r"^\s*<\?xml[^>]*\?>")
_DECL_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._\-]+)", re.I)


def _to_utf8(body: bytes, content_type: str | None) -> tuple[bytes, dict[str, Any]]:
    """The document as UTF-8 with a matching declaration, and feedparser's notes on how it was decoded.

    feedparser picks the charset the document declares (HTTP, XML declaration,
    BOM). When nothing declared fits and the bytes are not UTF-8, it falls back
    to a fixed windows-1252 (or whatever chardet says, if installed): then the
    charset is chosen from the content instead (:mod:`crisiswatch.charset`), so
    French stays French and Serbian stays Serbian.
    """
    info: dict[str, Any] = {}
    headers = {"content-type": content_type} if content_type else {}
    data = convert_to_utf8(headers, body, info)
    used = info.get("encoding")
    codec = _codec(used) if used else None
    if codec is None or codec.startswith(("utf-8", "utf-16", "utf-32")) or codec in _declared(body, content_type):
        return data, info  # declared, or read from a byte order mark / UTF-16 pattern: no guess
    guess = charset.detect(body)
    if guess is None or _codec(guess) == codec:
        return data, info
    if _codec(guess) == "utf-8":
        # UTF-8 with a few broken bytes (a summary cut inside a character): keep the
        # text, with U+FFFD for the broken bytes, instead of reading it all as cp1252.
        text = body.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace")
        declaration = "<?xml version='1.0' encoding='utf-8'?>"
        m = _XML_DECL_TEXT.match(text)
        text = declaration + text[m.end():] if m else declaration + "\n" + text
        return text.encode("utf-8"), {"encoding": "utf-8"}
    retry: dict[str, Any] = {}
    forced = convert_to_utf8({"content-type": f"application/xml; charset={guess}"}, body, retry)
    if retry.get("encoding") and not isinstance(retry.get("bozo_exception"), CharacterEncodingOverride):
        return forced, retry
    return data, info


def _declared(body: bytes, content_type: str | None) -> set[str | None]:
    """Codecs the document itself names: the HTTP charset, the XML declaration's, its BOM's."""
    names: set[str | None] = set()
    if content_type:
        m = _HTTP_CHARSET.search(content_type)
        if m:
            names.add(_codec(m.group(1)))
    m = _DECL_ENCODING.match(body.lstrip(b"\xef\xbb\xbf")[:200])
    if m:
        names.add(_codec(m.group(1).decode("ascii")))
    for bom, name in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if body.startswith(bom):
            names.add(_codec(name))
    names.discard(None)
    return names


@lru_cache(maxsize=64)
def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


_FEED_START = re.compile(rb"<(feed|rss|rdf:RDF|RDF)[\s>]")


def _unwrap_feed(data: bytes) -> tuple[bytes, str] | None:
    """The feed element inside an (X)HTML wrapper, as a document of its own; None if there is none.

    The declaration is kept and the removed lines become newlines, so parser
    errors still point at the right line.
    """
    m = _FEED_START.search(data)
    if m is None:
        return None
    name = m.group(1)
    end = data.rfind(b"</" + name)
    close = data.find(b">", end) if end > m.start() else -1
    inner = data[m.start():close + 1] if close > 0 else data[m.start():]
    decl = _XML_DECL.match(data)
    head = data[:decl.end()] if decl else b""
    return head + b"\n" * data.count(b"\n", len(head), m.start()) + inner, name.decode("ascii")


_SUSPECT_REF = re.compile(
    rb"&#(?:(?P<dec>0*[0-9]{1,2}|0*[0-9]{5,})|x0*(?P<hex>[0-9a-fA-F]{1,2}|[dD][89a-fA-F][0-9a-fA-F]{2}"
    rb"|[fF]{3}[eEfF]|[1-9a-fA-F][0-9a-fA-F]{5,}))"
    rb"(?:;&#(?:(?P<dec2>0*5[67][0-9]{3})|x0*(?P<hex2>[dD][c-fC-F][0-9a-fA-F]{2})))?;"
)
"""Numeric character references XML may refuse: controls, surrogates (and a pair of them written as
two references), U+FFFE/FFFF, beyond U+10FFFF. Only these reach the Python callback."""
_SRS_SPELLINGS = (b"srsName", b"srsname", b"SRSNAME", b"SrsName")
_SRS_NAME = re.compile(rb"""(srsName\s*=\s*)(["'])([^"'<>]*)\2""", re.I)


def _repair_document(data: bytes) -> bytes:
    """Repair what makes feedparser lose a whole feed over one value, before it reads the document.

    Character references: ``&#55357;&#56832;`` (an emoji as two UTF-16 halves)
    becomes the character; a lone surrogate, ``&#x110000;`` or a 20-digit number
    becomes U+FFFD; a reference to a control character is dropped. GeoRSS
    ``srsName`` values feedparser cannot read (``http://www.opengis.net/def/crs/EPSG/0/4326``,
    upstream issues #591/#599) become ``EPSG:4326``.
    """
    if b"&#" in data:
        data = _SUSPECT_REF.sub(_repair_reference, data)
    # Substring tests, not a case-blind regex scan: that costs ~0.2 ms on every 40 KB feed.
    if any(spelling in data for spelling in _SRS_SPELLINGS):
        data = _SRS_NAME.sub(_repair_srs_name, data)
    return data


def _repair_reference(m: re.Match[bytes]) -> bytes:
    first = int(m["dec"]) if m["dec"] is not None else int(m["hex"], 16)
    if m["dec2"] is not None or m["hex2"] is not None:
        second = int(m["dec2"]) if m["dec2"] is not None else int(m["hex2"], 16)
        if 0xD800 <= first <= 0xDBFF:
            return chr(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)).encode("utf-8")
        # Not a pair after all: repair each half on its own.
        head = m.group(0)[: m.group(0).index(b";") + 1]
        return _repair_one(first, head) + _repair_one(second, m.group(0)[len(head):])
    return _repair_one(first, m.group(0))


def _repair_one(value: int, original: bytes) -> bytes:
    if value in (0x9, 0xA, 0xD) or 0x20 <= value < 0xD800 or 0xE000 <= value < 0xFFFE or 0x10000 <= value <= 0x10FFFF:
        return original
    if value < 0x20:
        return b""
    return b"&#xFFFD;"


def _repair_srs_name(m: re.Match[bytes]) -> bytes:
    value = m.group(3)
    if b"EPSG" not in value or re.fullmatch(rb".*:[0-9]+", value):
        return m.group(0)
    code = re.search(rb"([0-9]+)\D*$", value)
    fixed = b"EPSG:" + code.group(1) if code else value.replace(b"EPSG", b"epsg")
    return m.group(1) + m.group(2) + fixed + m.group(2)
