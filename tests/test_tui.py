"""The dashboard, driven by Pilot against real SQLite files (and a real poller on loopback).

Every key that changes state is checked where it matters: in the database
(the row and its event), not just on screen.
"""

from __future__ import annotations

import csv
import http.server
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import tui_data
from feedgen import rss
from pilotkit import QUICK, alerts_of, headlines_of, make_app, notifications, settle, wait_for
from textual.pilot import Pilot
from textual.widgets import DataTable, Input
from tui_data import NOW

from crisiswatch.config import Feed
from crisiswatch.store import Store
from crisiswatch.tui.app import CrisiswatchApp
from crisiswatch.tui.screens.detail import DetailScreen
from crisiswatch.tui.screens.export_prompt import ExportPrompt
from crisiswatch.tui.screens.feed_health import FeedHealthScreen
from crisiswatch.tui.screens.help import HelpScreen
from crisiswatch.tui.widgets.alerts_table import AlertsTable
from crisiswatch.tui.widgets.event_log import EventLog
from crisiswatch.tui.widgets.headlines import Headlines

SIZE = (120, 40)


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tui_data.Built:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("CRISISWATCH_BROWSER", "0")
    return tui_data.build(tmp_path / "t.db")


def visible_titles(table: AlertsTable | Headlines) -> list[str]:
    return [table.row_at(i)["title"] for i in range(table.row_count) if table.row_at(i) is not None]


def db_alert(path: Path, title: str) -> dict:
    with Store.open(path) as store:
        return next(a for a in store.alerts_page(0, 1000, show_dismissed=True) if a["title"] == title)



async def cursor_to(pilot: Pilot, table: AlertsTable | Headlines, title: str) -> None:
    table.focus()
    for index in range(table.row_count):
        if (table.row_at(index) or {}).get("title") == title:
            table.move_cursor(index)
            await pilot.pause()
            return
    raise AssertionError(f"{title!r} not in the table")


# -- the main screen ---------------------------------------------------------------------------------------
async def test_main_screen_lists_alerts_pinned_first_and_every_headline(data: tui_data.Built) -> None:
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        alerts, heads = alerts_of(app), headlines_of(app)
        assert alerts.row_count == 5  # 6 alerts, one dismissed and hidden
        assert alerts.row_at(0)["title"] == "Roadblock lifted near Jarinje after talks with KFOR"
        assert alerts.row_at(0)["state"] == "pinned"
        assert alerts.row_at(1)["title"].startswith("Барикаде")  # then newest first
        assert heads.row_count == len(tui_data.STORIES)
        assert "Мирно у Митровици после јучерашњих инцидената" not in visible_titles(alerts)
        header = app.screen.query_one("#status").render()
        assert "3/5 ok" in str(header) and "2 failing" in str(header) and "4 unseen" in str(header)
        log = app.screen.query_one(EventLog)
        assert any("HTTP 503" in line.plain for line in log.lines)


async def test_hostile_feed_text_is_rendered_literally(data: tui_data.Built) -> None:
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        alerts = alerts_of(app)
        index = next(i for i in range(alerts.row_count) if "Not markup" in alerts.row_at(i)["title"])
        alerts.scroll_to(y=0, animate=False)
        line = "".join(seg.text for seg in alerts.render_line(index))
        assert "<b>Not markup</b> [bold red]" in line


async def test_ages_are_short(data: tui_data.Built) -> None:
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        row = "".join(seg.text for seg in headlines_of(app).render_line(0))
        assert row.lstrip().startswith("3m")
        row = "".join(seg.text for seg in alerts_of(app).render_line(0))
        assert " 1h " in row  # the pinned alert was raised 70 minutes before NOW


