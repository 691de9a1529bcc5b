"""Small, real RSS 2.0 / Atom / RDF documents for the core tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

BASE = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def rss(title: str, items: list[tuple[str, str]], *, start: datetime = BASE) -> bytes:
    """items: (guid, title); published one minute apart, newest last."""
    entries = "".join(
        f"<item><title>{escape(t)}</title><link>https://news.example/{escape(g)}</link>"
        f"<guid isPermaLink='false'>{escape(g)}</guid><description>{escape(t)} — details.</description>"
        f"<pubDate>{format_datetime(start + timedelta(minutes=i))}</pubDate></item>"
        for i, (g, t) in enumerate(items)
    )
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{escape(title)}</title>"
            f"<link>https://news.example/</link><description>x</description>{entries}</channel></rss>").encode()


def atom(title: str, items: list[tuple[str, str]], *, start: datetime = BASE) -> bytes:
    entries = "".join(
        f"<entry><id>urn:x:{escape(g)}</id><title>{escape(t)}</title>"
        f"<link href='https://atom.example/{escape(g)}'/><updated>{(start + timedelta(minutes=i)).isoformat()}</updated>"
        f"<summary>{escape(t)}</summary></entry>"
        for i, (g, t) in enumerate(items)
    )
    return (f"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
            f"<title>{escape(title)}</title><id>urn:x:feed</id><updated>{start.isoformat()}</updated>"
            f"{entries}</feed>").encode()


def rdf(title: str, items: list[tuple[str, str]]) -> bytes:
    entries = "".join(
        f"<item rdf:about='https://rdf.example/{escape(g)}'><title>{escape(t)}</title>"
        f"<link>https://rdf.example/{escape(g)}</link><description>{escape(t)}</description>"
        f"<dc:date>2026-11-25T1{i % 10}:00:00Z</dc:date></item>"
        for i, (g, t) in enumerate(items)
    )
    return (f"<?xml version='1.0' encoding='utf-8'?><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' "
            f"xmlns='http://purl.org/rss/1.0/' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
            f"<channel rdf:about='https://rdf.example/'><title>{escape(title)}</title><link>https://rdf.example/</link>"
            f"<description>x</description></channel>{entries}</rdf:RDF>").encode()
