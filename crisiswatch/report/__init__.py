"""Situation reports: what happened in a period, from the store, as Markdown, HTML or JSON.

``build_report`` reads the store (one read snapshot) into a :class:`Report`;
``render`` turns it into text. Core code: no Textual, no network. Used by
``crisiswatch report`` and the dashboard's report key.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from .model import SCHEMA, TOP_STORIES, Report, build_report
from .period import Period, PeriodError, load_zone

if TYPE_CHECKING:
    from ..store import Store

FORMATS = ("md", "html", "json")
SUFFIXES = {"md": ".md", "html": ".html", "json": ".json"}


def render(report: Report, fmt: str) -> str:
    if fmt == "md":
        from .markdown import render_markdown

        return render_markdown(report)
    if fmt == "html":
        from .html import render_html

        return render_html(report)
    if fmt == "json":
        from .data import render_json

        return render_json(report)
    raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")


def make_report(store: Store, period: Period, *, now: datetime, top: int = TOP_STORIES) -> Report:
    """:func:`build_report` inside one read snapshot of ``store``."""
    with store.snapshot() as conn:
        return build_report(conn, period, now=now, top=top)


__all__ = ["FORMATS", "SCHEMA", "SUFFIXES", "Period", "PeriodError", "Report", "build_report", "load_zone",
           "make_report", "render"]
