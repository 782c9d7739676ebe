#!/usr/bin/env python3
"""Regenerates docs/hit-ratio.md and docs/img/mrc-*.png from the shared traces.

    python3 scripts/hit_ratio_report.py [--replay build/host/bin/belady-replay] [--traces ../shared/traces]

Runs belady-replay (exact engine: every reference policy and OPT; cache engine: the set-associative
cache's LRU/LFU/FIFO at bucket size 128) at three capacities per trace (the capacities of
shared/traces/PEERS.md), sets the figures beside PEERS.md's libCacheSim numbers, and draws
miss-ratio curves with gnuplot. Needs a Release build of the host preset and gnuplot.
"""
import argparse
import json
import os
import subprocess
import sys
import time

TRACES = [
    # name, file, format, three capacities (objects), curve capacities
    ("OLTP", "OLTP.lis", "arc", [1000, 5000, 15000], [500, 1000, 2000, 5000, 10000, 15000, 30000, 60000]),
    ("cloudPhysicsIO", "cloudPhysicsIO.oracleGeneral.bin", "oracle-general", [1000, 5000, 10000],
     [500, 1000, 2000, 5000, 10000, 20000, 40000]),
    ("orm-busy", "orm-busy.trace.xz", "i32be", [1000, 5000, 10000], [500, 1000, 2000, 5000, 10000, 20000, 40000]),
    ("scarab-recs", "scarab-recs.trace", "i64be", [25000, 50000, 100000],
     [5000, 10000, 25000, 50000, 100000, 200000]),
    ("w106", "w106.trace.xz", "u32be", [10000, 50000, 100000], [2000, 5000, 10000, 20000, 50000, 100000, 200000]),
    ("web12", "web12.trace", "i32be", [300, 1200, 3000], [100, 300, 600, 1200, 3000, 6000, 12000]),
]
EXACT = ["lru", "fifo", "lfu", "clock", "arc", "2q", "lirs", "s3fifo", "sieve", "wtinylfu", "opt"]
CACHE = ["lru", "lfu", "fifo"]
CURVE_POLICIES = ["lru", "arc", "s3fifo", "lirs", "wtinylfu", "opt"]


NOTES = """## Notes on the figures

- Set-associativity cost: every cell is within 0.5 % of exact LRU except cloudPhysicsIO at 10,000
  (+3 %). That capacity sits on a cliff of the LRU curve: exact LRU's miss ratio falls from 0.759
  at 9,000 to 0.698 at 10,000, where a loop starts to fit. With 80 buckets the loop's keys spread
  unevenly, and the buckets that receive more than their share keep thrashing until the capacity
  grows a little more: the gap is +0.4 % at 11,000 and +0.5 % at 12,000 (`belady-replay --trace
  cloudPhysicsIO.oracleGeneral.bin --format oracle-general --capacity 9000,10000,11000,12000
  --policy lru --engine exact|cache`). web12 at 300 and 1,200 has fewer than 16 buckets: outside
  the target's range, and still within 0.2 %.
- The cache engine's LFU differs from the exact LFU: the cache never ages counts and refuses a
  newcomer that scores below every resident of its bucket (admission), as HierarchicalKV's LFU does.
- Offline learned policy: a model fitted on the first half serves the second half with no further
  learning. Where the second half behaves differently it can do worse than LRU (w106 at 50,000 and
  100,000, cloudPhysicsIO at 10,000), and nothing in an offline model notices. The online loop
  (section "Online learning") notices: it evaluates every candidate in miniature simulations,
  promotes only on a significant win and rolls back a regression. On those three cells over the
  whole trace it is +0.4 % (w106 50,000), +0.1 % (w106 100,000) and +3.4 % (cloudPhysicsIO
  10,000) against exact LRU, where the offline models were 2 % to 34 % above it on the second
  half. At cloudPhysicsIO 10,000 the cache's own LRU is already +3 % (the first note); against
  it the online learned cache is +0.4 % (the online table's "vs cache LRU" column).
- Every learned figure here was measured again after a fix to the eviction's candidate sample
  (docs/learned-policy.md). The replay's 125-slot buckets are not a multiple of the 16
  candidates, and the sample used to reach only the first 112 slots of each bucket: 10 % of the
  cache was never evicted. The fix moved the offline median gap closed from 11 % to 17 %, and
  the online one from 12 % to 14 % (better than the best heuristic on 8 cells instead of 4).
  Two online cells lost what the frozen slots had given them by chance: cloudPhysicsIO 10,000 (a
  loop that fits only just: a protected, never-evicted set helped it) and w106 100,000. With a
  smaller trainer step (`learning_rate = 0.002`) no cell is worse than exact LRU by more than 1 %
  in three seeds, at a lower median (about 10 %; docs/online-learning.md, "Sensitivity").
- Measured again after the frequency sketch stopped counting hits (docs/learned-policy.md): the
  offline median gap closed went from 17 % to 16 % (w106 at 10,000 from 6 % to 38 %, most other
  cells within 2 points), the online one from 14 % to 12 %, with 1 cell worse than exact LRU by
  more than 1 % instead of 2 (w106 100,000 went from +2.7 % to +0.1 %) and 7 better than the
  best heuristic instead of 8. Online cells move by several points between seeds
  (docs/online-learning.md): with seed 2 the online median was 11.6 % before and 11.8 % after.
"""


