"""Every text cell on the dashboard reads (WCAG 4.5:1) in every theme the app offers, live rows included.

The dashboard is rendered with alerts that arrived while it ran (tinted as
fresh, one under the cursor), the headlines pane focused on a fresh row, and
the help screen open; each screenshot (Textual's SVG export, which is what the
terminal is sent) is read back cell by cell: the text colour of each glyph
against the background rectangle under it.

One app is started per size and switched from theme to theme, as a user does
from the command palette; every alerts and headlines screenshot is also checked
to show the live rows with the fresh tint of the theme it was taken in, so a
switch that lost the tint (or the rows) would fail rather than pass on an
easier screen.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import tui_data
from pilotkit import QUICK, settle, wait_for
from rich.style import Style
from textual.pilot import Pilot
from tui_data import NOW

from crisiswatch.tui.app import CrisiswatchApp
from crisiswatch.tui.contrast import MIN_CONTRAST, contrast_ratio
from crisiswatch.tui.themes import OFFERED_THEMES
from crisiswatch.tui.widgets.alerts_table import AlertsTable
from crisiswatch.tui.widgets.headlines import Headlines

CELL_W = 12.2
LINE_H = 24.4

_CLASS = re.compile(r"\.(terminal-\d+-r\d+) \{ fill: (#[0-9a-f]{6})")
_RECT = re.compile(r'<rect fill="(#[0-9a-f]{6})" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="[\d.]+" '
                   r'shape-rendering="crispEdges"/>')
_TEXT = re.compile(r'<text class="(terminal-\d+-r\d+)" x="([\d.]+)" y="([\d.]+)" textLength="([\d.]+)"[^>]*>'
                   r"([^<]*)</text>")


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def _graphic(ch: str) -> bool:
    """Box drawing, block elements, braille and the like draw lines, not text."""
    return ch.isspace() or 0x2500 <= ord(ch) <= 0x259F or 0x2800 <= ord(ch) <= 0x28FF


@dataclass(frozen=True)
class Cell:
    row: int
    col: int
    text: str
    ratio: float
    fg: str
    bg: str


@cache
def _ratio(fg: str, bg: str) -> float:
    """A screenshot has a few dozen colour pairs and thousands of glyphs: each pair is computed once."""
    return contrast_ratio(_rgb(fg), _rgb(bg))


def cells(svg: str) -> Iterator[Cell]:
    """Every text glyph of a Rich/Textual SVG screenshot with its contrast ratio."""
    fills = dict(_CLASS.findall(svg))
    background: dict[tuple[int, int], str] = {}
    for fill, x, y, width in _RECT.findall(svg):
        row = round((float(y) - 1.5) / LINE_H)
        first = round(float(x) / CELL_W)
        for col in range(first, first + round(float(width) / CELL_W)):
            background[row, col] = fill
    for cls, x, y, _length, raw in _TEXT.findall(svg):
        text = raw.replace("&#160;", " ").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") \
            .replace("&quot;", '"').replace("&#x27;", "'")
        row = round((float(y) - 20) / LINE_H)
        col = round(float(x) / CELL_W)
        fg = fills.get(cls)
        if fg is None:
            continue
        for offset, ch in enumerate(text):
            if _graphic(ch):
                continue
            bg = background.get((row, col + offset))
            if bg is None:
                continue
            yield Cell(row, col + offset, ch, _ratio(fg, bg), fg, bg)


def failures(found: list[Cell], minimum: float = MIN_CONTRAST) -> list[Cell]:
    return [c for c in found if c.ratio < minimum]


def describe(bad: list[Cell]) -> str:
    seen: dict[tuple[str, str], list[Cell]] = {}
    for cell in bad:
        seen.setdefault((cell.fg, cell.bg), []).append(cell)
    return "; ".join(f"{fg} on {bg} {group[0].ratio:.2f}:1 e.g. row {group[0].row} col {group[0].col} "
                     f"{''.join(c.text for c in group[:12])!r}" for (fg, bg), group in seen.items())


def backgrounds_under(found: list[Cell], needle: str) -> list[set[str]]:
    """For each screen row showing ``needle``, the background colours under its glyphs."""
    rows: dict[int, dict[int, Cell]] = {}
    for cell in found:
        rows.setdefault(cell.row, {})[cell.col] = cell
    out = []
    for by_col in rows.values():
        first = min(by_col)
        line = "".join(by_col[c].text if c in by_col else " " for c in range(first, max(by_col) + 1))
        at = line.find(needle)
        while at >= 0:
            out.append({by_col[first + at + i].bg for i, ch in enumerate(needle) if ch != " "})
            at = line.find(needle, at + 1)
    return out


LIVE = ("Pucnjava na Jarinju", "roadblock at the Ibar")
"""Parts of the two live titles that fit in the narrowest title column."""
OLD = "KFOR pojačao patrole"
"""An alert from before the app started: never tinted."""


def _hex(style: Style) -> str:
    assert style.bgcolor is not None and style.bgcolor.triplet is not None
    return style.bgcolor.triplet.hex


def assert_live_rows_tinted(app: CrisiswatchApp, found: list[Cell], where: str) -> str:
    """In both panes, both live rows are on screen in the fresh tint of the current theme (or under a cursor).

    A theme switch must keep what is fresh, and repaint it in the new theme's tint:
    the contrast check is only worth as much as the screen it reads. Returns the
    alerts pane's tint, so a caller can see that it changes with the theme.
    """
    screen = app.screen
    tints: list[str] = []
    assert len(screen.fresh) == 2, f"{where}: the theme switch changed what is fresh: {screen.fresh}"
    for table in (screen.query_one(AlertsTable), screen.query_one(Headlines)):
        tint = _hex(table.style_for("fresh"))
        tints.append(tint)
        cursors = {_hex(table.style_for("cursor")), _hex(table.style_for("cursor-blurred"))}
        assert tint not in cursors
        region = table.region
        inside = [c for c in found if region.contains(c.col, c.row)]
        pane = f"{where}, {table.id}"
        tinted = 0
        for needle in LIVE:
            shown = backgrounds_under(inside, needle)
            assert len(shown) == 1, f"{pane}: {needle!r} shown {len(shown)} times"
            (bgs,) = shown
            assert bgs in ({tint}, *({c} for c in cursors)), f"{pane}: {needle!r} on {bgs}, not the tint {tint}"
            tinted += bgs == {tint}
        assert tinted, f"{pane}: no live row in the fresh tint {tint}"
        old = backgrounds_under(inside, OLD)
        assert len(old) == 1 and tint not in old[0], f"{pane}: an old row in the fresh tint {tint}: {old}"
    return tints[0]


async def live_dashboard(pilot: Pilot, built: tui_data.Built) -> None:
    """Two alerts arrive while the dashboard runs; the cursor rests on one of them."""
    app = pilot.app
    await settle(pilot)
    tui_data.add_alert(built.path, built.config, title="Pucnjava na Jarinju, KFOR na terenu")
    tui_data.add_alert(built.path, built.config, key="live-2", title="Mitrovica: roadblock at the Ibar bridge",
                       severity="medium", feed="KoSSev")
    alerts = app.screen.query_one(AlertsTable)
    await wait_for(pilot, lambda: alerts.row_count == 7 and len(app.screen.fresh) == 2)
    await settle(pilot)
    await pilot.press("j")  # the cursor on a fresh row (the pinned alert sorts first)
    await settle(pilot)


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tui_data.Built:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tui_data.build(tmp_path / "t.db")


MOST_USED = ("textual-dark", "textual-light", "nord")


async def _check(app: CrisiswatchApp, pilot: Pilot, themes: dict[str, tuple[str, ...]],
                 problems: dict[str, str], tints: dict[str, str] | None = None) -> int:
    """Switch to each theme in turn and read every cell of each of its views; returns the cells read.

    ``tints`` collects each theme's fresh-row tint as seen on its screenshots.
    """
    checked = 0
    tints = {} if tints is None else tints
    for theme, views in themes.items():
        app.theme = theme
        await settle(pilot)
        assert app.theme == theme
        for view in views:
            if view == "headlines":
                app.screen.query_one(Headlines).focus()
                await settle(pilot)
            elif view == "help":
                await pilot.press("question_mark")
                await settle(pilot)
            found = list(cells(app.export_screenshot()))
            checked += len(found)
            if view != "help":  # the help screen covers the tables
                tints[theme] = assert_live_rows_tinted(app, found, f"{theme}/{view}")
            bad = failures(found)
            if bad:
                problems[f"{theme}/{view}"] = describe(bad)
            if view == "help":
                await pilot.press("escape")
            if view != "alerts":
                app.screen.query_one(AlertsTable).focus()
                await settle(pilot)
    return checked


@pytest.mark.slow  # nineteen theme switches in one app: ~5 s of CPU
async def test_every_cell_reads_in_every_offered_theme_with_live_rows(built: tui_data.Built) -> None:
    """80x24 in all nineteen themes (cursor on a fresh row); headlines and help in the three most used."""
    app = CrisiswatchApp(built.config, built.path, poll=False, clock=lambda: NOW, pace=QUICK)
    problems: dict[str, str] = {}
    tints: dict[str, str] = {}
    themes = {theme: ("alerts", "headlines", "help") if theme in MOST_USED else ("alerts",)
              for theme in OFFERED_THEMES}
    assert set(MOST_USED) <= set(themes) and len(themes) == 19
    async with app.run_test(size=(80, 24)) as pilot:
        await live_dashboard(pilot, built)
        checked = await _check(app, pilot, themes, problems, tints)
    assert checked > 25 * 400  # really read the screens: hundreds of glyphs each
    # Each theme's screenshots carried its own tint, not one left over from the theme before.
    assert len(set(tints.values())) == len(OFFERED_THEMES), tints
    assert not problems, problems


async def test_every_cell_reads_at_160x48_with_the_detail_pane(built: tui_data.Built) -> None:
    app = CrisiswatchApp(built.config, built.path, poll=False, clock=lambda: NOW, pace=QUICK)
    problems: dict[str, str] = {}
    async with app.run_test(size=(160, 48)) as pilot:
        await live_dashboard(pilot, built)
        checked = await _check(app, pilot, dict.fromkeys(("textual-dark", "textual-light", "nord", "solarized-light"),
                                                         ("alerts", "headlines")), problems)
    assert checked > 8 * 1000
    assert not problems, problems


async def test_the_check_finds_what_the_themes_alone_get_wrong(built: tui_data.Built) -> None:
    """Without the contrast filter, the light theme's warning-orange highlights fail: the check is real."""
    app = CrisiswatchApp(built.config, built.path, poll=False, clock=lambda: NOW, pace=QUICK)
    app.contrast_filter.enabled = False
    async with app.run_test(size=(120, 40)) as pilot:
        await live_dashboard(pilot, built)
        app.theme = "textual-light"
        await settle(pilot)
        found = list(cells(app.export_screenshot()))
        assert_live_rows_tinted(app, found, "textual-light, unfiltered")  # the same screen the sweep reads
        bad = failures(found)
    assert bad
    assert min(c.ratio for c in bad) < 2.0
