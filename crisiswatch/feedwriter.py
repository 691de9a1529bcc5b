"""The one feed writer: RSS 2.0, Atom 1.0 and RSS 1.0 (RDF) documents from plain records.

The demo's loopback outlets, the tests' feeds (``tests/feedgen.py``,
``tests/faultserver.py``) and the benchmarks' synthetic outlets all render
through here, so a fix to how a feed is written (escaping, dates, namespaces)
reaches every one of them. Text is escaped; a :class:`Raw` value is written
as it is (fault tests need CDATA sections, entity references, broken dates).
Only the standard library is imported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

Format = Literal["rss", "atom", "rdf"]
FORMATS: tuple[Format, ...] = ("rss", "atom", "rdf")


class Raw(str):
    """Markup written verbatim: a CDATA section, an entity reference, a deliberately malformed value."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Entry:
    """One item (RSS) or entry (Atom)."""

    title: str
    link: str | None = None
    id: str | None = None
    """RSS ``<guid>``, Atom ``<id>`` (the link when not given), RDF ``rdf:about``."""
    permalink: bool | None = None
    """RSS ``isPermaLink``; None leaves the attribute out."""
    published: datetime | str | None = None
    """A datetime is written in the format's own style; a string is written as given."""
    updated: datetime | None = None
    """Atom ``<updated>`` (default: ``published``)."""
    summary: str | None = None
    summary_html: bool = False
    """The summary is HTML (Atom ``type="html"``); RSS descriptions are HTML by definition."""
    author: str | None = None


@dataclass(frozen=True, slots=True)
class Channel:
    """The feed itself."""

    title: str
    link: str = "https://news.example/"
    description: str = ""
    language: str | None = None
    updated: datetime | None = None
    """RSS ``<lastBuildDate>``, Atom ``<updated>`` (Atom default: the newest entry, else 2026-01-01)."""
    self_url: str | None = None
    id: str | None = None
    """Atom feed ``<id>`` (default: ``link``)."""


def _text(value: str) -> str:
    return value if isinstance(value, Raw) else escape(value)


def _attr(value: str) -> str:
    return f'"{value}"' if isinstance(value, Raw) else quoteattr(value)


def _rfc822(value: datetime | str) -> str:
    return _text(value) if isinstance(value, str) else format_datetime(value.astimezone(UTC), usegmt=True)


def _rfc3339(value: datetime | str) -> str:
    return _text(value) if isinstance(value, str) else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _element(name: str, value: str | None, attrs: str = "") -> str:
    return "" if value is None else f"\n    <{name}{attrs}>{_text(value)}</{name}>"


def _declaration(encoding: str | None) -> str:
    return "" if encoding is None else f'<?xml version="1.0" encoding="{encoding}"?>\n'


def rss(channel: Channel, entries: Iterable[Entry], *, encoding: str | None = "utf-8", prolog: str = "") -> str:
    """An RSS 2.0 document as text (``encoding`` is only declared; None leaves the declaration out)."""
    entries = list(entries)
    items = []
    for e in entries:
        guid_attr = "" if e.permalink is None else f' isPermaLink="{"true" if e.permalink else "false"}"'
        items.append(
            "\n  <item>" + _element("title", e.title) + _element("link", e.link) + _element("guid", e.id, guid_attr)
            + ("" if e.published is None else f"\n    <pubDate>{_rfc822(e.published)}</pubDate>")
            + _element("dc:creator", e.author) + _element("description", e.summary) + "\n  </item>")
    namespaces = ""
    if channel.self_url:
        namespaces += ' xmlns:atom="http://www.w3.org/2005/Atom"'
    if any(e.author for e in entries):
        namespaces += ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
    head = (f"\n  <title>{_text(channel.title)}</title>\n  <link>{_text(channel.link)}</link>"
            f"\n  <description>{_text(channel.description)}</description>")
    if channel.language:
        head += f"\n  <language>{_text(channel.language)}</language>"
    if channel.updated is not None:
        head += f"\n  <lastBuildDate>{_rfc822(channel.updated)}</lastBuildDate>"
    if channel.self_url:
        head += f'\n  <atom:link href={_attr(channel.self_url)} rel="self" type="application/rss+xml"/>'
    return (f"{_declaration(encoding)}{prolog}<rss version=\"2.0\"{namespaces}>\n<channel>{head}"
            f"{''.join(items)}\n</channel>\n</rss>\n")


