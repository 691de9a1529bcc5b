"""OPML import and export, so analysts can bring their feed lists from other readers.

OPML files arrive from anywhere (mail attachments, shared drives), so the
parser treats them as hostile: it uses expat directly and refuses any DOCTYPE,
entity declaration or external entity, which rules out billion-laughs and XXE
without depending on ``defusedxml``: only the standard library parses it. Titles go through the one
sanitizer (:mod:`crisiswatch.sanitize`), like feed text.
"""

from __future__ import annotations

import re
import xml.parsers.expat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit, urlunsplit
from xml.sax.saxutils import escape, quoteattr

from .errors import OpmlError
from .sanitize import looks_like_html, plain_text

MAX_OPML_BYTES = 20_000_000
"""Real subscription lists are kilobytes; anything near this is not one."""

_WS = re.compile(r"\s+")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    title: str
    """``title``, else ``text``, else empty: readers disagree on which they fill."""
    url: str
    html_url: str | None = None
    tags: tuple[str, ...] = ()
    """Enclosing folder names, then the OPML 2.0 ``category`` entries."""


def clean_label(value: str | None, max_len: int = 200) -> str:
    """One line of printable text: titles from OPML end up as names in feeds.toml."""
    if not value:
        return ""
    value = "".join(ch for ch in value if ch.isprintable() or ch.isspace())
    value = _WS.sub(" ", value).strip()
    return value[:max_len].rstrip()


def _outline_text(value: str | None) -> str:
    """An OPML title/text/category: plain text by the spec, cleaned by the one sanitizer.

    Exporters escape twice ("RFE/RL &amp;amp; Balkan") and some put markup in
    titles; the sanitizer decodes the one and drops the other like it does for
    feed text, then :func:`clean_label` bounds it.
    """
    if not value:
        return ""
    return clean_label(plain_text(value, markup=looks_like_html(value)))


def normalise_url(url: str) -> str:
    """A comparison key for duplicate detection, never stored.

    Scheme and host are case-insensitive, default ports and fragments carry no
    meaning, and readers disagree about a trailing slash, so all of those are
    folded. Path and query stay as written (they can be case-sensitive).
    """
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    netloc = host
    if port is not None and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        netloc = f"{host}:{port}"
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, netloc, path, parts.query, ""))


# -- import -------------------------------------------------------------------


class _Builder:
    """Collects feed outlines while expat walks the document."""

    def __init__(self) -> None:
        self.feeds: list[OpmlFeed] = []
        self.stack: list[str] = []
        """Element names from the root down."""
        self.folders: list[str | None] = []
        """One entry per open <outline>: its folder label, or None for a feed outline."""
        self.saw_body = False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = name.rsplit(" ", 1)[-1].lower()
        if not self.stack and local != "opml":
            raise OpmlError(f"the root element is <{name}>, not <opml>")
        if local == "body" and self.stack == ["opml"]:
            self.saw_body = True
        self.stack.append(local)
        if local != "outline" or "body" not in self.stack:
            return
        lower = {k.rsplit(" ", 1)[-1].lower(): v for k, v in attrs.items()}
        url = (lower.get("xmlurl") or "").strip()
        label = _outline_text(lower.get("title")) or _outline_text(lower.get("text"))
        if not url:
            self.folders.append(label or None)
            return
        self.folders.append(None)
        tags = [f for f in self.folders[:-1] if f]
        for cat in (lower.get("category") or "").split(","):
            cat = _outline_text(cat.strip().strip("/"))
            if cat:
                tags.append(cat)
        # A folder and its category entry name the same tag (a comma inside a
        # tag cannot survive the comma-separated category list): keep one.
        seen: dict[str, str] = {}
        for tag in tags:
            seen.setdefault(_WS.sub(" ", tag.replace(",", " ")).casefold(), tag)
        unique = tuple(seen.values())
        html_url = (lower.get("htmlurl") or "").strip() or None
        self.feeds.append(OpmlFeed(label, url, html_url, unique))

    def end(self, name: str) -> None:
        local = self.stack.pop()
        if local == "outline" and "body" in self.stack:
            self.folders.pop()


