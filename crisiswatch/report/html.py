"""The HTML report: one self-contained page (styles and charts inline, no script, no fetch).

It must open from a mail attachment on a machine without a network and print
on A4, so everything is in the file, and a Content-Security-Policy forbids the
page from loading or running anything even if some text slipped through
escaping. Every string from the store goes through :func:`_t` (cleaned, then
``html.escape``) and every link through :func:`_a` (http(s) only, credentials
removed, escaped as an attribute).
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from .. import __version__
from .format import clean, plural, safe_url, sparkline, stamp, utc
from .markdown import TIMELINE_LABELS
from .model import SCHEMA, SEVERITY_ORDER, Report, Story, TimelineEntry
from .svg import COLOURS, alerts_chart, mentions_chart

CSS = """
:root { --ink: #1d1d1f; --muted: #5f6368; --rule: #d0d4da; --band: #f4f6f8; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 14px/1.45 "Noto Sans", "DejaVu Sans", "Segoe UI", Arial, sans-serif; }
main { max-width: 980px; margin: 0 auto; padding: 24px 28px 40px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--ink); }
h3 { font-size: 15px; margin: 0 0 6px; }
.meta { color: var(--muted); margin: 2px 0; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--rule); vertical-align: top; }
th { background: var(--band); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.figures td { font-size: 18px; font-weight: 600; }
.story { border: 1px solid var(--rule); border-left: 6px solid var(--sev); border-radius: 4px; padding: 10px 12px;
  margin: 10px 0; break-inside: avoid; page-break-inside: avoid; }
.story dl { display: grid; grid-template-columns: 110px 1fr; gap: 2px 10px; margin: 6px 0 0; }
.story dt { color: var(--muted); }
.story dd { margin: 0; overflow-wrap: anywhere; }
.outlets { margin: 0; padding-left: 18px; }
.sev { display: inline-block; min-width: 64px; padding: 1px 6px; border-radius: 3px; color: #fff;
  font-size: 12px; font-weight: 700; text-transform: uppercase; text-align: center; background: var(--sev); }
.sev-low { --sev: #8fb3d9; } .sev-medium { --sev: #f2b134; } .sev-high { --sev: #e6550d; }
.sev-critical { --sev: #a50f15; }
span.sev-low, span.sev-medium { color: #1d1d1f; }
.kind { font-weight: 600; white-space: nowrap; }
.timeline td:first-child { width: 150px; font-variant-numeric: tabular-nums; }
.timeline .local { display: block; color: var(--muted); font-size: 12px; }
.spark { font-family: "DejaVu Sans Mono", monospace; letter-spacing: -1px; white-space: nowrap; }
.none { color: var(--muted); font-style: italic; }
.chart { width: 100%; height: auto; display: block; margin: 8px 0; }
.chart .grid { stroke: var(--rule); stroke-width: 1; }
.chart .axis { font-size: 11px; fill: var(--muted); }
.chart .label { font-size: 12px; fill: var(--ink); }
a { color: #1a56a8; }
footer { margin-top: 30px; color: var(--muted); font-size: 12px; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  tr, .chart { break-inside: avoid; page-break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  th { background: none; }
  .sev, .story, th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def _t(text: str | None) -> str:
    return escape(clean(text))


def _a(text: str | None, url: str | None) -> str:
    href = safe_url(url)
    label = _t(text) or "link"
    if not href:
        return label
    return f'<a href="{escape(href, quote=True)}" rel="noopener noreferrer nofollow">{label}</a>'


def _time(when: datetime, report: Report) -> str:
    """UTC, then (with a zone) the local time in a span the timeline's narrow column puts on its own line."""
    zone = report.period.zone
    text = f'<time datetime="{when.strftime("%Y-%m-%dT%H:%M:%SZ")}">{escape(utc(when))}</time>'
    if zone is not None:
        text += f'<span class="local"> {escape(stamp(when, zone).removeprefix(utc(when)).strip())}</span>'
    return text


def _severity(severity: str | None) -> str:
    if not severity:
        return ""
    return f'<span class="sev sev-{escape(severity)}">{escape(severity)}</span>'


def _story(n: str, story: Story, report: Report) -> str:
    outlets = []
    for o in story.outlets:
        line = f"<li>{_a(o.feed, o.link)}"
        if o.title and o.title != story.title:
            line += f" — <q>{_t(o.title)}</q>"
        outlets.append(line + f" · {_time(o.seen, report)}</li>")
    if story.outlet_count > len(story.outlets):
        outlets.append(f"<li>{story.outlet_count - len(story.outlets)} more</li>")
    surge = "<br>".join(_t(r) for r in story.surge_reasons) or ("yes" if story.surge else "no")
    return (f'<article class="story sev-{escape(story.severity)}" data-alert="{story.id}">'
            f"<h3>{escape(n)}. {_severity(story.severity)} {_a(story.title, story.link)}</h3><dl>"
            f"<dt>First seen</dt><dd>{_time(story.first_seen, report)}</dd>"
            f"<dt>Last activity</dt><dd>{_time(story.last_activity, report)}</dd>"
            f"<dt>Outlets ({story.outlet_count})</dt><dd><ul class=\"outlets\">{''.join(outlets)}</ul></dd>"
            f"<dt>Keywords</dt><dd>{'; '.join(_t(k) for k in story.keywords) or 'none'}</dd>"
            f"<dt>Rules</dt><dd>{'; '.join(_t(r) for r in story.rules) or 'none'}</dd>"
            f"<dt>Surge</dt><dd>{surge}</dd></dl></article>")


def _timeline_row(entry: TimelineEntry, report: Report) -> str:
    label = escape(TIMELINE_LABELS.get(entry.kind, entry.kind))
    if entry.kind.startswith("feed_"):
        what = f"{_t(entry.feed)}: {_t(entry.detail)}"
    else:
        what = _a(entry.title, entry.link)
        if entry.kind == "alert_new" and entry.feed:
            what = f"{_t(entry.feed)}: {what}"
        if entry.kind == "surge" and entry.detail:
            what += f" — {_t(entry.detail)}"
    return (f'<tr data-kind="{escape(entry.kind)}"><td>{_time(entry.time, report)}</td>'
            f'<td class="kind">{label}</td><td>{_severity(entry.severity)}</td><td>{what}</td></tr>')


def render_html(report: Report) -> str:
    p, c, h = report.period, report.coverage, report.headline
    title = f"Situation report {utc(p.since)} → {utc(p.until)}"
    local = f"; local times {escape(p.zone_name or '')}" if p.zone is not None else ""
    out = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="crisiswatch {escape(__version__)} ({SCHEMA})">',
        f"<title>{escape(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>", "<main>",
        f'<header><h1>{escape(title)}</h1><p class="meta">Period: {_time(p.since, report)} → '
        f"{_time(p.until, report)} ({p.hours:g} h{local})</p>"
        f'<p class="meta">Generated {_time(report.generated, report)} by crisiswatch {escape(__version__)}</p></header>',
    ]
    out.append('<section id="coverage"><h2>Coverage</h2><table class="figures"><tr><th class="n">feeds</th>'
               '<th class="n">polled</th><th class="n">ok</th><th class="n">failing</th><th class="n">poll cycles</th>'
               f'<th class="n">items published</th></tr><tr><td class="n">{c.feeds}</td><td class="n">{c.polled}</td>'
               f'<td class="n">{c.ok}</td><td class="n">{c.failing}</td><td class="n">{c.poll_cycles}</td>'
               f'<td class="n">{c.items}</td></tr></table></section>')
    sev_heads = "".join(f'<th class="n"><span class="sev sev-{s}">{s}</span></th>' for s in SEVERITY_ORDER)
    sev_cells = "".join(f'<td class="n" data-severity="{s}">{h.by_severity[s]}</td>' for s in SEVERITY_ORDER)
    out.append(f'<section id="headline"><h2>Headline numbers</h2><table class="figures"><tr><th class="n">alerts</th>'
               f'{sev_heads}<th class="n">surges</th><th class="n">stories surging</th><th class="n">pinned</th>'
               f'<th class="n">dismissed</th><th class="n">outlets</th></tr><tr><td class="n">{h.alerts}</td>{sev_cells}'
               f'<td class="n">{h.surges}</td><td class="n">{h.surged_stories}</td><td class="n">{h.pinned}</td>'
               f'<td class="n">{h.dismissed}</td><td class="n">{h.outlets}</td></tr></table>'
               f'<h3>Alerts per {p.bin_hours} h</h3>'
               + alerts_chart(report.alerts_per_bin, p.bin_times(), bin_hours=p.bin_hours, zone=p.zone)
               + "</section>")

    pinned = [_story(f"P{n}", s, report) for n, s in enumerate(report.pinned, 1)] or [
        '<p class="none">None pinned in this period.</p>']
    if report.pinned_more:
        pinned.append(f"<p>{plural(report.pinned_more, 'more pinned story', 'more pinned stories')} not listed.</p>")
    out.append('<section id="pinned"><h2>Pinned stories</h2>' + "".join(pinned) + "</section>")
    top = [_story(str(n), s, report) for n, s in enumerate(report.top, 1)] or [
        '<p class="none">No other stories in this period.</p>']
    if report.top_more:
        top.append(f"<p>{plural(report.top_more, 'more story', 'more stories')} not listed "
                   "(<code>--top N</code> lists more).</p>")
    out.append('<section id="top"><h2>Top stories</h2>' + "".join(top) + "</section>")

    out.append('<section id="timeline"><h2>Timeline</h2>')
    if report.timeline:
        out.append('<table class="timeline"><tr><th>time</th><th>event</th><th>severity</th><th>what</th></tr>'
                   + "".join(_timeline_row(e, report) for e in report.timeline) + "</table>")
    else:
        out.append('<p class="none">Nothing happened in this period.</p>')
    if report.timeline_omitted:
        parts = ", ".join(f"{n:,} {escape(what)}" for what, n in report.timeline_omitted.items())
        out.append(f"<p>Not listed: {parts} (new alerts of the lowest severities are left out first; "
                   "<code>crisiswatch export events</code> has them all).</p>")
    out.append("</section>")

    out.append('<section id="mentions"><h2>Mentions per keyword</h2>')
    if report.mentions:
        out.append(mentions_chart([(clean(m.keyword), m.total) for m in report.mentions]))
        out.append(f'<table><tr><th>keyword</th><th class="n">mentions</th><th>per {p.bin_hours} h</th>'
                   '<th class="n">surge hours</th></tr>'
                   + "".join(f'<tr><td>{_t(m.keyword)}</td><td class="n">{m.total}</td>'
                             f'<td class="spark">{sparkline(m.bins)}</td>'
                             f'<td class="n">{m.surged_hours}</td></tr>' for m in report.mentions) + "</table>")
    else:
        out.append('<p class="none">No keyword mentions in this period.</p>')
    out.append("</section>")

    out.append('<section id="failing"><h2>Failing feeds</h2>')
    if report.failing:
        rows = []
        for f in report.failing:
            since = _time(f.since, report) if f.since else "—"
            if f.status == "recovered" and f.recovered:
                since = f"recovered {_time(f.recovered, report)}"
            last = _time(f.last_error, report) if f.last_error else "—"
            rows.append(f'<tr data-status="{escape(f.status)}"><td>{_t(f.feed)}</td><td>{escape(f.status)}</td>'
                        f'<td>{since}</td><td class="n">{f.errors}</td><td>{last}</td><td>{_t(f.reason)}</td></tr>')
        out.append('<table><tr><th>feed</th><th>status</th><th>since</th><th class="n">errors in period</th>'
                   "<th>last error</th><th>why</th></tr>" + "".join(rows) + "</table>")
    else:
        out.append('<p class="none">No feed failed in this period.</p>')
    out.append("</section>")
    out.append(f"<footer>{SCHEMA} · severities: "
               + ", ".join(f'<span style="color:{COLOURS[s]}">■</span> {s}' for s in SEVERITY_ORDER)
               + "</footer></main></body></html>")
    return "\n".join(out) + "\n"


__all__ = ["CSS", "render_html"]
