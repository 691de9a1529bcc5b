"""Secrets in URLs never leave the config; terminal controls from config, OPML and the network never reach
the terminal. Real loopback servers, real SQLite files, the real CLI."""

from __future__ import annotations

import csv
import re
import sqlite3
from pathlib import Path

import pytest
from feedgen import rss
from pytest_httpserver import HTTPServer

from crisiswatch.cli import main
from crisiswatch.redact import redact_notify_url, redact_text, redact_url
from crisiswatch.store import Store
from crisiswatch.termsafe import multi_line, one_line, url_problem

SECRETS = ("hunter2", "s3cr3t", "tok123")
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, text
    assert not UNSAFE.search(text.replace("\n", "").replace("\r\n", "")), repr(text)


# -- the helpers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "shown"), [
    ("https://user:hunter2@example.org/rss", "https://***@example.org/rss"),
    ("https://example.org/rss?lang=en&api_key=tok123&x=1", "https://example.org/rss?lang=en&api_key=***&x=1"),
    ("https://example.org/rss?token=tok123#frag", "https://example.org/rss?token=***#frag"),
    ("https://example.org/a@b/rss?email=me@example.org", "https://example.org/a@b/rss?email=me@example.org"),
    ("http://u:p@ss@example.org:8080/", "http://***@example.org:8080/"),
    ("https://example.org/plain", "https://example.org/plain"),
])
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(("url", "shown"), [
    ("https://hooks.slack.com/services/T000/B000/XXXXXXXX", "https://hooks.slack.com/…"),
    ("json://user:hunter2@127.0.0.1:8080/hook", "json://127.0.0.1:8080/…"),
    ("tgram://123456789:AAHtok123/4242", "tgram://…"),
    ("ntfy://kosovo-desk", "ntfy://…"),
    ("mailtos://me:hunter2@example.org?to=desk@example.org", "mailtos://example.org/…"),
    ("not a url", "…"),
])
def test_redact_notify_url(url: str, shown: str) -> None:
    assert redact_notify_url(url) == shown


def test_redact_text_finds_every_url() -> None:
    text = "permanent redirect: http://a:hunter2@x.org/f -> https://y.org/g?sig=s3cr3t (then 200)"
    assert redact_text(text) == "permanent redirect: http://***@x.org/f -> https://y.org/g?sig=*** (then 200)"


@pytest.mark.parametrize("hostile", ["\x1b]0;pwned\x07", "\x9b31m", "\x9d0;title\x9c", "\u202e", "\x1b[2J",
                                     "a\rb", "a\nb", "\x00", "\x85", "\u2028", "\u2066"])
def test_one_line_removes_terminal_controls(hostile: str) -> None:
    shown = one_line(f"Vučić {hostile} Kurti")
    assert shown.startswith("Vučić ") and shown.endswith(" Kurti")
    assert shown.isprintable()
    assert "pwned" not in shown and "31m" not in shown and "title" not in shown


def test_multi_line_keeps_line_breaks_only() -> None:
    assert multi_line("one\r\ntwo\x1b[31m\u202e\tthree") == "one\ntwo\tthree"


def test_url_problem_names_the_character() -> None:
    assert "U+009B" in (url_problem("https://example.org/\x9b") or "")
    assert "U+202E" in (url_problem("https://example.org/\u202erss") or "")
    assert "U+000A" in (url_problem("https://example.org/\nHost: x") or "")
    assert url_problem("https://example.org/Приштина?q=Vučić") is None


# -- redaction through the real poller, store, export and check -------------------------------------------------


@pytest.fixture
def moved(httpserver: HTTPServer, tmp_path: Path) -> tuple[Path, Path, HTTPServer]:
    """A feed behind userinfo and an API key that moves permanently to another secret-bearing URL."""
    port = httpserver.port
    httpserver.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": f"http://bob:s3cr3t@127.0.0.1:{port}/new?token=tok123"})
    httpserver.expect_request("/new").respond_with_data(rss("Moved", [("g1", "KFOR patrols Jarinje")]),
                                                        content_type="application/rss+xml")
    cfg = tmp_path / "feeds.toml"
    cfg.write_text(f'[[feeds]]\nurl = "http://alice:hunter2@127.0.0.1:{port}/old?api_key=tok123"\n\n'
                   '[[keywords]]\nterm = "KFOR"\nseverity = "high"\n', encoding="utf-8")
    return cfg, tmp_path / "cw.db", httpserver


