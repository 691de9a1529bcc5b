"""A fast reader for the plain RSS 2.0 and Atom 1.0 most news feeds are, giving feedparser's answer.

feedparser is about 75% of the CPU of a cold poll: 20–60 ms per 50-item feed,
because every element goes through several layers of Python (SAX driver,
namespace mapping, a context stack, a dozen checks in ``pop``). Most news
feeds are a small, regular subset of RSS and Atom. For that subset this module
drives expat directly (its callbacks are C) and reproduces what feedparser
would have returned for the fields crisiswatch keeps — entry title, summary,
id, link, guidislink, author and dates, and the feed title — about ten times
faster.

It is an accelerator, not a second parser: :func:`read` returns ``None``
("decline") for anything outside the subset it knows feedparser's answer for,
and :mod:`crisiswatch.parse` then hands the document to feedparser as before.
It declines on: any XML error (feedparser would fall back to its loose
parser), a root that is not ``<rss>`` or an Atom 1.0 ``<feed>``, ``xml:base``,
an element inside an entry that feedparser maps onto one of our fields but we
do not model (``media:title``, ``source``, ``dc:title``, ``itunes:summary``…),
a repeated field, markup children inside a text field, XHTML, base64 or
out-of-line content, and an entry-less document. The rules below mirror
feedparser 6's ``pop()``: strip, resolve ``id``/``link`` against the empty
base, undo UTF-8 read as Latin-1, map C1 controls to their cp1252 characters,
and for links the ``&amp;`` repair. Dates go through feedparser's own date
parser. ``tests/test_fastfeed.py`` checks both paths give identical results on
every feed the tests, the demo and the benchmarks use, and on hundreds of
generated variations.
"""

from __future__ import annotations

import re
from typing import Any
from xml.parsers import expat

from .sanitize import looks_like_html

try:  # feedparser's own helpers, so both paths apply exactly the same rules
    from feedparser.datetimes import _parse_date
    from feedparser.html import _cp1252
    from feedparser.mixin import _FeedParserMixin as XMLParserMixin
    from feedparser.urls import _urljoin
    from feedparser.util import FeedParserDict
except ImportError:  # a feedparser that moved them: always decline, feedparser does everything
    XMLParserMixin = None

__all__ = ["read"]

ATOM_NS = "http://www.w3.org/2005/atom"

# Keys are feedparser's handler names: the standard namespace prefix, "_", the
# lowercased local name ("dc_creator", "content_encoded", "pubdate").
_DATES = {"pubdate": "published_parsed", "published": "published_parsed", "issued": "published_parsed",
          "dcterms_issued": "published_parsed", "updated": "updated_parsed", "modified": "updated_parsed",
          "dc_date": "updated_parsed", "dcterms_modified": "updated_parsed", "created": "created_parsed",
          "dcterms_created": "created_parsed"}
_ENTRY_TEXT = {"title", "link", "description", "guid", "id", "author", "dc_creator", "dc_author",
               "content_encoded", "summary", "content", *_DATES}
"""Entry fields modelled here (each may appear once per entry)."""
_ENTRY_IGNORED = frozenset({
    "category", "dc_subject", "comments", "enclosure", "media_content", "media_thumbnail", "media_keywords",
    "media_credit", "media_rating", "media_restriction", "media_license", "media_player", "georss_point",
    "feedburner_origlink", "dc_language", "dc_rights", "rights", "dc_publisher", "dc_contributor",
    "contributor", "slash_comments", "wfw_comment", "wfw_commentrss", "thr_total", "expirationdate",
})
"""Entry children feedparser handles without touching the fields we keep; must be leaves."""
_FEED_IGNORED = frozenset({
    "link", "description", "subtitle", "tagline", "language", "copyright", "rights", "managingeditor",
    "webmaster", "pubdate", "lastbuilddate", "published", "updated", "modified", "category", "generator",
    "docs", "cloud", "ttl", "rating", "skiphours", "skipdays", "hour", "day", "id", "icon", "logo",
    "image", "url", "width", "height", "textinput", "name", "email", "uri", "author", "contributor",
    "sy_updateperiod", "sy_updatefrequency", "sy_updatebase", "dc_language", "dc_rights", "dc_publisher",
    "dc_date", "dc_subject", "dc_creator", "dcterms_modified", "feedburner_info", "feedburner_feedflare",
    "feedburner_emailserviceid", "feedburner_feedburnerhostname", "media_thumbnail", "media_copyright",
    "media_rating", "media_keywords", "media_category", "georss_point",
})
"""Feed-level elements (outside entries) whose handlers cannot change the feed title or any entry."""
_CONTAINERS = {
    "image": frozenset({"title", "link", "description", "url", "href", "width", "height"}),
    "textinput": frozenset({"title", "link", "description", "name"}),
    "author": None,
    "contributor": None,
    "skiphours": None,
    "skipdays": None,
}
"""Feed-level elements whose children feedparser files in their own context. For image and
textInput, the unprefixed children it keeps them open for (``unknown_starttag`` closes them on any
other unprefixed element, and a later ``<title>`` then becomes the feed's); None: no such rule."""

