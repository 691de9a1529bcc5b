"""The report as data: what :func:`build_report` reads from the store, before any rendering.

One :class:`Report` feeds every renderer (Markdown, HTML, JSON), so the three
formats always say the same thing. Strings are kept exactly as stored (titles in
their original script); escaping is the renderers' job. Every list has a fixed
order, so two reports of the same database diff cleanly.
"""

from __future__ import annotations

import heapq
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..models import SEVERITIES, from_iso, iso
from ..store import lists
from ..store import report_queries as queries
from .period import Period

SCHEMA = "crisiswatch-report/1"
"""Named in the JSON and the HTML; bumped when a section changes shape."""
TOP_STORIES = 20
PINNED_LIMIT = 100
TIMELINE_NEW_ALERTS = 300
"""At most this many new-alert lines in the timeline; the weakest severities are left out first."""
TIMELINE_LIMIT = 1000
SEVERITY_ORDER = tuple(reversed(SEVERITIES))
"""critical, high, medium, low: how severities are listed everywhere in a report."""


@dataclass(slots=True)
class Coverage:
    feeds: int
    """Feeds in the config."""
    polled: int
    """Configured feeds fetched at least once since the period began."""
    ok: int
    """Polled and not failing at the end of the period."""
    failing: int
    """Failing (or gone) at the end of the period."""
    poll_cycles: int
    items: int
    """Items published in the period."""


@dataclass(slots=True)
class Headline:
    alerts: int
    by_severity: dict[str, int]
    surges: int
    surged_stories: int
    pinned: int
    dismissed: int
    outlets: int


@dataclass(slots=True)
class Outlet:
    feed: str
    title: str
    link: str | None
    seen: datetime


@dataclass(slots=True)
class Story:
    id: int
    title: str
    link: str | None
    severity: str
    state: str
    first_seen: datetime
    last_activity: datetime
    outlet_count: int
    outlets: list[Outlet]
    keywords: list[str]
    rules: list[str]
    surge: bool
    surge_reasons: list[str]


@dataclass(slots=True)
class TimelineEntry:
    time: datetime
    kind: str
    """alert_new, surge, alert_pinned, alert_unpinned, alert_dismissed, alert_restored,
    feed_down, feed_gone, feed_recovered."""
    severity: str | None = None
    title: str | None = None
    feed: str | None = None
    link: str | None = None
    detail: str = ""
    alert_id: int | None = None


@dataclass(slots=True)
class KeywordMentions:
    keyword: str
    total: int
    bins: list[int]
    surged_hours: int


@dataclass(slots=True)
class FailingFeed:
    feed: str
    status: str
    """failing, gone (at the end of the period) or recovered (failed during it, fine at its end)."""
    since: datetime | None
    """When the current run of failures began (failing/gone)."""
    errors: int
    """Failed fetches within the period."""
    reason: str
    last_error: datetime | None
    recovered: datetime | None = None


@dataclass(slots=True)
class Report:
    generated: datetime
    period: Period
    coverage: Coverage
    headline: Headline
    alerts_per_bin: dict[str, list[int]]
    pinned: list[Story]
    pinned_more: int
    top: list[Story]
    top_more: int
    timeline: list[TimelineEntry]
    timeline_omitted: dict[str, int] = field(default_factory=dict)
    """How many new alerts of each severity the timeline leaves out (see TIMELINE_NEW_ALERTS)."""
    mentions: list[KeywordMentions] = field(default_factory=list)
    failing: list[FailingFeed] = field(default_factory=list)


def _when(value: str | None) -> datetime:
    return from_iso(value) or datetime.min.replace(tzinfo=UTC)


def _severity_of(detail: str) -> str | None:
    head = detail.removeprefix("severity ").split(";", 1)[0].strip()
    return head if detail.startswith("severity ") and head in SEVERITIES else None


@dataclass(slots=True)
class _FeedState:
    failing: bool = False
    gone: bool = False
    streak_start: datetime | None = None
    reason: str = ""
    last_error: datetime | None = None
    errors: int = 0
    recovered: datetime | None = None


