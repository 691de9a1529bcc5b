"""Two small inline SVG charts for the HTML report, written by hand: no library, no browser, no script.

Every bar carries its figures as ``data-*`` attributes and a ``<title>`` (the
tooltip), so the charts can be checked by parsing the HTML, and a printed copy
loses nothing a screen shows. Text inside the SVG is escaped like the rest of
the page (keyword names come from the config, which is not trusted either).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from html import escape

from .model import SEVERITY_ORDER

COLOURS = {"critical": "#a50f15", "high": "#e6550d", "medium": "#f2b134", "low": "#8fb3d9"}
"""Severity colours; kept apart in lightness too, so a greyscale print still separates them."""
MAX_KEYWORDS = 20


def _nice(top: int) -> int:
    """The axis maximum: the data's maximum rounded up to 1, 2, 4, 6 or 8 × a power of ten (even, so the
    middle grid line is a whole number)."""
    if top <= 1:
        return 1
    if top == 2:
        return 2
    magnitude = 1
    while magnitude * 10 < top:
        magnitude *= 10
    for step in (1, 2, 4, 6, 8, 10):
        if step * magnitude >= top:
            return step * magnitude
    return 10 * magnitude


def _label(when: datetime, zone: tzinfo | None, bin_hours: int) -> str:
    here = when.astimezone(zone) if zone is not None else when
    return here.strftime("%d %b" if bin_hours >= 24 else "%H:%M")


def alerts_chart(per_bin: dict[str, list[int]], times: list[datetime], *, bin_hours: int,
                 zone: tzinfo | None) -> str:
    """Alerts per bin, stacked by severity (low at the bottom, critical on top)."""
    bins = len(times)
    width, height = 760, 220
    left, right, top, bottom = 44, 10, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(per_bin[s][i] for s in SEVERITY_ORDER) for i in range(bins)]
    axis = _nice(max(totals, default=0))
    bar_w = plot_w / max(bins, 1)
    where = "local" if zone is not None else "UTC"
    parts = [f'<svg class="chart" id="chart-alerts" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Alerts per {bin_hours} h, stacked by severity" xmlns="http://www.w3.org/2000/svg">']
    for frac in (0, 0.5, 1) if axis > 1 else (0, 1):
        y = top + plot_h * (1 - frac)
        value = axis * frac
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')
    for i in range(bins):
        x = left + i * bar_w
        base = top + plot_h
        for severity in reversed(SEVERITY_ORDER):  # low first, at the bottom
            count = per_bin[severity][i]
            if not count:
                continue
            h = plot_h * count / axis
            base -= h
            label = f"{_label(times[i], zone, bin_hours)} {where}: {count} {severity}"
            parts.append(f'<rect class="bar sev-{severity}" data-bin="{i}" data-severity="{severity}" '
                         f'data-count="{count}" x="{x + 0.5:.1f}" y="{base:.1f}" width="{max(bar_w - 1, 0.5):.1f}" '
                         f'height="{h:.1f}" fill="{COLOURS[severity]}"><title>{escape(label)}</title></rect>')
    step = max(1, -(-bins // 12))
    for i in range(0, bins, step):
        x = left + i * bar_w
        parts.append(f'<text class="axis" x="{x:.1f}" y="{height - bottom + 16}">'
                     f'{escape(_label(times[i], zone, bin_hours))}</text>')
    legend_x = left
    for severity in SEVERITY_ORDER:
        parts.append(f'<rect x="{legend_x}" y="{height - 12}" width="10" height="10" fill="{COLOURS[severity]}"/>'
                     f'<text class="axis" x="{legend_x + 14}" y="{height - 3}">{severity}</text>')
        legend_x += 90
    parts.append(f'<text class="axis" x="{width - right}" y="{height - 3}" text-anchor="end">'
                 f'times {escape(where if zone is None else str(zone))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def mentions_chart(mentions: list[tuple[str, int]]) -> str:
    """Mentions per keyword as horizontal bars, the most mentioned first (at most MAX_KEYWORDS)."""
    rows = mentions[:MAX_KEYWORDS]
    row_h, label_w, width = 22, 170, 760
    height = row_h * max(len(rows), 1) + 8
    top = max((n for _, n in rows), default=0) or 1
    bar_room = width - label_w - 60
    parts = [f'<svg class="chart" id="chart-mentions" viewBox="0 0 {width} {height}" role="img" '
             'aria-label="Mentions per keyword" xmlns="http://www.w3.org/2000/svg">']
    for i, (keyword, count) in enumerate(rows):
        y = 4 + i * row_h
        w = bar_room * count / top
        name = escape(keyword)
        parts.append(f'<g class="kw" data-keyword="{name}" data-count="{count}">'
                     f'<text class="label" x="{label_w - 8}" y="{y + 15}" text-anchor="end">{name}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row_h - 6}" fill="#3d6fa8">'
                     f'<title>{name}: {count}</title></rect>'
                     f'<text class="axis" x="{label_w + max(w, 1) + 6:.1f}" y="{y + 15}">{count}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


__all__ = ["COLOURS", "alerts_chart", "mentions_chart"]