# -- keys that change state --------------------------------------------------------------------------------------
async def test_pin_and_unpin_write_the_row_and_the_event(data: tui_data.Built) -> None:
    title = "KFOR pojačao patrole u Severnoj Mitrovici"
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await cursor_to(pilot, alerts_of(app), title)
        await pilot.press("p")
        await settle(pilot)
        assert db_alert(data.path, title)["state"] == "pinned"
        assert [e["title"] for e in tui_data.events_of(data.path, "alert_pinned")][-1] == title
        pinned = [alerts_of(app).row_at(i)["title"] for i in range(2)]
        assert title in pinned  # pinned rows sort first
        assert alerts_of(app).cursor["title"] == title  # the cursor followed the row
        await pilot.press("p")
        await settle(pilot)
        assert db_alert(data.path, title)["state"] == "new"
        assert tui_data.events_of(data.path, "alert_unpinned")[-1]["title"] == title


async def test_pin_from_the_headlines_pane_acts_on_that_headlines_alert(data: tui_data.Built) -> None:
    title = "Të shtëna pranë Mitrovicës së Veriut, policia në vend"
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await cursor_to(pilot, headlines_of(app), title)
        await pilot.press("p")
        await settle(pilot)
        assert db_alert(data.path, title)["state"] == "pinned"


async def test_dismiss_then_restore_repeatedly(data: tui_data.Built) -> None:
    title = "Барикаде код Јариња: саобраћај обустављен"
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await cursor_to(pilot, alerts_of(app), title)
        await pilot.press("d")
        await settle(pilot)
        assert db_alert(data.path, title)["state"] == "dismissed"
        assert tui_data.events_of(data.path, "alert_dismissed")[-1]["title"] == title
        assert title not in visible_titles(alerts_of(app))
        assert alerts_of(app).row_count == 4
        await pilot.press("u")
        await settle(pilot)
        assert db_alert(data.path, title)["state"] == "new"
        assert tui_data.events_of(data.path, "alert_restored")[-1]["title"] == title
        assert title in visible_titles(alerts_of(app))
        # Again: the next most recent dismissal (made before the app started) comes back.
        await pilot.press("u")
        await settle(pilot)
        older = "Мирно у Митровици после јучерашњих инцидената"
        assert db_alert(data.path, older)["state"] == "new"
        assert alerts_of(app).row_count == 6
        await pilot.press("u")
        await settle(pilot)
        assert len(tui_data.events_of(data.path, "alert_restored")) == 2  # nothing left to restore


async def test_severity_filter_and_dismissed_toggle(data: tui_data.Built) -> None:
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")  # medium+
        await settle(pilot)
        assert alerts_of(app).row_count == 5
        await pilot.press("s")  # high+
        await settle(pilot)
        assert {r["severity"] for r in map(alerts_of(app).row_at, range(alerts_of(app).row_count))} == {
            "high", "critical"}
        assert "high+" in str(alerts_of(app).border_title)
        await pilot.press("s", "s")  # critical+, then back to low
        await settle(pilot)
        assert alerts_of(app).row_count == 5
        await pilot.press("a")
        await settle(pilot)
        assert alerts_of(app).row_count == 6
        assert "incl. dismissed" in str(alerts_of(app).border_title)


async def test_export_writes_the_event_log_csv(data: tui_data.Built, tmp_path: Path) -> None:
    app = make_app(data)
    notes = notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, ExportPrompt)
        default = Path(app.screen.query_one(Input).value)
        assert default.parent == tmp_path / "xdg" / "crisiswatch" / "exports"
        assert default.name == "events-20261125-120000.csv"
        await pilot.press("enter")
        await settle(pilot)
        await wait_for(pilot, lambda: app.export_count == 1)
        assert default.is_file()
        with default.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        with Store.open(data.path) as store:
            events = list(store.iter_rows("events"))
        exported = [e for e in events if e["kind"] != "export"]
        assert [(r["time"], r["kind"], r["title"], r["detail"]) for r in rows] == [
            (e["time"], e["kind"], e["title"] or "", e["detail"]) for e in exported]
        export_event = tui_data.events_of(data.path, "export")[-1]
        assert str(default) in export_event["detail"]
        assert any(str(default) in message for _, message in notes)


