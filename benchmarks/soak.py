"""Soak: the real Poller against 200 loopback feeds (a tenth hostile), every few seconds, for minutes.

    /work/venv/bin/python benchmarks/soak.py                  # 10 minutes, 200 feeds, poll every 5 s
    /work/venv/bin/python benchmarks/soak.py --minutes 60 --every 10

Runs in-process with :class:`crisiswatch.poller.Poller` (what ``poll`` and the
TUI use) on a real SQLite file. The feeds come from the stdlib server in a child
process (so its memory is not ours); each cycle a share of the good feeds gains
new items, and the hostile ones (slow, stall, gzip bomb, endless body, 500/503/429,
malformed, HTML, empty, redirect loop and chain, 410, XXE, billion laughs, 301,
ANSI escapes, a 5 MB feed, connection reset) misbehave every time. Every cycle
polls every active feed regardless of backoff, so the hostile paths run every cycle.

Prints peak RSS (this process, and with the parse workers), RSS growth per hour
after warm-up (least-squares slope), database size, and the errors seen.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common


def _slope_per_hour(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of RSS over time, in bytes per hour."""
    if len(samples) < 3:
        return 0.0
    n = len(samples)
    mt = sum(t for t, _ in samples) / n
    mr = sum(r for _, r in samples) / n
    var = sum((t - mt) ** 2 for t, _ in samples)
    if var == 0:
        return 0.0
    return sum((t - mt) * (r - mr) for t, r in samples) / var * 3600


class RssSampler(threading.Thread):
    """Samples this process's RSS and the RSS of the whole tree (parse workers included) once a second."""

    def __init__(self, every: float = 1.0) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        import psutil

        self.me = psutil.Process()
        self.every = every
        self.stop = threading.Event()
        self.own: list[tuple[float, int]] = []
        self.tree: list[tuple[float, int]] = []
        self.pss: list[tuple[float, int]] = []
        self.peak_by_role: dict[str, int] = {}
        self.started = time.monotonic()

    def run(self) -> None:
        import psutil

        while not self.stop.is_set():
            t = time.monotonic() - self.started
            own = self.me.memory_info().rss
            total = own
            pss = self.me.memory_full_info().pss
            self._peak("poller (main)", own)
            for child in self.me.children(recursive=True):
                try:
                    cmd = " ".join(child.cmdline())
                    if "benchmarks/common.py" in cmd:  # the feed server is not crisiswatch
                        continue
                    rss = child.memory_info().rss
                    pss += child.memory_full_info().pss
                    total += rss
                    role = ("forkserver or parse worker" if "forkserver" in cmd else "resource tracker" if "resource_tracker" in cmd
                            else "parse worker")
                    self._peak(role, rss)
                except psutil.Error:
                    pass
            self.own.append((t, own))
            self.tree.append((t, total))
            self.pss.append((t, pss))
            self.stop.wait(self.every)

    def _peak(self, role: str, rss: int) -> None:
        self.peak_by_role[role] = max(self.peak_by_role.get(role, 0), rss)


