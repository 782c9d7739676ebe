#!/usr/bin/env python3
"""Writes the "Online learning" section of docs/hit-ratio.md.

    python3 scripts/online_report.py [--replay build/host/bin/belady-replay] [--demo build/host/bin/belady-demo]
                                     [--traces ../shared/traces] [--out docs/hit-ratio.md]

For every shared trace at its three capacities (those of hit_ratio_report.py): exact LRU, the best
exact heuristic and OPT, beside the real cache learning online from nothing (belady-replay
--policy learned --online, manual mode, seed 1), and the share of the LRU-to-OPT gap closed. Then
the recovery after the synthetic phase changes, from belady-demo. The section sits between two
markers; hit_ratio_report.py keeps it when it regenerates the rest of the file.
"""
import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hit_ratio_report import EXACT, TRACES, peers, run as replay  # noqa: E402

BEGIN = "<!-- online-learning:begin -->"
END = "<!-- online-learning:end -->"


def sample_rate(capacity):
    """A miniature of about 4,000 slots: the sampling rate within [5 %, 100 %]."""
    return min(1.0, max(0.05, 4000.0 / capacity))


def online_flags(requests, capacity):
    """belady-replay's online-learning flags for a trace of `requests` at `capacity`: the sampling
    rate, and a training round every N sampled requests (about 30 per run)."""
    rate = sample_rate(capacity)
    train_every = max(2000, int(requests * rate / 30))
    return rate, ["--online", "--sample-rate", f"{rate:g}", "--train-every", str(train_every), "--seed", "1"]