async def test_export_to_a_typed_path(data: tui_data.Built, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "log.csv"
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.export_count == 1)
        assert target.read_text(encoding="utf-8").startswith("time,kind,feed,title,link,keywords,detail")


async def test_search_filters_headlines_and_escape_clears(data: tui_data.Built) -> None:
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"jarinje", "enter")
        await settle(pilot)
        heads = headlines_of(app)
        assert heads.query_text == "jarinje"
        titles = visible_titles(heads)
        # Search runs over folded text, so the Cyrillic story (Јариње in its summary) is found too.
        assert titles == ["Барикаде код Јариња: саобраћај обустављен", "Roadblock lifted near Jarinje after talks with KFOR"]
        assert "Search" in str(heads.border_title) and "2 matches" in str(heads.border_title)
        # Letters that are also dashboard keys (a, d, e, p, s…) go into the box, not to the actions.
        await pilot.press("slash")
        app.screen.query_one(Input).value = ""
        await pilot.press(*"pad fe", "enter")
        await settle(pilot)
        assert heads.query_text == "pad fe" and heads.row_count == 0
        assert not alerts_of(app).show_dismissed and alerts_of(app).min_severity == "low"
        assert len(tui_data.events_of(data.path, "alert_pinned")) == 1  # only the fixture's own pin
        await pilot.press("slash")
        app.screen.query_one(Input).value = "brussels"
        await pilot.press("enter")
        await settle(pilot)
        assert visible_titles(heads) == ["EU envoys meet in Brussels on Kosovo-Serbia normalisation"]
        await pilot.press("escape")
        await settle(pilot)
        assert heads.query_text == "" and heads.row_count == len(tui_data.STORIES)


async def test_help_opens_and_lists_every_key(data: tui_data.Built) -> None:
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = {k for k, _ in app.screen.keys}
        assert {"p", "d", "u", "e", "r", "/", "o", "f", "s", "a", "q", "?", "enter"} <= keys
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_enter_opens_the_detail(data: tui_data.Built) -> None:
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await cursor_to(pilot, alerts_of(app), "Roadblock lifted near Jarinje after talks with KFOR")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.item["summary"] == "Traffic resumed at the crossing in the afternoon."
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DetailScreen)


async def test_open_copies_the_link_where_no_browser_can_open(data: tui_data.Built) -> None:
    app = make_app(data)
    notes = notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await cursor_to(pilot, alerts_of(app), "Roadblock lifted near Jarinje after talks with KFOR")
        await pilot.press("o")
        await pilot.pause()
        assert app.clipboard == "https://news.example/kossev-2"
        assert any("copied" in message for _, message in notes)


async def test_keys_move_between_panes_and_rows(data: tui_data.Built) -> None:
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        alerts = alerts_of(app)
        assert app.focused is alerts
        await pilot.press("j", "j", "down")
        assert alerts.cursor_row == 3
        await pilot.press("k", "up")
        assert alerts.cursor_row == 1
        await pilot.press("tab")
        assert app.focused is headlines_of(app)
        await pilot.press("shift+tab")
        assert app.focused is alerts


async def test_poll_now_without_poller_says_so(data: tui_data.Built) -> None:
    app = make_app(data)
    notes = notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await pilot.pause()
        assert any("--no-poll" in message for _, message in notes)