_TEXT_TYPES = {None: "text/plain", "text": "text/plain", "html": "text/html", "text/plain": "text/plain",
               "text/html": "text/html"}
"""Atom/RSS ``type`` values whose content feedparser keeps as-is (no XHTML re-serialising, no base64)."""

_DEFAULT_KINDS = {"title": "text/plain", "feed_title": "text/plain", "summary": "text/plain",
                  "content": "text/plain", "description": "text/html", "content_encoded": "text/html"}
"""feedparser's ``push_content`` defaults: Atom text constructs are plain, RSS descriptions HTML."""

_AMP_NAME = re.compile(r"&([A-Za-z0-9_]+);")

_KNOWN_NS: dict[str, str] = {}
_HANDLED: frozenset[str] = frozenset()
_ALIASES: set[str] = set()
_KNOWN_PREFIXES: frozenset[str] = frozenset()


def _init() -> None:
    """feedparser's namespace table and handler names, read once from feedparser itself."""
    global _KNOWN_NS, _HANDLED, _KNOWN_PREFIXES
    if _KNOWN_NS or XMLParserMixin is None:
        return
    _KNOWN_NS = {uri.lower(): prefix for uri, prefix in XMLParserMixin.namespaces.items()}
    _KNOWN_PREFIXES = frozenset(prefix.lower() for prefix in _KNOWN_NS.values() if prefix)
    # FeedParserDict stores some keys under another name ("date_parsed" → "updated_parsed"):
    # an unknown element with such a name would land on one of our fields.
    for alias, target in FeedParserDict.keymap.items():
        targets = target if isinstance(target, list) else [target]
        if _FIELD_NAMES.intersection(targets):
            _ALIASES.add(alias)
    names = set()
    for cls in XMLParserMixin.__mro__:
        names.update(n[7:] for n in vars(cls) if n.startswith("_start_"))
        names.update(n[5:] for n in vars(cls) if n.startswith("_end_"))
    _HANDLED = frozenset(names)


class _Decline(Exception):
    """The document is outside the subset: let feedparser read it."""


