"""Screens of the dashboard at 80×24 and 120×40: fixed data, fixed clock, no polling → fixed pictures.

Regenerate after an intended change with ``pytest tests/test_tui_snapshots.py --snapshot-update``
and look at the SVGs in the report before committing them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import tui_data
from pilotkit import QUICK, settle, wait_for
from textual.pilot import Pilot
from tui_data import NOW

from crisiswatch.tui.app import CrisiswatchApp


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CrisiswatchApp:
    monkeypatch.setenv("XDG_DATA_HOME", "/nonexistent/xdg")
    built = tui_data.build(tmp_path / "t.db")
    return CrisiswatchApp(built.config, built.path, poll=False, clock=lambda: NOW, pace=QUICK)


def keys_then_settle(*keys: str):
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        if keys:
            await pilot.press(*keys)
            await settle(pilot)

    return run_before


def test_main_screen_80x24(snap_compare, app: CrisiswatchApp) -> None:
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys_then_settle())


def test_main_screen_120x40(snap_compare, app: CrisiswatchApp) -> None:
    assert snap_compare(app, terminal_size=(120, 40), run_before=keys_then_settle())


def test_main_screen_with_dismissed_and_cursor_moved_120x40(snap_compare, app: CrisiswatchApp) -> None:
    assert snap_compare(app, terminal_size=(120, 40), run_before=keys_then_settle("a", "j", "j"))


def test_help_80x24(snap_compare, app: CrisiswatchApp) -> None:
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys_then_settle("question_mark"))


def test_feed_health_120x40(snap_compare, app: CrisiswatchApp) -> None:
    assert snap_compare(app, terminal_size=(120, 40), run_before=keys_then_settle("f"))


def test_detail_80x24(snap_compare, app: CrisiswatchApp) -> None:
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys_then_settle("j", "enter"))


def test_search_results_80x24(snap_compare, app: CrisiswatchApp) -> None:
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys_then_settle("slash", *"mitrovica", "enter"))


def test_no_color_80x24(snap_compare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR: severity still reads as a word, the cursor as reverse video, hits as underline."""
    monkeypatch.setenv("NO_COLOR", "1")
    built = tui_data.build(tmp_path / "t.db")
    app = CrisiswatchApp(built.config, built.path, poll=False, clock=lambda: NOW, pace=QUICK)
    assert app.no_color
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys_then_settle("j"))


def test_light_theme_120x40(snap_compare, app: CrisiswatchApp) -> None:
    async def run_before(pilot: Pilot) -> None:
        pilot.app.theme = "textual-light"
        await keys_then_settle()(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def _live(*keys: str):
    """Two alerts arrive while the dashboard runs (as the poller or another process would store them)."""
    async def run_before(pilot: Pilot) -> None:
        from crisiswatch.tui.widgets.alerts_table import AlertsTable

        app = pilot.app
        # The arrivals' toasts are in the picture; they expire after 5 s of wall clock, which a loaded
        # CI box (`pytest -n 2`, 2 cores) reached before the screenshot: keep them up for the test.
        app.NOTIFICATION_TIMEOUT = 3600
        await settle(pilot)
        tui_data.add_alert(app.db_path, app.config, title="Pucnjava na Jarinju, KFOR na terenu")
        tui_data.add_alert(app.db_path, app.config, key="live-2", title="Mitrovica: roadblock at the Ibar bridge",
                           severity="medium", feed="KoSSev")
        table = app.screen.query_one(AlertsTable)

        def arrived() -> bool:
            # Rows, fresh marks and both toasts: the second toast may be batched behind TOAST_GAP (5 s of
            # wall clock) when the watcher sees the two arrivals in separate reloads.
            return (table.row_count == 7 and len(app.screen.fresh) == 2
                    and len(app.screen.query("Toast")) == 2)

        await wait_for(pilot, arrived, timeout=20)
        await settle(pilot)
        if keys:
            await pilot.press(*keys)
            await settle(pilot)

    return run_before


def test_live_arrivals_80x24(snap_compare, app: CrisiswatchApp) -> None:
    """New alerts tinted, unseen-marked, readable; the cursor moved onto one of them."""
    assert snap_compare(app, terminal_size=(80, 24), run_before=_live("j"))


def test_live_arrivals_160x48(snap_compare, app: CrisiswatchApp) -> None:
    assert snap_compare(app, terminal_size=(160, 48), run_before=_live())


def test_live_arrivals_light_120x40(snap_compare, app: CrisiswatchApp) -> None:
    async def run_before(pilot: Pilot) -> None:
        pilot.app.theme = "textual-light"
        await _live("j")(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