def run(replay, path, fmt, engine, policies, capacities, extra=()):
    cmd = [replay, "--trace", path, "--format", fmt, "--engine", engine, "--policy", ",".join(policies),
           "--capacity", ",".join(str(c) for c in capacities), "--json", *extra]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def peers(traces_dir):
    table = {}
    try:
        with open(os.path.join(traces_dir, "PEERS.md")) as f:
            for line in f:
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                if len(cells) == 6 and cells[1].isdigit():
                    table[(cells[0], int(cells[1]))] = cells
    except FileNotFoundError:
        pass
    return table


def plot(name, rows, img_dir):
    data = os.path.join(img_dir, f"mrc-{name}.dat")
    caps = sorted({r["capacity"] for r in rows})
    pols = [p for p in CURVE_POLICIES if any(r["policy"] == p for r in rows)]
    with open(data, "w") as f:
        f.write("# capacity " + " ".join(pols) + "\n")
        for c in caps:
            vals = []
            for p in pols:
                m = [r["miss_ratio"] for r in rows if r["policy"] == p and r["capacity"] == c]
                vals.append(f"{m[0]:.6f}" if m else "NaN")
            f.write(f"{c} " + " ".join(vals) + "\n")
    png = os.path.join(img_dir, f"mrc-{name}.png")
    script = (f"set terminal pngcairo size 800,500 noenhanced\nset output '{png}'\n"
              f"set title 'Miss-ratio curve: {name} (exact policies, unit-size objects)'\n"
              "set xlabel 'cache capacity (objects, log scale)'\nset ylabel 'miss ratio'\nset logscale x\n"
              "set key outside right\nset grid\n"
              "plot " + ", ".join(f"'{data}' using 1:{i + 2} with linespoints title '{p}'"
                                  for i, p in enumerate(pols)) + "\n")
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    except FileNotFoundError:
        try:
            subprocess.run(["gnuplot"], input=script.replace("pngcairo", "png"), text=True, check=True)
        except FileNotFoundError:
            print("gnuplot not found: curves not drawn", file=sys.stderr)
    os.remove(data)


def train_and_replay(args, path, fmt, cap, kind, int8=False):
    out = os.path.join(args.workdir, f"{os.path.basename(path)}-{cap}-{kind}{'-int8' if int8 else ''}.bin")
    cmd = [args.train, "--trace", path, "--format", fmt, "--capacity", str(cap), "--out", out, "--part",
           "first-half", "--kind", kind, "--quiet"] + (["--int8"] if int8 else [])
    info = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    rows = run(args.replay, path, fmt, "cache", ["learned"], [cap], ["--model", out, "--part", "second-half"])
    return info, rows[0]