class _Reader:
    __slots__ = ("atom", "bindings", "chars", "container", "entries", "entry", "feed_title", "feed_title_kind",
                 "field", "field_attrs", "folded", "in_author", "path", "seen", "uris")

    def __init__(self) -> None:
        self.atom = False
        self.path: list[str] = []
        self.entries: list[dict[str, Any]] = []
        self.entry: dict[str, Any] | None = None
        self.seen: set[str] = set()
        self.field: str | None = None
        self.field_attrs: dict[str, str] = {}
        self.chars: list[str] = []
        self.in_author = False
        self.feed_title: str | None = None
        self.feed_title_kind: str | None = None
        self.container: tuple[int, frozenset[str]] | None = None
        """(depth, children kept) while inside a feed-level <image> or <textInput>."""
        self.bindings: dict[str, str] = {}
        self.uris: dict[str, str] = {}
        self.folded: dict[str, str] = {}
        """Prefixes by their lower-case form: feedparser's loose handling of case is not modelled."""

    # -- expat callbacks --------------------------------------------------------------
    def namespace(self, prefix: str | None, uri: str | None) -> None:
        """feedparser maps an unknown namespace to the first prefix ever declared for it, for the
        whole document, and never unscopes a prefix: model only documents where that is moot."""
        prefix, uri = prefix or "", uri or ""
        if self.bindings.setdefault(prefix, uri) != uri:
            raise _Decline  # a prefix re-bound to another namespace
        if self.folded.setdefault(prefix.lower(), prefix) != prefix:
            raise _Decline  # two prefixes differing only in case ("dc" and "DC")
        standard = _KNOWN_NS.get(_canonical_uri(uri.lower()))
        if standard is None:
            if self.uris.setdefault(uri, prefix) != prefix:
                raise _Decline  # an unknown namespace under two prefixes (a standard prefix on one: _key_of)
        elif prefix and prefix.lower() in _KNOWN_PREFIXES and prefix.lower() != standard.lower():
            raise _Decline  # a standard prefix bound to another known namespace (xmlns:dc="…content/")

    def start(self, name: str, raw_attrs: dict[str, str]) -> None:
        if self.field is not None:
            raise _Decline  # markup inside a text field (escaped HTML arrives as text, not elements)
        key, prefixed = _key(name)
        attrs = _attrs(raw_attrs) if raw_attrs else {}
        depth = len(self.path)
        self.path.append(key)
        if depth == 0:
            if key == "rss":
                self.atom = False
            elif key == "feed" and name.split(" ", 1)[0].lower() == ATOM_NS:
                self.atom = True
            else:
                raise _Decline  # RSS 1.0 (RDF), Atom 0.3, CDF…: feedparser's
            return
        if self.entry is not None:
            self._entry_child(key, attrs, depth)
            return
        if not self.atom and depth == 1:
            if key != "channel":
                raise _Decline  # RSS 0.9x items outside <channel>, or worse
            return
        if self.container is not None and not prefixed and key not in self.container[1]:
            raise _Decline  # feedparser would leave the image/textInput context here
        feed_depth = 1 if self.atom else 2
        if depth == feed_depth:
            if key == ("entry" if self.atom else "item"):
                if attrs:
                    raise _Decline  # CDF-style href/lastmod on the item itself
                self.entry = {}
                self.seen = set()
            elif key == "title":
                if self.feed_title is not None or set(attrs) - {"type"} or attrs.get("type") not in _TEXT_TYPES:
                    raise _Decline
                self._open("feed_title", attrs)
            elif key in ("item", "entry", "channel") or (key in _HANDLED and key not in _FEED_IGNORED):
                raise _Decline
            elif key in _CONTAINERS and _CONTAINERS[key] is not None:
                self.container = (depth, _CONTAINERS[key])  # type: ignore[assignment]
            return
        if self.container is not None and depth == self.container[0] + 1 and key in self.container[1]:
            return  # e.g. <image><title>: feedparser files it under the image
        if key in _HANDLED or key in ("item", "entry"):
            raise _Decline

    def _entry_child(self, key: str, attrs: dict[str, str], depth: int) -> None:
        entry_depth = 2 if self.atom else 3
        if depth > entry_depth:
            # Only Atom's <author><name> nests; anything else deeper is markup we do not model.
            if self.in_author and depth == entry_depth + 1 and key == "name" and not attrs:
                self._open("author_name", attrs)
                return
            raise _Decline
        if key == "author" and self.atom:
            if "author" in self.seen or attrs:
                raise _Decline
            self.seen.add("author")
            self.in_author = True
            return
        if key == "link" and (self.atom or "href" in attrs):
            self._link_element(attrs)
            return
        if key in _ENTRY_TEXT:
            field = _field_of(key)
            if field in self.seen:
                raise _Decline  # repeated fields follow feedparser rules we do not model
            self.seen.add(field)
            if key in ("guid", "id"):
                if set(attrs) - {"ispermalink"}:
                    raise _Decline
            elif key in ("title", "summary", "content", "description", "content_encoded"):
                if set(attrs) - {"type"} or attrs.get("type") not in _TEXT_TYPES:
                    raise _Decline
                if key in ("content", "summary") and not self.atom:
                    raise _Decline
            elif attrs:
                raise _Decline
            self._open(key, attrs)
            return
        if key in _ENTRY_IGNORED or key not in _HANDLED:
            if key in _FIELD_NAMES or key in _ALIASES:
                raise _Decline  # an unknown element feedparser would store under one of our fields
            self._open("ignored", attrs)
            return
        raise _Decline

    def _link_element(self, attrs: dict[str, str]) -> None:
        """``<link rel href type>``: feedparser's ``_start_link`` for an element with an href."""
        if "url" in attrs or "uri" in attrs or "href" not in attrs:
            raise _Decline
        rel = attrs.get("rel", "alternate")
        kind = XMLParserMixin.map_content_type(attrs.get("type", "application/atom+xml" if rel == "self"
                                                         else "text/html"))
        if rel == "alternate" and kind in ("text/html", "application/xhtml+xml"):
            assert self.entry is not None
            self.entry["link"] = _urljoin("", attrs["href"])
        self._open("ignored", attrs)

    def _open(self, field: str, attrs: dict[str, str]) -> None:
        self.field = field
        self.field_attrs = attrs
        self.chars = []

    def text(self, data: str) -> None:
        if self.field is not None:
            self.chars.append(data)
        elif self.entry is not None and not data.isspace():
            raise _Decline  # text directly inside <item> (mixed content): not modelled

    def end(self, name: str) -> None:
        self.path.pop()
        if self.container is not None and len(self.path) == self.container[0]:
            self.container = None
        field = self.field
        if field is not None:  # a text field is a leaf, so this is its end tag
            self.field = None
            if field != "ignored":
                self._store(field, "".join(self.chars))
            self.chars = []
            return
        if self.entry is not None and len(self.path) == (1 if self.atom else 2):
            self.entries.append(self.entry)
            self.entry = None
            self.in_author = False
        elif self.in_author:
            self.in_author = False  # </author>

    # -- feedparser's rules -----------------------------------------------------------------
    def _store(self, field: str, raw: str) -> None:
        if field == "feed_title":
            self.feed_title = _pop(raw)
            self.feed_title_kind = _kind(field, self.field_attrs, self.atom, self.feed_title)
            return
        entry = self.entry
        assert entry is not None
        if field in _DATES:
            entry[_DATES[field]] = _parse_date(_pop(raw))
        elif field in ("guid", "id"):
            is_link = self.field_attrs.get("ispermalink", "true") == "true"
            value = _pop(raw, uri=is_link)
            entry["id"] = value
            entry.setdefault("guidislink", is_link and "link" not in entry)
            if is_link:
                entry.setdefault("link", value)
        elif field == "link":
            link = _pop(raw, uri=True)
            entry["link"] = _AMP_NAME.sub(r"&\g<1>", link.replace("&amp;", "&")) if "&" in link else link
        elif field == "title":
            entry["title"] = value = _pop(raw)
            entry["title_detail"] = {"type": _kind(field, self.field_attrs, self.atom, value)}
        elif field in ("description", "summary"):
            entry["summary"] = value = _pop(raw)
            entry["summary_detail"] = {"type": _kind(field, self.field_attrs, self.atom, value)}
        elif field in ("content", "content_encoded"):
            value = _pop(raw)
            entry.setdefault("content", []).append({"value": value,
                                                    "type": _kind(field, self.field_attrs, self.atom, value)})
            entry.setdefault("summary", value)
        elif field == "author_name":
            # <author><name>: feedparser pops it as a non-text element, before its repairs.
            entry["author"] = raw.strip()
        else:  # author, dc_creator, dc_author
            entry["author"] = _pop(raw)