def _refuse(what: str) -> object:
    def handler(*_args: object) -> None:
        raise OpmlError(f"the file contains {what}, which OPML never needs (refused for safety)")

    return handler


def parse_opml(data: bytes, label: str = "<opml>") -> list[OpmlFeed]:
    """Every outline with an ``xmlUrl``, in document order, nested folders flattened.

    Raises :class:`OpmlError` naming ``label`` and the line for anything that
    is not well-formed OPML.
    """
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"{label}: larger than {MAX_OPML_BYTES // 1_000_000}MB; not a subscription list")
    if not data.strip():
        raise OpmlError(f"{label}: the file is empty")
    builder = _Builder()
    parser = xml.parsers.expat.ParserCreate()
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse("a DOCTYPE declaration")
    parser.EntityDeclHandler = _refuse("an entity declaration")
    parser.UnparsedEntityDeclHandler = _refuse("an entity declaration")
    parser.ExternalEntityRefHandler = _refuse("an external entity")
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    try:
        parser.Parse(data, True)
    except OpmlError as exc:
        raise OpmlError(f"{label}:{parser.CurrentLineNumber}: {exc}") from None
    except xml.parsers.expat.ExpatError as exc:
        reason = xml.parsers.expat.ErrorString(exc.code)
        raise OpmlError(f"{label}:{exc.lineno}: not well-formed XML ({reason})") from None
    if not builder.saw_body:
        raise OpmlError(f"{label}: no <body> inside <opml>; is this an OPML subscription list?")
    return builder.feeds


# -- export -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportFeed:
    title: str
    url: str
    tags: Sequence[str] = ()


def _xml_text(value: str) -> str:
    """Characters XML 1.0 cannot carry at all are dropped rather than producing a broken file."""
    return _XML_INVALID.sub("", value)


def _attr(value: str) -> str:
    # quoteattr escapes & < > and quotes; newlines and tabs would be normalised
    # to spaces by any reader, so encode them to survive a round trip.
    return quoteattr(_xml_text(value), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def _outline(feed: ExportFeed, indent: str) -> str:
    attrs = [
        f"text={_attr(feed.title)}",
        f"title={_attr(feed.title)}",
        'type="rss"',
        f"xmlUrl={_attr(feed.url)}",
    ]
    if feed.tags:
        attrs.append(f"category={_attr(','.join('/' + t.replace(',', ' ') for t in feed.tags))}")
    return f"{indent}<outline {' '.join(attrs)}/>\n"


def to_opml(feeds: Iterable[ExportFeed], title: str = "crisiswatch feeds", now: datetime | None = None) -> str:
    """An OPML 2.0 document, feeds grouped into folders by their first tag.

    Folders are what other readers import as categories; the full tag list also
    goes into ``category`` so a re-import into crisiswatch restores every tag.
    """
    now = now or datetime.now(UTC)
    folders: dict[str, list[ExportFeed]] = {}
    loose: list[ExportFeed] = []
    for feed in feeds:
        if feed.tags:
            folders.setdefault(feed.tags[0], []).append(feed)
        else:
            loose.append(feed)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<opml version="2.0">\n',
        "  <head>\n",
        f"    <title>{escape(_xml_text(title))}</title>\n",
        f"    <dateCreated>{format_datetime(now, usegmt=True)}</dateCreated>\n",
        "  </head>\n",
        "  <body>\n",
    ]
    for feed in loose:
        out.append(_outline(feed, "    "))
    for name, members in folders.items():
        out.append(f"    <outline text={_attr(name)} title={_attr(name)}>\n")
        for feed in members:
            out.append(_outline(feed, "      "))
        out.append("    </outline>\n")
    out.append("  </body>\n</opml>\n")
    return "".join(out)
