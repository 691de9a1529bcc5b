"""OPML import/export: round trips keep every URL and title; hostile or broken files get a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from crisiswatch.cli import main
from crisiswatch.config import load_config
from crisiswatch.opml import ExportFeed, OpmlError, normalise_url, parse_opml, to_opml

FEEDLY_EXPORT = """\
<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Analyst subscriptions in feedly Cloud</title></head>
  <body>
    <outline text="Regional" title="Regional">
      <outline type="rss" text="Balkan Insight" title="Balkan Insight"
               xmlUrl="https://balkaninsight.com/feed/" htmlUrl="https://balkaninsight.com"/>
      <outline type="rss" text="RFE/RL &amp; Balkan Service" title="RFE/RL &amp; Balkan Service"
               xmlUrl="https://www.rferl.org/api/zrqiteuuir?lang=en&amp;x=1"/>
      <outline text="Serbian">
        <outline type="rss" text="Политика" xmlUrl="https://www.politika.rs/rss/"/>
        <outline type="rss" text="Kosovo Online" xmlUrl="https://www.kosovo-online.com/rss"/>
      </outline>
    </outline>
    <outline type="rss" text="Koha Ditore" title="Koha" xmlUrl="https://www.koha.net/rss"/>
    <outline text="An empty folder"/>
    <outline type="link" text="Just a website" url="https://example.org/"/>
  </body>
</opml>
"""

OPML2 = """\
<?xml version="1.0" encoding="ISO-8859-1"?>
<opml version="2.0">
  <head><title>NetNewsWire</title><dateCreated>Mon, 23 Nov 2026 10:00:00 GMT</dateCreated></head>
  <body>
    <outline text="KFOR press" type="rss" xmlUrl="https://jfcnaples.nato.int/kfor/media-center/news/rss"
             category="/nato,/official/press"/>
    <outline text="Gazeta Express \xeb" type="rss" xmlUrl="https://www.gazetaexpress.com/feed/"/>
  </body>
</opml>
""".encode("latin-1")


def urls_and_titles(feeds: list) -> set[tuple[str, str]]:
    return {(f.url, f.title) for f in feeds}


def test_parse_nested_opml1_flattens_folders_into_tags() -> None:
    feeds = parse_opml(FEEDLY_EXPORT.encode())
    assert [(f.title, f.url, f.tags) for f in feeds] == [
        ("Balkan Insight", "https://balkaninsight.com/feed/", ("Regional",)),
        ("RFE/RL & Balkan Service", "https://www.rferl.org/api/zrqiteuuir?lang=en&x=1", ("Regional",)),
        ("Политика", "https://www.politika.rs/rss/", ("Regional", "Serbian")),
        ("Kosovo Online", "https://www.kosovo-online.com/rss", ("Regional", "Serbian")),
        ("Koha", "https://www.koha.net/rss", ()),
    ]
    assert feeds[0].html_url == "https://balkaninsight.com"


def test_parse_opml2_with_categories_and_declared_encoding() -> None:
    feeds = parse_opml(OPML2)
    assert feeds[0].tags == ("nato", "official/press")
    assert feeds[1].title == "Gazeta Express ë"


def test_export_then_parse_keeps_every_url_title_and_tag() -> None:
    originals = [
        ExportFeed("Balkan Insight", "https://balkaninsight.com/feed/", ("regional", "english")),
        ExportFeed('Quotes "double" & \'single\' <tags>', "https://example.org/rss?a=1&b=<2>", ()),
        ExportFeed("Вечерње новости", "https://www.novosti.rs/rss", ("serbian",)),
        ExportFeed("Tab\tand, comma", "https://example.org/x", ("a, b",)),
        ExportFeed("bad \x01 control", "https://example.org/y", ()),
    ]
    text = to_opml(originals)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    back = parse_opml(text.encode("utf-8"))
    assert {f.url: f.title for f in back} == {
        "https://balkaninsight.com/feed/": "Balkan Insight",
        "https://example.org/rss?a=1&b=<2>": 'Quotes "double" & \'single\' <tags>',
        "https://www.novosti.rs/rss": "Вечерње новости",
        "https://example.org/x": "Tab and, comma",  # whitespace folded to one line, as names are
        "https://example.org/y": "bad control",  # XML 1.0 cannot carry \x01 at all
    }
    tags = {f.url: f.tags for f in back}
    assert tags["https://balkaninsight.com/feed/"] == ("regional", "english")
    assert tags["https://example.org/x"] == ("a, b",)
    assert tags["https://example.org/y"] == ()


def test_cli_import_then_export_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text("# my desk\n[settings]\npoll_interval = \"5m\"\n", encoding="utf-8")
    src = tmp_path / "in.opml"
    src.write_text(FEEDLY_EXPORT, encoding="utf-8")
    assert main(["--config", str(config), "feeds", "import", str(src)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("added 5 feeds, skipped 0")
    assert config.read_text(encoding="utf-8").startswith("# my desk\n[settings]\npoll_interval = \"5m\"\n")

    exported = tmp_path / "out.opml"
    assert main(["--config", str(config), "feeds", "export", "-o", str(exported)]) == 0
    assert urls_and_titles(parse_opml(exported.read_bytes())) == urls_and_titles(
        parse_opml(FEEDLY_EXPORT.encode()))

    # And back in again: everything is a duplicate now, nothing changes.
    before = config.read_bytes()
    assert main(["--config", str(config), "feeds", "import", str(exported)]) == 0
    assert capsys.readouterr().out.startswith("added 0 feeds, skipped 5")
    assert config.read_bytes() == before


def test_cli_export_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text('[[feeds]]\nname = "A & B"\nurl = "https://a.example/rss"\ntags = ["x"]\n', encoding="utf-8")
    assert main(["--config", str(config), "feeds", "export"]) == 0
    out = capsys.readouterr().out
    assert [(f.title, f.url, f.tags) for f in parse_opml(out.encode())] == [("A & B", "https://a.example/rss",
                                                                             ("x",))]
    assert load_config(config).feeds[0].name == "A & B"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<opml version="2.0"><body><outline text="&lol3;" xmlUrl="https://x.example/"/></body></opml>
"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline text="&xxe;" xmlUrl="https://x.example/"/></body></opml>
"""