def report_args(description_extra=()):
    """The command line the report scripts share: binaries, traces, output file."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("--replay", default=os.path.join(root, "build/host/bin/belady-replay"))
    ap.add_argument("--demo", default=os.path.join(root, "build/host/bin/belady-demo"))
    ap.add_argument("--traces", default=os.path.join(root, "../shared/traces"))
    ap.add_argument("--out", default=os.path.join(root, "docs/hit-ratio.md"))
    for name, kwargs in description_extra:
        ap.add_argument(name, **kwargs)
    return ap.parse_args()


def median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def main():
    args = report_args()

    rows = []
    started = time.time()
    peer_table = peers(args.traces)
    for name, file, fmt, caps, _ in TRACES:
        path = os.path.join(args.traces, file)
        exact = {(r["policy"], r["capacity"]): r["miss_ratio"] for r in replay(args.replay, path, fmt, "exact", EXACT, caps)}
        for cap in caps:
            requests = replay(args.replay, path, fmt, "exact", ["lru"], [cap])[0]["requests"]
            rate, flags = online_flags(requests, cap)
            train_every = int(flags[flags.index("--train-every") + 1])
            # The same set-associative table under LRU, so that learned vs this is the learner's
            # own effect (its newcomer-aware baseline and the models it promotes), and cache LRU
            # vs exact LRU is the table's associativity cost.
            cache_lru = replay(args.replay, path, fmt, "cache", ["lru"], [cap])[0]["miss_ratio"]
            peer = peer_table.get((name, cap))
            t0 = time.time()
            r = replay(args.replay, path, fmt, "cache", ["learned"], [cap], flags)[0]
            seconds = time.time() - t0
            heuristics = {p: exact[(p, cap)] for p in EXACT if p not in ("lru", "opt")}
            best = min(heuristics, key=heuristics.get)
            lru, opt, learned = exact[("lru", cap)], exact[("opt", cap)], r["miss_ratio"]
            o = r["online"]
            rows.append(dict(trace=name, capacity=cap, lru=lru, best=best, best_miss=heuristics[best], opt=opt,
                             learned=learned, cache_lru=cache_lru,
                             peer_gap=float(peer[5]) if peer else None,
                             peer=peer[3].split("(")[-1].rstrip(")") if peer else None, gap=(lru - learned) / (lru - opt) if lru > opt else 0.0,
                             rate=rate, train_every=train_every, rounds=o["training_rounds"],
                             promoted=o["promotions"], rejected=o["rejections"], rolled_back=o["rollbacks"],
                             failed=o["failures"], version=o["final_version"], seconds=seconds))
            print(f"{name} {cap}: learned {learned:.4f} lru {lru:.4f} opt {opt:.4f} ({seconds:.0f} s)", file=sys.stderr)

    demo = subprocess.run([args.demo], check=True, capture_output=True, text=True).stdout
    recovery = demo[demo.index("Requests after each phase change"):demo.index("Online learning (learned row)")].strip()
    table = demo[demo.index("policy   hit ratio"):demo.index("Requests after each phase change")].strip()
    # The throughput column depends on the machine: drop it from the committed copy.
    table = "\n".join(re.sub(r"\s+\S+$", "", line) for line in table.splitlines())

    lines = [BEGIN, "## Online learning (learning from nothing during the replay)", "",
             "`scripts/online_report.py` (after `make build`); "
             f"{time.time() - started:.0f} s on the development machine. The real cache (host backend, bucket size 128 or the largest divisor of the capacity in [64, 128]: 125, or 120 and 100 for web12 at 1,200 and 300)",
             "starts from its baseline (recency with S3-FIFO's lessons about newcomers, docs/online-learning.md) and learns online while it serves the whole trace:",
             "`belady-replay --engine cache --policy learned --online --sample-rate R --train-every N --seed 1`,",
             "manual mode, `online_step()` every 1,000 requests, so the run is reproducible. The sampling",
             "rate gives a miniature of about 4,000 slots (5 % to 100 %: these traces are small for the",
             "1 % a production cache would use); a round is due every N sampled requests (about 30 per run).",
             "Gap closed = (LRU - learned) / (LRU - OPT); vs exact LRU, vs cache LRU and vs best heuristic",
             "are relative differences of the miss ratio (negative: the learned cache misses less). *Cache LRU*",
             "is the same set-associative table under LRU: vs cache LRU is the learner's own effect (its baseline",
             "and the models it promotes), and the",
             "difference between the two LRU columns is the table's associativity cost (\"Set-associativity",
             "cost\" below). *Best peer closes*: the share of the gap closed by the best of libCacheSim's 20",
             "policies in that cell (shared/traces/PEERS.md), a different policy per cell. Miss ratios.", "",
             "| trace | capacity | exact LRU | best heuristic | learned online (cache) | OPT | gap closed | best peer closes | vs exact LRU | vs cache LRU | vs best heuristic | rate | rounds | promoted / rejected / rolled back | final version |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['trace']} | {r['capacity']:,} | {r['lru']:.4f} | {r['best']} {r['best_miss']:.4f} | {r['learned']:.4f} | "
            f"{r['opt']:.4f} | {100 * r['gap']:.0f} % | "
            + (f"{100 * r['peer_gap']:.0f} % ({r['peer']})" if r["peer_gap"] is not None else "-")
            + f" | {100 * (r['learned'] / r['lru'] - 1):+.1f} % | {100 * (r['learned'] / r['cache_lru'] - 1):+.1f} % | "
            f"{100 * (r['learned'] / r['best_miss'] - 1):+.1f} % | {r['rate']:.2f} | {r['rounds']} | "
            f"{r['promoted']} / {r['rejected']} / {r['rolled_back']} | {r['version']} |")
    gaps = [r["gap"] for r in rows]
    worse_than_lru = [r for r in rows if r["learned"] > r["lru"] * 1.01]
    better_than_best = [r for r in rows if r["learned"] < r["best_miss"]]
    worse_than_cache_lru = [r for r in rows if r["learned"] > r["cache_lru"] * 1.01]
    peer_gaps = [r["peer_gap"] for r in rows if r["peer_gap"] is not None]
    lines += ["", f"Median share of the LRU-to-OPT gap closed: {100 * median(gaps):.0f} % (goal: 30 %). "
              f"Worse than exact LRU by more than 1 %: {len(worse_than_lru)} of {len(rows)}"
              + (" (" + ", ".join(f"{r['trace']} {r['capacity']:,}" for r in worse_than_lru) + ")" if worse_than_lru else "")
              + f"; worse than the same table under LRU by more than 1 %: {len(worse_than_cache_lru)} of {len(rows)}"
              + (" (" + ", ".join(f"{r['trace']} {r['capacity']:,}" for r in worse_than_cache_lru) + ")" if worse_than_cache_lru else "")
              + f". Better than the best heuristic: {len(better_than_best)} of {len(rows)}."
              + (f" For scale: the best of the 20 peer policies, chosen per cell with hindsight, closes a median of "
                 f"{100 * median(peer_gaps):.0f} % of the gap ({len(peer_gaps)} cells)." if peer_gaps else ""), "",
              "### After a phase change (synthetic, `belady-demo`)", "",
              "The demo's workload (zipf 0.9, scan, loop, zipf 0.9; capacity 32,768, batches of 4,096, 5 % sampling):",
              "", "```", table, "", recovery, "```", "", END]
    section = "\n".join(lines) + "\n"

    text = open(args.out).read() if os.path.exists(args.out) else ""
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END) + 1:]
    else:
        anchor = "## Set-associativity cost"
        text = text.replace(anchor, section + "\n" + anchor, 1) if anchor in text else text + "\n" + section
    with open(args.out, "w") as f:
        f.write(text)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
