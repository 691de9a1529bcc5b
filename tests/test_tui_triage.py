"""The analyst's triage loop in the real dashboard: what is new since I looked, order, search, log, keys.

Each test drives the app through ``App.run_test`` on a real SQLite file, and
reads what it asserts back from the database or from the widgets on screen.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
import tui_data
from pilotkit import alerts_of, headlines_of, make_app, notifications, settle, wait_for
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import Footer, Input, Static
from tui_data import NOW, Story

from crisiswatch.config import Config, Feed, Keyword, Settings
from crisiswatch.match import Matcher
from crisiswatch.store import EVENT_KINDS, Store
from crisiswatch.tui.app import CrisiswatchApp
from crisiswatch.tui.screens.event_detail import EventScreen
from crisiswatch.tui.screens.help import HelpScreen, key_width
from crisiswatch.tui.widgets.alerts_table import AlertsTable
from crisiswatch.tui.widgets.detail import DetailPane
from crisiswatch.tui.widgets.event_log import EventLog
from crisiswatch.tui.widgets.headlines import Headlines

SIZE = (120, 40)


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tui_data.Built:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("CRISISWATCH_BROWSER", "0")
    monkeypatch.delenv("TMUX", raising=False)
    return tui_data.build(tmp_path / "t.db")


def rows(table: AlertsTable | Headlines) -> list[dict]:
    return [table.row_at(i) for i in range(table.row_count) if table.row_at(i) is not None]


def seen_in_db(path: Path) -> dict[str, str | None]:
    with Store.open(path) as store:
        return {a["title"]: a["seen_at"] for a in store.alerts_page(0, 1000, show_dismissed=True)}



def header_text(app: CrisiswatchApp) -> str:
    return str(app.screen.query_one("#status").render())


# -- seen / unseen ----------------------------------------------------------------------------------------------
async def test_moving_onto_an_alert_by_key_marks_it_seen_and_nothing_else_does(data: tui_data.Built) -> None:
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen = seen_in_db(data.path)
        # The fixture's pinned and dismissed alerts were acted on, so they are seen; the rest are not.
        assert seen["Roadblock lifted near Jarinje after talks with KFOR"] is not None
        assert seen["Мирно у Митровици после јучерашњих инцидената"] is not None
        unseen = [t for t, s in seen.items() if s is None]
        assert len(unseen) == 4
        assert "● 4 unseen" in header_text(app)
        # The cursor sits on row 0 at start without anybody moving it: that is not looking. Nothing can
        # announce that something did not happen, so this waits out the detail pane's delay twice over.
        await pilot.pause(2 * app.ctx.pace.detail_delay)
        await settle(pilot)
        assert sum(1 for s in seen_in_db(data.path).values() if s is None) == 4
        await pilot.press("j")
        await settle(pilot)
        title = alerts_of(app).cursor["title"]
        assert seen_in_db(data.path)[title] is not None
        assert alerts_of(app).cursor["seen_at"] is not None  # the row re-read, its ● gone
        await wait_for(pilot, lambda: "● 3 unseen" in header_text(app))
        assert not [e for e in tui_data.events_of(data.path, "alert_seen")]  # seeing one is not an event
        assert "alert_seen" not in EVENT_KINDS


async def test_a_screen_left_alone_shows_every_arrival_unseen(data: tui_data.Built) -> None:
    """Overnight: alerts arrive, the cursor follows the head of the list by itself, nothing is seen."""
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        alerts = alerts_of(app)
        alerts.focus()
        for n in range(3):
            tui_data.add_alert(data.path, data.config, key=f"night-{n}", title=f"Night alert {n} at Jarinje",
                               now=NOW + timedelta(minutes=n))
        await wait_for(pilot, lambda: alerts.row_count == 8)
        await settle(pilot)
        seen = seen_in_db(data.path)
        assert all(seen[f"Night alert {n} at Jarinje"] is None for n in range(3))
        assert "● 7 unseen" in header_text(app)
        marked = [r for r in rows(alerts) if r["title"].startswith("Night alert")]
        assert len(marked) == 3 and all(r["seen_at"] is None for r in marked)
        line = "".join(s.text for s in alerts.render_line(1))
        assert line.startswith("●")  # the marker, in the first column


async def test_enter_pin_dismiss_and_click_each_mark_seen(data: tui_data.Built) -> None:
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        alerts = alerts_of(app)
        titles = [r["title"] for r in rows(alerts) if r["seen_at"] is None]
        # Enter opens (and so sees) the row under the cursor.
        alerts.move_cursor(1)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("escape")
        assert seen_in_db(data.path)[titles[0]] is not None
        # p on an unseen row (moved there by code, not by the user) sees it too.
        alerts.move_cursor([r["title"] for r in rows(alerts)].index(titles[1]))
        await pilot.press("p")
        await settle(pilot)
        assert seen_in_db(data.path)[titles[1]] is not None
        alerts.move_cursor([r["title"] for r in rows(alerts)].index(titles[2]))
        await pilot.press("d")
        await settle(pilot)
        assert seen_in_db(data.path)[titles[2]] is not None
        index = [r["title"] for r in rows(alerts)].index(titles[3])
        await pilot.click(AlertsTable, offset=(30, 1 + index))
        await settle(pilot)
        assert seen_in_db(data.path)[titles[3]] is not None


async def test_n_and_N_jump_between_unseen_alerts_and_C_catches_up_once(data: tui_data.Built) -> None:
    app = make_app(data)
    notes = notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        alerts = alerts_of(app)
        unseen_rows = [i for i, r in enumerate(rows(alerts)) if r["seen_at"] is None]
        assert unseen_rows == [1, 2, 3, 4]
        await pilot.press("n")
        await settle(pilot)
        assert alerts.cursor_row == 1
        await pilot.press("n")
        await settle(pilot)
        assert alerts.cursor_row == 2  # 1 is seen now: n went on to the next one
        await pilot.press("N")
        await settle(pilot)
        assert alerts.cursor_row == 1 or alerts.cursor_row == 4  # nothing unseen above: wrapped to the last
        assert seen_in_db(data.path)[alerts.cursor["title"]] is not None
        await pilot.press("C")
        await settle(pilot)
        assert all(s is not None for s in seen_in_db(data.path).values())
        caught = tui_data.events_of(data.path, "caught_up")
        assert len(caught) == 1 and "marked seen" in caught[0]["detail"]
        await wait_for(pilot, lambda: "all seen" in header_text(app))
        await pilot.press("C")
        await settle(pilot)
        assert len(tui_data.events_of(data.path, "caught_up")) == 1  # nothing left: no second event
        await pilot.press("n")
        await settle(pilot)
        assert any("Nothing unseen" in message for _, message in notes)


def test_an_existing_database_is_migrated_to_seen_state(tmp_path: Path) -> None:
    """A schema-1 database (before seen_at): opened, it gains the column; acted-on alerts count as seen."""
    from crisiswatch.store.schema import MIGRATIONS

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0].split(";\n"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO feeds (name, url, config_url) VALUES ('RTS', 'http://x/', 'http://x/')")
    for n, state in enumerate(("new", "pinned", "dismissed")):
        conn.execute("INSERT INTO items (feed_id, key, title, published, fetched) VALUES (1, ?, 't', ?, ?)",
                     (f"k{n}", "2026-11-25T10:00:00Z", "2026-11-25T10:00:00Z"))
        conn.execute("INSERT INTO alerts (item_id, created, published, severity, rank, keywords, feeds, title, state, "
                     "state_changed) VALUES (?, '2026-11-25T10:00:00Z', '2026-11-25T10:00:00Z', 'high', 2, 'x', "
                     "'RTS', ?, ?, ?)", (n + 1, state, state, None if state == "new" else "2026-11-25T11:00:00Z"))
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        seen = {a["title"]: a["seen_at"] for a in store.alerts_page(0, 10, show_dismissed=True)}
        assert seen == {"new": None, "pinned": "2026-11-25T11:00:00Z", "dismissed": "2026-11-25T11:00:00Z"}
        assert store.status()["alerts_unseen"] == 1


# -- order and ages ----------------------------------------------------------------------------------------------------
async def test_alerts_are_ordered_by_the_storys_own_time_and_aged_like_the_headlines(data: tui_data.Built) -> None:
    """An old story raised now (first poll of a feed) sorts by when it was published, not when it was stored."""
    with data.store() as store:
        old = Story("Koha", "koha-old", "Ura mbi Ibër: KFOR rrit patrullat", 200, "high", ("KFOR",))
        tui_data.record(store, data.feed_ids["Koha"], [old], now=NOW, cfg=data.config)
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [r["title"] for r in rows(alerts_of(app))]
        assert titles[0] == "Roadblock lifted near Jarinje after talks with KFOR"  # pinned first
        assert titles.index("Ura mbi Ibër: KFOR rrit patrullat") == len(titles) - 1  # 200 min: the oldest
        published = [r["published"] for r in rows(alerts_of(app))[1:]]
        assert published == sorted(published, reverse=True)
        # The same story, the same age in both panes.
        for table in (alerts_of(app), headlines_of(app)):
            index = [r["title"] for r in rows(table)].index("Ura mbi Ibër: KFOR rrit patrullat")
            table.scroll_to(y=0, animate=False, immediate=True)
            await pilot.pause()
            line = "".join(s.text for s in table.render_line(index))
            assert " 3h " in f" {line} ", line


async def test_t_cycles_sort_by_severity_with_pinned_still_first(data: tui_data.Built) -> None:
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        severities = [r["severity"] for r in rows(alerts_of(app))]
        assert rows(alerts_of(app))[0]["state"] == "pinned"
        rank = {"low": 0, "medium": 1, "high": 2, "critical": 3}
        assert [rank[s] for s in severities[1:]] == sorted((rank[s] for s in severities[1:]), reverse=True)
        assert severities[1] == "critical"
        assert "by severity" in str(alerts_of(app).border_title)
        await pilot.press("t")
        await settle(pilot)
        assert rows(alerts_of(app))[1]["title"].startswith("Барикаде")


# -- search through the matcher ----------------------------------------------------------------------------------------
KEYWORDS = (
    Keyword("Ibar", aliases=("Ibër", "Ibri", "Ibra", "Ibru"), severity="high"),
    Keyword("Vučić", severity="medium"),
    Keyword("KFOR", aliases=("Kosovo Force",), severity="high"),
)
SEARCH_STORIES = (
    ("RTS", "s1", "KFOR reinforces positions on the Ibar bridge", 5),
    ("KoSSev", "s2", "Most na Ibru ponovo zatvoren", 10),
    ("RTS", "s3", "Мост на Ибру поново затворен", 15),
    ("Koha", "s4", "Ura mbi Ibër mbetet e bllokuar", 20),
    ("Koha", "s5", "Vuçiq: nuk do të ketë tërheqje", 25),
    ("RTS", "s6", "Vučić se obraća naciji večeras", 30),
    ("BIRN", "s7", "Weather: snow expected in the north", 35),
    ("BIRN", "s8", "Ibarska magistrala open again after repairs", 40),
)


@pytest.fixture
def search_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tui_data.Built:
    """Stories in four spellings of Ibar and two of Vučić, assessed by the real matcher."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    cfg = Config(None, Settings(bell=False), tui_data.FEEDS, KEYWORDS)
    matcher = Matcher.from_config(cfg)
    built = tui_data.Built(tmp_path / "s.db", cfg)
    from crisiswatch.models import FetchResult, ParsedFeed

    with Store.open(built.path) as store:
        built.feed_ids = store.sync_feeds(cfg.feeds)
        for feed, key, title, minutes in SEARCH_STORIES:
            story = Story(feed, key, title, minutes)
            item = tui_data.parsed_item(story)
            verdict = matcher.assess(title, "")
            store.record_result(built.feed_ids[feed], FetchResult(url="http://127.0.0.1:9/x", status=200, body=b""),
                                ParsedFeed("t", (item,)), [verdict if verdict.severity else None],
                                settings=cfg.settings, next_poll=NOW + timedelta(minutes=5),
                                now=NOW - timedelta(minutes=minutes))
    return built