def learned_section(args, peer):
    """Offline learned policy: trained on each trace's first half, evaluated on its second half."""
    md = ["## Learned policy, offline (trained on the first half, evaluated on the second half)", "",
          "`belady-train --part first-half` (linear ridge model, 2 rounds) then `belady-replay --engine cache",
          "--policy learned --model M --part second-half`, beside the exact policies on the same second half.",
          "Gap closed = (LRU - learned) / (LRU - OPT). Miss ratios.", "",
          "| trace | capacity | exact LRU | best heuristic | learned (cache) | OPT | gap closed | vs best heuristic |",
          "|---|---|---|---|---|---|---|---|"]
    int8_rows = []
    closed = []
    for name, file, fmt, caps, _ in TRACES:
        path = os.path.join(args.traces, file)
        if not os.path.exists(path):
            continue
        exact = run(args.replay, path, fmt, "exact", EXACT, caps, ["--part", "second-half"])
        for c in caps:
            info, learned = train_and_replay(args, path, fmt, c, "linear")
            lru = next(r for r in exact if r["capacity"] == c and r["policy"] == "lru")["miss_ratio"]
            opt = next(r for r in exact if r["capacity"] == c and r["policy"] == "opt")["miss_ratio"]
            heur = min((r for r in exact if r["capacity"] == c and r["policy"] != "opt"), key=lambda r: r["miss_ratio"])
            l = learned["miss_ratio"]
            gap = (lru - l) / (lru - opt) if lru > opt else 0.0
            closed.append(gap)
            rel = (l - heur["miss_ratio"]) / heur["miss_ratio"] * 100 if heur["miss_ratio"] else 0.0
            md.append(f"| {name} | {c:,} | {lru:.4f} | {heur['policy']} {heur['miss_ratio']:.4f} | {l:.4f} | {opt:.4f} | "
                      f"{gap * 100:.0f} % | {rel:+.1f} % |")
        c = caps[0]
        info_fp, _ = train_and_replay(args, path, fmt, c, "mlp")
        info_q, learned_q = train_and_replay(args, path, fmt, c, "mlp", int8=True)
        int8_rows.append((name, c, info_q, learned_q))
    if closed:
        closed_sorted = sorted(closed)
        md += ["", f"Median share of the LRU-to-OPT gap closed: {closed_sorted[len(closed_sorted) // 2] * 100:.0f} %.", ""]
    md += ["### int8 quantization (MLP, 16 hidden units)", "",
           "Same training run; the int8 model is the fp32 model quantized (per-row int8 weights). Accuracy is",
           "the share of held-out candidate pairs whose predicted order (which one returns first) is right.", "",
           "| trace | capacity | fp32 bytes | int8 bytes | smaller by | fp32 pairwise acc. | int8 pairwise acc. | loss | int8 replay miss ratio |",
           "|---|---|---|---|---|---|---|---|---|"]
    for name, c, q, lq in int8_rows:
        smaller = (1 - q["bytes"] / q["fp32_bytes"]) * 100
        loss = (q["validation_pairwise_accuracy"] - q["int8_validation_pairwise_accuracy"]) / q["validation_pairwise_accuracy"] * 100
        md.append(f"| {name} | {c:,} | {q['fp32_bytes']} | {q['bytes']} | {smaller:.0f} % | "
                  f"{q['validation_pairwise_accuracy']:.4f} | {q['int8_validation_pairwise_accuracy']:.4f} | {loss:.2f} % | "
                  f"{lq['miss_ratio']:.4f} |")
    md.append("")
    return md


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--replay", default="build/host/bin/belady-replay")
    ap.add_argument("--traces", default="../shared/traces")
    ap.add_argument("--out", default="docs/hit-ratio.md")
    ap.add_argument("--img", default="docs/img")
    ap.add_argument("--train", default="build/host/bin/belady-train")
    ap.add_argument("--workdir", default="build/hit-ratio-models")
    args = ap.parse_args()
    os.makedirs(args.img, exist_ok=True)
    os.makedirs(args.workdir, exist_ok=True)
    peer = peers(args.traces)
    started = time.time()
    md = ["# Hit ratios on the shared traces", "",
          "Generated by `python3 scripts/hit_ratio_report.py` (after `make build`); do not edit by hand.",
          "Unit-size objects, capacity in objects, whole trace. Exact engine: fully associative reference",
          "policies (bench/replay/policies). Cache engine: the real set-associative `belady::cache`, host",
          "backend, bucket size 128 (or the largest divisor of the capacity in [64, 128]), batch 1.",
          "`PEERS` columns: libCacheSim's numbers from shared/traces/PEERS.md. Miss ratios; lower is better.", ""]
    summary = []
    for name, file, fmt, caps, curve in TRACES:
        path = os.path.join(args.traces, file)
        if not os.path.exists(path):
            print(f"missing {path}: skipped", file=sys.stderr)
            continue
        exact = run(args.replay, path, fmt, "exact", EXACT, caps)
        cache = run(args.replay, path, fmt, "cache", CACHE, caps)
        md += [f"## {name}", "", f"`{file}` ({exact[0]['requests']:,} requests).", ""]
        header = "| policy | engine | " + " | ".join(f"C={c:,}" for c in caps) + " |"
        md += [header, "|---|---|" + "---|" * len(caps)]
        for r_set, engine in ((exact, "exact"), (cache, "cache")):
            for p in (EXACT if engine == "exact" else CACHE):
                cells = []
                for c in caps:
                    m = [r for r in r_set if r["policy"] == p and r["capacity"] == c]
                    cells.append(f"{m[0]['miss_ratio']:.4f}" if m else "-")
                md.append(f"| {p} | {engine} | " + " | ".join(cells) + " |")
        # Best heuristic (not OPT) and the set-associativity cost.
        md += ["", "| capacity | best exact heuristic | PEERS best peer | PEERS LRU / OPT | cache LRU vs exact LRU |",
               "|---|---|---|---|---|"]
        for c in caps:
            heur = [r for r in exact if r["capacity"] == c and r["policy"] != "opt"]
            best = min(heur, key=lambda r: r["miss_ratio"])
            lru = next(r for r in exact if r["capacity"] == c and r["policy"] == "lru")
            clru = next(r for r in cache if r["capacity"] == c and r["policy"] == "lru")
            rel = (clru["miss_ratio"] - lru["miss_ratio"]) / lru["miss_ratio"] * 100 if lru["miss_ratio"] else 0
            p = peer.get((name, c))
            peer_best = p[3] if p else "-"
            peer_lru_opt = f"{p[2]} / {p[4]}" if p else "-"
            buckets = clru.get("slots", c) // max(clru.get("bucket_size", 128), 1)
            md.append(f"| {c:,} | {best['policy']} {best['miss_ratio']:.4f} | {peer_best} | {peer_lru_opt} | "
                      f"{clru['miss_ratio']:.4f} vs {lru['miss_ratio']:.4f} ({rel:+.2f} %, {buckets} buckets) |")
            summary.append((name, c, rel, buckets))
        # Curves.
        rows = run(args.replay, path, fmt, "exact", CURVE_POLICIES, curve)
        plot(name, rows, args.img)
        md += ["", f"![miss-ratio curve {name}](img/mrc-{name}.png)", ""]
        lru_speed = [r for r in exact if r["policy"] == "lru"]
        md.append("Exact LRU replay speed on this trace: " + ", ".join(
            f"{r['requests_per_second'] / 1e6:.1f} M req/s (C={r['capacity']:,})" for r in lru_speed) + ".")
        md.append("")
    md += learned_section(args, peer)
    # Keep the sections that scripts/online_report.py and scripts/specialise_report.py write
    # (separate, longer runs).
    if os.path.exists(args.out):
        previous = open(args.out).read()
        for marker in ("online-learning", "specialisation"):
            begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
            if begin in previous and end in previous:
                md += [previous[previous.index(begin):previous.index(end) + len(end)], ""]
    md += ["## Set-associativity cost", "",
           "Relative change of the cache engine's LRU miss ratio against exact LRU at the same capacity",
           "(target: within 2 % at bucket size 128 when the table has at least 16 buckets).", "",
           "| trace | capacity | buckets | relative difference |", "|---|---|---|---|"]
    for name, c, rel, buckets in summary:
        md.append(f"| {name} | {c:,} | {buckets} | {rel:+.2f} % |")
    md += ["", NOTES]
    md += ["", f"Report generated in {time.time() - started:.0f} s.", ""]
    with open(args.out, "w") as f:
        f.write("\n".join(md))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