def atom(channel: Channel, entries: Iterable[Entry], *, encoding: str | None = "utf-8", prolog: str = "") -> str:
    """An Atom 1.0 document as text."""
    entries = list(entries)
    parts = []
    for e in entries:
        when = e.updated or e.published
        summary = "" if e.summary is None else (
            f'\n    <summary type="{"html" if e.summary_html else "text"}">{_text(e.summary)}</summary>')
        parts.append(
            "\n  <entry>" + _element("title", e.title) + _element("id", e.id or e.link)
            + ("" if e.link is None else f'\n    <link rel="alternate" type="text/html" href={_attr(e.link)}/>')
            + ("" if e.published is None else f"\n    <published>{_rfc3339(e.published)}</published>")
            + ("" if when is None else f"\n    <updated>{_rfc3339(when)}</updated>")
            + summary
            + ("" if e.author is None else f"\n    <author><name>{_text(e.author)}</name></author>")
            + "\n  </entry>")
    stamps = [d for e in entries for d in (e.updated, e.published) if isinstance(d, datetime)]
    updated = channel.updated or (max(stamps) if stamps else datetime(2026, 1, 1, tzinfo=UTC))
    lang = f" xml:lang={_attr(channel.language)}" if channel.language else ""
    head = (f"\n  <title>{_text(channel.title)}</title>"
            + (f"\n  <subtitle>{_text(channel.description)}</subtitle>" if channel.description else "")
            + f"\n  <id>{_text(channel.id or channel.link)}</id>\n  <updated>{_rfc3339(updated)}</updated>"
            + f'\n  <link rel="alternate" type="text/html" href={_attr(channel.link)}/>')
    if channel.self_url:
        head += f'\n  <link rel="self" type="application/atom+xml" href={_attr(channel.self_url)}/>'
    return (f'{_declaration(encoding)}{prolog}<feed xmlns="http://www.w3.org/2005/Atom"{lang}>{head}'
            f"{''.join(parts)}\n</feed>\n")


def rdf(channel: Channel, entries: Iterable[Entry], *, encoding: str | None = "utf-8", prolog: str = "") -> str:
    """An RSS 1.0 (RDF) document as text; dates as ``dc:date``."""
    items = []
    for e in entries:
        about = e.id or e.link or ""
        items.append(
            f"\n  <item rdf:about={_attr(about)}>" + _element("title", e.title) + _element("link", e.link)
            + _element("description", e.summary)
            + ("" if e.published is None else f"\n    <dc:date>{_rfc3339(e.published)}</dc:date>")
            + _element("dc:creator", e.author) + "\n  </item>")
    return (f"{_declaration(encoding)}{prolog}<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" "
            'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
            f"<channel rdf:about={_attr(channel.link)}>\n  <title>{_text(channel.title)}</title>"
            f"\n  <link>{_text(channel.link)}</link>\n  <description>{_text(channel.description)}</description>"
            f"\n</channel>{''.join(items)}\n</rdf:RDF>\n")


def render(fmt: Format, channel: Channel, entries: Iterable[Entry], *, encoding: str | None = "utf-8",
           prolog: str = "") -> str:
    """The document in ``fmt`` (``rss``, ``atom`` or ``rdf``)."""
    writer = {"rss": rss, "atom": atom, "rdf": rdf}[fmt]
    return writer(channel, entries, encoding=encoding, prolog=prolog)


__all__ = ["FORMATS", "Channel", "Entry", "Format", "Raw", "atom", "rdf", "render", "rss"]