async def soak(args: argparse.Namespace, tmp: Path) -> int:
    from crisiswatch.config import load_config
    from crisiswatch.poller import Poller
    from crisiswatch.store import Store

    good_count = args.feeds - round(args.feeds * args.hostile_share)
    specs = common.generate_feeds(tmp / "feeds", good_count, args.items)
    hostile = [common.HOSTILE_KINDS[i % len(common.HOSTILE_KINDS)] for i in range(args.feeds - good_count)]
    duration = args.minutes * 60
    epochs = [0] * good_count
    # Good feeds spread over ten ports ("sites", ~18 feeds each), hostile ones over five more, so a
    # stalled endpoint holds only its own site's connection slots, as on the real internet. (With
    # every feed on one host:port, the per-host limit queues them all and, on a loaded machine, the
    # queue wait alone can exceed the whole-request deadline.)
    with common.StdlibServer(tmp / "feeds", max_seconds=duration + 600, ports=15) as server:
        urls = [server.url_on(n % 10, s.path) for n, s in enumerate(specs)]
        urls += [server.url_on(10 + n % 5, f"/hostile/{kind}/{n}") for n, kind in enumerate(hostile)]
        config_path = common.write_config(tmp / "feeds.toml", urls, timeout=args.timeout)
        config = load_config(config_path)
        db = tmp / "soak.db"
        store = Store.open(db)
        poller = Poller(config, store)
        sampler = RssSampler()
        sampler.start()
        print(f"machine: {common.machine_notes()}")
        print(f"soak: {args.feeds} feeds ({len(hostile)} hostile: {', '.join(sorted(set(hostile)))}), "
              f"{args.items} items each, poll every {args.every:g}s for {args.minutes:g} min, timeout {args.timeout}, "
              f"{args.change_share:.0%} of good feeds change per cycle; server: {server.kind}", flush=True)
        started = time.monotonic()
        cycles = 0
        totals = collections.Counter[str]()
        errors_by_kind: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        good_errors_by_cycle: list[int] = []
        crashes: list[str] = []
        longest = 0.0
        next_report = 60.0
        rng_state = 0
        try:
            while time.monotonic() - started < duration:
                cycle_start = time.monotonic()
                try:
                    summary = await poller.poll_once()
                except Exception as exc:  # the soak records anything the poller lets escape
                    crashes.append(f"{type(exc).__name__}: {exc}")
                    await asyncio.sleep(args.every)
                    continue
                cycles += 1
                longest = max(longest, summary.seconds)
                totals.update(ok=summary.ok, not_modified=summary.not_modified, errors=summary.errors,
                              new_items=summary.new_items, new_alerts=summary.new_alerts)
                good_errors_by_cycle.append(0)
                for report in summary.reports:
                    if report.error:
                        kind = report.name
                        idx = int(kind.split()[-1])
                        label = hostile[idx - good_count] if idx >= good_count else "good feed"
                        if idx < good_count:
                            good_errors_by_cycle[-1] += 1
                        errors_by_kind[label][(report.error or "")[:90]] += 1
                # A share of the good feeds publishes new items before the next cycle.
                changes = max(1, round(good_count * args.change_share))
                for _ in range(changes):
                    rng_state = (rng_state * 1103515245 + 12345) % 2**31
                    i = rng_state % good_count
                    epochs[i] += 1 + rng_state % 3
                    common.write_feed(tmp / "feeds", specs[i], args.items, epochs[i])
                elapsed = time.monotonic() - started
                if elapsed >= next_report:
                    rss = sampler.own[-1][1] if sampler.own else 0
                    tree = sampler.tree[-1][1] if sampler.tree else 0
                    print(f"  {elapsed / 60:5.1f} min: {cycles} cycles, last {summary.line()}; RSS {common.mb(rss)} "
                          f"(tree {common.mb(tree)})", flush=True)
                    next_report += 60.0
                gc.collect()
                wait = args.every - (time.monotonic() - cycle_start)
                if wait > 0:
                    await asyncio.sleep(wait)
        finally:
            poller.close()
            sampler.stop.set()
            sampler.join()
            integrity = store.conn.execute("PRAGMA integrity_check").fetchone()[0]
            counts = {t: store.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 - constants
                      for t in ("items", "alerts", "events")}
            store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            store.close()
    total_time = time.monotonic() - started
    db_size = sum(p.stat().st_size for p in tmp.glob("soak.db*"))
    warm = args.warmup_minutes * 60
    own_after = [s for s in sampler.own if s[0] >= warm]
    tree_after = [s for s in sampler.tree if s[0] >= warm]
    print(f"\nran {total_time / 60:.1f} min, {cycles} cycles (longest poll {longest:.1f}s)")
    print(f"peak RSS: {common.mb(max(r for _, r in sampler.own))} this process; "
          f"{common.mb(max(r for _, r in sampler.tree))} with parse workers (RSS sum; "
          f"PSS sum {common.mb(max(r for _, r in sampler.pss))}); largest single process of each role: "
          + ", ".join(f"{role} {common.mb(v)}" for role, v in sorted(sampler.peak_by_role.items())))
    if own_after:
        print(f"RSS after warm-up ({args.warmup_minutes:g} min): {common.mb(own_after[0][1])} -> "
              f"{common.mb(own_after[-1][1])}; growth {common.mb(_slope_per_hour(own_after))}/h (this process), "
              f"{common.mb(_slope_per_hour(tree_after))}/h (with workers), least-squares over "
              f"{len(own_after)} samples")
    else:
        print("RSS growth: run longer than the warm-up to measure it")
    print(f"database: {db_size / 1e6:.1f} MB after checkpoint; {counts['items']} items, {counts['alerts']} alerts, "
          f"{counts['events']} events; integrity_check: {integrity}")
    print(f"feed results: {totals['ok']} ok, {totals['not_modified']} not modified, {totals['errors']} errors; "
          f"{totals['new_items']} new items, {totals['new_alerts']} new alerts")
    print("errors by feed kind (count: reason):")
    for label in sorted(errors_by_kind):
        for reason, n in errors_by_kind[label].most_common(2):
            print(f"  {label:<10} {n:5d}: {reason}")
    if good_errors_by_cycle:
        later = good_errors_by_cycle[1:]
        print(f"good-feed errors: {good_errors_by_cycle[0]} in the first (cold) cycle, {sum(later)} in the "
              f"{len(later)} later cycles ({sum(1 for n in later if n)} cycles had any)")
    print(f"poller exceptions: {len(crashes)}" + (f" — first: {crashes[0]}" if crashes else ""))
    return 1 if crashes or integrity != "ok" else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between poll starts (default 5)")
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--hostile-share", type=float, default=0.1)
    parser.add_argument("--change-share", type=float, default=0.05, help="good feeds gaining items per cycle")
    parser.add_argument("--timeout", default="5s", help="settings.timeout for the soak (default 5s)")
    parser.add_argument("--warmup-minutes", type=float, default=None,
                        help="RSS growth is measured after this (default: a fifth of the run, at most 5)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (database, feeds)")
    args = parser.parse_args()
    if args.warmup_minutes is None:
        args.warmup_minutes = min(5.0, args.minutes / 5)
    os.environ.pop("http_proxy", None)
    os.environ.pop("HTTP_PROXY", None)
    with common.workdir("cw-soak-", keep=args.keep) as tmp:
        return asyncio.run(soak(args, tmp))


if __name__ == "__main__":
    sys.exit(main())
