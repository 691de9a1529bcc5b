"""``crisiswatch report``: golden Markdown on a fixed database and clock, HTML and Markdown parsed back
for escaping and chart data, the JSON's structure, the period options and the -o file handling.

Regenerate the golden file after an intended change with ``UPDATE_GOLDEN=1 pytest tests/test_report.py``
and read the diff.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_data import HOSTILE_TITLE, NOW, SINCE, build

from crisiswatch.cli import build_parser, main
from crisiswatch.commands.completion import script
from crisiswatch.report import Period, PeriodError, load_zone, make_report, model, render
from crisiswatch.report.data import report_data
from crisiswatch.report.format import md_text, safe_url, sparkline
from crisiswatch.store import Store

GOLDEN = Path(__file__).parent / "golden" / "report.md"
ZONE = "Europe/Belgrade"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("report") / "day.db")


def _render(db: Path, fmt: str, *, zone: str | None = ZONE, top: int = 20) -> str:
    period = Period.resolve(None, None, now=NOW, zone=load_zone(zone))
    with Store.open(db, readonly=True) as store:
        return render(make_report(store, period, now=NOW, top=top), fmt)


def _data(db: Path, *, zone: str | None = ZONE) -> dict:
    return json.loads(_render(db, "json", zone=zone))


# -- golden Markdown -----------------------------------------------------------------------------
def test_markdown_matches_the_golden_file(db: Path) -> None:
    text = _render(db, "md")
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_two_builds_of_the_same_day_give_the_same_report(db: Path, tmp_path: Path) -> None:
    assert _render(build(tmp_path / "again.db"), "md") == _render(db, "md")


def test_markdown_sections_come_in_the_documented_order(db: Path) -> None:
    headings = [line for line in _render(db, "md").splitlines() if line.startswith("## ")]
    assert headings == ["## Coverage", "## Headline numbers", "## Pinned stories", "## Top stories", "## Timeline",
                        "## Mentions per keyword", "## Failing feeds"]
    docs = (Path(__file__).parent.parent / "docs" / "REPORT.md").read_text(encoding="utf-8")
    positions = [docs.index(f"**{h[3:]}**") for h in headings]
    assert positions == sorted(positions), "docs/REPORT.md must describe the sections in the report's order"


def test_an_empty_period_still_has_every_section(db: Path) -> None:
    period = Period.resolve("2026-01-01", "2026-01-02", now=NOW, zone=None)
    with Store.open(db, readonly=True) as store:
        text = render(make_report(store, period, now=NOW), "md")
    for line in ("None pinned in this period.", "No other stories in this period.", "Nothing happened in this period.",
                 "No keyword mentions in this period."):
        assert line in text
    # Old Wire started failing on the 29th: in January it has no failure yet, so nothing fails.
    assert "No feed failed in this period." in text


# -- Markdown cannot be hijacked -----------------------------------------------------------------
def _markdown_tokens(text: str) -> list:
    from markdown_it import MarkdownIt

    md = MarkdownIt("gfm-like", {"html": True, "linkify": True})
    tokens = []
    stack = md.parse(text)
    while stack:
        token = stack.pop()
        tokens.append(token)
        stack.extend(token.children or [])
    return tokens


def test_hostile_titles_stay_text_in_markdown(db: Path) -> None:
    text = _render(db, "md")
    tokens = _markdown_tokens(text)
    assert not [t for t in tokens if t.type in ("html_inline", "html_block")]
    hrefs = {t.attrs["href"] for t in tokens if t.type == "link_open"}
    assert hrefs and all(h.startswith("https://") for h in hrefs)
    assert not [h for h in hrefs if "evil" in h or "javascript" in h or "s3cret" in h or "@" in h]
    assert "https://news.example/kfor-bridge" in hrefs  # the credentials were removed, the link kept
    rendered = "".join(t.content for t in tokens if t.type == "text")
    assert HOSTILE_TITLE in rendered  # shown exactly as the outlet wrote it
    assert "Flaky <b>Radio</b>" in rendered


@pytest.mark.parametrize("hostile", [
    "<img src=x onerror=alert(1)>", "[x](https://evil.example)", "![x](https://evil.example/p.png)",
    "https://evil.example/a", "www.evil.example", "mail me at evil@evil.example", "`code` **b** _i_ ~~s~~",
    "a | b | c", "&lt;script&gt; &#x3C;b&#x3E;", "trailing \\", "<https://evil.example>", "[ref]: https://evil.example",
])
def test_md_text_leaves_nothing_for_markdown_to_interpret(hostile: str) -> None:
    tokens = _markdown_tokens(f"- before {md_text(hostile)} after")
    assert not [t for t in tokens if t.type in ("html_inline", "link_open", "image", "code_inline", "em_open",
                                                 "strong_open", "s_open", "table_open")]
    assert "".join(t.content for t in tokens if t.type == "text") == f"before {hostile} after"


def test_safe_url_keeps_only_http_links_without_credentials() -> None:
    assert safe_url("https://user:pw@news.example/a?b=1#c") == "https://news.example/a?b=1#c"
    assert safe_url("HTTP://News.Example:8080/x") == "http://news.example:8080/x"
    assert safe_url("https://news.example/a(b)|c") == "https://news.example/a%28b%29%7Cc"
    assert safe_url('https://news.example/"><script>') == "https://news.example/%22%3E%3Cscript%3E"
    for bad in ("javascript:alert(1)", "data:text/html,x", "/relative", "ftp://x.example/", "https://", "",
                None, "https://x.example/a\nb", "https://[::1"):
        assert safe_url(bad) is None


def test_sparkline_scales_to_the_largest_value() -> None:
    assert sparkline([0, 1, 7, 14]) == "▁▂▅█"
    assert sparkline([0, 0]) == "▁▁"
    assert sparkline([]) == ""


# -- HTML ----------------------------------------------------------------------------------------
class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.style = ""
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        while self._in and self._in.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        if self._in and self._in[-1] == "style":
            self.style += data
        else:
            self.text.append(data)


def _page(db: Path, zone: str | None = ZONE) -> _Page:
    page = _Page()
    page.feed(_render(db, "html", zone=zone))
    page.close()
    return page


def test_html_is_self_contained_and_inert(db: Path) -> None:
    page = _page(db)
    names = [t for t, _ in page.tags]
    assert "script" not in names and "iframe" not in names and "object" not in names and "img" not in names
    assert "link" not in names, "no stylesheet or icon fetched"
    for tag, attrs in page.tags:
        assert not [k for k in attrs if k.startswith("on")], f"event handler on <{tag}>"
        assert "src" not in attrs
        if "href" in attrs:
            assert tag == "a" and str(attrs["href"]).startswith(("https://", "http://")), (tag, attrs)
            assert "evil" not in str(attrs["href"]) and "s3cret" not in str(attrs["href"])
    csp = [a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in str(csp[0])
    assert "@page" in page.style and "size: A4" in page.style and "@media print" in page.style
    assert "url(" not in page.style and "@import" not in page.style


def test_hostile_title_stays_text_in_html(db: Path) -> None:
    page = _page(db)
    text = "".join(page.text)
    assert HOSTILE_TITLE in text
    assert "Flaky <b>Radio</b>" in text
    assert ("b", {}) not in page.tags


def test_html_charts_carry_the_report_figures(db: Path) -> None:
    page = _page(db)
    data = _data(db)
    bars: dict[str, list[int]] = {s: [0] * len(data["period"]["bins"]) for s in data["alerts_per_bin"]}
    for tag, attrs in page.tags:
        if tag == "rect" and "data-bin" in attrs:
            bars[str(attrs["data-severity"])][int(str(attrs["data-bin"]))] += int(str(attrs["data-count"]))
    assert bars == data["alerts_per_bin"]
    assert sum(map(sum, bars.values())) == data["headline"]["alerts"] == 9
    keywords = {str(a["data-keyword"]): int(str(a["data-count"])) for t, a in page.tags if t == "g" and "data-keyword" in a}
    assert keywords == {m["keyword"]: m["total"] for m in data["mentions"]}
    assert keywords["KFOR"] == 10
    svgs = [a for t, a in page.tags if t == "svg"]
    assert [a["id"] for a in svgs] == ["chart-alerts", "chart-mentions"]


def test_html_sections_and_local_times(db: Path) -> None:
    page = _page(db)
    sections = [a["id"] for t, a in page.tags if t == "section"]
    assert sections == ["coverage", "headline", "pinned", "top", "timeline", "mentions", "failing"]
    text = "".join(page.text)
    assert "2026-11-29 14:05Z (15:05 CET)" in text
    assert "CET" not in "".join(_page(db, zone=None).text)


# -- JSON ----------------------------------------------------------------------------------------
def test_json_has_the_same_content_as_data(db: Path) -> None:
    data = _data(db)
    assert list(data) == ["schema", "generator", "generated", "generated_local", "period", "coverage", "headline",
                          "alerts_per_bin", "pinned", "top", "timeline", "mentions", "failing"]
    assert data["schema"] == "crisiswatch-report/1"
    assert data["period"]["since"] == "2026-11-29T12:00:00Z" and data["period"]["until"] == "2026-11-30T12:00:00Z"
    assert data["period"]["since_local"] == "2026-11-29T13:00:00+01:00"
    assert data["period"]["timezone"] == ZONE and data["period"]["bin_hours"] == 1
    assert len(data["period"]["bins"]) == 24
    assert data["coverage"] == {"feeds": 6, "polled": 6, "ok": 5, "failing": 1, "poll_cycles": 2, "items": 13}
    assert data["headline"]["by_severity"] == {"critical": 1, "high": 0, "medium": 4, "low": 4}
    assert data["headline"]["pinned"] == 1 and data["headline"]["dismissed"] == 1
    pinned = data["pinned"]["stories"]
    assert [s["title"] for s in pinned] == ["Barikade kod Jarinja, KFOR na prelazu"]
    assert [o["feed"] for o in pinned[0]["outlets"]] == ["Sever Danas", "Ибарске вести", "Koha Ditore"]
    assert pinned[0]["outlets"][1]["title"] == "Барикаде код Јариња, КФОР на прелазу"  # its own script
    assert pinned[0]["rules"] == ["KFOR at a roadblock"] and pinned[0]["surge"] is True
    assert any("3 outlets within 1h" in r for r in pinned[0]["surge_reasons"])
    top = data["top"]["stories"]
    # Ranked by severity, then outlets, then recency; the dismissed hostile story is not a top story.
    assert [s["severity"] for s in top] == ["high", "medium", "medium", "medium", "medium", "low", "low", "low"]
    assert top[0]["title"] == "KFOR patrols the Ibar bridge in Mitrovica" and top[0]["outlet_count"] == 2
    assert HOSTILE_TITLE not in [s["title"] for s in top]
    bridge = next(s for s in top if s["title"] == "KFOR statement on the Mitrovica bridge")
    assert bridge["link"] == "https://news.example/kfor-bridge"
    assert "Posle perioda: KFOR" not in json.dumps(data, ensure_ascii=False)  # after the period
    kinds = [e["kind"] for e in data["timeline"]["entries"]]
    assert kinds.count("alert_new") == 9 and kinds.count("surge") == 5
    assert {"feed_down", "feed_recovered", "feed_gone", "alert_pinned", "alert_dismissed"} <= set(kinds)
    times = [e["time"] for e in data["timeline"]["entries"]]
    assert times == sorted(times)
    hostile = next(e for e in data["timeline"]["entries"] if e["title"] == HOSTILE_TITLE)
    assert hostile["link"] is None  # javascript: is not a link
    assert [(f["feed"], f["status"], f["errors"]) for f in data["failing"]] == [
        ("Old Wire", "gone", 1), ("Flaky <b>Radio</b>", "recovered", 2)]
    assert data["failing"][0]["since"] == "2026-11-29T09:00:00Z"  # failing since before the period


def test_timeline_leaves_out_the_weakest_new_alerts_first(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model, "TIMELINE_NEW_ALERTS", 5)
    period = Period.resolve(None, None, now=NOW, zone=None)
    with Store.open(db, readonly=True) as store:
        report = make_report(store, period, now=NOW)
    data = report_data(report)
    new = [e for e in data["timeline"]["entries"] if e["kind"] == "alert_new"]
    assert {e["severity"] for e in new} == {"high", "medium"} and len(new) == 4
    assert data["timeline"]["omitted"] == {"low": 5}
    assert "Not listed: 5 low" in render(report, "md")


def test_top_limits_the_stories_and_says_how_many_more(db: Path) -> None:
    data = json.loads(_render(db, "json", top=2))
    assert len(data["top"]["stories"]) == 2 and data["top"]["more"] == 6
    assert "6 more stories not listed" in _render(db, "md", top=2)


# -- the period ----------------------------------------------------------------------------------
def test_period_values() -> None:
    zone = load_zone(ZONE)
    p = Period.resolve("2026-11-30", "2026-12-01", now=NOW, zone=zone)
    assert p.since == datetime(2026, 11, 29, 23, 0, tzinfo=UTC)  # local midnight
    assert p.until == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    p = Period.resolve("7d", None, now=NOW, zone=None)
    assert p.until == NOW and p.since == NOW - timedelta(days=7) and p.bin_hours == 4 and p.bins == 42
    assert Period.resolve("2026-11-30T08:00+03:00", "1h", now=NOW, zone=None).since == NOW.replace(hour=5)
    assert Period.resolve(None, None, now=NOW, zone=None).since == SINCE
    assert Period.resolve("90d", None, now=NOW, zone=None).bin_hours == 48
    assert load_zone("UTC") is None and load_zone(None) is None
    for since, until in (("2026-11-31", None), ("yesterday", None), ("1h", "2h"), (None, "2027-01-01T00:00:00+25:00")):
        with pytest.raises(PeriodError):
            Period.resolve(since, until, now=NOW, zone=None)
    with pytest.raises(PeriodError):
        load_zone("Mars/Olympus")


# -- the command ---------------------------------------------------------------------------------
def test_report_command_writes_every_format(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for fmt in ("md", "html", "json"):
        out = tmp_path / f"r.{fmt}"
        assert main(["--db", str(db), "report", "--since", "2026-11-29T12:00", "--until", "2026-11-30T12:00",
                     "--format", fmt, "-o", str(out)]) == 0
        assert str(out.resolve()) in capsys.readouterr().err
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["headline"]["alerts"] == 9
    assert (tmp_path / "r.md").read_text(encoding="utf-8").startswith("# Situation report: 2026-11-29 12:00Z")
    assert main(["report", "--since", "2026-11-29T12:00", "--until", "2026-11-30T12:00", "--db", str(db)]) == 0
    assert "## Top stories" in capsys.readouterr().out  # --db after the subcommand; stdout by default


@pytest.mark.parametrize("argv, message", [
    (["--since", "tomorrow"], "--since 'tomorrow'"),
    (["--until", "2026-11-28", "--since", "2026-11-29"], "the period is empty"),
    (["--tz", "Mars/Olympus"], "unknown time zone"),
    (["--format", "pdf"], "invalid choice"),
    (["--top", "-1"], "between 0 and 10000"),
])
def test_usage_errors_exit_2(db: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(["--db", str(db), "report", *argv])
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_settings_timezone_is_the_default_zone(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text('[settings]\ntimezone = "Europe/Belgrade"\n', encoding="utf-8")
    assert main(["--config", str(config), "--db", str(db), "report", "--since", "2026-11-29T12:00Z",
                 "--until", "2026-11-30T12:00Z", "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["period"]["since_local"] == "2026-11-29T13:00:00+01:00"
    assert main(["--config", str(config), "--db", str(db), "report", "--tz", "UTC", "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["period"]["timezone"] is None
    config.write_text('[settings]\ntimezone = "Europe/Belgrad"\n', encoding="utf-8")
    assert main(["--config", str(config), "--db", str(db), "report"]) == 2
    err = capsys.readouterr().err
    assert "settings.timezone" in err and "feeds.toml:2:" in err and "Europe/Belgrade" in err


def test_output_keeps_the_file_mode_and_never_replaces_a_symlink_or_fifo(db: Path, tmp_path: Path) -> None:
    argv = ["--db", str(db), "report", "-f", "json", "-o"]
    existing = tmp_path / "kept.json"
    existing.write_text("old", encoding="utf-8")
    existing.chmod(0o600)
    assert main([*argv, str(existing)]) == 0
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600 and existing.read_text(encoding="utf-8") != "old"

    real = tmp_path / "real.json"
    real.write_text("", encoding="utf-8")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert main([*argv, str(link)]) == 0
    assert link.is_symlink() and json.loads(real.read_text(encoding="utf-8"))["schema"] == "crisiswatch-report/1"

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    assert main([*argv, str(fifo)]) == 0
    reader.join(timeout=30)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert json.loads(got[0])["schema"] == "crisiswatch-report/1"


def test_output_failure_is_one_line(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db), "report", "-o", str(tmp_path / "no" / "such" / "dir.md")]) == 1
    err = capsys.readouterr().err
    assert "cannot write" in err and "does not exist" in err and len(err.strip().splitlines()) == 1


def test_missing_database_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(tmp_path / "none.db"), "report"]) == 1
    assert "no such database" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_knows_the_report_command(shell: str) -> None:
    text = script(shell, build_parser())
    for word in ("report", "--since", "--until", "--tz", "--top"):
        assert word in text


def test_the_shipped_example_is_a_current_self_contained_report() -> None:
    docs = Path(__file__).parent.parent / "docs"
    page = _Page()
    page.feed((docs / "report-example.html").read_text(encoding="utf-8"))
    names = [t for t, _ in page.tags]
    assert "script" not in names and "link" not in names and not [a for _, a in page.tags if "src" in a]
    assert [a["id"] for t, a in page.tags if t == "section"] == [
        "coverage", "headline", "pinned", "top", "timeline", "mentions", "failing"]
    assert [a["id"] for t, a in page.tags if t == "svg"] == ["chart-alerts", "chart-mentions"]
    assert (docs / "report-example.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert "docs/report-example.html" in readme and "docs/report-example.png" in readme


def test_timeline_stops_at_its_limit_and_counts_the_rest(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    period = Period.resolve(None, None, now=NOW, zone=None)
    with Store.open(db, readonly=True) as store:
        full = make_report(store, period, now=NOW).timeline
        monkeypatch.setattr(model, "TIMELINE_LIMIT", 10)
        report = make_report(store, period, now=NOW)
    assert len(full) == 19  # 9 new alerts, 5 surges, a pin, a dismissal, 3 feed changes
    assert report.timeline == full[:10]
    assert report.timeline_omitted == {"other": 9}


# -- from the dashboard --------------------------------------------------------------------------
async def test_the_dashboard_key_writes_the_report_and_says_where(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import time as clock

    import tui_data
    from pilotkit import QUICK

    from crisiswatch.tui.app import CrisiswatchApp

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    data = tui_data.build(tmp_path / "t.db")
    app = CrisiswatchApp(data.config, data.path, poll=False, clock=lambda: tui_data.NOW, pace=QUICK)
    sent: list[tuple[str, str]] = []
    shown = app.notify

    def notify(message: str, *, title: str = "", **kwargs: object) -> None:
        sent.append((title, message))
        shown(message, title=title, **kwargs)  # type: ignore[arg-type]

    app.notify = notify  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "Report (R)" in [c.title for c in app.get_system_commands(app.screen)]  # the palette
        await pilot.press("R")
        started = clock.monotonic()
        while app.report_count == 0:
            assert clock.monotonic() - started < 10, "no report written"
            await pilot.pause(0.02)
    target = tmp_path / "xdg" / "crisiswatch" / "exports" / "report-20261125-120000.html"
    assert [(t, m) for t, m in sent if t.startswith("Report written")] == [(sent[-1][0], str(target))]
    page = _Page()
    page.feed(target.read_text(encoding="utf-8"))
    assert [a["id"] for t, a in page.tags if t == "section"][:2] == ["coverage", "headline"]
    text = "".join(page.text)
    assert "Roadblock lifted near Jarinje after talks with KFOR" in text  # the pinned story
    assert "2026-11-24 12:00Z → 2026-11-25 12:00Z" in text
    with Store.open(data.path, readonly=True) as store:
        exports = [e for e in store.events_tail(50) if e["kind"] == "export"]
    assert exports and str(target) in exports[-1]["detail"]


def test_the_report_key_is_documented() -> None:
    from textual.binding import Binding

    from crisiswatch.tui.screens.dashboard import Dashboard

    binding = next(b for b in Dashboard.BINDINGS if isinstance(b, Binding) and b.action == "report")
    assert binding.key == "R"
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert "| `R` |" in readme
