"""The detail of the selected alert or headline: title, feed, times, link, summary, hits highlighted."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any, ClassVar

from rich.console import Group, NewLine
from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.strip import Strip

from ...termsafe import one_line
from ..format import Highlighter, local_time
from .paged_table import BaseStyleCache, set_virtual_height


def detail_renderable(item: dict[str, Any] | None, highlighter: Highlighter, tz: tzinfo | None,
                      styles: dict[str, Any]) -> Group:
    """Everything known about one item, as inert Text (feed text is never markup).

    The fields are a two-column grid so long values (outlets, URLs) wrap inside
    their column instead of under the labels.
    """
    if item is None:
        return Group(Text("Select an alert or a headline to see it here.", style=styles.get("muted", "")))
    hit = styles.get("hit", "bold")
    title = highlighter.text(item.get("title"), hit)
    title.stylize("bold")
    title.no_wrap = False
    title.end = "\n"
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style=styles.get("label", ""), no_wrap=True)
    grid.add_column(overflow="fold")

    def field(label: str, value: str | Text | None) -> None:
        if value:
            grid.add_row(Text(label), value if isinstance(value, Text) else Text(one_line(value)))

    severity = item.get("severity")
    if severity:
        state = item.get("state") or "new"
        field("Alert", Text.assemble((severity.upper(), styles.get(severity, "")), f" · {state}"))
    field("Feed", item.get("feed"))
    if item.get("alert_feeds") and item.get("alert_feeds") != item.get("feed"):
        # Every outlet that carried the story, with the language it did (clustered across languages).
        field("Outlets", item.get("alert_outlets") or item.get("alert_feeds"))
    field("Languages", item.get("alert_languages"))
    field("Published", local_time(item.get("published"), tz, "%Y-%m-%d %H:%M %Z"))
    field("Fetched", local_time(item.get("fetched"), tz, "%Y-%m-%d %H:%M %Z"))
    if item.get("keywords"):
        field("Keywords", Text(", ".join(item["keywords_list"]), style=hit))
    if item.get("rules"):
        field("Rules", item.get("rules"))
    field("Author", item.get("author"))
    if item.get("link"):
        field("Link", Text(one_line(item["link"]), style=styles.get("link", "underline"), overflow="fold"))
    parts: list[Any] = [title, NewLine(), grid]
    summary = item.get("summary") or ""
    if summary:
        body = highlighter.text(summary, hit)
        body.no_wrap = False
        body.end = "\n"
        parts += [NewLine(), body]
    return Group(*parts)


class DetailPane(BaseStyleCache, can_focus=True):
    """A scrollable view of one item, drawn with the Line API.

    A Static in a scrolling container would need a screen layout on every
    update (its height changes), and the detail follows the cursor; here the
    text is wrapped once per update into strips and only this pane repaints.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Up", show=False),
        Binding("down,j", "scroll_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "scroll_home", "Top", show=False),
        Binding("end,G", "scroll_end", "Bottom", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "detail--hit", "detail--muted", "detail--label", "detail--link", "detail--critical", "detail--high",
        "detail--medium", "detail--low",
    }

    def __init__(self, highlighter: Highlighter, tz: tzinfo | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.highlighter = highlighter
        self.tz = tz
        self.item: dict[str, Any] | None = None
        self._shown = False
        self._strips: list[Strip] = []
        self._width = 0
        self._styles: dict[str, Any] | None = None

    def styles_map(self) -> dict[str, Any]:
        """Component styles, resolved once per stylesheet/theme change (resolving costs ~0.5 ms each)."""
        if self._styles is None:
            names = ("hit", "muted", "label", "link", "critical", "high", "medium", "low")
            self._styles = {n: self.get_component_rich_style(f"detail--{n}", partial=True) for n in names}
        return self._styles

    def show(self, item: dict[str, Any] | None) -> None:
        if item == self.item and self._shown:
            return  # the same row highlighted again after a live update: nothing to redo
        self.item = item
        self._shown = True
        self._wrap()
        self.scroll_to(y=0, animate=False, immediate=True)

    @property
    def text(self) -> str:
        """The pane's content as plain text (for tests)."""
        return "\n".join(strip.text.rstrip() for strip in self._strips)

    def _wrap(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 0:
            return
        self._width = width
        renderable = detail_renderable(self.item, self.highlighter, self.tz, self.styles_map())
        console = self.app.console
        lines = console.render_lines(renderable, console.options.update_width(width), pad=False)
        self._strips = [Strip(line).crop_extend(0, width, None) for line in lines]
        set_virtual_height(self, len(self._strips))
        self.refresh()

    def on_mount(self) -> None:
        self.call_after_refresh(self._wrap)

    def on_resize(self) -> None:
        if self.scrollable_content_region.width != self._width:
            self._wrap()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        if self.is_mounted and self._shown:
            self.call_after_refresh(self._wrap)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = int(self.scroll_y) + y
        if index >= len(self._strips):
            return Strip.blank(width, self.base_style)
        return self._strips[index].crop_extend(0, width, None).apply_style(self.base_style)
