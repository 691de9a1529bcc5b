"""crisiswatch vs newsboat on the same loopback feeds, cold and warm, several rounds.

    /work/venv/bin/python benchmarks/compare_newsboat.py                  # 200 x 50, 5 rounds, nginx
    /work/venv/bin/python benchmarks/compare_newsboat.py --rounds 3 --threads 1,4,8

One server (nginx if installed: honest 304s from files on disk; else the stdlib
server) serves N generated feeds, half ETag-validated, half Last-Modified. Each
round runs, interleaved so load on the machine hits every tool alike:

* ``crisiswatch poll --once`` on a fresh database (cold), then again (warm: all 304);
* ``newsboat -x reload`` on a fresh cache (cold), again, and a third time (warm),
  once per ``reload-threads`` setting. newsboat's default is 1 thread;
  crisiswatch fetches up to ``per_host_connections`` (4) at once from one host,
  so ``reload-threads 4`` is the equal-concurrency setting.

Why newsboat gets a third run: newsboat 2.21 does not store the ETag or
Last-Modified of a feed it fetches for the first time, so its *second* reload
downloads everything again (all 200s, checked in nginx's log). Its third reload
is the first that is all 304 — that is the warm figure compared; the second is
printed too.

Times are medians over the timed rounds, which run without any sampler (a
blocking wait4 gives wall and CPU seconds). Memory comes from separate rounds
(``--memory-rounds``, default 1) with the sampler on: peak RSS is the summed RSS
of the process tree (crisiswatch's parse workers included) every 10 ms, and
PSS every 50 ms — sampling /proc that often costs CPU on a 2-core machine, and
more for a tool with several processes, so it must not run during timings.
Ratios are crisiswatch / newsboat, so below 1 means crisiswatch is faster.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

COLD_TARGET = 0.8
WARM_TARGET = 0.3
RSS_TARGET = 150 << 20


@dataclass
class Series:
    """All runs of one tool/setting."""

    name: str
    cold: list[common.Run] = field(default_factory=list)
    second: list[common.Run] = field(default_factory=list)
    warm: list[common.Run] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mem_cold: list[common.Run] = field(default_factory=list)
    mem_second: list[common.Run] = field(default_factory=list)
    mem_warm: list[common.Run] = field(default_factory=list)
    """Runs with the memory sampler on, kept out of the timings."""

    def lists(self, sample: bool) -> tuple[list[common.Run], list[common.Run], list[common.Run]]:
        """Where a round's cold, second and warm runs go: timings, or the memory runs."""
        if sample:
            return self.mem_cold, self.mem_second, self.mem_warm
        return self.cold, self.second, self.warm

    @staticmethod
    def med(runs: list[common.Run]) -> float:
        return common.median([r.seconds for r in runs]) if runs else float("nan")

    @staticmethod
    def med_cpu(runs: list[common.Run]) -> float:
        return common.median([r.cpu for r in runs]) if runs else float("nan")

    def peak(self, cold: bool) -> int:
        return max((r.peak_tree_rss for r in (self.mem_cold if cold else self.mem_warm)), default=0)

    def peak_pss(self, cold: bool) -> int:
        return max((r.peak_tree_pss for r in (self.mem_cold if cold else self.mem_warm)), default=0)


def newsboat_binary() -> str | None:
    return shutil.which("newsboat")


def newsboat_run(binary: str, workdir: Path, env: dict[str, str], sample: bool) -> common.Run:
    run = common.run_measured([binary, "-x", "reload", "-u", str(workdir / "urls"), "-c", str(workdir / "cache.db"),
                               "-C", str(workdir / "config")], env=env, cwd=workdir, sample=sample)
    if run.returncode != 0:
        raise RuntimeError(f"newsboat failed ({run.returncode}): {run.stderr[-800:]} {run.stdout_tail[-400:]}")
    return run


def newsboat_validators(cache: Path) -> str:
    """How many feeds newsboat has validators for (it only sends conditional requests for those)."""
    with sqlite3.connect(cache) as conn:
        n, etags, lms = conn.execute("SELECT count(*), sum(etag != ''), sum(lastmodified > 0) FROM rss_feed").fetchone()
        items = conn.execute("SELECT count(*) FROM rss_item").fetchone()[0]
    return f"{items} items, validators for {etags or 0} ETag + {lms or 0} Last-Modified of {n} feeds"


