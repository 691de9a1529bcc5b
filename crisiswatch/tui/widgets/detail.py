"""The detail of the selected alert or headline: title, feed, times, link, summary, hits highlighted."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from rich.console import Group
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..format import SEVERITY_LABELS, STATE_LABELS, Highlighter, local_time


def detail_renderable(item: dict[str, Any] | None, highlighter: Highlighter, tz: tzinfo | None,
                      styles: dict[str, Any]) -> Group:
    """Everything known about one item, as inert Text (feed text is never markup)."""
    if item is None:
        return Group(Text("Select an alert or a headline to see it here.", style=styles.get("muted", "")))
    hit = styles.get("hit", "bold")
    title = highlighter.text(item.get("title"), hit)
    title.stylize("bold")
    title.no_wrap = False
    lines: list[Text] = [title, Text("")]

    def field(label: str, value: str | Text | None) -> None:
        if value:
            value_text = value if isinstance(value, Text) else Text(value)
            lines.append(Text.assemble((f"{label:<11}", styles.get("label", "")), value_text))

    severity = item.get("severity")
    if severity:
        state = item.get("state") or "new"
        field("Alert", Text.assemble((SEVERITY_LABELS.get(severity, severity), styles.get(severity, "")),
                                     f" ({severity}) · {STATE_LABELS.get(state, state)} ({state})"))
    field("Feed", item.get("feed"))
    if item.get("alert_feeds") and item.get("alert_feeds") != item.get("feed"):
        field("Outlets", item.get("alert_feeds"))
    field("Published", local_time(item.get("published"), tz, "%Y-%m-%d %H:%M %Z"))
    field("Fetched", local_time(item.get("fetched"), tz, "%Y-%m-%d %H:%M %Z"))
    if item.get("keywords"):
        field("Keywords", Text(", ".join(k for k in item["keywords"].split("; ") if k), style=hit))
    if item.get("rules"):
        field("Rules", item.get("rules"))
    field("Author", item.get("author"))
    if item.get("link"):
        # URLs have no spaces: fold them at the pane edge instead of pushing them below the label.
        link = Text.assemble((f"{'Link':<11}", styles.get("label", "")), (item["link"], styles.get("link", "underline")),
                             overflow="fold")
        lines.append(link)
    summary = item.get("summary") or ""
    if summary:
        lines.append(Text(""))
        body = highlighter.text(summary, hit)
        body.no_wrap = False
        lines.append(body)
    return Group(*lines)


class DetailPane(VerticalScroll):
    """A scrollable view of one item; the dashboard feeds it the selected row."""

    COMPONENT_CLASSES = {"detail--hit", "detail--muted", "detail--label", "detail--link", "detail--critical",
                         "detail--high", "detail--medium", "detail--low"}

    def __init__(self, highlighter: Highlighter, tz: tzinfo | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.highlighter = highlighter
        self.tz = tz
        self.item: dict[str, Any] | None = None
        self._body = Static(id="detail-body")
        self._shown = False

    def compose(self):  # type: ignore[override]
        yield self._body

    def styles_map(self) -> dict[str, Any]:
        names = ("hit", "muted", "label", "link", "critical", "high", "medium", "low")
        return {n: self.get_component_rich_style(f"detail--{n}", partial=True) for n in names}

    def show(self, item: dict[str, Any] | None) -> None:
        if item == self.item and self._shown:
            return  # the same row highlighted again after a live update: nothing to redo
        self._shown = True
        self.item = item
        self._body.update(detail_renderable(item, self.highlighter, self.tz, self.styles_map()))
        self.scroll_home(animate=False)

    def on_mount(self) -> None:
        self._shown = False
        self.show(self.item)
