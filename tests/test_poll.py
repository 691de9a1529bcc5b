"""End to end through the CLI: real loopback HTTP, real SQLite, real parse and match."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from pathlib import Path

import pytest
from feedgen import atom, rdf, rss
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from crisiswatch.cli import main
from crisiswatch.store import SCHEMA_VERSION

KEYWORDS = """
[[keywords]]
term = "KFOR"
aliases = ["Kosovo Force"]
severity = "high"

[[keywords]]
term = "Vučić"
severity = "medium"

[[keywords]]
term = "roadblock"
aliases = ["barricade", "barikada"]
severity = "critical"
"""

RSS_ITEMS = [("r1", "KFOR patrols the Ibar bridge"), ("r2", "Weather: snow in the north"),
             ("r3", "=HYPERLINK(\"http://evil.example\") Vučić speaks")]
ATOM_ITEMS = [("a1", "Вучић: нема признања"), ("a2", "Markets steady")]
RDF_ITEMS = [("d1", "Barricades near Jarinje"), ("d2", "Culture news")]


def _conditional(body: bytes, *, etag: str | None = None, modified: str | None = None):
    def handler(request: Request) -> Response:
        if etag and request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        if modified and request.headers.get("If-Modified-Since") == modified:
            return Response(status=304, headers={"Last-Modified": modified})
        headers = {}
        if etag:
            headers["ETag"] = etag
        if modified:
            headers["Last-Modified"] = modified
        return Response(body, status=200, headers=headers, content_type="application/xml")
    return handler


@pytest.fixture
def setup(httpserver: HTTPServer, tmp_path: Path) -> tuple[Path, Path]:
    httpserver.expect_request("/rss").respond_with_handler(_conditional(rss("RSS", RSS_ITEMS), etag='"r-1"'))
    httpserver.expect_request("/atom").respond_with_handler(
        _conditional(atom("Atom", ATOM_ITEMS), modified="Wed, 25 Nov 2026 12:00:00 GMT"))
    httpserver.expect_request("/rdf").respond_with_handler(_conditional(rdf("RDF", RDF_ITEMS)))
    httpserver.expect_request("/broken").respond_with_data("oops", status=500)
    cfg = tmp_path / "feeds.toml"
    cfg.write_text(
        "[settings]\ntimeout = \"5s\"\n"
        + "".join(f'[[feeds]]\nname = "{n}"\nurl = "{httpserver.url_for("/" + n)}"\n' for n in ("rss", "atom", "rdf", "broken"))
        + KEYWORDS, encoding="utf-8")
    return cfg, tmp_path / "cw.db"


def poll(cfg: Path, db: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    assert main(["--config", str(cfg), "--db", str(db), "poll", "--once", *extra]) == 0
    return capsys.readouterr().err


def test_two_polls_second_adds_nothing(setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    cfg, db = setup
    first = poll(cfg, db, capsys, "-v")
    summary = first.strip().splitlines()[-1]
    assert re.fullmatch(r"polled 4 feeds in \d+\.\ds: 3 ok, 0 not modified, 1 errors; 7 new items, 4 new alerts",
                        summary), summary
    assert len(first.strip().splitlines()) == 5  # -v: one line per feed, then the summary
    # The second --once overrides the interval, not the broken feed's error backoff (issue 15):
    # it is held off for a minute after its first failure, and the summary says so.
    second = poll(cfg, db, capsys).strip().splitlines()[-1]
    assert re.fullmatch(r"polled 3 feeds in \d+\.\ds: 1 ok, 2 not modified, 0 errors; 0 new items, 0 new alerts; "
                        r"1 held off by their servers \(next at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)", second), second
    conn = sqlite3.connect(db)
    assert conn.execute("select count(*) from items").fetchone()[0] == 7
    assert conn.execute("select count(*) from alerts").fetchone()[0] == 4
    errors = conn.execute("select feed, detail from events where kind = 'fetch_error'").fetchall()
    assert len(errors) == 1 and all(f == "broken" and "500" in d and "held off until" in d for f, d in errors)
    statuses = dict(conn.execute("select name, last_status from feeds"))
    assert statuses == {"rss": 304, "atom": 304, "rdf": 200, "broken": 500}
    kinds = {k for (k,) in conn.execute("select kind from events")}
    assert {"poll_started", "poll_finished", "alert_new", "fetch_error"} <= kinds


def test_exports_read_back(setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cfg, db = setup
    poll(cfg, db, capsys)
    headers = {
        "events": ["time", "kind", "feed", "title", "link", "keywords", "detail"],
        "alerts": ["id", "time", "published", "severity", "keywords", "feed", "title", "link", "state", "feeds",
                   "languages"],
        "items": ["id", "feed", "published", "title", "link", "summary"],
    }
    for table, header in headers.items():
        out = tmp_path / f"{table}.csv"
        assert main(["--config", str(cfg), "--db", str(db), "export", table, "-o", str(out)]) == 0
        with out.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == header
        assert len(rows) > 1
        for row in rows[1:]:
            for value in row:
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
        time_cols = [header.index(c) for c in ("time", "published") if c in header]
        for row in rows[1:]:
            for i in time_cols:
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row[i]), row[i]
    alerts = list(csv.DictReader((tmp_path / "alerts.csv").open(encoding="utf-8")))
    assert {a["keywords"] for a in alerts} == {"KFOR", "Vučić", "roadblock"}
    evil = [a for a in alerts if "HYPERLINK" in a["title"]]
    assert evil and evil[0]["title"].startswith("'=")
    capsys.readouterr()
    for fmt in ("json", "jsonl"):
        assert main(["--config", str(cfg), "--db", str(db), "export", "alerts", "--format", fmt]) == 0
        text = capsys.readouterr().out
        data = json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()]
        assert len(data) == 4
        assert all(isinstance(a["keywords"], list) and a["time"].endswith("Z") for a in data)
    assert main(["--config", str(cfg), "--db", str(db), "export", "events", "--since", "2999-01-01"]) == 0
    assert list(csv.reader(io.StringIO(capsys.readouterr().out))) == [headers["events"]]
    assert main(["--config", str(cfg), "--db", str(db), "export", "events", "--since", "yesterday"]) == 2
    assert "--since" in capsys.readouterr().err


def test_export_without_database_is_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "feeds.toml"
    cfg.write_text(KEYWORDS, encoding="utf-8")
    assert main(["--config", str(cfg), "--db", str(tmp_path / "none.db"), "export", "events"]) == 1
    err = capsys.readouterr().err
    assert "no such database" in err and "Traceback" not in err


def test_check_probe_writes_nothing(setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    cfg, db = setup
    assert main(["--config", str(cfg), "--db", str(db), "check", "--probe"]) == 1  # one feed is broken
    out = capsys.readouterr().out
    assert not db.exists()
    lines = {line.split()[0]: line for line in out.splitlines() if line and line.split()[0] in
             ("rss", "atom", "rdf", "broken")}
    assert " ok " in lines["rss"] and " 3 " in lines["rss"] and "2026-11-25T12:02:00Z" in lines["rss"]
    assert "error" in lines["broken"] and "500" in lines["broken"]


def test_match_command(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "feeds.toml"
    cfg.write_text(KEYWORDS, encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO("Patrola KFOR-a kod barikada\nnothing here\nVucic\n"))
    assert main(["--config", str(cfg), "match"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["text"] for line in lines] == ["Patrola KFOR-a kod barikada", "nothing here", "Vucic"]
    assert [h["keyword"] for h in lines[0]["hits"]] == ["KFOR", "roadblock"]
    first = lines[0]["hits"][0]
    assert lines[0]["text"][first["start"]:first["end"]] == first["matched"] and first["severity"] == "high"
    assert lines[1]["hits"] == []
    assert lines[2]["hits"][0]["keyword"] == "Vučić"


def test_export_into_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from crisiswatch.store import Store

    db = tmp_path / "cw.db"
    with Store.open(db) as store:
        with store.write():
            for n in range(20_000):
                store._event("fetch_error", detail=f"error number {n} " * 4)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run(f'"{sys.executable}" -m crisiswatch.cli --db "{db}" export events | head -n 1',
                          shell=True, capture_output=True, text=True, env=env, timeout=60)
    assert proc.stdout.startswith("time,kind,feed")
    assert proc.stderr == ""


def test_check_reports_the_database(setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    cfg, db = setup
    assert main(["--config", str(cfg), "--db", str(db), "check"]) == 0
    assert "(not created yet)" in capsys.readouterr().out
    poll(cfg, db, capsys)
    assert main(["--config", str(cfg), "--db", str(db), "check"]) == 0
    assert f"(schema {SCHEMA_VERSION}: 4 feeds, 7 items, 4 alerts," in capsys.readouterr().out


def test_an_offline_first_run_says_no_network(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every host unresolvable (a laptop on a train): one line says why, instead of N separate DNS errors."""
    cfg = tmp_path / "feeds.toml"
    cfg.write_text("".join(f'[[feeds]]\nname = "F{n}"\nurl = "http://feed{n}.crisiswatch-test.invalid/rss"\n\n'
                           for n in range(3)) + '[[keywords]]\nterm = "KFOR"\n', encoding="utf-8")
    main(["--config", str(cfg), "--db", str(tmp_path / "cw.db"), "poll", "--once"])
    out = capsys.readouterr()
    assert "all 3 feeds failed to resolve — no network?" in out.out + out.err
