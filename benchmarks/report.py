"""``crisiswatch report`` on a big database: 1,000,000 items, 50,000 alerts (issue 14).

The database is generated once with the store's own schema (``Store.open``)
and bulk inserts in one transaction, then cached under /tmp. Besides the items
and alerts it holds what a report reads: every alert's outlets
(``alert_feeds``, 1-4 each), the event log a month of polling leaves (an
``alert_new`` per alert, ``alert_grouped``, surges, pins, dismissals, a
``poll_finished`` every 5 minutes, 20 flapping feeds with ~30,000 fetch errors
and their recoveries) and the hourly keyword counts.

Each run is a fresh process (``crisiswatch report`` as a user would run it,
interpreter start included), timed from outside; its peak RSS is the
kernel's high-water mark for it (VmHWM), read as it exits. Periods: the default 24 h, 7 days,
and the whole month (all 50,000 alerts in the period). Target: < 5 s each and
memory that does not grow with the period.

    python benchmarks/report.py [--items 1000000] [--alerts 50000] [--runs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crisiswatch.config import Feed
from crisiswatch.models import SEVERITIES, iso
from crisiswatch.store import MIGRATIONS, Store

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
FEEDS = 200
FLAPPING = 20
KEYWORDS = ("KFOR", "Jarinje", "roadblock", "Mitrovica", "Vučić", "Kurti", "Ibar", "EULEX")
PLACES = ["Mitrovica", "Jarinje", "Zvečan", "Leposavić", "Priština", "Beograd", "Ibar", "Brnjak", "Gračanica"]
ACTORS = ["KFOR", "EULEX", "Kurti", "Vučić", "Kosovo police", "Serbian army", "NATO", "OSCE"]
VERBS = ["reports", "denies", "confirms", "warns about", "comments on", "investigates", "condemns"]
THINGS = ["roadblock", "barricades", "border crossing", "troop movements", "protest", "talks", "power cut"]
PYTHON = sys.executable


def _title(rng: random.Random) -> str:
    return (f"{rng.choice(ACTORS)} {rng.choice(VERBS)} {rng.choice(THINGS)} near {rng.choice(PLACES)} "
            f"— update {rng.randrange(10_000)}")


def build(path: Path, items: int, alerts: int) -> None:
    rng = random.Random(14)
    tmp = path.with_suffix(".tmp")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    started = time.perf_counter()
    store = Store.open(tmp)
    feed_ids = list(store.sync_feeds([Feed(f"Feed {n:03d}", f"http://127.0.0.1:9/{n}.xml")
                                      for n in range(FEEDS)]).values())
    conn: sqlite3.Connection = store.conn
    span = items * 2  # seconds: an item every 2 s, ~23 days
    step = max(1, items // alerts)
    conn.execute("BEGIN")
    conn.execute("PRAGMA defer_foreign_keys = ON")  # items name their alert before the alerts are inserted
    item_rows: list[tuple] = []
    alert_rows: list[tuple] = []
    outlet_rows: list[tuple] = []
    events: list[tuple] = []
    group: dict[int, int] = {}
    for n in range(1, items + 1):
        when = NOW - timedelta(seconds=span - n * 2)
        stamp = iso(when)
        title = _title(rng)
        feed = feed_ids[n % FEEDS]
        alert_id = group.pop(n, None)
        if alert_id is None and n % step == 0 and len(alert_rows) < alerts:
            alert_id = len(alert_rows) + 1
            severity = rng.choices(SEVERITIES, [40, 35, 18, 7])[0]
            state = rng.choices(["new", "pinned", "dismissed"], [90, 2, 8])[0]
            outlets = rng.choices([1, 2, 3, 4], [50, 25, 15, 10])[0]
            keywords = "; ".join(sorted(rng.sample(KEYWORDS, rng.randint(1, 3))))
            alert_rows.append((alert_id, n, stamp, stamp, severity, SEVERITIES.index(severity), keywords,
                               f"Feed {n % FEEDS:03d}", outlets, title, f"https://news{n % FEEDS}.example/{n}",
                               state, stamp, int(outlets >= 3)))
            outlet_rows.append((alert_id, feed, stamp))
            events.append((stamp, "alert_new", feed, alert_id, n, title, keywords, f"severity {severity}"))
            for k in range(1, outlets):  # the same story from the next outlets a few minutes later
                group[n + k * 97] = alert_id
            if state != "new":
                events.append((iso(when + timedelta(minutes=30)), f"alert_{state}", None, alert_id, None, title,
                               keywords, f"new -> {state}"))
        elif alert_id is not None:
            if (alert_id, feed) not in {(r[0], r[1]) for r in outlet_rows[-8:]}:
                outlet_rows.append((alert_id, feed, stamp))
                events.append((stamp, "alert_grouped", feed, alert_id, n, title, "", "also carried"))
                if alert_rows[alert_id - 1][-1] and sum(1 for r in outlet_rows[-8:] if r[0] == alert_id) == 3:
                    events.append((stamp, "surge", feed, alert_id, None, alert_rows[alert_id - 1][9], "",
                                   "story carried by 3 outlets within 1h; severity raised"))
        item_rows.append((n, feed, f"k{n}", f"g{n}", f"https://news{n % FEEDS}.example/{n}", title,
                          f"{title}. More details.", stamp, stamp, alert_id))
        if len(item_rows) == 20_000:
            conn.executemany("INSERT INTO items (id, feed_id, key, guid, link, title, summary, published, fetched, "
                             "alert_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", item_rows)
            item_rows.clear()
    if item_rows:
        conn.executemany("INSERT INTO items (id, feed_id, key, guid, link, title, summary, published, fetched, "
                         "alert_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", item_rows)
    conn.executemany("INSERT INTO alerts (id, item_id, created, published, severity, rank, keywords, feeds, "
                     "feed_count, title, link, state, state_changed, surge) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                     "?, ?, ?)", alert_rows)
    conn.executemany("INSERT OR IGNORE INTO alert_feeds (alert_id, feed_id, seen) VALUES (?, ?, ?)", outlet_rows)
    start = NOW - timedelta(seconds=span)
    t = start
    while t < NOW:  # a poll every 5 minutes; 20 feeds flap: down 2 h of every 12, failing every poll meanwhile
        stamp = iso(t)
        events.append((stamp, "poll_finished", None, None, None, None, None, "polled 200 feeds"))
        phase = int((t - start).total_seconds()) % (12 * 3600)
        for f in feed_ids[:FLAPPING]:
            if phase < 2 * 3600:
                events.append((stamp, "fetch_error", f, None, None, None, None, "http: HTTP 503"))
            elif phase < 2 * 3600 + 300:
                events.append((stamp, "feed_recovered", f, None, None, None, None, "ok again"))
        t += timedelta(minutes=5)
    events.sort(key=lambda e: e[0])
    conn.executemany("INSERT INTO events (time, kind, feed_id, alert_id, item_id, title, keywords, detail) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", events)
    conn.execute("UPDATE events SET feed = (SELECT name FROM feeds WHERE feeds.id = events.feed_id) "
                 "WHERE feed_id IS NOT NULL")
    hours: dict[tuple[str, str], int] = {}
    for row in alert_rows:
        for keyword in row[6].split("; "):
            key = (keyword, row[2][:13])
            hours[key] = hours.get(key, 0) + row[8]
    conn.executemany("INSERT INTO keyword_hours (keyword, hour, mentions) VALUES (?, ?, ?)",
                     [(k, h, n) for (k, h), n in hours.items()])
    conn.execute("UPDATE feeds SET last_ok = ?, last_fetch = ?, items_count = ?", (iso(NOW), iso(NOW), items // FEEDS))
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 - constant names
              for t in ("items", "alerts", "alert_feeds", "events", "keyword_hours")}
    store.close()
    tmp.replace(path)
    print(f"built {path} in {time.perf_counter() - started:.0f}s: "
          + ", ".join(f"{n:,} {t}" for t, n in counts.items()))


def ensure_db(items: int, alerts: int) -> Path:
    schema = hashlib.sha1("".join(MIGRATIONS).encode()).hexdigest()[:8]
    path = Path(tempfile.gettempdir()) / f"crisiswatch-reportdb-{items}-{alerts}-{schema}.db"
    if not path.exists():
        build(path, items, alerts)
    return path


_CHILD = """
import re, sys
from crisiswatch.cli import main
code = main(sys.argv[1:])
status = open("/proc/self/status").read()
print("VmHWM", re.search(r"VmHWM:\\s+(\\d+)", status).group(1), file=sys.stderr)
sys.exit(code)
"""
"""Runs the CLI and prints its peak RSS as the kernel counts it for this program (VmHWM: the high-water
mark of the process's memory since exec). ``ru_maxrss`` would not do: on Linux it keeps the RSS the
process had before exec, i.e. this benchmark's own, inherited through fork."""


def run_once(db: Path, since: str, fmt: str, out: Path) -> tuple[float, float]:
    """(seconds, peak RSS MiB) of one ``crisiswatch report`` process, interpreter start included."""
    argv = [PYTHON, "-c", _CHILD, "--db", str(db), "report", "--since", since, "--until", iso(NOW) or "",
            "--format", fmt, "--tz", "Europe/Belgrade", "-o", str(out)]
    started = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"report failed: {done.stderr}")
    peak = next(int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("VmHWM"))
    return elapsed, peak / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--alerts", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    db = ensure_db(args.items, args.alerts)
    periods = {"24h": iso(NOW - timedelta(hours=24)), "7d": iso(NOW - timedelta(days=7)),
               "all (30d)": iso(NOW - timedelta(days=30))}
    baseline = run_once(db, iso(NOW - timedelta(minutes=1)) or "", "md", Path(os.devnull))
    print(f"database: {db} ({db.stat().st_size / 2**20:.0f} MiB); a 1-minute report (startup, nothing to show): "
          f"{baseline[0]:.2f} s, {baseline[1]:.0f} MiB")
    with tempfile.TemporaryDirectory(prefix="crisiswatch-report-bench-") as tmp:
        for label, since in periods.items():
            for fmt in ("md", "html", "json"):
                out = Path(tmp) / f"report.{fmt}"
                runs = [run_once(db, since or "", fmt, out) for _ in range(args.runs)]
                times = [r[0] for r in runs]
                rss = max(r[1] for r in runs)
                print(f"{label:>9} {fmt:<4} median {statistics.median(times):.2f} s, max {max(times):.2f} s; "
                      f"peak RSS {rss:.0f} MiB; {out.stat().st_size / 1024:.0f} KiB written (target < 5 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