def _feed_states(conn: sqlite3.Connection, period: Period, names: dict[int, str],
                 ) -> tuple[dict[int, _FeedState], list[TimelineEntry]]:
    """Walk every feed-state event up to the end of the period: each feed's state then, and its changes in it."""
    since = iso(period.since) or ""
    states: dict[int, _FeedState] = defaultdict(_FeedState)
    changes: list[TimelineEntry] = []
    for _id, time, feed_id, kind, detail in queries.feed_state_events(conn, iso(period.until) or ""):
        state = states[feed_id]
        when = _when(time)
        inside = time >= since
        if kind in ("fetch_error", "feed_gone"):
            if inside:
                state.errors += 1
            if not state.failing:
                state.streak_start = when
                if inside:
                    changes.append(TimelineEntry(when, "feed_down" if kind == "fetch_error" else "feed_gone",
                                                 feed=names.get(feed_id), detail=detail))
            elif kind == "feed_gone" and not state.gone and inside:
                changes.append(TimelineEntry(when, "feed_gone", feed=names.get(feed_id), detail=detail))
            state.failing = True
            state.gone = state.gone or kind == "feed_gone"
            state.reason = detail
            state.last_error = when
        else:
            if state.failing and inside:
                changes.append(TimelineEntry(when, "feed_recovered", feed=names.get(feed_id), detail=detail))
                state.recovered = when
            state.failing = state.gone = False
            state.streak_start = None
    return states, changes


def _stories(conn: sqlite3.Connection, rows: list[dict], until: str) -> list[Story]:
    ids = [r["id"] for r in rows]
    outlets: dict[int, list[Outlet]] = defaultdict(list)
    seen_feeds: dict[int, set[str]] = defaultdict(set)
    for item in queries.story_items(conn, ids, until):
        if item["feed"] in seen_feeds[item["alert_id"]]:
            continue  # one line per outlet: its first item of the story
        seen_feeds[item["alert_id"]].add(item["feed"])
        outlets[item["alert_id"]].append(Outlet(item["feed"], item["title"], item["link"], _when(item["fetched"])))
    reasons: dict[int, list[str]] = defaultdict(list)
    for event in queries.surge_reasons(conn, ids, until):
        reasons[event["alert_id"]].append(event["detail"])
    return [Story(id=r["id"], title=r["title"], link=r["link"], severity=r["severity"], state=r["state"],
                  first_seen=_when(r["created"]), last_activity=_when(r["last"]),
                  outlet_count=max(r["feed_count"], len(outlets[r["id"]])), outlets=outlets[r["id"]],
                  keywords=lists.split(r["keywords"]), rules=lists.split(r["rules"]), surge=bool(r["surge"]),
                  surge_reasons=reasons[r["id"]]) for r in rows]


def _timeline(conn: sqlite3.Connection, period: Period, feed_changes: list[TimelineEntry],
              ) -> tuple[list[TimelineEntry], dict[str, int]]:
    since, until = iso(period.since) or "", iso(period.until) or ""
    counts = queries.new_alert_counts(conn, since, until)
    min_rank = len(SEVERITIES) - 1
    for rank in range(len(SEVERITIES)):
        if sum(n for r, n in counts.items() if r >= rank) <= TIMELINE_NEW_ALERTS:
            min_rank = rank
            break
    omitted = {SEVERITIES[r]: n for r, n in sorted(counts.items(), reverse=True) if r < min_rank and n}
    entries: list[tuple[datetime, int, TimelineEntry]] = []
    new_alerts = 0
    for e in queries.story_events(conn, since, until, min_new_rank=min_rank,
                                  limit=TIMELINE_LIMIT + TIMELINE_NEW_ALERTS):
        severity = None
        if e["kind"] == "alert_new":
            new_alerts += 1
            if new_alerts > TIMELINE_NEW_ALERTS:  # more critical alerts than lines: keep the first ones
                omitted[SEVERITIES[min_rank]] = omitted.get(SEVERITIES[min_rank], 0) + 1
                continue
            severity = _severity_of(e["detail"])
        entries.append((_when(e["time"]), e["id"], TimelineEntry(
            _when(e["time"]), e["kind"], severity=severity, title=e["title"], feed=e["feed"], link=e["link"],
            detail=e["detail"], alert_id=e["alert_id"])))
    # Feed changes sort after story events logged in the same second (they carry no event id here).
    entries += [(c.time, 1 << 62, c) for c in feed_changes]
    entries.sort(key=lambda t: (t[0], t[1]))
    out = [entry for _, _, entry in entries]
    kept_new = sum(1 for e in out if e.kind == "alert_new")
    total = kept_new + queries.count_other_story_events(conn, since, until) + len(feed_changes)
    if total > TIMELINE_LIMIT:
        # The earliest TIMELINE_LIMIT lines are listed; "other" counts the later ones left out.
        omitted["other"] = total - TIMELINE_LIMIT
        out = out[:TIMELINE_LIMIT]
    return out, omitted