def test_feed_moved_event_poll_output_and_exports_hold_no_secret(moved, tmp_path: Path, capsys) -> None:
    cfg, db, _ = moved
    assert main(["--config", str(cfg), "--db", str(db), "poll", "--once", "-v"]) == 0
    assert_clean(capsys.readouterr().err)
    conn = sqlite3.connect(db)
    [(detail,)] = conn.execute("SELECT detail FROM events WHERE kind = 'feed_moved'").fetchall()
    assert "***@127.0.0.1" in detail and "token=***" in detail
    assert_clean(detail)
    for fmt in ("csv", "json", "jsonl"):
        out = tmp_path / f"events.{fmt}"
        assert main(["--db", str(db), "export", "events", "--format", fmt, "-o", str(out)]) == 0
        assert_clean(out.read_text(encoding="utf-8"))
    # The feed's default name is its host, never its userinfo.
    assert conn.execute("SELECT name FROM feeds").fetchone()[0] == "127.0.0.1"


def test_check_probe_output_holds_no_secret(moved, capsys) -> None:
    cfg, db, _ = moved
    assert main(["--config", str(cfg), "--db", str(db), "check", "--probe"]) == 0
    out = capsys.readouterr()
    assert "moved permanently to http://***@127.0.0.1" in out.out
    assert_clean(out.out + out.err)


def test_errors_naming_a_url_hold_no_secret(httpserver: HTTPServer, tmp_path: Path, capsys) -> None:
    """A fetch error whose message quotes the URL (a redirect to nowhere) is redacted in the event and last_error."""
    port = httpserver.port
    httpserver.expect_request("/loop").respond_with_data(
        "", status=302, headers={"Location": f"ftp://carol:hunter2@127.0.0.1:{port}/x?sig=s3cr3t"})
    cfg = tmp_path / "feeds.toml"
    cfg.write_text(f'[[feeds]]\nname = "Loop"\nurl = "http://127.0.0.1:{port}/loop"\n', encoding="utf-8")
    db = tmp_path / "cw.db"
    assert main(["--config", str(cfg), "--db", str(db), "poll", "--once", "-v"]) == 0
    assert_clean(capsys.readouterr().err)
    conn = sqlite3.connect(db)
    texts = [d for (d,) in conn.execute("SELECT detail FROM events")]
    texts += [e or "" for (e,) in conn.execute("SELECT last_error FROM feeds")]
    for text in texts:
        assert_clean(text)


