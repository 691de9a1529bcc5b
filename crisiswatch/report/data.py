"""The report as JSON: the same sections as the Markdown and HTML, as data (``--format json``).

Times are ISO-8601 UTC (``…Z``); with a time zone each also has a ``…_local``
twin with its offset. Strings are cleaned of control characters, links are
http(s) only and without credentials (or null). The shape is versioned by
``schema`` and documented in docs/REPORT.md.
"""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from typing import Any

from .. import __version__
from ..models import iso
from .format import clean, safe_url
from .model import SCHEMA, Report, Story, TimelineEntry


def _times(out: dict[str, Any], key: str, when: datetime | None, zone: tzinfo | None) -> None:
    out[key] = iso(when)
    if zone is not None:
        out[f"{key}_local"] = when.astimezone(zone).isoformat() if when is not None else None


def _story(story: Story, zone: tzinfo | None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": story.id, "title": clean(story.title), "link": safe_url(story.link),
                           "severity": story.severity, "state": story.state}
    _times(out, "first_seen", story.first_seen, zone)
    _times(out, "last_activity", story.last_activity, zone)
    outlets = []
    for o in story.outlets:
        entry: dict[str, Any] = {"feed": clean(o.feed), "title": clean(o.title), "link": safe_url(o.link)}
        _times(entry, "seen", o.seen, zone)
        outlets.append(entry)
    out.update(outlet_count=story.outlet_count, outlets=outlets, keywords=[clean(k) for k in story.keywords],
               rules=[clean(r) for r in story.rules], surge=story.surge,
               surge_reasons=[clean(r) for r in story.surge_reasons])
    return out


def _entry(entry: TimelineEntry, zone: tzinfo | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _times(out, "time", entry.time, zone)
    out.update(kind=entry.kind, severity=entry.severity, title=clean(entry.title) or None,
               feed=clean(entry.feed) or None, link=safe_url(entry.link), detail=clean(entry.detail),
               alert_id=entry.alert_id)
    return out


def report_data(report: Report) -> dict[str, Any]:
    p = report.period
    zone = p.zone
    period: dict[str, Any] = {}
    _times(period, "since", p.since, zone)
    _times(period, "until", p.until, zone)
    period.update(hours=p.hours, timezone=p.zone_name, bin_hours=p.bin_hours,
                  bins=[iso(t) for t in p.bin_times()])
    c, h = report.coverage, report.headline
    failing = []
    for f in report.failing:
        entry: dict[str, Any] = {"feed": clean(f.feed), "status": f.status}
        _times(entry, "since", f.since, zone)
        entry["errors"] = f.errors
        _times(entry, "last_error", f.last_error, zone)
        _times(entry, "recovered", f.recovered, zone)
        entry["reason"] = clean(f.reason)
        failing.append(entry)
    out: dict[str, Any] = {"schema": SCHEMA, "generator": f"crisiswatch {__version__}"}
    _times(out, "generated", report.generated, zone)
    out.update({
        "period": period,
        "coverage": {"feeds": c.feeds, "polled": c.polled, "ok": c.ok, "failing": c.failing,
                     "poll_cycles": c.poll_cycles, "items": c.items},
        "headline": {"alerts": h.alerts, "by_severity": dict(h.by_severity), "surges": h.surges,
                     "surged_stories": h.surged_stories, "pinned": h.pinned, "dismissed": h.dismissed,
                     "outlets": h.outlets},
        "alerts_per_bin": {s: list(v) for s, v in report.alerts_per_bin.items()},
        "pinned": {"stories": [_story(s, zone) for s in report.pinned], "more": report.pinned_more},
        "top": {"stories": [_story(s, zone) for s in report.top], "more": report.top_more},
        "timeline": {"entries": [_entry(e, zone) for e in report.timeline], "omitted": dict(report.timeline_omitted)},
        "mentions": [{"keyword": clean(m.keyword), "total": m.total, "bins": list(m.bins),
                      "surged_hours": m.surged_hours} for m in report.mentions],
        "failing": failing,
    })
    return out


def render_json(report: Report) -> str:
    return json.dumps(report_data(report), ensure_ascii=False, indent=2) + "\n"


__all__ = ["render_json", "report_data"]