# -- live updates ----------------------------------------------------------------------------------------------------
async def test_an_alert_stored_by_another_connection_appears_without_input(data: tui_data.Built) -> None:
    app = make_app(data)
    notes = notifications(app)
    bells: list[bool] = []
    app.bell = lambda: bells.append(True)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tui_data.add_alert(data.path, data.config, title="Pucnjava na Jarinju, KFOR na terenu")
        # How fast it appears is measured by benchmarks/tui_latency.py; here only that it does, unasked
        # (a generous bound: a loaded 2-core CI box can stall the watcher for seconds).
        await wait_for(pilot, lambda: any(
            (alerts_of(app).row_at(i) or {}).get("title") == "Pucnjava na Jarinju, KFOR na terenu"
            for i in range(alerts_of(app).row_count)), timeout=20.0)
        await settle(pilot)
        await wait_for(pilot, lambda: any("Pucnjava" in message for _, message in notes)
                       and any("Pucnjava" in line.plain for line in app.screen.query_one(EventLog).lines),
                       timeout=20.0)
        row = alerts_of(app).row_at(1)  # after the pinned one
        assert row["title"] == "Pucnjava na Jarinju, KFOR na terenu"
        assert row["id"] in app.screen.fresh  # highlighted
        assert bells == [True]  # critical rings the bell
        assert any("Pucnjava" in message for _, message in notes)
        assert any("Pucnjava" in line.plain for line in app.screen.query_one(EventLog).lines)
        assert alerts_of(app).cursor["title"] == "Roadblock lifted near Jarinje after talks with KFOR"


async def test_bell_is_switchable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tui_data.config(bell=False)
    built = tui_data.build(tmp_path / "t.db", cfg=cfg)
    app = make_app(built)
    bells: list[bool] = []
    app.bell = lambda: bells.append(True)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tui_data.add_alert(built.path, cfg)
        await wait_for(pilot, lambda: bool(app.screen.fresh))
        await settle(pilot)
        assert bells == []


# -- the feed health screen ---------------------------------------------------------------------------------------
async def test_feed_health_shows_errors_and_reenables_a_gone_feed(data: tui_data.Built) -> None:
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FeedHealthScreen)
        table = screen.query_one(DataTable)
        cells = {str(table.get_row(key)[1]): [str(c) for c in table.get_row(key)] for key in table.rows}
        assert cells["BIRN"][0] == "FAILING" and "HTTP 503" in cells["BIRN"][-1]
        assert cells["Old Wire"][0] == "GONE" and "not until re-enabled" in cells["Old Wire"]
        names = [f["name"] for f in screen.feeds]
        table.move_cursor(row=names.index("BIRN"))
        await pilot.pause()
        assert "HTTP 503" in str(screen.query_one("#feed-error").render())
        # The dashboard's movement keys work here too (its help says "↑ ↓ j k" and "g G").
        for key, row in (("g", 0), ("j", 1), ("G", len(names) - 1), ("k", len(names) - 2)):
            await pilot.press(key)
            await pilot.pause()
            assert table.cursor_row == row, key
        table.move_cursor(row=names.index("Old Wire"))
        await pilot.press("e")
        await settle(pilot)
        with Store.open(data.path) as store:
            assert not next(f for f in store.feeds() if f["name"] == "Old Wire")["gone"]
        assert tui_data.events_of(data.path, "feed_reenabled")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, FeedHealthScreen)