async def search(pilot: Pilot, text: str) -> None:
    await pilot.press("slash")
    pilot.app.screen.query_one("#search", Input).value = text
    await pilot.press("enter")
    await settle(pilot)


@pytest.mark.parametrize("query", ["ibar", "Ibru", "ибар", "IBËR"])
async def test_a_keyword_in_any_spelling_finds_it_in_every_script(search_data: tui_data.Built, query: str) -> None:
    app = make_app(search_data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await search(pilot, query)
        titles = {r["title"] for r in rows(headlines_of(app))}
        assert titles == {"KFOR reinforces positions on the Ibar bridge", "Most na Ibru ponovo zatvoren",
                          "Мост на Ибру поново затворен", "Ura mbi Ibër mbetet e bllokuar"}
        assert "keyword Ibar" in str(headlines_of(app).border_title)
        # The alerts pane filters by the same search.
        alert_titles = {r["title"] for r in rows(alerts_of(app))}
        assert alert_titles and alert_titles <= titles
        assert "matching" in str(alerts_of(app).border_title)


async def test_vucic_finds_the_albanian_spelling_and_or_gives_either(search_data: tui_data.Built) -> None:
    app = make_app(search_data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await search(pilot, "vucic")
        assert {r["title"] for r in rows(headlines_of(app))} == {"Vuçiq: nuk do të ketë tërheqje",
                                                               "Vučić se obraća naciji večeras"}
        await search(pilot, "kfor OR vucic")
        assert len(rows(headlines_of(app))) == 3
        assert "OR: either side" in str(headlines_of(app).border_title)
        # Free text keeps full-text search with folded prefixes.
        await search(pilot, "magistr")
        assert [r["title"] for r in rows(headlines_of(app))] == ["Ibarska magistrala open again after repairs"]
        await search(pilot, '"snow expected"')
        assert [r["title"] for r in rows(headlines_of(app))] == ["Weather: snow expected in the north"]
        await search(pilot, '"snow expected')
        assert [r["title"] for r in rows(headlines_of(app))] == ["Weather: snow expected in the north"]
        assert "unbalanced quote" in str(headlines_of(app).border_title)
        await search(pilot, "OR snow")
        assert "OR needs a word on each side" in str(headlines_of(app).border_title)


# -- event log ---------------------------------------------------------------------------------------------------------
async def test_event_log_hides_poll_chatter_until_v_and_enter_shows_the_full_text(data: tui_data.Built) -> None:
    reason = ("story carried by 4 outlets within 1h: RTS; KoSSev; Koha; BIRN; severity raised to critical — "
              "and the rest of a reason far longer than any pane is wide, which must stay readable in full")
    with data.store() as store:
        store.add_event("poll_started", detail="polling 5 feeds", now=NOW - timedelta(seconds=30))
        store.add_event("surge", detail=reason, now=NOW - timedelta(seconds=20))
    app = make_app(data)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        log = app.screen.query_one(EventLog)
        assert log.shown and not any(e["kind"] in ("poll_started", "poll_finished") for e in log.shown)
        assert any("polled 5 feeds" in line.plain for line in log.lines)  # kept, just not shown
        assert "poll lines hidden" in str(log.border_title)
        await pilot.press("v")
        await settle(pilot)
        assert any("polled 5 feeds" in line.plain for line in log.shown_lines)
        await pilot.press("v")
        log.focus()
        await pilot.press("end")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, EventScreen)
        assert "which must stay readable in full" in " ".join(app.screen.text.split())
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, EventScreen)