_FIELD_NAMES = frozenset({"title", "summary", "content", "link", "links", "id", "guidislink", "author",
                          "authors", "author_detail", "published_parsed", "updated_parsed",
                          "created_parsed", "tags"})
"""Entry keys crisiswatch reads (or feedparser derives them from)."""


def _pop(raw: str, *, uri: bool = False) -> str:
    """What feedparser's ``pop()`` does to a text value it keeps (sanitising and URI rewriting are off)."""
    text = raw.strip()
    if uri and text:
        text = _urljoin("", text)
    if text.isascii():
        return text  # both repairs below only ever change non-ASCII text
    try:
        text = text.encode("iso-8859-1").decode("utf-8")  # UTF-8 that was read as Latin-1
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return text.translate(_cp1252)


def _attrs(raw: dict[str, str]) -> dict[str, str]:
    """Attributes as feedparser's strict parser names them: unprefixed, lowercased; rel/type values lowercased.

    feedparser also files an attribute of the Atom/RSS namespaces, or of one it does
    not know, under its bare local name (``atom:href`` acts as ``href``): decline on
    those. Attributes of the other known namespaces (``xml:lang``…) stay prefixed and
    touch nothing we read, except a base URI or an RDF identity.
    """
    attrs: dict[str, str] = {}
    for name, value in raw.items():
        if " " in name:  # namespaced: "uri local [prefix]"
            parts = name.split(" ")
            local = parts[1].lower()
            if local in ("base", "about") or not _KNOWN_NS.get(parts[0].lower()):
                raise _Decline
            continue
        key = name.lower()
        if key == "base":
            raise _Decline
        attrs[key] = value.lower() if key in ("rel", "type") else value
    return attrs