def _hour(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H")


def build_report(conn: sqlite3.Connection, period: Period, *, now: datetime,
                 top: int = TOP_STORIES) -> Report:
    """Read everything the report shows; run inside one read snapshot (``Store.snapshot()``)."""
    since, until = iso(period.since) or "", iso(period.until) or ""
    feeds = queries.feeds(conn)
    names = {f["id"]: f["name"] for f in feeds}
    states, feed_changes = _feed_states(conn, period, names)

    configured = [f for f in feeds if f["in_config"]]
    polled = [f for f in configured if (f["last_fetch"] or "") >= since]
    failing_ids = {fid for fid, s in states.items() if s.failing}
    failing_configured = [f for f in configured if f["id"] in failing_ids]
    coverage = Coverage(
        feeds=len(configured), polled=len(polled),
        ok=sum(1 for f in polled if f["id"] not in failing_ids), failing=len(failing_configured),
        poll_cycles=queries.count_events(conn, "poll_finished", since, until),
        items=queries.count_items(conn, since, until))

    per_bin = {s: [0] * period.bins for s in SEVERITY_ORDER}
    by_severity = dict.fromkeys(SEVERITY_ORDER, 0)
    for hour, severity, n in queries.alerts_per_hour(conn, since, until):
        index = period.bin_of(from_iso(hour))
        if severity in per_bin:
            by_severity[severity] += n
            if index is not None:
                per_bin[severity][index] += n

    # One pass over the active stories ranks both lists and counts them; only the shown rows are kept.
    ranked: dict[str, list[tuple[int, int, str, int]]] = {"pinned": [], "new": []}
    counts = {"pinned": 0, "new": 0}
    limits = {"pinned": PINNED_LIMIT, "new": top}
    for alert_id, state, rank, outlets, last in queries.active_stories(conn, since, until):
        if state not in counts:
            continue  # dismissed
        counts[state] += 1
        heap = ranked[state]
        key = (rank, outlets, last, alert_id)
        if len(heap) < limits[state]:
            heapq.heappush(heap, key)
        elif limits[state] and key > heap[0]:
            heapq.heapreplace(heap, key)
    shown = {state: [k[3] for k in sorted(heap, reverse=True)] for state, heap in ranked.items()}
    last_activity = {k[3]: k[2] for heap in ranked.values() for k in heap}
    rows = queries.alerts_by_id(conn, shown["pinned"] + shown["new"])
    for alert_id, row in rows.items():
        row["last"] = last_activity[alert_id]
    pinned_rows = [rows[i] for i in shown["pinned"] if i in rows]
    top_rows = [rows[i] for i in shown["new"] if i in rows]
    pinned_total, top_total = counts["pinned"], counts["new"]
    headline = Headline(
        alerts=sum(by_severity.values()), by_severity=by_severity,
        surges=queries.count_events(conn, "surge", since, until),
        surged_stories=queries.count_surged_stories(conn, since, until),
        pinned=pinned_total, dismissed=queries.count_events(conn, "alert_dismissed", since, until),
        outlets=queries.outlets_in_period(conn, since, until))

    timeline, omitted = _timeline(conn, period, feed_changes)

    last_hour = _hour(period.until - timedelta(microseconds=1))
    mentions: dict[str, KeywordMentions] = {}
    for keyword, hour, n, surged in queries.keyword_hours(conn, _hour(period.since), last_hour + "~"):
        entry = mentions.setdefault(keyword, KeywordMentions(keyword, 0, [0] * period.bins, 0))
        entry.total += n
        entry.surged_hours += bool(surged)
        index = period.bin_of(from_iso(hour))
        if index is not None:
            entry.bins[index] += n

    failing: list[FailingFeed] = []
    for f in feeds:
        state = states.get(f["id"])
        if state is None or not (state.failing or state.errors):
            continue
        if not f["in_config"] and not state.errors:
            continue  # removed from the config before the period: not this report's concern
        status = "gone" if state.gone else "failing" if state.failing else "recovered"
        failing.append(FailingFeed(f["name"], status, state.streak_start, state.errors, state.reason,
                                   state.last_error, state.recovered))
    order = {"gone": 0, "failing": 1, "recovered": 2}
    failing.sort(key=lambda x: (order[x.status], -x.errors, x.feed.casefold()))

    return Report(
        generated=now.replace(microsecond=0), period=period, coverage=coverage, headline=headline,
        alerts_per_bin=per_bin,
        pinned=_stories(conn, pinned_rows, until), pinned_more=max(0, pinned_total - len(pinned_rows)),
        top=_stories(conn, top_rows, until), top_more=max(0, top_total - len(top_rows)),
        timeline=timeline, timeline_omitted=omitted,
        mentions=sorted(mentions.values(), key=lambda m: (-m.total, m.keyword.casefold())),
        failing=failing)


__all__ = ["SCHEMA", "SEVERITY_ORDER", "Coverage", "FailingFeed", "Headline", "KeywordMentions", "Outlet",
           "Report", "Story", "TimelineEntry", "build_report"]