# -- palette, themes, help, footer -------------------------------------------------------------------------------------
def offered(app: CrisiswatchApp) -> str:
    """The command the palette would run on enter (its highlighted option), or ""."""
    commands = app.screen.query_one(CommandList)
    if commands.highlighted is None or not commands.option_count:
        return ""
    return str(commands.get_option_at_index(commands.highlighted).prompt)


async def test_ctrl_p_offers_the_actions_and_a_theme_that_is_remembered(data: tui_data.Built) -> None:
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        commands = [c.title for c in app.get_system_commands(app.screen)]
        for wanted in ("Catch up (C)", "Next new (n)", "Poll now (r)", "Export log (e)", "Theme: nord",
                       "Theme: textual-light", "Sort (t)"):
            assert wanted in commands
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"theme: nord")
        await wait_for(pilot, lambda: offered(app).startswith("Theme: nord"))
        await pilot.press("enter")
        await settle(pilot)
        await wait_for(pilot, lambda: app.theme == "nord")
        await settle(pilot)
        with Store.open(data.path) as store:
            assert store.ui_state("theme") == "nord"
        # A palette action runs the screen's own action.
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"catch up")
        await wait_for(pilot, lambda: offered(app).startswith("Catch up"))
        await pilot.press("enter")
        await settle(pilot)
        await wait_for(pilot, lambda: len(tui_data.events_of(data.path, "caught_up")) == 1)
    again = make_app(data)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: again.theme == "nord")