def _field_of(key: str) -> str:
    """Which entry field an element fills, for the once-per-entry rule."""
    if key in _DATES:
        return _DATES[key]
    if key in ("guid", "id"):
        return "id"
    if key in ("author", "dc_creator", "dc_author"):
        return "author"
    if key in ("description", "summary"):
        return "summary"
    if key in ("content", "content_encoded"):
        return "content"
    return key


_KEYS: dict[str, tuple[str, bool]] = {}
"""Memo of :func:`_key`: a feed uses a few dozen element names thousands of times."""


def _key(name: str) -> tuple[str, bool]:
    """feedparser's handler name for an expat ``"uri local prefix"`` triple, and whether it is prefixed."""
    key = _KEYS.get(name)
    if key is None:
        key = _key_of(name)
        if len(_KEYS) < 4096:  # names are document-controlled: bound the memo
            _KEYS[name] = key
    return key


def _key_of(name: str) -> tuple[str, bool]:
    parts = name.split(" ")
    if len(parts) == 1:
        return parts[0].lower(), False
    uri = _canonical_uri(parts[0].lower())
    given = parts[2] if len(parts) > 2 else None
    prefix = _KNOWN_NS.get(uri)
    if prefix is None:
        if not given:
            raise _Decline  # an unknown default namespace: feedparser's handling varies
        prefix = given
        if prefix.lower() in _KNOWN_PREFIXES:
            raise _Decline  # a standard prefix bound to another URI
    local = parts[1].lower()
    return (f"{prefix.lower()}_{local}", True) if prefix else (local, False)


def _canonical_uri(uri: str) -> str:
    """feedparser's spelling of a namespace URI (it folds every backend.userland.com/rss variant)."""
    return "http://backend.userland.com/rss" if "backend.userland.com/rss" in uri else uri


def _kind(field: str, attrs: dict[str, str], atom: bool, value: str) -> str:
    """The content type feedparser records for a text field (``title_detail['type']`` and the like)."""
    declared = attrs.get("type")
    kind = _DEFAULT_KINDS[field] if declared is None else _TEXT_TYPES[declared]
    if not atom and kind == "text/plain" and looks_like_html(value):
        kind = "text/html"  # feedparser's guess for RSS, made on the value it keeps
    return kind


def read(data: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """(feed info, entries), both shaped like feedparser's, for a UTF-8 document; None to decline.

    ``data`` is what :func:`crisiswatch.parse._parse` would hand feedparser:
    UTF-8, prolog stripped (no DOCTYPE, so no entity declarations).
    """
    if XMLParserMixin is None:
        return None
    _init()
    reader = _Reader()
    parser = expat.ParserCreate("utf-8", namespace_separator=" ")
    parser.namespace_prefixes = True
    parser.buffer_text = True
    parser.buffer_size = 65536
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartNamespaceDeclHandler = reader.namespace
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.text

    def refuse(*args: object) -> None:
        raise _Decline

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except (_Decline, expat.ExpatError, ValueError, RecursionError):
        return None
    if not reader.entries:
        return None
    feed: dict[str, Any] = {}
    if reader.feed_title is not None:
        feed = {"title": reader.feed_title, "title_detail": {"type": reader.feed_title_kind}}
    return feed, reader.entries