async def test_feed_health_ages_move_with_the_clock_between_polls(data: tui_data.Built) -> None:
    """On the real clock "59s ago" becomes "1m ago" with no poll and no key, and the cursor stays put."""
    from datetime import UTC, datetime

    now = datetime.now(UTC).replace(microsecond=0)
    stamp = (now - timedelta(seconds=59)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with Store.open(data.path) as store, store.write() as conn:
        conn.execute("UPDATE feeds SET last_ok = ? WHERE name = 'BIRN'", (stamp,))
    app = make_app(data, clock=None)  # a live clock: the only kind that ticks
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert str(table.get_cell("BIRN", "last_ok")) in ("59s ago", "1m ago")
        table.move_cursor(row=2)
        await wait_for(pilot, lambda: str(table.get_cell("BIRN", "last_ok")) == "1m ago", timeout=5)
        assert table.cursor_row == 2


async def test_a_commit_between_the_first_load_and_the_first_look_is_shown(
        data: tui_data.Built, monkeypatch: pytest.MonkeyPatch) -> None:
    """The panes load at mount; a poll committing before the watcher's first look must still show.

    Found as a flaky poller test: with a fast first poll and an hourly interval, a headline
    stored in that gap stayed invisible until the next change.
    """
    app = make_app(data)
    real_check = CrisiswatchApp.check_store

    async def not_yet(self: CrisiswatchApp) -> None:
        return None

    monkeypatch.setattr(CrisiswatchApp, "check_store", not_yet)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        before = headlines_of(app).row_count
        with data.store() as store:  # another process's poll, committing in the gap
            story = tui_data.Story("RTS", "rts-gap", "Roadblock cleared at Jarinje, traffic resumes", 1)
            tui_data.record(store, data.feed_ids["RTS"], [story], now=NOW, cfg=data.config)
        monkeypatch.setattr(CrisiswatchApp, "check_store", real_check)
        await app.check_store()  # the watcher's first look: a "first" snapshot
        await wait_for(pilot, lambda: headlines_of(app).row_count == before + 1, timeout=5)
        assert "Roadblock cleared at Jarinje, traffic resumes" in visible_titles(headlines_of(app))


# -- the real poller on loopback ------------------------------------------------------------------------------------
class _FeedHandler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def feed_server() -> Iterator[tuple[str, type[_FeedHandler]]]:
    handler = type("Handler", (_FeedHandler,), {"body": rss("Wire", [("w1", "Quiet day in Pristina")])})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/feed.xml", handler
    server.shutdown()
    server.server_close()


async def test_background_poller_brings_new_alerts_and_r_polls_now(
        tmp_path: Path, feed_server: tuple[str, type[_FeedHandler]]) -> None:
    url, handler = feed_server
    cfg = tui_data.config(feeds=(Feed("Wire", url),), poll_interval=3600.0)
    app = CrisiswatchApp(cfg, tmp_path / "live.db", poll=True, pace=QUICK)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: headlines_of(app).row_count == 1, timeout=15)
        assert alerts_of(app).row_count == 0
        handler.body = rss("Wire", [("w1", "Quiet day in Pristina"), ("w2", "KFOR closes the Jarinje crossing")],
                           start=NOW - timedelta(minutes=5))
        await wait_for(pilot, lambda: app._poller is not None, timeout=10)
        await pilot.press("r")
        await wait_for(pilot, lambda: alerts_of(app).row_count == 1, timeout=15)
        assert alerts_of(app).row_at(0)["title"] == "KFOR closes the Jarinje crossing"
    assert app._poll_task is None  # stopped on quit


async def test_q_quits_and_stops_the_poller(tmp_path: Path, feed_server: tuple[str, type[_FeedHandler]]) -> None:
    url, _ = feed_server
    cfg = tui_data.config(feeds=(Feed("Wire", url),), poll_interval=3600.0)
    app = CrisiswatchApp(cfg, tmp_path / "q.db", poll=True, pace=QUICK)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app._poller is not None, timeout=10)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0
    assert app._poll_task is None and app._poller is None


