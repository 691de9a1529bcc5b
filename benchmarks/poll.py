"""Time ``crisiswatch poll --once`` on N loopback feeds: cold (fresh database) and warm (all 304).

    /work/venv/bin/python benchmarks/poll.py                 # 200 feeds x 50 items, nginx if installed
    /work/venv/bin/python benchmarks/poll.py --feeds 1000 --server stdlib --rounds 3

Each run is a real ``crisiswatch`` subprocess, so the figures include interpreter
start-up and imports, exactly what a user waits for. Times come from rounds run
without any sampler; peak RSS (the summed RSS of the process tree, parse workers
included, sampled every 10 ms) and PSS come from one more round with the sampler
on, since sampling /proc that often costs CPU on a 2-core machine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common


def bench(feeds: int, items: int, server_kind: str, rounds: int, *, verbose: bool = True) -> dict[str, object]:
    """Cold then warm poll, ``rounds`` times each on fresh databases; returns medians and peaks."""
    with common.workdir("cw-poll-") as tmp:
        specs = common.generate_feeds(tmp / "feeds", feeds, items)
        with common.open_server(tmp / "feeds", prefer=server_kind) as server:
            checked = common.check_conditional(server, specs)
            config = common.write_config(tmp / "feeds.toml", [server.url(s.path) for s in specs])
            env = common.quiet_env(tmp / "home")
            common.prime_bytecode(env)
            cold: list[common.Run] = []
            warm: list[common.Run] = []
            for r in range(rounds):
                db = tmp / f"round{r}.db"
                cold.append(common.crisiswatch_poll(config, db, env=env, sample=False))
                warm.append(common.crisiswatch_poll(config, db, env=env, sample=False))
                if verbose:
                    print(f"  round {r + 1}: cold {cold[-1].seconds:.2f}s ({common.summary_line(cold[-1])}); "
                          f"warm {warm[-1].seconds:.2f}s ({common.summary_line(warm[-1])})", file=sys.stderr)
            mem_cold = common.crisiswatch_poll(config, tmp / "memory.db", env=env)
            mem_warm = common.crisiswatch_poll(config, tmp / "memory.db", env=env)
            result = {
                "feeds": feeds, "items": items, "server": server.kind, "conditional": checked,
                "cold_s": common.median([r.seconds for r in cold]), "warm_s": common.median([r.seconds for r in warm]),
                "cold_rss": mem_cold.peak_tree_rss, "warm_rss": mem_warm.peak_tree_rss,
                "cold_maxrss": max(r.max_rss for r in cold), "warm_maxrss": max(r.max_rss for r in warm),
                "cold_pss": mem_cold.peak_tree_pss, "warm_pss": mem_warm.peak_tree_pss,
                "cold_cpu": common.median([r.cpu for r in cold]), "warm_cpu": common.median([r.cpu for r in warm]),
                "cold_line": common.summary_line(cold[-1]), "warm_line": common.summary_line(warm[-1]),
            }
            return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="cold+warm pairs; medians are printed")
    parser.add_argument("--server", choices=("nginx", "stdlib"), default="nginx",
                        help="nginx if installed (default), else the threaded stdlib server")
    args = parser.parse_args()
    print(f"machine: {common.machine_notes()}")
    r = bench(args.feeds, args.items, args.server, args.rounds)
    print(f"server: {r['server']} on 127.0.0.1 ({r['conditional']})")
    print(f"{args.feeds} feeds x {args.items} items, median of {args.rounds}:")
    print(f"  cold  {r['cold_s']:.2f} s ({r['cold_cpu']:.2f} s CPU)   peak RSS {common.mb(r['cold_rss'])} (sum over the process tree; "  # type: ignore[arg-type]
          f"PSS {common.mb(r['cold_pss'])}), {common.mb(r['cold_maxrss'])} largest process   "  # type: ignore[arg-type]
          f"[{r['cold_line']}]")
    print(f"  warm  {r['warm_s']:.2f} s ({r['warm_cpu']:.2f} s CPU)   peak RSS {common.mb(r['warm_rss'])} (sum over the process tree; "  # type: ignore[arg-type]
          f"PSS {common.mb(r['warm_pss'])}), {common.mb(r['warm_maxrss'])} largest process   "  # type: ignore[arg-type]
          f"[{r['warm_line']}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
