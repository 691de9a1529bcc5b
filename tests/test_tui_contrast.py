"""Every text cell on the dashboard reads (WCAG 4.5:1) in every theme the app offers, live rows included.

The dashboard is rendered with alerts that arrived while it ran (tinted as
fresh, one under the cursor), the headlines pane focused on a fresh row, and
the help screen open; each screenshot (Textual's SVG export, which is what the
terminal is sent) is read back cell by cell: the text colour of each glyph
against the background rectangle under it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import tui_data
from pilotkit import settle, wait_for
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
            yield Cell(row, col + offset, ch, contrast_ratio(_rgb(fg), _rgb(bg)), fg, bg)


def failures(svg: str, minimum: float = MIN_CONTRAST) -> list[Cell]:
    return [c for c in cells(svg) if c.ratio < minimum]


def describe(bad: list[Cell]) -> str:
    seen: dict[tuple[str, str], list[Cell]] = {}
    for cell in bad:
        seen.setdefault((cell.fg, cell.bg), []).append(cell)
    return "; ".join(f"{fg} on {bg} {group[0].ratio:.2f}:1 e.g. row {group[0].row} col {group[0].col} "
                     f"{''.join(c.text for c in group[:12])!r}" for (fg, bg), group in seen.items())


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
    await pilot.press("j")  # the cursor on a fresh, critical row
    await settle(pilot)


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tui_data.Built:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tui_data.build(tmp_path / "t.db")


async def _check(app: CrisiswatchApp, pilot: Pilot, themes: tuple[str, ...], views: tuple[str, ...],
                 problems: dict[str, str]) -> int:
    checked = 0
    for theme in themes:
        app.theme = theme
        await settle(pilot)
        for view in views:
            if view == "headlines":
                app.screen.query_one(Headlines).focus()
            elif view == "help":
                await pilot.press("question_mark")
            await settle(pilot)
            found = list(cells(app.export_screenshot()))
            checked += len(found)
            bad = [c for c in found if c.ratio < MIN_CONTRAST]
            if bad:
                problems[f"{theme}/{view}"] = describe(bad)
            if view == "help":
                await pilot.press("escape")
            app.screen.query_one(AlertsTable).focus()
            await settle(pilot)
    return checked


@pytest.mark.slow  # nineteen theme switches: ~20 s on a loaded machine
async def test_every_cell_reads_in_every_offered_theme_with_live_rows(built: tui_data.Built) -> None:
    """80x24 in all nineteen themes (cursor on a fresh row); headlines and help in the three most used."""
    app = CrisiswatchApp(built.config, built.path, poll=False, clock=lambda: NOW)
    problems: dict[str, str] = {}
    async with app.run_test(size=(80, 24)) as pilot:
        await live_dashboard(pilot, built)
        checked = await _check(app, pilot, OFFERED_THEMES, ("alerts",), problems)
        checked += await _check(app, pilot, ("textual-dark", "textual-light", "nord"), ("headlines", "help"),
                                problems)
    assert checked > 25 * 400  # really read the screens: hundreds of glyphs each
    assert not problems, problems


async def test_every_cell_reads_at_160x48_with_the_detail_pane(built: tui_data.Built) -> None:
    app = CrisiswatchApp(built.config, built.path, poll=False, clock=lambda: NOW)
    problems: dict[str, str] = {}
    async with app.run_test(size=(160, 48)) as pilot:
        await live_dashboard(pilot, built)
        checked = await _check(app, pilot, ("textual-dark", "textual-light", "nord", "solarized-light"),
                               ("alerts", "headlines"), problems)
    assert checked > 8 * 1000
    assert not problems, problems


async def test_the_check_finds_what_the_themes_alone_get_wrong(built: tui_data.Built) -> None:
    """Without the contrast filter, the light theme's warning-orange highlights fail: the check is real."""
    app = CrisiswatchApp(built.config, built.path, poll=False, clock=lambda: NOW)
    app.contrast_filter.enabled = False
    async with app.run_test(size=(120, 40)) as pilot:
        await live_dashboard(pilot, built)
        app.theme = "textual-light"
        await settle(pilot)
        bad = failures(app.export_screenshot())
    assert bad
    assert min(c.ratio for c in bad) < 2.0