def test_export_redacts_details_written_before_redaction_existed(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with Store.open(db) as store:
        store.add_event("poll_finished", detail="fine")
    conn = sqlite3.connect(db)  # as an older crisiswatch wrote it: straight into the table
    conn.execute("INSERT INTO events (time, kind, detail) VALUES ('2026-11-20T00:00:00Z', 'feed_moved', "
                 "'permanent redirect: http://a:hunter2@x.org/f -> http://x.org/g?key=tok123')")
    conn.commit()
    conn.close()
    out = tmp_path / "e.csv"
    assert main(["--db", str(db), "export", "events", "-o", str(out)]) == 0
    rows = list(csv.reader(out.open(encoding="utf-8", newline="")))
    assert rows[-1][6] == "permanent redirect: http://***@x.org/f -> http://x.org/g?key=***"


def test_feeds_export_opml_holds_no_secret(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "feeds.toml"
    cfg.write_text('[[feeds]]\nname = "Private"\nurl = "https://me:hunter2@example.org/rss?token=tok123"\n',
                   encoding="utf-8")
    assert main(["--config", str(cfg), "feeds", "export"]) == 0
    out = capsys.readouterr().out
    assert 'xmlUrl="https://***@example.org/rss?token=***"' in out
    assert_clean(out)


# -- terminal controls from OPML, config and the command line -------------------------------------------------

HOSTILE_OPML = """\
<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>x</title></head><body>
  <outline text="Fine" xmlUrl="https://example.org/fine.xml"/>
  <outline text="CSI &#x9b;31m" xmlUrl="https://example.org/&#x9b;31m.xml"/>
  <outline text="OSC" xmlUrl="https://example.org/a&#x9d;0;pwned&#x9c;.xml"/>
  <outline text="Bidi &#x202e;lmth.exe" xmlUrl="https://example.org/&#x202e;lmth.xml"/>
  <outline text="Header" xmlUrl="https://example.org/x&#13;&#10;Injected: 1"/>
  <outline text="Title &#x9d;0;pwned&#x9c; &#x202e;x" xmlUrl="https://example.org/ok2.xml"/>
</body></opml>
"""


def test_feeds_import_refuses_urls_with_controls_and_prints_nothing_raw(tmp_path: Path, capsys) -> None:
    opml = tmp_path / "subs.opml"
    opml.write_text(HOSTILE_OPML, encoding="utf-8")
    cfg = tmp_path / "feeds.toml"
    assert main(["--config", str(cfg), "feeds", "import", str(opml)]) == 0
    out = capsys.readouterr().out
    assert_clean(out)
    assert out.count("refused: the URL contains") == 4
    for code in ("U+009B", "U+009D", "U+202E", "U+000D"):
        assert code in out
    text = cfg.read_text(encoding="utf-8")
    assert "fine.xml" in text and "ok2.xml" in text
    assert "\x9b" not in text and "\u202e" not in text and "Injected" not in text
    assert main(["--config", str(cfg), "feeds", "list"]) == 0
    assert_clean(capsys.readouterr().out)


@pytest.mark.parametrize("url", ["https://example.org/\x1b[2Jrss", "https://example.org/\x9brss",
                                 "https://example.org/\u202erss", "https://example.org/rss\r\nX: 1"])
def test_feeds_add_refuses_urls_with_controls(tmp_path: Path, url: str, capsys) -> None:
    cfg = tmp_path / "feeds.toml"
    assert main(["--config", str(cfg), "feeds", "add", url, "--no-discover"]) == 2
    err = capsys.readouterr().err
    assert "refused" in err and "U+" in err
    assert_clean(err)
    assert not cfg.exists()


def test_config_with_a_control_in_a_url_is_a_clear_error(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "feeds.toml"
    cfg.write_text('[[feeds]]\nname = "x"\nurl = "https://example.org/\\u009b31mrss"\n', encoding="utf-8")
    assert main(["--config", str(cfg), "check"]) == 2
    err = capsys.readouterr().err
    assert "feeds[0].url" in err and "U+009B" in err and ":3:" in err
    assert_clean(err)


def test_names_and_tags_from_config_are_shown_inert(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "feeds.toml"
    cfg.write_text('[[feeds]]\nname = "Evil"\nurl = "https://example.org/rss"\n'
                   'tags = ["t\\u009d0;x\\u0007", "\\u202eabc\\u001b[31m"]\n', encoding="utf-8")
    assert main(["--config", str(cfg), "feeds", "list"]) == 0
    out = capsys.readouterr().out
    assert "Evil" in out
    assert_clean(out)


def test_tui_event_log_and_feed_health_show_no_controls_or_secrets() -> None:
    from crisiswatch.tui.widgets.event_log import EventLog

    log = EventLog.__new__(EventLog)
    log._style = lambda name: ""  # type: ignore[attr-defined]
    log.tz = None  # type: ignore[attr-defined]
    text = EventLog.line(log, {"kind": "feed_moved", "time": "2026-11-25T12:00:00Z", "feed": "Bad\u202efeed",
                               "title": None, "detail": "permanent redirect: http://a:hunter2@x.org/\x9b2J"})
    assert_clean(text.plain)
    assert "***@x.org" in text.plain


def test_keywords_list_is_inert(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "feeds.toml"
    cfg.write_text('[[keywords]]\nterm = "Vu\\u009b2Jčić"\naliases = ["x\\u202ey", "a\\u001b]0;t\\u0007b"]\n',
                   encoding="utf-8")
    assert main(["--config", str(cfg), "keywords", "list"]) == 0
    out = capsys.readouterr().out
    assert "Vučić" in out.replace("2J", "")
    assert_clean(out)


def test_match_json_lines_carry_controls_only_as_escapes(tmp_path: Path, monkeypatch, capsys) -> None:
    import io
    import json

    cfg = tmp_path / "feeds.toml"
    cfg.write_text('[[keywords]]\nterm = "KFOR"\n', encoding="utf-8")
    line = "KFOR \x9b2J at \u202eJarinje\u2028"
    monkeypatch.setattr("sys.stdin", io.StringIO(line + "\n"))
    assert main(["--config", str(cfg), "match"]) == 0
    out = capsys.readouterr().out
    assert_clean(out.rstrip("\n"))
    assert json.loads(out)["text"] == line  # the data itself is unchanged


def test_match_reads_words_behind_escape_sequences(tmp_path: Path, monkeypatch, capsys) -> None:
    """A line copied from a coloured log: ESC[31mKFOR is the word KFOR, offsets into the unchanged line."""
    import io
    import json

    cfg = tmp_path / "feeds.toml"
    cfg.write_text('[[keywords]]\nterm = "KFOR"\n', encoding="utf-8")
    line = "\x1b[31mKFOR\x1b[0m na \x9b1mIbru"
    monkeypatch.setattr("sys.stdin", io.StringIO(line + "\n"))
    assert main(["--config", str(cfg), "match"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["text"] == line
    assert [hit["keyword"] for hit in row["hits"]] == ["KFOR"]
    hit = row["hits"][0]
    assert line[hit["start"]:hit["end"]] == "KFOR"
