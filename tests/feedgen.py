"""Small, real RSS 2.0 / Atom / RDF documents for the core tests, through the one feed writer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crisiswatch import feedwriter
from crisiswatch.feedwriter import Channel, Entry

BASE = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def rss(title: str, items: list[tuple[str, str]], *, start: datetime = BASE) -> bytes:
    """items: (guid, title); published one minute apart, newest last."""
    entries = [Entry(title=t, link=f"https://news.example/{g}", id=g, permalink=False,
                     published=start + timedelta(minutes=i), summary=f"{t} — details.")
               for i, (g, t) in enumerate(items)]
    return feedwriter.rss(Channel(title, description="x"), entries).encode()


def atom(title: str, items: list[tuple[str, str]], *, start: datetime = BASE) -> bytes:
    entries = [Entry(title=t, link=f"https://atom.example/{g}", id=f"urn:x:{g}",
                     updated=start + timedelta(minutes=i), summary=t)
               for i, (g, t) in enumerate(items)]
    return feedwriter.atom(Channel(title, id="urn:x:feed", updated=start), entries).encode()


def rdf(title: str, items: list[tuple[str, str]]) -> bytes:
    entries = [Entry(title=t, link=f"https://rdf.example/{g}", summary=t, published=f"2026-11-25T1{i % 10}:00:00Z")
               for i, (g, t) in enumerate(items)]
    return feedwriter.rdf(Channel(title, link="https://rdf.example/", description="x"), entries).encode()
