"""A table over a query too big to load: rows are fetched a page at a time.

``DataTable`` holds every row in memory and lays them all out; with 1,000,000
headlines that is seconds of work and hundreds of MB. This is a Line API
widget (like toolong's log view): the scroll range is the row count, and
``render_line`` asks for the page a visible row lives on. Pages are read on
the database thread and arrive as the result of an async worker, so scrolling
never waits on SQLite; a row not loaded yet renders as a dim placeholder for
the few milliseconds it takes. When the data changes, the old pages keep
being drawn until the new ones arrive (no flicker), and the cursor follows
the row it was on, not the index.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Self

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from ..reader import Database

PAGE = 100


@dataclass(frozen=True, slots=True)
class Column:
    """One column: a fixed ``width``, or ``width=None`` to take the remaining space."""

    key: str
    width: int | None
    min_table_width: int = 0
    """The column is dropped when the table is narrower than this."""
    justify: str = "left"


def set_virtual_height(view: ScrollView, rows: int) -> None:
    """Grow or shrink a Line API view's scroll range, without a screen layout when possible.

    Assigning ``virtual_size`` always lays out the whole screen (~20-60 ms with
    a footer full of keys on a busy machine). That is only needed when the
    scrollbar appears or disappears; otherwise updating the scrollbar is enough.
    This runs on every live update, so it matters for key latency during polls.
    """
    size = Size(view.scrollable_content_region.width, rows)
    if size == view.virtual_size:
        return
    height = view.container_size.height
    if (rows > height) != (view.virtual_size.height > height) or not view.show_vertical_scrollbar and rows > height:
        view.virtual_size = size
        return
    view.set_reactive(ScrollView.virtual_size, size)
    view._scroll_update(size)
    view.refresh()


def translucent_style(widget: Widget, component: str) -> Style:
    """A component class's partial Rich style, with a translucent background blended in.

    Rich styles carry no alpha, so ``background: $warning 15%`` on a component
    class would come out as the solid colour (fresh rows were painted solid
    orange, hiding the orange keyword highlights on them). The colour is
    composited over the widget's own background, which is what the stylesheet means.
    """
    style = widget.get_component_rich_style(component, partial=True)
    background = widget.get_component_styles(component).background
    if 0 < background.a < 1:
        style += Style(bgcolor=(widget.background_colors[1] + background).rich_color)
    return style


class BaseStyleCache(ScrollView):
    """``rich_style`` resolved once per refresh, not once per line.

    Textual computes ``rich_style`` afresh on every access by walking all the
    ancestors' styles; Line API widgets want it for every line they draw, and
    during a poll that was about a tenth of each frame. It is dropped whenever
    the widget refreshes or its styles change, so it never goes stale.
    """

    _base_style: Style | None = None

    @property
    def base_style(self) -> Style:
        style = self._base_style
        if style is None:
            style = self._base_style = self.rich_style
        return style

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False,
                recompose: bool = False) -> Self:
        self._base_style = None
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def notify_style_update(self) -> None:
        self._base_style = None
        super().notify_style_update()


class PagedTable(BaseStyleCache, can_focus=True):
    """Rows from ``fetch`` (subclass hook), rendered by ``cells`` (subclass hook)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
        Binding("enter", "select", "Detail", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "paged-table--cursor",
        "paged-table--cursor-blurred",
        "paged-table--placeholder",
        "paged-table--fresh",
        "paged-table--dim",
        "paged-table--hit",
        "paged-table--critical",
        "paged-table--high",
        "paged-table--medium",
        "paged-table--low",
        "paged-table--pinned",
        "paged-table--muted",
        "paged-table--empty",
        "paged-table--unseen",
    }

    COLUMNS: ClassVar[Sequence[Column]] = ()
    VOLATILE: ClassVar[str | None] = None
    """The key of a column whose text moves with the clock (ages): rows are rendered and cached
    without it, and just that cell is drawn over them, so a new second does not re-render the row."""
    EMPTY: ClassVar[str] = "Nothing here yet."

    cursor_row: reactive[int] = reactive(0, always_update=True, repaint=False)
    """``repaint=False``: the watcher repaints just the two rows that changed (a reactive's default
    repaint would redraw the whole pane on every key press)."""

    class Highlighted(Message):
        """The cursor moved to ``row`` (None when the table is empty)."""

        def __init__(self, table: PagedTable, row: dict[str, Any] | None) -> None:
            super().__init__()
            self.table = table
            self.row = row

        @property
        def control(self) -> PagedTable:
            return self.table

    class Selected(Highlighted):
        """Enter (or a click on the highlighted row) on ``row``."""

    class CursorMoved(Highlighted):
        """The *user* moved the cursor onto ``row`` (a key or a click), not a reload or a follow.

        Only this counts as looking at a row: the cursor that follows new arrivals
        by itself, or a list that scrolled, must leave them unseen.
        """

    class Loaded(Message):
        """A reload finished; ``row_count`` is current."""

        def __init__(self, table: PagedTable) -> None:
            super().__init__()
            self.table = table

    def __init__(self, db: Database, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.db = db
        self.row_count = 0
        self.loaded = False
        self._pages: dict[int, list[dict[str, Any]]] = {}
        self._stale: dict[int, list[dict[str, Any]]] = {}
        self._loading: set[int] = set()
        self._generation = 0
        self._cursor_key: Any = None
        self._hold_key = False
        self._styles: dict[str, Style] = {}
        self._lines: dict[Hashable, Strip] = {}
        self._static: dict[Hashable, Strip] = {}
        self._loaded_view: Hashable = None
        self._layouts: dict[int, list[tuple[Column, int]]] = {}

    # -- subclass hooks ----------------------------------------------------------------
    def fetch_count(self, store: Any) -> int:
        """Runs on the database thread."""
        raise NotImplementedError

    def fetch(self, store: Any, offset: int, limit: int) -> list[dict[str, Any]]:
        """Runs on the database thread."""
        raise NotImplementedError

    def cells(self, row: dict[str, Any], columns: Sequence[Column]) -> list[Text]:
        """One Text per column, in ``columns`` order."""
        raise NotImplementedError

    def row_style(self, row: dict[str, Any]) -> Style | None:
        """An extra style for a whole row (fresh, dismissed…)."""
        return None

    def empty_text(self) -> str:
        return self.EMPTY

    @staticmethod
    def key_of(row: dict[str, Any]) -> Any:
        return row.get("id")

    # -- data ------------------------------------------------------------------------------
    @property
    def pages_held(self) -> int:
        """Pages of rows in memory now: only what is near the view, however long the table."""
        return len(self._pages)

    @property
    def cursor(self) -> dict[str, Any] | None:
        """The row under the cursor, if loaded."""
        return self.row_at(self.cursor_row)

    def row_at(self, index: int) -> dict[str, Any] | None:
        if not 0 <= index < self.row_count:
            return None
        page, slot = divmod(index, PAGE)
        rows = self._pages.get(page)
        if rows is None:
            rows = self._stale.get(page)
        if rows is None or slot >= len(rows):
            return None
        return rows[slot]

    def reload(self, *, after_action: bool = False) -> None:
        """Re-read the count and the visible pages; keep drawing the old ones meanwhile.

        ``after_action``: the user just changed a row (pin, dismiss…), so the cursor
        stays on *its* row by key even at the head of the list (see ``_follow_cursor``).
        """
        self._hold_key = self._hold_key or after_action
        self._generation += 1
        self.run_worker(partial(self._reload, self._generation), group=f"reload-{id(self)}", exclusive=True,
                        exit_on_error=False)

    def _visible_pages(self) -> range:
        top = int(self.scroll_y)
        height = max(1, self.size.height or 40)
        first = max(0, min(top, self.cursor_row)) // PAGE
        last = (max(top + height, self.cursor_row + 1)) // PAGE
        return range(first, last + 1)

    def view_key(self) -> Hashable:
        """What selects the rows (filters, a search query): a reload under a new one always repaints."""
        return None

    async def _reload(self, generation: int) -> None:
        pages = self._visible_pages()
        view = self.view_key()

        def read(store: Any) -> tuple[int, dict[int, list[dict[str, Any]]]]:
            count = self.fetch_count(store)
            out = {}
            for page in pages:
                if page * PAGE < count or page == 0:
                    out[page] = self.fetch(store, page * PAGE, PAGE)
            return count, out

        count, fresh = await self.db.call(read)
        if generation != self._generation:
            return
        if (self.loaded and view == self._loaded_view and count == self.row_count
                and all(self._pages.get(page) == rows for page, rows in fresh.items())):
            # Nothing visible changed (a poll of unchanged feeds, or a write to another
            # table): keep the pane as drawn; a repaint would only compete with the keys.
            self._stale = {}
            self._pages = fresh
            self._loading.clear()
            self._hold_key = False
            return
        old_index = self.cursor_row
        self._loaded_view = view
        self._stale = {}
        self._pages = fresh
        self._loading.clear()
        self.row_count = count
        self.loaded = True
        self._update_virtual_size()
        self._follow_cursor(old_index, hold_key=self._hold_key)
        self._hold_key = False
        self.refresh()
        self.post_message(self.Loaded(self))
        self.post_message(self.Highlighted(self, self.cursor))

    def _follow_cursor(self, old_index: int, *, hold_key: bool = False) -> None:
        """Where the cursor and the view go when rows were added above them.

        * At the head of the list (cursor on the first row, view at the top) both
          stay there: that is where the analyst watches new rows arrive, and the
          newest row becomes the selection.
        * Otherwise the cursor stays on the *same row* (so ``d`` never hits a row
          that slid under it), and the view stays on the same rows — except that
          a view at the top stays at the top while the cursor's row is still on
          screen, so new rows remain visible.
        * After the user's own action (``hold_key``) the cursor always stays on the
          same row by key, even at the head: a pin or unpin re-sorts the very row
          the cursor is on, and the next key must still act on it.
        """
        if self.row_count == 0:
            self.set_reactive(PagedTable.cursor_row, 0)
            self._cursor_key = None
            return
        top = int(self.scroll_y)
        if old_index == 0 and top == 0 and not hold_key:
            self.set_reactive(PagedTable.cursor_row, 0)
            row = self.cursor
            self._cursor_key = self.key_of(row) if row is not None else None
            return
        new_index = None
        if self._cursor_key is not None:
            row = self.row_at(old_index)
            if row is not None and self.key_of(row) == self._cursor_key:
                new_index = old_index
            else:
                for page, rows in self._pages.items():
                    for slot, candidate in enumerate(rows):
                        if self.key_of(candidate) == self._cursor_key:
                            new_index = page * PAGE + slot
                            break
                    if new_index is not None:
                        break
        if new_index is None:
            new_index = min(old_index, self.row_count - 1)
        height = max(1, self.scrollable_content_region.height)
        if top == 0 and new_index < height:
            target = 0
        else:
            target = top + (new_index - old_index)
            target = min(max(target, new_index - height + 1), new_index)
        if target != top:
            self.scroll_to(y=max(0, target), animate=False, immediate=True)
        self.set_reactive(PagedTable.cursor_row, new_index)
        row = self.cursor
        self._cursor_key = self.key_of(row) if row is not None else None

    def _request(self, page: int) -> None:
        if page in self._pages or page in self._loading or page * PAGE >= self.row_count:
            return
        self._loading.add(page)
        self.run_worker(partial(self._load, page, self._generation), group=f"page-{id(self)}", exit_on_error=False)

    async def _load(self, page: int, generation: int) -> None:
        rows = await self.db.call(self.fetch, page * PAGE, PAGE)
        if generation != self._generation:
            return
        self._loading.discard(page)
        self._pages[page] = rows
        self._stale.pop(page, None)
        self.refresh()
        if page * PAGE <= self.cursor_row < (page + 1) * PAGE:
            row = self.cursor
            self._cursor_key = self.key_of(row) if row is not None else None
            self.post_message(self.Highlighted(self, row))

    def _update_virtual_size(self) -> None:
        set_virtual_height(self, self.row_count)

    # -- layout & rendering ------------------------------------------------------------------
    def on_resize(self, event: events.Resize) -> None:
        self._update_virtual_size()
        if self.loaded:
            for page in self._visible_pages():
                self._request(page)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._lines.clear()
        self._static.clear()
        self._layouts.clear()

    def style_for(self, name: str) -> Style:
        """A component class's style, cached until the CSS or theme changes."""
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = translucent_style(self, f"paged-table--{name}")
        return style

    def column_layout(self, width: int) -> list[tuple[Column, int]]:
        """Column widths for a table this wide (the flexible column takes the rest); cached per width."""
        cached = self._layouts.get(width)
        if cached is None:
            columns = [c for c in self.COLUMNS if width >= c.min_table_width]
            fixed = sum(c.width or 0 for c in columns) + max(0, len(columns) - 1)
            flex = max(8, width - fixed)
            cached = self._layouts[width] = [(c, c.width if c.width is not None else flex) for c in columns]
        return cached

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.base_style
        index = int(self.scroll_y) + y
        if self.row_count == 0:
            if y == 0 and self.loaded:
                text = Text(f" {self.empty_text()}", style=self.style_for("empty"), no_wrap=True, end="")
                return Strip(text.render(self.app.console)).crop_extend(0, width, base).apply_style(base)
            return Strip.blank(width, base)
        if index >= self.row_count:
            return Strip.blank(width, base)
        is_cursor = index == self.cursor_row
        page = index // PAGE
        row = self.row_at(index)
        if page not in self._pages:
            self._request(page)
        # Read ahead the neighbouring page in the direction the view is nearest to, so
        # paging and scrolling find their rows already loaded.
        if index % PAGE >= PAGE // 2:
            self._request(page + 1)
        elif page:
            self._request(page - 1)
        if row is None:
            text = Text(" …", style=self.style_for("placeholder"), no_wrap=True, end="")
            strip = Strip(text.render(self.app.console)).crop_extend(0, width, base)
            return strip.apply_style(base)
        # Rendered lines are cached by content, not position: after a reload most rows
        # are the same rows shifted, and re-rendering 80 lines per refresh during a busy
        # poll is what would make keys wait.
        key = (self.line_key(row), width, is_cursor, self.has_focus if is_cursor else None)
        cached = self._lines.get(key)
        if cached is not None:
            return cached
        strip = self._compose_row(row, width, is_cursor, base)
        if len(self._lines) > 2000:
            self._lines.clear()
        self._lines[key] = strip
        return strip

    def line_key(self, row: dict[str, Any]) -> Hashable:
        """Everything a rendered row depends on; subclasses add time-dependent parts (ages)."""
        return tuple(row.values())

    def static_key(self, row: dict[str, Any]) -> Hashable:
        """Everything a row depends on except the ``VOLATILE`` column."""
        return self.line_key(row)

    def _compose_row(self, row: dict[str, Any], width: int, is_cursor: bool, base: Style) -> Strip:
        """The row from its cached clock-independent part, with the ``VOLATILE`` cell drawn in."""
        slot = None
        if self.VOLATILE is not None:
            x = 0
            for column, col_width in self.column_layout(width):
                if column.key == self.VOLATILE:
                    slot = (x, col_width, column)
                    break
                x += col_width + 1
        if slot is None or slot[0] + slot[1] > width:
            return self._render_row(row, width, is_cursor, base)
        key = (self.static_key(row), width, is_cursor, self.has_focus if is_cursor else None)
        static = self._static.get(key)
        if static is None:
            static = self._render_row(row, width, is_cursor, base, blank=self.VOLATILE)
            if len(self._static) > 2000:
                self._static.clear()
            self._static[key] = static
        x, col_width, column = slot
        cell = self._fit(self.cells(row, [column])[0], column, col_width)
        self._style_row(cell, row, is_cursor)
        piece = Strip(cell.render(self.app.console), col_width).apply_style(base)
        return Strip.join([static.crop(0, x), piece, static.crop(x + col_width, width)])

    @staticmethod
    def _fit(cell: Text, column: Column, col_width: int) -> Text:
        cell.truncate(col_width, overflow="ellipsis", pad=True)
        if column.justify == "right" and cell.cell_len < col_width:
            cell.pad_left(col_width - cell.cell_len)
        return cell

    def _style_row(self, line: Text, row: dict[str, Any], is_cursor: bool) -> None:
        extra = self.row_style(row)
        if extra is not None:
            line.stylize_before(extra)
        if is_cursor:
            line.stylize(self.style_for("cursor" if self.has_focus else "cursor-blurred"))

    def _render_row(self, row: dict[str, Any], width: int, is_cursor: bool, base: Style,
                    blank: str | None = None) -> Strip:
        columns = self.column_layout(width)
        line = Text(no_wrap=True, end="")
        for n, ((column, col_width), cell) in enumerate(zip(columns, self.cells(row, [c for c, _ in columns]),
                                                             strict=True)):
            if n:
                line.append(" ")
            line.append_text(self._fit(Text("") if column.key == blank else cell, column, col_width))
        # Exactly the pane's width, so the cursor bar reaches the edge and the Strip needs no cropping.
        line.truncate(width, overflow="crop", pad=True)
        self._style_row(line, row, is_cursor)
        return Strip(line.render(self.app.console), width).apply_style(base)

    # -- cursor --------------------------------------------------------------------------------
    def watch_cursor_row(self, old: int, new: int) -> None:
        row = self.cursor
        self._cursor_key = self.key_of(row) if row is not None else None
        top = int(self.scroll_y)
        self._scroll_cursor_into_view()
        if int(self.scroll_y) == top:
            # Only the two rows that changed: a key press repaints 2 lines, not the pane.
            self.refresh_line(old)
            self.refresh_line(new)
        else:
            self.refresh()
        self.post_message(self.Highlighted(self, row))

    def _scroll_cursor_into_view(self) -> None:
        height = self.scrollable_content_region.height
        if height <= 0:
            return
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + height:
            self.scroll_to(y=self.cursor_row - height + 1, animate=False, immediate=True)

    def move_cursor(self, index: int) -> None:
        if self.row_count:
            self.cursor_row = max(0, min(self.row_count - 1, index))

    def user_move(self, index: int) -> None:
        """Move the cursor for the user (keys, clicks): tells the screen with ``CursorMoved``."""
        self.move_cursor(index)
        if self.row_count:
            self.run_worker(partial(self._moved, self.cursor_row), group=f"moved-{id(self)}", exclusive=True,
                            exit_on_error=False)

    async def _moved(self, index: int) -> None:
        row = await self.wait_for_row(index)
        if row is not None and index == self.cursor_row:
            self.post_message(self.CursorMoved(self, row))

    async def wait_for_row(self, index: int, timeout: float = 2.0) -> dict[str, Any] | None:
        """The row at ``index`` once its page has arrived (a jump far down may need a read)."""
        row = self.row_at(index)
        if row is None and 0 <= index < self.row_count:
            self._request(index // PAGE)
            deadline = time.monotonic() + timeout
            while row is None and time.monotonic() < deadline and index < self.row_count:
                await asyncio.sleep(0.01)
                row = self.row_at(index)
        return row

    def action_cursor_up(self) -> None:
        self.user_move(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.user_move(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.user_move(self.cursor_row - max(1, self.scrollable_content_region.height - 1))

    def action_page_down(self) -> None:
        self.user_move(self.cursor_row + max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self.user_move(0)

    def action_last(self) -> None:
        self.user_move(self.row_count - 1)

    def action_select(self) -> None:
        row = self.cursor
        if row is not None:
            self.post_message(self.Selected(self, row))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return  # the border (pane title) or the scrollbar
        index = int(self.scroll_y) + offset.y
        if 0 <= index < self.row_count:
            if index == self.cursor_row and event.chain >= 2:
                self.action_select()
            self.user_move(index)

    def on_focus(self) -> None:
        self.refresh()
        self.post_message(self.Highlighted(self, self.cursor))

    def on_blur(self) -> None:
        self.refresh()

    def refresh_rows(self) -> None:
        """Redraw (e.g. the ages) without re-reading."""
        self._lines.clear()
        self._static.clear()
        self.refresh()

    def visible_region(self) -> Region:
        return Region(0, int(self.scroll_y), self.size.width, self.size.height)
