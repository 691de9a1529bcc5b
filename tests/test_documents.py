"""Real-world documents (issue 15, the document half): nothing lost, nothing garbled.

Every document is served by a real loopback HTTP server (pytest-httpserver)
and fetched by the real :class:`~crisiswatch.fetch.Fetcher`, so the bytes and
headers parse_feed sees are what the poller sees; identity across polls goes
through the real CLI and a real SQLite file.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import feedparser
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

import crisiswatch.parse as parse_module
from crisiswatch import fastfeed
from crisiswatch.cli import main
from crisiswatch.config import Settings
from crisiswatch.fetch import Fetcher
from crisiswatch.models import ParsedFeed
from crisiswatch.parse import parse_feed

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CORPUS = Path(__file__).parent / "corpus"


async def served(httpserver: HTTPServer, body: bytes, content_type: str = "application/rss+xml",
                 path: str = "/feed") -> ParsedFeed:
    """Serve ``body`` on loopback, fetch it like the poller does, parse what arrived."""
    httpserver.expect_request(path).respond_with_data(body, content_type=content_type)
    async with Fetcher(Settings(timeout=5.0)) as fetcher:
        result = await fetcher.fetch(httpserver.url_for(path))
    assert result.ok and result.body is not None, result.error
    return parse_feed(result.body, content_type=result.content_type, url=result.url, fetched_at=NOW)


def both_paths(body: bytes, content_type: str = "application/rss+xml") -> tuple[ParsedFeed, ParsedFeed, bool]:
    """(as shipped, with the fast path off, whether the fast path answered)."""
    real = fastfeed.read
    answered: list[bool] = []

    def spy(data: bytes) -> object:
        out = real(data)
        answered.append(out is not None)
        return out

    try:
        parse_module.fastfeed.read = spy  # type: ignore[assignment]
        shipped = parse_feed(body, content_type=content_type, url="https://x.example/feed", fetched_at=NOW)
        parse_module.fastfeed.read = lambda data: None  # type: ignore[assignment]
        slow = parse_feed(body, content_type=content_type, url="https://x.example/feed", fetched_at=NOW)
    finally:
        parse_module.fastfeed.read = real  # type: ignore[assignment]
    return shipped, slow, any(answered)


def rss(items: str, *, declaration: str = '<?xml version="1.0" encoding="utf-8"?>', ns: str = "") -> str:
    return f'{declaration}<rss version="2.0"{ns}><channel><title>Vesti</title><link>https://vesti.example/</link>' \
           f"<description>d</description>{items}</channel></rss>"


# -- 1. text: a stray "<" no longer eats the rest of a title -------------------------------------------


LESS_THAN_ITEMS = ("<item><guid>1</guid><title>Turnout &lt; 40% as KFOR patrols</title>"
                   "<description>Turnout &amp;lt; 40%; x&lt;y KFOR &amp; EULEX</description></item>"
                   "<item><guid>2</guid><title><![CDATA[Vučić: 3 < 4 & KFOR > 2]]></title></item>")


async def test_a_lone_less_than_keeps_the_whole_title(httpserver: HTTPServer) -> None:
    body = rss(LESS_THAN_ITEMS).encode()
    feed = await served(httpserver, body)
    assert [i.title for i in feed.items] == ["Turnout < 40% as KFOR patrols", "Vučić: 3 < 4 & KFOR > 2"]
    assert feed.items[0].summary == "Turnout < 40%; x<y KFOR & EULEX"
    shipped, slow, fast = both_paths(body)
    assert shipped == slow and fast


def test_a_lone_less_than_no_longer_hides_the_kfor_alert(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/feed").respond_with_data(rss(LESS_THAN_ITEMS).encode(),
                                                         content_type="application/rss+xml")
    cfg = tmp_path / "feeds.toml"
    cfg.write_text(f'[[feeds]]\nname = "vesti"\nurl = "{httpserver.url_for("/feed")}"\n'
                   '[[keywords]]\nterm = "KFOR"\nseverity = "high"\n', encoding="utf-8")
    assert main(["--config", str(cfg), "--db", str(tmp_path / "cw.db"), "poll", "--once"]) == 0
    conn = sqlite3.connect(tmp_path / "cw.db")
    titles = {t for (t,) in conn.execute("SELECT title FROM alerts")}
    assert titles == {"Turnout < 40% as KFOR patrols", "Vučić: 3 < 4 & KFOR > 2"}


async def test_atom_plain_text_keeps_brackets_html_loses_tags(httpserver: HTTPServer) -> None:
    body = (b'<feed xmlns="http://www.w3.org/2005/Atom"><title type="text">A &lt;b&gt; feed</title>'
            b'<entry><id>urn:1</id><title type="text">History of the &lt;blink&gt; tag</title>'
            b'<summary type="html">&lt;p&gt;KFOR &lt;b&gt;patrols&lt;/b&gt;&lt;script&gt;x()&lt;/script&gt;&lt;/p&gt;'
            b'</summary></entry>'
            b'<entry><id>urn:2</id><title>KFOR &lt;b&gt;na&lt;/b&gt; Jarinju</title></entry></feed>')
    feed = await served(httpserver, body, "application/atom+xml")
    assert feed.title == "A <b> feed"
    assert feed.items[0].title == "History of the <blink> tag"
    assert feed.items[0].summary == "KFOR patrols"
    # Untyped, but HTML by feedparser's own test (a closing tag): generators do escape HTML into it.
    assert feed.items[1].title == "KFOR na Jarinju"
    shipped, slow, fast = both_paths(body, "application/atom+xml")
    assert shipped == slow and fast


# -- 2. links: relative links are resolved whatever guidislink says --------------------------------------


async def test_atom_id_before_a_relative_link(httpserver: HTTPServer) -> None:
    """Sam Ruby's / intertwingly's shape: <id> first, then <link href="/blog/…">: the link was dropped."""
    body = (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>blog</title>'
            b'<entry><id>tag:intertwingly.net,2004:2101</id><title>one</title><link href="/blog/2101.html"/></entry>'
            b'<entry><id>tag:x,2004:2</id><title>two</title><link href="2102.html"/></entry>'
            b'<entry xml:base="https://other.example/dir/"><id>tag:x,2004:3</id><title>three</title>'
            b'<link href="p3"/></entry>'
            b'<entry><id>tag:x,2004:4</id><title>four</title><link href="javascript:alert(1)"/></entry>'
            b"</feed>")
    feed = await served(httpserver, body, "application/atom+xml", path="/blog/index.atom")
    links = {i.title: i.link for i in feed.items}
    assert links["one"] == httpserver.url_for("/blog/2101.html")
    assert links["two"] == httpserver.url_for("/blog/2102.html")
    assert links["three"] == "https://other.example/dir/p3"
    assert links["four"] is None  # only non-http(s) links are dropped
    assert all(i.guid and i.guid.startswith("tag:") for i in feed.items)


async def test_xml_base_of_one_entry_does_not_leak_into_the_next(httpserver: HTTPServer) -> None:
    """feedparser with an empty document base keeps a finished xml:base (node-feedparser's fixture)."""
    body = rss('<item xml:base="https://example.com/first/"><title>First</title><link>first</link></item>'
               "<item><title>Second</title><link>second</link><guid>/t3_2</guid></item>"
               "<item><title>Third</title><guid>42</guid></item>").encode()
    feed = await served(httpserver, body, path="/news/rss")
    links = [i.link for i in feed.items]
    assert links == ["https://example.com/first/first", httpserver.url_for("/news/second"), None]
    assert [i.guid for i in feed.items] == [None, "/t3_2", "42"]  # ids as written, whatever the feed URL


async def test_guid_copies_into_links_only_when_they_read_as_urls(httpserver: HTTPServer) -> None:
    body = rss("<item><title>a</title><guid>42</guid></item>"
               "<item><title>b</title><guid>/2026/11/b.html</guid></item>"
               "<item><title>c</title><guid>https://vesti.example/c</guid></item>"
               "<item><title>d</title><guid isPermaLink='false'>/not/a/link</guid></item>").encode()
    feed = await served(httpserver, body, path="/news/rss")
    assert [i.link for i in feed.items] == [None, httpserver.url_for("/2026/11/b.html"), "https://vesti.example/c",
                                            None]
    assert [i.key for i in feed.items] == ["42", "/2026/11/b.html", "https://vesti.example/c", "/not/a/link"]


# -- 3. charset from the content, for documents that declare none ----------------------------------------

LANGUAGES = {
    "French": ("cp1252", [
        "Le gouvernement prépare une réforme très contestée : les élèves s'ennuient surtout à l'école",
        "À Mitrovica, la KFOR déployée près du pont sur l'Ibar ; les modèles de sécurité en question",
        "Belgrade et Pristina reprennent le dialogue à Bruxelles après l'été, selon l'état-major"]),
    "Portuguese": ("cp1252", [
        "Ibope: Bolsonaro perde de Haddad, Ciro e Alckmin em simulações de 2º turno",
        "Polícia investiga explosão em prédio no centro; não há feridos, diz corporação",
        "Missão da ONU no Kosovo pede calma após tensões na fronteira com a Sérvia"]),
    "German": ("cp1252", [
        "Bundesregierung beschließt neue Maßnahmen für die Energieversorgung im Winter",
        "KFOR-Soldaten sichern die Brücke über den Ibar in Mitrovica – Spannungen nehmen zu",
        "Größere Proteste in Nordkosovo: Straßenblockaden bei Jarinje bleiben bestehen"]),
    "Serbian Latin": ("cp1250", [
        "Vučić: Srbija neće priznati nezavisnost Kosova, razgovaraćemo sa Briselom",
        "Barikade kod Jarinja i dalje stoje, građani čekaju odluku o povlačenju policije",
        "Đurić: Ništa se neće promeniti dok se ne formira Zajednica srpskih opština"]),
    "Serbian Cyrillic": ("cp1251", [
        "Вучић: Србија неће признати независност Косова, разговараћемо са Бриселом",
        "Барикаде код Јариња и даље стоје, грађани чекају одлуку о повлачењу полиције",
        "Ђурић: Ништа се неће променити док се не формира Заједница српских општина"]),
    "Albanian": ("cp1252", [
        "Kurti: Serbia po përpiqet të destabilizojë veriun e Kosovës",
        "KFOR-i shton patrullat në urën e Ibrit në Mitrovicë pas tensioneve të fundit",
        "Qeveria miraton masat e reja për çmimet e energjisë elektrike këtë dimër"]),
}


def _document(titles: list[str]) -> str:
    items = "".join(f"<item><guid>g{n}</guid><title>{escape(t)}</title>"
                    f"<description>&lt;p&gt;{escape(t)}.&lt;/p&gt;</description></item>" for n, t in enumerate(titles))
    return rss(items, declaration='<?xml version="1.0"?>')


@pytest.mark.parametrize("language", sorted(LANGUAGES))
@pytest.mark.parametrize("content_type", ["text/xml", "application/rss+xml", "application/xml; charset=utf-8"])
async def test_undeclared_charset_is_read_from_the_letters(httpserver: HTTPServer, language: str,
                                                           content_type: str) -> None:
    """No charset anywhere (or a wrong "utf-8"): the code page is the one whose letters make sense."""
    codec, titles = LANGUAGES[language]
    feed = await served(httpserver, _document(titles).encode(codec), content_type)
    assert [i.title for i in feed.items] == titles
    assert [i.summary for i in feed.items] == [t + "." for t in titles]


@pytest.mark.parametrize(("name", "expected"), [
    ("miniflux/no_encoding_ISO-8859-1.xml", "études"),
    ("rbren/uolNoticias.rss", "simulações de 2º turno"),
])
async def test_real_undeclared_captures(httpserver: HTTPServer, name: str, expected: str) -> None:
    """The two real feeds from the issue: French and Portuguese without a declaration, windows-1252."""
    feed = await served(httpserver, (CORPUS / name).read_bytes(), "text/xml")
    text = " ".join(f"{i.title} {i.summary}" for i in feed.items)
    assert expected in text
    assert not any(bad in text for bad in ("ŕ", "modčles", "ő", "ş "))


async def test_utf8_with_a_broken_byte_stays_utf8(httpserver: HTTPServer) -> None:
    """A summary cut inside a character is one U+FFFD, not a whole feed read as windows-1252."""
    body = rss("<item><guid>1</guid><title>Vučić — “KFOR”</title><description>cut \xc4</description></item>",
               declaration="").encode("utf-8", "surrogateescape").replace(b"\xc3\x84", b"\xc4")
    feed = await served(httpserver, body, "text/xml")
    assert feed.items[0].title == "Vučić — “KFOR”"
    assert feed.items[0].summary == "cut \ufffd"


async def test_declared_charsets_are_still_obeyed(httpserver: HTTPServer) -> None:
    titles = LANGUAGES["Serbian Latin"][1]
    body = _document(titles).replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="iso-8859-2"?>')
    feed = await served(httpserver, body.encode("iso-8859-2"), "text/xml")
    assert [i.title for i in feed.items] == titles


# -- 4. XHTML-wrapped feeds, shared links, character references, fastfeed's declines -------------------------


async def test_feed_wrapped_in_xhtml_is_read(httpserver: HTTPServer) -> None:
    """feedjira's DuplicateContentAtomFeed: <html><body><feed xmlns="…Atom">; feedparser reads 10 entries."""
    body = (CORPUS / "feedjira" / "DuplicateContentAtomFeed.xml").read_bytes()
    feed = await served(httpserver, body, "application/atom+xml")
    assert feed.error is None and feed.title == "Avian’s Blog"
    assert len(feed.items) == len(feedparser.parse(body).entries) == 10
    assert all(i.link and i.link.startswith("http://www.tablix.org/~avian/blog/archives/") for i in feed.items)


async def test_an_html_page_is_still_an_html_page(httpserver: HTTPServer) -> None:
    page = b"<!DOCTYPE html><html><body><p>A feed about <b>feeds</b>, with none in it.</p></body></html>"
    feed = await served(httpserver, page, "text/html")
    assert feed.error == "got an HTML page, not a feed" and not feed.items


def _episodes(titles: list[str], link: str = "https://podcast.example/show") -> bytes:
    return rss("".join(f"<item><title>{escape(t)}</title><link>{link}</link></item>" for t in titles)).encode()


def _poll(cfg: Path, db: Path) -> list[tuple[str, str]]:
    assert main(["--config", str(cfg), "--db", str(db), "poll", "--once"]) == 0
    return sqlite3.connect(db).execute("SELECT title, link FROM items ORDER BY id").fetchall()


def test_episodes_sharing_a_link_are_kept_apart_and_stay_stable(httpserver: HTTPServer, tmp_path: Path) -> None:
    """15 guid-less episodes all linking the show's page were stored as 1 (issue 15)."""
    documents = [_episodes([f"Episode {n}" for n in range(15, 0, -1)])]
    httpserver.expect_request("/show").respond_with_handler(
        lambda request: Response(documents[-1], content_type="application/rss+xml"))
    cfg = tmp_path / "feeds.toml"
    cfg.write_text(f'[[feeds]]\nname = "show"\nurl = "{httpserver.url_for("/show")}"\n', encoding="utf-8")
    db = tmp_path / "cw.db"
    assert len(_poll(cfg, db)) == 15
    assert len(_poll(cfg, db)) == 15  # re-poll: nothing new
    documents.append(_episodes([f"Episode {n}" for n in range(16, 0, -1)]))
    assert [t for t, _ in _poll(cfg, db)][-1] == "Episode 16"
    # Sharing stops: only the newest is left in the document; it is the same item.
    documents.append(_episodes(["Episode 16"]))
    assert len(_poll(cfg, db)) == 16


def test_a_lone_entry_with_an_edited_title_is_one_item(httpserver: HTTPServer, tmp_path: Path) -> None:
    documents = [_episodes(["KFOR closes the Ibar bridge"], "https://vesti.example/live")]
    httpserver.expect_request("/live").respond_with_handler(
        lambda request: Response(documents[-1], content_type="application/rss+xml"))
    cfg = tmp_path / "feeds.toml"
    cfg.write_text(f'[[feeds]]\nname = "live"\nurl = "{httpserver.url_for("/live")}"\n', encoding="utf-8")
    db = tmp_path / "cw.db"
    assert len(_poll(cfg, db)) == 1
    documents.append(_episodes(["UPDATE: KFOR reopens the Ibar bridge"], "https://vesti.example/live"))
    assert len(_poll(cfg, db)) == 1
    # The lone entry is then joined by a second one with its link: the first is still the same item.
    documents.append(_episodes(["KFOR closes the Ibar bridge", "Second story, same page"],
                               "https://vesti.example/live"))
    assert [t for t, _ in _poll(cfg, db)] == ["KFOR closes the Ibar bridge", "Second story, same page"]


BAD_REFERENCES = [
    # (reference, the title kept, whether feedparser itself loses the whole feed over it)
    ("&#xD83D; lone high surrogate", "\ufffd lone high surrogate", True),
    ("&#55357;&#56832; a decimal surrogate pair", "😀 a decimal surrogate pair", True),
    ("&#xD83D;&#xDE00; a hex surrogate pair", "😀 a hex surrogate pair", True),
    ("&#x110000; past Unicode", "\ufffd past Unicode", True),
    ("&#99999999999999999999; a huge number", "\ufffd a huge number", True),
    ("&#1;&#x1F; controls", "controls", False),
    ("&#xFFFE; a non-character", "\ufffd a non-character", False),
]


@pytest.mark.parametrize(("reference", "text", "fatal"), BAD_REFERENCES)
async def test_one_bad_character_reference_loses_nothing(httpserver: HTTPServer, reference: str, text: str,
                                                         fatal: bool) -> None:
    items = f"<item><guid>1</guid><title>{reference}</title></item><item><guid>2</guid><title>KFOR</title></item>"
    body = rss(items).encode()
    if fatal:
        with pytest.raises((ValueError, OverflowError)):  # what feedparser itself does with such a document…
            feedparser.parse(body)
    feed = await served(httpserver, body)  # …and every item kept here
    assert feed.error is None and [i.title for i in feed.items] == [text, "KFOR"]
    shipped, slow, fast = both_paths(body)
    assert shipped == slow and fast  # repaired before either parser sees it, so the fast path reads it


GEORSS = ('<rss version="2.0" xmlns:georss="http://www.georss.org/georss" xmlns:gml="http://www.opengis.net/gml">'
          "<channel><title>Quakes</title>{items}</channel></rss>")


@pytest.mark.parametrize("srs", [
    "http://www.opengis.net/def/crs/EPSG/0/4326",  # feedparser issue #591
    "http://www.opengis.net/gml/srs/epsg.xml#EPSG4326",  # #599-style: no colon before the code
    "urn:ogc:def:crs:EPSG:", "EPSG:WGS84",
])
async def test_georss_srs_names_feedparser_cannot_read(httpserver: HTTPServer, srs: str) -> None:
    point = (f'<georss:where><gml:Point srsName="{srs}"><gml:pos>42.88 20.86</gml:pos></gml:Point>'
             "</georss:where>")
    items = "".join(f"<item><guid>q{n}</guid><title>Quake near Mitrovica {n}</title>{point}</item>" for n in range(3))
    body = GEORSS.format(items=items).encode()
    with pytest.raises(ValueError):
        feedparser.parse(body)
    feed = await served(httpserver, body)
    assert feed.error is None and [i.key for i in feed.items] == ["q0", "q1", "q2"]


@pytest.mark.parametrize("ns", [
    ' xmlns:dc="http://purl.org/rss/1.0/modules/content/"',  # dc bound to content:
    ' xmlns:content="http://purl.org/dc/elements/1.1/"',  # content bound to dc:
    ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:DC="http://purl.org/dc/elements/1.1/"',  # dc and DC
])
def test_fastfeed_declines_confusing_prefixes(ns: str) -> None:
    prefix = "DC" if "DC=" in ns else ns.split(":")[1].split("=")[0]
    items = (f"<item><guid>1</guid><title>KFOR</title><{prefix}:encoded>&lt;p&gt;body&lt;/p&gt;</{prefix}:encoded>"
             f"<{prefix}:creator>Desk</{prefix}:creator></item>")
    body = rss(items, ns=ns).encode()
    assert fastfeed.read(body) is None
    shipped, slow, fast = both_paths(body)
    assert shipped == slow and not fast and shipped.items[0].title == "KFOR"