def statuses(counts: dict[int, int]) -> str:
    return ", ".join(f"{n}x{code}" for code, n in sorted(counts.items())) or "n/a (server keeps no log)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--memory-rounds", type=int, default=1,
                        help="extra rounds with the memory sampler on, for peak RSS/PSS only (default 1)")
    parser.add_argument("--server", choices=("nginx", "stdlib"), default="nginx")
    parser.add_argument("--threads", default="1,4", help="newsboat reload-threads settings to run (default 1,4)")
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    binary = newsboat_binary()
    print(f"machine: {common.machine_notes()}")
    if binary is None:
        print("newsboat is not installed (apt-get install newsboat): skipping it, timing crisiswatch only")
    else:
        import subprocess

        version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
        print(f"newsboat: {version} (config defaults except reload-threads)")

    with common.workdir("cw-vs-newsboat-") as tmp:
        specs = common.generate_feeds(tmp / "feeds", args.feeds, args.items)
        with common.open_server(tmp / "feeds", prefer=args.server) as server:
            print(f"server: {server.kind} on 127.0.0.1:{server.port} ({common.check_conditional(server, specs)}); "
                  f"{args.feeds} feeds x {args.items} items, {args.rounds} rounds", flush=True)
            server.status_counts()
            urls = [server.url(s.path) for s in specs]
            config = common.write_config(tmp / "feeds.toml", urls)
            env = common.quiet_env(tmp / "home")
            common.prime_bytecode(env)
            cw = Series("crisiswatch poll --once")
            boats = {t: Series(f"newsboat reload-threads {t}" + (" (default)" if t == 1 else "")) for t in threads}
            for r in range(args.rounds + args.memory_rounds):
                sample = r >= args.rounds
                label = f"memory round {r + 1 - args.rounds}" if sample else f"round {r + 1}"
                cold, _, warm = cw.lists(sample)
                db = tmp / f"cw{r}.db"
                cold.append(common.crisiswatch_poll(config, db, env=env, sample=sample))
                cold_status = statuses(server.status_counts())
                warm.append(common.crisiswatch_poll(config, db, env=env, sample=sample))
                warm_status = statuses(server.status_counts())
                print(f"{label}: crisiswatch cold {cold[-1].seconds:.2f}s ({cold[-1].cpu:.2f}s CPU) "
                      f"[{cold_status}], warm {warm[-1].seconds:.2f}s ({warm[-1].cpu:.2f}s CPU) [{warm_status}] — {common.summary_line(warm[-1])}",
                      file=sys.stderr, flush=True)
                if binary is None:
                    continue
                for t, series in boats.items():
                    cold, second, warm = series.lists(sample)
                    nb = tmp / f"nb{t}-{r}"
                    (nb / "home").mkdir(parents=True)
                    (nb / "urls").write_text("\n".join(urls) + "\n")
                    (nb / "config").write_text(f"reload-threads {t}\n")
                    nb_env = common.quiet_env(nb / "home")
                    cold.append(newsboat_run(binary, nb, nb_env, sample))
                    s1 = statuses(server.status_counts())
                    second.append(newsboat_run(binary, nb, nb_env, sample))
                    s2 = statuses(server.status_counts())
                    warm.append(newsboat_run(binary, nb, nb_env, sample))
                    s3 = statuses(server.status_counts())
                    if r == 0:
                        series.notes.append(f"after 3 runs: {newsboat_validators(nb / 'cache.db')}")
                    print(f"{label}: newsboat t={t} cold {cold[-1].seconds:.2f}s "
                          f"({cold[-1].cpu:.2f}s CPU) [{s1}], "
                          f"second {second[-1].seconds:.2f}s [{s2}], warm {warm[-1].seconds:.2f}s "
                          f"({warm[-1].cpu:.2f}s CPU) [{s3}]", file=sys.stderr, flush=True)
                    shutil.rmtree(nb, ignore_errors=True)

    print(f"\nmedians over {args.rounds} rounds ({args.feeds} feeds x {args.items} items):")
    print(f"  {'':34} {'cold s':>7} {'2nd s':>7} {'warm s':>7}  {'cold CPU':>8} {'warm CPU':>8}  "
          f"{'peak RSS cold':>13} {'peak RSS warm':>13}  {'PSS cold':>9} {'PSS warm':>9}")
    for series in [cw, *boats.values()] if binary else [cw]:
        second = f"{series.med(series.second):7.2f}" if series.second else f"{'-':>7}"
        print(f"  {series.name:34} {series.med(series.cold):7.2f} {second} {series.med(series.warm):7.2f}  "
              f"{series.med_cpu(series.cold):7.2f}s {series.med_cpu(series.warm):7.2f}s  "
              f"{common.mb(series.peak(True)):>13} {common.mb(series.peak(False)):>13}  "
              f"{common.mb(series.peak_pss(True)):>9} {common.mb(series.peak_pss(False)):>9}")
        for note in series.notes:
            print(f"  {'':34} {note}")
    print(f"  crisiswatch: {common.summary_line(cw.cold[-1])}")
    if binary is None:
        return 0
    print("\nratios crisiswatch / newsboat (targets: cold <= 0.8, warm <= 0.3, crisiswatch peak RSS <= 150 MB):")
    verdicts = []
    for t, series in boats.items():
        cold = cw.med(cw.cold) / series.med(series.cold)
        warm = cw.med(cw.warm) / series.med(series.warm)
        verdicts.append((cold, warm))
        cold_cpu = cw.med_cpu(cw.cold) / series.med_cpu(series.cold)
        warm_cpu = cw.med_cpu(cw.warm) / series.med_cpu(series.warm)
        print(f"  vs reload-threads {t}: cold {cold:.2f}x, warm {warm:.2f}x wall time; "
              f"CPU time cold {cold_cpu:.2f}x, warm {warm_cpu:.2f}x")
    worst_cold = max(v[0] for v in verdicts)
    worst_warm = max(v[1] for v in verdicts)
    peak = max(cw.peak(True), cw.peak(False))
    pss = max(cw.peak_pss(True), cw.peak_pss(False))
    print(f"  against newsboat's best setting: cold {worst_cold:.2f}x ({'met' if worst_cold <= COLD_TARGET else 'NOT met'}),"
          f" warm {worst_warm:.2f}x ({'met' if worst_warm <= WARM_TARGET else 'NOT met'}); crisiswatch peak RSS "
          f"{common.mb(peak)} summed over its processes ({'met' if peak <= RSS_TARGET else 'NOT met'}), "
          f"PSS {common.mb(pss)} ({'met' if pss <= RSS_TARGET else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
