"""The one feed writer, read back by the real parser: every field arrives, hostile text stays text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crisiswatch import feedwriter
from crisiswatch.feedwriter import Channel, Entry, Raw
from crisiswatch.parse import parse_feed

WHEN = datetime(2026, 11, 25, 12, 30, tzinfo=UTC)
CHANNEL = Channel("Kosovo Online — Vesti & analize", link="https://kosovo-online.example/", description="d",
                  language="sr", updated=WHEN, self_url="http://127.0.0.1:9/feed")
ENTRY = Entry(title="KFOR <b>na</b> Jarinju & Brnjaku", link="https://kosovo-online.example/1?a=1&b=2",
              id="urn:ko:1", permalink=False, published=WHEN, summary="<p>Patrola &amp; barikade</p>",
              summary_html=True, author="Desk")


def _read(body: str):
    return parse_feed(body.encode("utf-8"), content_type="application/xml", url="http://127.0.0.1:9/feed",
                      fetched_at=WHEN)


@pytest.mark.parametrize("fmt", feedwriter.FORMATS)
def test_every_format_reads_back(fmt: feedwriter.Format) -> None:
    parsed = _read(feedwriter.render(fmt, CHANNEL, [ENTRY]))
    assert parsed.error is None
    assert parsed.title == "Kosovo Online — Vesti & analize"  # escaped by the writer, read back as text
    [item] = parsed.items
    assert item.title == "KFOR na Jarinju & Brnjaku"  # titles are HTML to feed readers: the tags go
    assert item.link == "https://kosovo-online.example/1?a=1&b=2"
    assert item.published == WHEN
    assert "Patrola & barikade" in item.summary


def test_raw_values_are_written_verbatim() -> None:
    entry = Entry(title=Raw("<![CDATA[KFOR <i>raw</i>]]>"), published="not a date", link="https://x.example/")
    body = feedwriter.rss(Channel("t"), [entry], encoding=None, prolog="<!-- prolog -->")
    assert body.startswith("<!-- prolog --><rss")
    assert "<![CDATA[KFOR <i>raw</i>]]>" in body and "<pubDate>not a date</pubDate>" in body
    assert _read(body).items[0].title == "KFOR raw"


def test_namespaces_are_declared_only_when_used() -> None:
    plain = feedwriter.rss(Channel("t"), [Entry("a", link="https://x.example/a")])
    assert "xmlns:dc" not in plain and "xmlns:atom" not in plain
    rich = feedwriter.rss(CHANNEL, [ENTRY])
    assert 'xmlns:dc="http://purl.org/dc/elements/1.1/"' in rich and 'xmlns:atom="http://www.w3.org/2005/Atom"' in rich