@pytest.mark.parametrize("width", [80, 120, 200])
async def test_help_shows_every_line_of_every_description_and_scrolls_with_j(data: tui_data.Built,
                                                                              width: int) -> None:
    app = make_app(data)
    async with app.run_test(size=(width, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        dialog = screen.query_one("#help-dialog")
        # Every key and every description is drawn whole, in order: the grid's lines, split at the key
        # column, hold all of the words of each (a description measured at one width and drawn at another
        # loses its middle lines).
        grid = screen.query_one("#help-keys", Static)
        lines = [strip.text for strip in grid.render_lines(grid.region.reset_offset)]
        assert len(lines) == grid.region.height >= len(screen.keys)
        split = key_width(grid.region.width)
        drawn_keys = " ".join(" ".join(line[:split] for line in lines).split())
        drawn_text = " ".join(" ".join(line[split:] for line in lines).split())
        key_at = text_at = 0
        for key, description in screen.keys:
            key_at = drawn_keys.index(" ".join(key.split()), key_at)
            text_at = drawn_text.index(" ".join(description.split()), text_at)
        assert dialog.max_scroll_y > 0  # 24 rows: the keys do not fit, so it scrolls
        await pilot.press("j", "j", "j")
        await pilot.pause()
        assert dialog.scroll_y == 3
        await pilot.press("k")
        await pilot.pause()
        assert dialog.scroll_y == 2
        keys = {k for k, _ in screen.keys}
        assert {"n", "N", "C", "t", "v", "r", "e", "f", "s", "a", "u", "ctrl+p"} <= keys


async def test_the_footer_at_80_columns_shows_the_first_keys_whole(data: tui_data.Built) -> None:
    app = make_app(data)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        footer = app.screen.query_one(Footer)
        shown = {key.description: key.region for key in footer.query("FooterKey")}
        for label in ("Help", "Next new", "Pin", "Dismiss", "Search", "Open", "Quit"):
            region = shown[label]
            assert region.width > len(label) and region.right <= 80, (label, region)
        palette = footer.query_one("FooterKey.-command-palette")
        assert palette.region.right <= 80


# -- smaller things ----------------------------------------------------------------------------------------------------
async def test_o_inside_tmux_says_the_copy_may_not_arrive_and_shows_the_link(data: tui_data.Built,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMUX", "/nonexistent/tmux-socket,1,0")
    app = make_app(data)
    notes = notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        message = next(message for _, message in notes if "https://news.example/" in message)
        assert "set-clipboard on" in message and "Link copied" not in message


async def test_tab_focus_on_the_detail_pane_is_visible(data: tui_data.Built) -> None:
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.screen.query_one(DetailPane)
        before = (pane.styles.border_top, pane.styles.border_title_color)
        while app.focused is not pane:
            await pilot.press("tab")
        await pilot.pause()
        assert (pane.styles.border_top, pane.styles.border_title_color) != before


async def test_a_disabled_feed_is_off_not_failing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    feeds = tuple(Feed(f.name, f.url, enabled=f.name != "BIRN") for f in tui_data.FEEDS)
    cfg = tui_data.config(feeds=feeds)
    built = tui_data.build(tmp_path / "t.db", cfg=cfg)
    app = make_app(built)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        header = header_text(app)
        assert "3/4 ok" in header and "1 failing" in header and "(1 off)" in header


async def test_keys_typed_right_after_slash_go_into_the_search_box(data: tui_data.Built) -> None:
    """Found in tmux: `/ibar` sent at once lost "ibar" (queued on the pane before the box had focus)."""
    from textual import events

    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key, char in (("slash", "/"), ("i", "i"), ("b", "b"), ("a", "a"), ("r", "r")):
            app.post_message(events.Key(key, char))
        await wait_for(pilot, lambda: app.screen.query_one("#search", Input).value == "ibar")
        assert not alerts_of(app).show_dismissed  # "a" was text, not the show-dismissed key
        app.post_message(events.Key("slash", "/"))
        await wait_for(pilot, lambda: app.screen.query_one("#search", Input).value == "ibar/")


async def test_a_fresh_row_is_tinted_not_painted_over(data: tui_data.Built) -> None:
    """The tint is blended into the pane's background: not the solid warning colour, and every cell reads."""
    from textual.color import Color

    from crisiswatch.tui.contrast import contrast_ratio

    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tui_data.add_alert(data.path, data.config, title="Pucnjava na Jarinju, KFOR na terenu")
        alerts = alerts_of(app)
        await wait_for(pilot, lambda: alerts.row_count == 6 and bool(app.screen.fresh))
        await settle(pilot)
        warning = Color.parse(app.current_theme.warning)
        base = alerts.background_colors[1]
        segments = [s for s in alerts.render_line(1) if s.text.strip()]  # the fresh row (after the pinned one)
        backgrounds = {s.style.bgcolor.get_truecolor() for s in segments if s.style and s.style.bgcolor}
        assert backgrounds and all(bg != warning.rich_color.get_truecolor() for bg in backgrounds)
        assert all(bg != base.rich_color.get_truecolor() for bg in backgrounds)  # but visibly tinted
        for segment in app.screen.query_one(AlertsTable).render_line(1):
            style = segment.style
            if segment.text.strip() and style and style.color and style.bgcolor and not style.reverse:
                fg, bg = style.color.get_truecolor(), style.bgcolor.get_truecolor()
                # Before the contrast filter (that is the widget's own drawing): still at least 3:1.
                assert contrast_ratio(tuple(fg), tuple(bg)) >= 3.0, segment


@pytest.mark.parametrize("width", [80, 90, 100])
async def test_toasts_reach_the_right_edge(data: tui_data.Built, width: int) -> None:
    """No one-column gutter between a toast and the screen edge, where stale characters showed through."""
    app = make_app(data)
    async with app.run_test(size=(width, 24), notifications=True) as pilot:
        await settle(pilot)
        app.notify("https://news.example/a-very-long-link-that-does-not-wrap-nicely-at-all", title="Link")
        await wait_for(pilot, lambda: bool(app.screen.query("Toast")))
        await pilot.pause()
        toast = app.screen.query_one("Toast")
        assert toast.region.right == width, (toast.region, width)


async def test_the_cursor_follows_the_alert_it_pinned_or_unpinned(data: tui_data.Built) -> None:
    """After p the cursor stays on the same alert (by id), so a following d never hits another row."""
    app = make_app(data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        alerts = alerts_of(app)
        await pilot.click(AlertsTable, offset=(30, 1 + 2))  # the user puts the cursor on row 2
        await settle(pilot)
        assert alerts.cursor_row == 2
        target = alerts.cursor["id"]
        await pilot.press("p")
        await wait_for(pilot, lambda: alerts.row_at(0) is not None and alerts.row_at(0)["id"] == target)
        await settle(pilot)
        assert alerts.cursor["id"] == target and alerts.cursor["state"] == "pinned"
        # Unpinning from the head of the list: the cursor goes with the alert, wherever it now sorts.
        await pilot.press("p")
        await wait_for(pilot, lambda: alerts.row_at(0) is not None and alerts.row_at(0)["id"] != target)
        await settle(pilot)
        assert alerts.cursor["id"] == target and alerts.cursor["state"] != "pinned"
        await pilot.press("d")
        await settle(pilot)
        with data.store() as store:
            states = {a["id"]: a["state"] for a in store.alerts_page(0, 1000, show_dismissed=True)}
        assert states[target] == "dismissed"
