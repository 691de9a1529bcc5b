"""Scale: ``poll --once`` at 50, 200 and 1,000 feeds; ``export events`` of 1,000,000 events.

    /work/venv/bin/python benchmarks/scale.py                    # both parts
    /work/venv/bin/python benchmarks/scale.py --skip-poll --events 1000000
    /work/venv/bin/python benchmarks/scale.py --sizes 50,200 --skip-export

Poll: cold (fresh database) and warm (all 304) ``crisiswatch poll --once`` as a
subprocess, 50 items per feed, from the loopback server (nginx if installed).
Cost should grow linearly or better, so the per-feed figure is printed too.

Export: a database made by ``Store.open`` (real schema, triggers, indexes) gets
N events in one transaction with ``executemany`` (seconds, not minutes), then
``crisiswatch export events`` writes CSV and JSON Lines to a file. The export is
also run on a tenth of the rows: the same peak RSS at 10x the rows is what
"constant memory" means. Target: 1M events in under 10 s.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

_KINDS = ("alert_new", "fetch_error", "alert_grouped", "poll_started", "poll_finished", "feed_recovered",
          "alert_pinned", "surge")


def poll_scale(sizes: list[int], items: int, server_kind: str) -> None:
    print(f"\npoll --once, {items} items per feed (cold = fresh database, warm = same database, all 304):")
    print(f"  {'feeds':>6} {'cold s':>8} {'ms/feed':>8} {'CPU s':>7} {'warm s':>8} {'ms/feed':>8} {'CPU s':>7} "
          f"{'peak RSS cold':>14} {'PSS cold':>9} {'peak RSS warm':>14}  summary (cold)")
    for n in sizes:
        with common.workdir("cw-scale-") as tmp:
            specs = common.generate_feeds(tmp / "feeds", n, items)
            with common.open_server(tmp / "feeds", prefer=server_kind) as server:
                config = common.write_config(tmp / "feeds.toml", [server.url(s.path) for s in specs])
                env = common.quiet_env(tmp / "home")
                common.prime_bytecode(env)
                # Timed without the memory sampler (it costs CPU on a small machine); memory from a second pair.
                cold = common.crisiswatch_poll(config, tmp / "scale.db", env=env, sample=False)
                warm = common.crisiswatch_poll(config, tmp / "scale.db", env=env, sample=False)
                mem_cold = common.crisiswatch_poll(config, tmp / "memory.db", env=env)
                mem_warm = common.crisiswatch_poll(config, tmp / "memory.db", env=env)
        print(f"  {n:>6} {cold.seconds:8.2f} {cold.seconds / n * 1000:8.1f} {cold.cpu:7.2f} {warm.seconds:8.2f} "
              f"{warm.seconds / n * 1000:8.1f} {warm.cpu:7.2f} {common.mb(mem_cold.peak_tree_rss):>14} "
              f"{common.mb(mem_cold.peak_tree_pss):>9} {common.mb(mem_warm.peak_tree_rss):>14}  "
              f"{common.summary_line(cold)}", flush=True)


def make_events_db(path: Path, count: int) -> float:
    """A real crisiswatch database holding ``count`` events; returns seconds taken."""
    from crisiswatch.store import Store

    started = time.perf_counter()
    store = Store.open(path)
    base = datetime(2026, 11, 1, tzinfo=UTC)

    def rows() -> object:
        for i in range(count):
            kind = _KINDS[i % len(_KINDS)]
            stamp = (base + timedelta(seconds=i * 2)).strftime("%Y-%m-%dT%H:%M:%SZ")
            yield (stamp, kind, f"feed {i % 200:04d}",
                   f"KFOR increases patrols near Jarinje after overnight roadblocks ({i})",
                   f"https://outlet{i % 200:04d}.example.org/news/2026/{i:07d}",
                   "KFOR; Jarinje; roadblock" if kind.startswith("alert") else None,
                   "severity high" if kind == "alert_new" else ("HTTP 503 Service Unavailable" if kind == "fetch_error"
                                                                else ""))

    with store.write() as conn:
        conn.executemany("INSERT INTO events (time, kind, feed, title, link, keywords, detail) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", rows())
    store.close()
    return time.perf_counter() - started


def export_scale(count: int, formats: list[str]) -> None:
    print(f"\nexport events ({count:,} and {count // 10:,} events; target: {count:,} in < 10 s, flat memory):")
    with common.workdir("cw-export-") as tmp:
        for n in (count // 10, count):
            db = tmp / f"events{n}.db"
            built = make_events_db(db, n)
            size = sum(p.stat().st_size for p in tmp.glob(f"events{n}.db*"))
            env = common.quiet_env(tmp / "home")
            common.prime_bytecode(env)
            for fmt in formats:
                out = tmp / f"out{n}.{fmt}"
                run = common.run_measured([common.CRISISWATCH, "--db", str(db), "export", "events", "--format", fmt,
                                           "-o", str(out)], env=env)
                if run.returncode != 0:
                    raise RuntimeError(f"export failed: {run.stderr[-1000:]}")
                lines = sum(1 for _ in out.open("rb"))
                print(f"  {n:>9,} events  {fmt:<5} {run.seconds:6.2f} s ({run.cpu:.1f} s CPU)  peak RSS {common.mb(run.peak_tree_rss):>9}  "
                      f"{lines:,} lines, {out.stat().st_size / 1e6:.0f} MB out  (db {size / 1e6:.0f} MB, "
                      f"built in {built:.1f} s)", flush=True)
                out.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="50,200,1000", help="feed counts for the poll part")
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--server", choices=("nginx", "stdlib"), default="nginx")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,jsonl", help="export formats to time (default csv,jsonl)")
    parser.add_argument("--skip-poll", action="store_true")
    parser.add_argument("--skip-export", action="store_true")
    args = parser.parse_args()
    print(f"machine: {common.machine_notes()}")
    if not args.skip_poll:
        poll_scale([int(s) for s in args.sizes.split(",")], args.items, args.server)
    if not args.skip_export:
        export_scale(args.events, [f for f in args.formats.split(",") if f])
    return 0


if __name__ == "__main__":
    sys.exit(main())