async def test_open_uses_the_browser_where_one_can_open(data: tui_data.Built,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    monkeypatch.setenv("CRISISWATCH_BROWSER", "1")
    monkeypatch.setattr("crisiswatch.tui.actions.webbrowser.open", lambda url, new=0: opened.append(url) or True)
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await cursor_to(pilot, headlines_of(app), "EU envoys meet in Brussels on Kosovo-Serbia normalisation")
        await pilot.press("o")
        await settle(pilot)
        assert opened == ["https://news.example/birn-1"]
        assert app.clipboard == ""


async def test_paging_through_thousands_of_headlines(tmp_path: Path) -> None:
    """Rows are fetched a page at a time; End, PageDown and Home land on the right rows."""
    cfg = tui_data.config()
    stories = [tui_data.Story("RTS", f"bulk-{n}", f"Bulletin number {n}", n) for n in range(1, 2501)]
    with Store.open(tmp_path / "big.db") as store:
        ids = store.sync_feeds(cfg.feeds)
        tui_data.record(store, ids["RTS"], stories, now=NOW, cfg=cfg)
    app = CrisiswatchApp(cfg, tmp_path / "big.db", poll=False, clock=lambda: NOW, pace=QUICK)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        heads = headlines_of(app)
        assert heads.row_count == 2500
        assert heads.pages_held <= 2  # only what is on screen was read
        heads.focus()
        await pilot.press("end")
        await settle(pilot)
        assert heads.cursor_row == 2499 and heads.cursor["title"] == "Bulletin number 2500"
        await pilot.press("home", "pagedown", "pagedown")
        await settle(pilot)
        step = heads.scrollable_content_region.height - 1
        assert heads.cursor["title"] == f"Bulletin number {2 * step + 1}"
        await pilot.press("g")
        assert heads.cursor_row == 0


async def test_export_failure_is_reported_not_raised(data: tui_data.Built, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    app = make_app(data)
    notes = notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        app.screen.query_one(Input).value = str(blocker / "log.csv")
        await pilot.press("enter")
        await wait_for(pilot, lambda: any(title == "Export failed" for title, _ in notes))
        assert app.export_count == 0
        assert not tui_data.events_of(data.path, "export")


async def test_live_rows_keep_the_selection_on_its_row_and_the_view_at_the_top(data: tui_data.Built) -> None:
    title = "KFOR pojačao patrole u Severnoj Mitrovici"
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        alerts = alerts_of(app)
        await cursor_to(pilot, alerts, title)
        before = alerts.cursor_row
        tui_data.add_alert(data.path, data.config, title="Pucnjava kod Jarinja")
        await wait_for(pilot, lambda: alerts.row_count == 6)
        await settle(pilot)
        assert alerts.cursor["title"] == title and alerts.cursor_row == before + 1  # `d` still hits this row
        assert alerts.scroll_y == 0 and alerts.row_at(1)["title"] == "Pucnjava kod Jarinja"  # new row in view


async def test_clicking_a_row_selects_it_and_a_second_click_opens_it(data: tui_data.Built) -> None:
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        alerts = alerts_of(app)
        await pilot.click(AlertsTable, offset=(20, 3))  # row 0 is under the pane's title line
        assert alerts.cursor_row == 2 and app.focused is alerts
        await pilot.click(AlertsTable, offset=(20, 3), times=2)
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.item["title"] == alerts.row_at(2)["title"]


async def test_the_wide_detail_pane_shows_the_alert_under_the_cursor_after_live_arrivals(
        data: tui_data.Built) -> None:
    """At 160 columns the detail pane sits beside the alerts: with the alerts focused it shows the alert
    under the cursor, also after a live arrival made another item the newest headline."""
    from crisiswatch.tui.widgets.detail import DetailPane

    app = make_app(data)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        tui_data.add_alert(data.path, data.config, key="live-w", title="Mitrovica: roadblock at the Ibar bridge",
                           severity="medium", feed="KoSSev")
        await wait_for(pilot, lambda: headlines_of(app).row_count and any(
            (headlines_of(app).row_at(i) or {}).get("title") == "Mitrovica: roadblock at the Ibar bridge"
            for i in range(headlines_of(app).row_count)), timeout=20.0)
        await settle(pilot)
        assert alerts_of(app).has_focus
        pane = app.screen.query_one(DetailPane)
        await wait_for(pilot, lambda: pane.item is not None and alerts_of(app).cursor is not None
                       and pane.item.get("id") == alerts_of(app).cursor["item_id"], timeout=20.0)


async def test_widening_the_terminal_shows_the_alert_under_the_cursor_in_the_detail_pane(
        data: tui_data.Built) -> None:
    """Started narrow (no detail pane), then widened past 120 columns: the pane that appears shows the alert
    under the cursor at once, not "Select an alert…" until the cursor moves."""
    from crisiswatch.tui.widgets.detail import DetailPane

    app = make_app(data)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("j")
        await settle(pilot)
        cursor = alerts_of(app).cursor
        assert cursor is not None
        await pilot.resize_terminal(160, 48)
        await settle(pilot)
        pane = app.screen.query_one(DetailPane)
        await wait_for(pilot, lambda: pane.item is not None and pane.item.get("id") == cursor["item_id"])