PARAM = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<opml version="2.0"><body/></opml>
"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, XXE, PARAM], ids=["billion-laughs", "xxe", "param-entity"])
def test_dtds_and_entities_are_refused(data: bytes) -> None:
    with pytest.raises(OpmlError, match="DOCTYPE"):
        parse_opml(data, "evil.opml")


def test_undefined_entity_is_a_clear_error() -> None:
    with pytest.raises(OpmlError, match=r"x\.opml:1: not well-formed XML \(undefined entity\)"):
        parse_opml(b'<opml><body><outline text="&nope;" xmlUrl="https://a/"/></body></opml>', "x.opml")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"<opml>\n<body>\n<outline text='a'>\n</body></opml>", "x.opml:4: not well-formed XML (mismatched tag)"),
        (b"<html><body><a href='/rss'>RSS</a></body></html>", "the root element is <html>, not <opml>"),
        (b"<opml version='2.0'><head/></opml>", "no <body> inside <opml>"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "x.opml:1: not well-formed XML"),
    ],
)
def test_malformed_opml_messages(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError) as info:
        parse_opml(data, "x.opml")
    assert message in str(info.value)


def test_cli_malformed_opml_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text("", encoding="utf-8")
    bad = tmp_path / "broken.opml"
    bad.write_bytes(b"<opml><body><outline text='a' xmlUrl='https://a/'></body></opml>")
    assert main(["--config", str(config), "feeds", "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "broken.opml:1: not well-formed XML (mismatched tag)" in err
    assert "Traceback" not in err
    assert main(["--config", str(config), "feeds", "import", str(tmp_path / "missing.opml")]) == 2
    assert "missing.opml: no such file" in capsys.readouterr().err
    assert config.read_text(encoding="utf-8") == ""


def test_normalise_url_folds_only_what_carries_no_meaning() -> None:
    assert normalise_url("HTTPS://Example.ORG:443/Feed/#top") == normalise_url("https://example.org/Feed")
    assert normalise_url("http://example.org:80/rss") == normalise_url("http://example.org/rss/")
    assert normalise_url("https://example.org/Feed") != normalise_url("https://example.org/feed")
    assert normalise_url("https://example.org/rss?a=1") != normalise_url("https://example.org/rss?a=2")
