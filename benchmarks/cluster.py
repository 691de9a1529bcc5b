"""Story clustering: B-cubed precision and recall on a labelled headline set, and the cost per item.

    python benchmarks/cluster.py                                  # tests/data/stories_dev.jsonl
    python benchmarks/cluster.py --data tests/data/stories_probe.jsonl
    python benchmarks/cluster.py --data held_out.jsonl --config feeds.toml --explain
    python benchmarks/cluster.py --copies 20                      # cost with many open stories
    python benchmarks/cluster.py --scale 1000                     # the write path of a 1,000-feed cold poll

The set is JSON Lines, one headline a line: ``{"story": "s01", "feed": "KoSSev",
"published": "2026-11-25T05:40:00Z", "title": "…"}`` (``lang`` optional, shown
per language). Every headline goes through the real path: the matcher over the
config's keywords (the shipped feeds.toml by default), then ``Store.record_result``
on a fresh SQLite file, one feed per outlet, in publication order, with "now" at
the publication time, so story keys, the group window and clustering all act as
in a poll. The alerts the store made are the clusters; B-cubed precision and
recall compare them with the ``story`` labels (a headline that raises no alert
counts as a cluster of its own and is listed).

Cost, in CPU time (the machine is shared; wall time would measure the neighbours; the commit's fsync
is not counted either way): the same run with story keys only (``StoryPolicy(clustering=False)``, the
grouping before clustering) gives the "before" figures; the grouping step's own
time (features + candidate reads + comparisons) is timed around
``StoryPolicy.features`` and ``StoryPolicy.cluster``. ``--copies N`` loads N
copies of the set (outlets renamed, same times) so each new item meets many
open stories sharing its names — the bounded worst case (at most
``max_candidates`` stories × ``max_members`` items are compared).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from crisiswatch.config import Config, Feed, load_config
from crisiswatch.fold import fold as fold_text
from crisiswatch.match import Matcher
from crisiswatch.models import Assessment, FetchResult, ParsedFeed, ParsedItem, from_iso, iso
from crisiswatch.store import Store, StoryPolicy

ROOT = Path(__file__).resolve().parents[1]


_BASE = "2026-11-25T08:00:00Z"


def load_rows(path: Path) -> list[dict[str, Any]]:
    """The labelled headlines, in publication order; tolerant of other sets' field names.

    ``title`` may be ``text`` or ``headline``; ``story`` may be ``story_id``, ``cluster`` or ``label``; a
    missing ``feed`` makes every headline its own outlet, a missing ``published`` puts the headlines a
    minute apart in file order (so time neither helps nor hurts).
    """
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    base = from_iso(_BASE)
    assert base is not None
    for n, row in enumerate(rows):
        row["id"] = n
        row.setdefault("title", row.get("text") or row.get("headline") or "")
        story = next((row[k] for k in ("story", "story_id", "cluster", "label") if k in row), n)
        row["story"] = str(story)
        row.setdefault("feed", f"outlet {n}")
        if not row.get("published"):
            row["published"] = iso(base + timedelta(minutes=n))
        else:  # any ISO 8601 form ("…+02:00", no seconds) → the stored form
            when = datetime.fromisoformat(str(row["published"]).replace("Z", "+00:00"))
            row["published"] = iso(when if when.tzinfo else when.replace(tzinfo=UTC))
    return sorted(rows, key=lambda r: (r["published"], r["id"]))


def bcubed(clusters: dict[int, Any], gold: dict[int, str]) -> tuple[float, float]:
    """B-cubed precision and recall of a clustering (item → cluster id) against gold labels (item → story)."""
    by_cluster: dict[Any, set[int]] = defaultdict(set)
    by_story: dict[str, set[int]] = defaultdict(set)
    for item, cluster in clusters.items():
        by_cluster[cluster].add(item)
        by_story[gold[item]].add(item)
    precision = recall = 0.0
    for item in clusters:
        mine, truth = by_cluster[clusters[item]], by_story[gold[item]]
        both = len(mine & truth)
        precision += both / len(mine)
        recall += both / len(truth)
    n = len(clusters) or 1
    return precision / n, recall / n


class Timer:
    """Seconds spent inside the wrapped StoryPolicy methods (the clustering step of the grouping)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._saved: list[tuple[str, Callable[..., Any]]] = []

    def __enter__(self) -> Timer:
        for name in ("features", "cluster", "remember_member"):
            original = getattr(StoryPolicy, name)
            self._saved.append((name, original))

            def timed(*args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
                started = time.process_time()
                try:
                    return _original(*args, **kwargs)
                finally:
                    self.seconds += time.process_time() - started

            setattr(StoryPolicy, name, timed)
        return self

    def __exit__(self, *exc: object) -> None:
        for name, original in self._saved:
            setattr(StoryPolicy, name, original)


def run(rows: Sequence[dict[str, Any]], cfg: Config, *, clustering: bool, copies: int = 1,
        ) -> tuple[dict[int, Any], float, float, int, Path]:
    """Feed the rows through a fresh store; (item → alert id, seconds recording, seconds clustering, items, db)."""
    matcher = Matcher(cfg.keywords, cfg.rules)
    policy = replace(StoryPolicy.from_settings(cfg.settings, cfg.keywords), clustering=clustering)
    tmp = Path(tempfile.mkdtemp(prefix="cw-cluster-"))
    db = tmp / "cluster.db"
    store = Store.open(db)
    feeds = sorted({f"{r['feed']}#{k}" if k else r["feed"] for r in rows for k in range(copies)})
    ids = store.sync_feeds([Feed(name, f"https://feeds.example/{n}") for n, name in enumerate(feeds)])
    assessed = []
    for row in rows:
        verdict = matcher.assess(row["title"])
        # As the poller hands them over: keywords, severity and rules, no hits.
        assessed.append(Assessment((), verdict.keywords, verdict.severity, verdict.rules)
                        if verdict.severity is not None else None)
    order = sorted(((row, a, k) for row, a in zip(rows, assessed, strict=True) for k in range(copies)),
                   key=lambda t: (t[0]["published"], t[2], t[0]["id"]))
    recording = 0.0
    with Timer() as timer:
        for row, assessment, k in order:
            when = from_iso(row["published"])
            assert when is not None
            feed = f"{row['feed']}#{k}" if k else row["feed"]
            item = ParsedItem(f"{row['id']}-{k}", row["title"], f"https://{feed.replace(' ', '')}.example/{row['id']}",
                              None, "", None, when)
            started = time.process_time()
            store.record_result(ids[feed], FetchResult("https://feeds.example/", status=200),
                                ParsedFeed(feed, (item,)), [assessment], settings=policy, next_poll=when, now=when)
            recording += time.process_time() - started
    clusters: dict[int, Any] = {}
    for row in rows:
        got = store.conn.execute("SELECT alert_id FROM items WHERE key = ?", (f"{row['id']}-0",)).fetchone()
        clusters[row["id"]] = got[0] if got and got[0] is not None else f"no-alert-{row['id']}"
    store.close()
    return clusters, recording, timer.seconds, len(order), db


def scale(feeds: int, repeat: int) -> None:
    """The store's write path of a cold poll of ``feeds`` generated feeds (benchmarks/common.py, 50 items
    each, the scale benchmark's feeds and keywords), with and without clustering: CPU seconds of
    ``record_results`` in batches of 32 feeds, as the poller's writer thread runs it."""
    import statistics as stats

    import common

    from crisiswatch.config import Keyword, Settings
    from crisiswatch.parse import parse_feed

    keywords = [Keyword(t, a, sev) for t, a, sev in common.KEYWORDS]
    matcher = Matcher(keywords)
    when = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    parsed = []
    for n in range(feeds):
        feed = parse_feed(common.render_feed(n, 50, atom=n % 5 == 4), content_type="application/rss+xml",
                          url=f"https://outlet{n:04d}.example.org/feed", fetched_at=when)
        assessments = []
        for item in feed.items:
            v = matcher.assess(item.title, item.summary)
            assessments.append(Assessment((), v.keywords, v.severity, v.rules) if v.severity else None)
        texts = [(fold_text(i.title), fold_text(i.summary)) for i in feed.items]
        parsed.append((feed, assessments, texts))
    alerting = sum(a is not None for _, assessments, _ in parsed for a in assessments)
    print(f"\nwrite path of a cold poll: {feeds} feeds x 50 items ({alerting} alerting), record_results in "
          f"batches of 32, CPU seconds, median of {repeat}:")
    results: dict[bool, list[tuple[float, float, int, int]]] = {False: [], True: []}
    for r in range(repeat):
        for clustering in ((False, True) if r % 2 == 0 else (True, False)):  # interleaved, alternating order
            policy = replace(StoryPolicy.from_settings(Settings(), keywords), clustering=clustering)
            db = Path(tempfile.mkdtemp(prefix="cw-cluster-scale-")) / "scale.db"
            store = Store.open(db)
            ids = store.sync_feeds([Feed(f"feed {n:04d}", f"https://outlet{n:04d}.example.org/feed")
                                    for n in range(feeds)])
            calls = [((ids[f"feed {n:04d}"], FetchResult("https://x.example/", status=200), feed, assessments),
                      {"settings": policy, "next_poll": when, "now": when, "search_texts": texts})
                     for n, (feed, assessments, texts) in enumerate(parsed)]
            with Timer() as timer:
                started = time.process_time()
                for i in range(0, len(calls), 32):
                    store.record_results(calls[i:i + 32])
                spent = time.process_time() - started
            alerts = store.conn.execute("SELECT count(*) FROM alerts").fetchone()[0]
            members = store.conn.execute("SELECT count(*) FROM story_members").fetchone()[0]
            store.close()
            results[clustering].append((spent, timer.seconds, alerts, members))
    for clustering in (False, True):
        runs = results[clustering]
        spent = stats.median(r[0] for r in runs)
        grouping = stats.median(r[1] for r in runs)
        label = "keys + clustering" if clustering else "story keys only"
        print(f"  {label:<18} {spent:6.2f} s ({spent / (feeds * 50) * 1e6:5.0f} µs/item; runs "
              + ", ".join(f"{r[0]:.2f}" for r in runs) + f"); alerts {runs[0][2]}"
              + (f"; clustering step {grouping:5.2f} s over {runs[0][3]} items clustered" if clustering else ""))


def explain(db: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Each alert with its items and why each joined (the alert_grouped events and story_members)."""
    by_key = {f"{r['id']}-0": r for r in rows}
    with Store.open(db, readonly=True) as store:
        for alert in store.conn.execute("SELECT id, title, feeds, languages FROM alerts ORDER BY id"):
            print(f"\nalert {alert['id']}: {alert['title']}\n  feeds: {alert['feeds']}\n  languages: "
                  f"{alert['languages']}")
            for item in store.conn.execute(
                    "SELECT i.key, i.title, f.name AS feed, m.why FROM items i JOIN feeds f ON f.id = i.feed_id "
                    "LEFT JOIN story_members m ON m.item_id = i.id WHERE i.alert_id = ? ORDER BY i.published, i.id",
                    (alert["id"],)):
                story = by_key.get(item["key"], {}).get("story", "?")
                why = item["why"] or "(opened the story, or joined by link/title key)"
                print(f"  [{story}] {item['feed']}: {item['title']}\n        {why}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "tests" / "data" / "stories_dev.jsonl")
    parser.add_argument("--config", type=Path, default=ROOT / "feeds.toml",
                        help="whose keywords (and kinds) name the entities; default: the shipped feeds.toml")
    parser.add_argument("--copies", type=int, default=1, help="load N copies of the set for the cost figures")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per mode (median reported)")
    parser.add_argument("--explain", action="store_true", help="print every alert, its items and why they joined")
    parser.add_argument("--scale", type=int, metavar="FEEDS",
                        help="only time the store's write path of a cold poll of FEEDS generated feeds")
    args = parser.parse_args()
    if args.scale:
        scale(args.scale, args.repeat)
        return 0
    rows = load_rows(args.data)
    cfg = load_config(args.config)
    gold = {r["id"]: r["story"] for r in rows}
    stories = len(set(gold.values()))
    langs = defaultdict(int)
    for r in rows:
        langs[r.get("lang", "?")] += 1
    print(f"{args.data.name}: {len(rows)} headlines, {stories} stories; "
          + ", ".join(f"{k} {v}" for k, v in sorted(langs.items())) + f"; keywords from {args.config.name}")
    results = {}
    for mode, clustering in (("story keys only (before)", False), ("keys + clustering (after)", True)):
        clusters, _, _, _, db = run(rows, cfg, clustering=clustering)
        precision, recall = bcubed(clusters, gold)
        alerts = len({c for c in clusters.values() if not str(c).startswith("no-alert")})
        silent = [r["title"] for r in rows if str(clusters[r["id"]]).startswith("no-alert")]
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        print(f"  {mode:<27} B-cubed precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}  "
              f"({alerts} alerts for {stories} stories)")
        if silent:
            print(f"    {len(silent)} headline(s) raised no alert: {silent}")
        results[clustering] = db
    if args.explain:
        explain(results[True], rows)
    print(f"\ncost ({args.copies} cop{'y' if args.copies == 1 else 'ies'} of the set, "
          f"median of {args.repeat} runs):")
    figures: dict[bool, list[tuple[float, float, int]]] = {False: [], True: []}
    run(rows, cfg, clustering=True, copies=args.copies)  # warm: regexes compiled on first use, page cache
    for _ in range(args.repeat):
        for clustering in (False, True):
            _, recording, grouping, items, _ = run(rows, cfg, clustering=clustering, copies=args.copies)
            figures[clustering].append((recording, grouping, items))
    for clustering, label in ((False, "story keys only"), (True, "keys + clustering")):
        recording = statistics.median(f[0] for f in figures[clustering])
        grouping = statistics.median(f[1] for f in figures[clustering])
        items = figures[clustering][0][2]
        print(f"  {label:<18} record_result {recording / items * 1e6:7.0f} µs CPU/item"
              + (f"; of which the clustering step {grouping / items * 1e6:5.0f} µs" if clustering else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
