"""The Markdown report: the default output, meant to be read as plain text, rendered, or diffed.

The structure is fixed (see docs/REPORT.md): the same headings in the same
order, always present, with an explicit "none" line when a section is empty,
so yesterday's and today's reports line up under ``diff``.
"""

from __future__ import annotations

from .. import __version__
from .format import md_link, md_text, plural, sparkline, stamp, utc
from .model import SCHEMA, SEVERITY_ORDER, Report, Story, TimelineEntry

TIMELINE_LABELS = {
    "alert_new": "NEW",
    "surge": "SURGE",
    "alert_pinned": "PINNED",
    "alert_unpinned": "UNPINNED",
    "alert_dismissed": "DISMISSED",
    "alert_restored": "RESTORED",
    "feed_down": "FEED DOWN",
    "feed_gone": "FEED GONE",
    "feed_recovered": "FEED RECOVERED",
}


def _period_lines(report: Report) -> list[str]:
    p = report.period
    lines = [f"- Period: {utc(p.since)} → {utc(p.until)} ({p.hours:g} h)"]
    if p.zone is not None:
        lines.append(f"- Local time ({p.zone_name}): {p.since.astimezone(p.zone):%Y-%m-%d %H:%M %Z} → "
                     f"{p.until.astimezone(p.zone):%Y-%m-%d %H:%M %Z}")
    lines.append(f"- Generated: {stamp(report.generated, p.zone)} by crisiswatch {__version__} ({SCHEMA})")
    return lines


def _story(n: str, story: Story, report: Report) -> list[str]:
    zone = report.period.zone
    lines = [f"### {n}. {story.severity.upper()} — {md_text(story.title)}", ""]
    lines.append(f"- First seen: {stamp(story.first_seen, zone)}; last activity: {stamp(story.last_activity, zone)}")
    outlets = []
    for outlet in story.outlets:
        text = md_link(outlet.feed, outlet.link)
        if outlet.title and outlet.title != story.title:
            text += f" “{md_text(outlet.title)}”"
        outlets.append(text)
    if story.outlet_count > len(story.outlets):
        outlets.append(f"{story.outlet_count - len(story.outlets)} more")
    lines.append(f"- Outlets ({story.outlet_count}): {' · '.join(outlets) or 'none'}")
    lines.append(f"- Keywords: {'; '.join(md_text(k) for k in story.keywords) or 'none'}")
    lines.append(f"- Rules: {'; '.join(md_text(r) for r in story.rules) or 'none'}")
    if story.surge_reasons:
        lines.append("- Surge: " + " / ".join(md_text(r) for r in story.surge_reasons))
    elif story.surge:
        lines.append("- Surge: yes")
    else:
        lines.append("- Surge: no")
    lines.append("")
    return lines


def _timeline_line(entry: TimelineEntry, report: Report) -> str:
    label = TIMELINE_LABELS.get(entry.kind, entry.kind.upper())
    if entry.kind == "alert_new" and entry.severity:
        label += f" {entry.severity}"
    head = f"- {stamp(entry.time, report.period.zone)} **{label}**"
    if entry.kind.startswith("feed_"):
        return f"{head} {md_text(entry.feed)}: {md_text(entry.detail)}"
    who = f"{md_text(entry.feed)}: " if entry.feed and entry.kind == "alert_new" else ""
    text = f"{head} {who}{md_link(entry.title, entry.link)}"
    if entry.kind == "surge" and entry.detail:
        text += f" — {md_text(entry.detail)}"
    return text


def render_markdown(report: Report) -> str:
    p = report.period
    c = report.coverage
    h = report.headline
    out = [f"# Situation report: {utc(p.since)} → {utc(p.until)}", "", *_period_lines(report), ""]

    out += ["## Coverage", "",
            "| feeds | polled | ok | failing | poll cycles | items published |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {c.feeds} | {c.polled} | {c.ok} | {c.failing} | {c.poll_cycles} | {c.items} |", ""]

    sev = " | ".join(SEVERITY_ORDER)
    out += ["## Headline numbers", "",
            f"| alerts | {sev} | surges | stories surging | pinned | dismissed | outlets |",
            "|---:|" + "---:|" * len(SEVERITY_ORDER) + "---:|---:|---:|---:|---:|",
            f"| {h.alerts} | " + " | ".join(str(h.by_severity[s]) for s in SEVERITY_ORDER)
            + f" | {h.surges} | {h.surged_stories} | {h.pinned} | {h.dismissed} | {h.outlets} |", ""]
    totals = [sum(col) for col in zip(*report.alerts_per_bin.values(), strict=True)]
    width = max(len(s) for s in SEVERITY_ORDER)
    out += [f"Alerts per {p.bin_hours} h from {utc(p.bin_start)} ({p.bins} bins, oldest first):", "", "```text"]
    out.append(f"{'all':<{width}} {sparkline(totals)} {sum(totals)}")
    out += [f"{s:<{width}} {sparkline(report.alerts_per_bin[s])} {sum(report.alerts_per_bin[s])}"
            for s in SEVERITY_ORDER]
    out += ["```", ""]

    out += ["## Pinned stories", ""]
    for n, story in enumerate(report.pinned, 1):
        out += _story(f"P{n}", story, report)
    if not report.pinned:
        out += ["None pinned in this period.", ""]
    if report.pinned_more:
        out += [f"{plural(report.pinned_more, 'more pinned story', 'more pinned stories')} not listed.", ""]

    out += ["## Top stories", ""]
    for n, story in enumerate(report.top, 1):
        out += _story(str(n), story, report)
    if not report.top:
        out += ["No other stories in this period.", ""]
    if report.top_more:
        out += [f"{plural(report.top_more, 'more story', 'more stories')} not listed (`--top N` lists more).", ""]

    out += ["## Timeline", ""]
    out += [_timeline_line(e, report) for e in report.timeline]
    if not report.timeline:
        out.append("Nothing happened in this period.")
    out.append("")
    if report.timeline_omitted:
        parts = [f"{n:,} {what}" for what, n in report.timeline_omitted.items()]
        out += [f"Not listed: {', '.join(parts)} (new alerts of the lowest severities are left out first; "
                "`crisiswatch export events` has them all).", ""]

    out += ["## Mentions per keyword", ""]
    if report.mentions:
        out += [f"| keyword | mentions | per {p.bin_hours} h | surge hours |", "|---|---:|---|---:|"]
        out += [f"| {md_text(m.keyword)} | {m.total} | `{sparkline(m.bins)}` | {m.surged_hours} |"
                for m in report.mentions]
    else:
        out.append("No keyword mentions in this period.")
    out.append("")

    out += ["## Failing feeds", ""]
    if report.failing:
        out += ["| feed | status | since | errors in period | last error | why |", "|---|---|---|---:|---|---|"]
        for f in report.failing:
            since = stamp(f.since, p.zone) if f.since else "—"
            if f.status == "recovered" and f.recovered:
                since = f"recovered {stamp(f.recovered, p.zone)}"
            last = stamp(f.last_error, p.zone) if f.last_error else "—"
            out.append(f"| {md_text(f.feed)} | {f.status} | {since} | {f.errors} | {last} | {md_text(f.reason)} |")
    else:
        out.append("No feed failed in this period.")
    out.append("")
    return "\n".join(out)


__all__ = ["TIMELINE_LABELS", "render_markdown"]
