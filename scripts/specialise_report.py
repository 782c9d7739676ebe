#!/usr/bin/env python3
"""Writes the "Workload specialisation" section of docs/hit-ratio.md.

    python3 scripts/specialise_report.py [--replay build/host/bin/belady-replay] [--demo build/host/bin/belady-demo]
                                         [--traces ../shared/traces] [--out docs/hit-ratio.md] [--jobs 2]

For every shared trace at its three capacities: the real cache learning online with one model
(belady-replay --policy learned --online, the settings of online_report.py), with a model per
workload class (--specialise) and with the confidence-weighted ensemble (--ensemble), beside exact
LRU and OPT; the classes the learner saw. Then the demo's phase workload (learned and special
rows). The section sits between two markers, after the online-learning section.
"""
import concurrent.futures
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hit_ratio_report import TRACES, run as replay  # noqa: E402
from online_report import median, online_flags, report_args  # noqa: E402

BEGIN = "<!-- specialisation:begin -->"
END = "<!-- specialisation:end -->"
CLASSES = ["uniform", "zipfian", "scan", "looping", "mixed"]
MODES = {"single": [], "specialised": ["--specialise"], "ensemble": ["--ensemble"]}


def one_cell(replay_bin, path, fmt, cap):
    exact = {r["policy"]: r for r in replay(replay_bin, path, fmt, "exact", ["lru", "opt"], [cap])}
    requests = exact["lru"]["requests"]
    rate, base = online_flags(requests, cap)
    out = {"lru": exact["lru"]["miss_ratio"], "opt": exact["opt"]["miss_ratio"], "rate": rate}
    for mode, extra in MODES.items():
        r = replay(replay_bin, path, fmt, "cache", ["learned"], [cap], base + extra)[0]
        out[mode] = r["miss_ratio"]
        out[mode + "_online"] = r["online"]
    return out


def main():
    args = report_args([("--jobs", {"type": int, "default": 2})])

    started = time.time()
    cells = [(name, file, fmt, cap) for name, file, fmt, caps, _ in TRACES for cap in caps]
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(one_cell, args.replay, os.path.join(args.traces, f), fmt, cap)
                   for _, f, fmt, cap in cells]
        results = [f.result() for f in futures]
    rows = []
    for (name, _, _, cap), r in zip(cells, results):
        s = r["specialised_online"].get("specialisation", {})
        windows = s.get("windows_per_class", [0] * 5)
        total = max(1, sum(windows))
        classes = ", ".join(f"{c} {100 * w / total:.0f} %" for c, w in zip(CLASSES, windows) if w)
        rows.append(dict(trace=name, capacity=cap, **{k: r[k] for k in ("lru", "opt", "rate", "single",
                                                                        "specialised", "ensemble")},
                         switches=s.get("switches", 0), classes=classes or "none",
                         ensembles=r["ensemble_online"].get("specialisation", {}).get("ensembles", 0)))
        print(f"{name} {cap}: single {r['single']:.4f} specialised {r['specialised']:.4f} "
              f"ensemble {r['ensemble']:.4f}", file=sys.stderr)

    demo = subprocess.run([args.demo], check=True, capture_output=True, text=True).stdout
    demo_lines = [line for line in demo.splitlines()
                  if line.split()[:1] in (["policy"], ["lru"], ["learned"], ["special"], ["opt"])]
    # The throughput column depends on the machine: drop it (the hit-ratio table's last column).
    table, recovery = [], []
    for line in demo_lines:
        (recovery if len(table) >= 5 else table).append(line)
    table = [re.sub(r"\s+\S+$", "", line) for line in table]

    def rel(a, b):
        return f"{100 * (a / b - 1):+.1f} %" if b > 0 else "-"

    def gap(r, key):
        return (r["lru"] - r[key]) / (r["lru"] - r["opt"]) if r["lru"] > r["opt"] else 0.0

    lines = [BEGIN, "## Workload specialisation (a model per workload class)", "",
             f"`scripts/specialise_report.py` (after `make build`); {time.time() - started:.0f} s on the development "
             "machine, two runs at a time. The settings of the online-learning section (same sampling rate, "
             "cadence and seed), run three ways: one online model (`--online`), a model per workload class "
             "selected by the classifier of the sampled stream (`--online --specialise`, windows of 4,096 "
             "sampled requests every 1,024), and the confidence-weighted ensemble of the class models "
             "(`--online --ensemble`). Miss ratios; the relative columns compare with the single model "
             "(negative: fewer misses). Classes: the specialised run's classifications of the sampled stream.", "",
             "| trace | capacity | exact LRU | single model | specialised | vs single | ensemble | vs single | OPT "
             "| switches | ensembles built | classes seen |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['trace']} | {r['capacity']:,} | {r['lru']:.4f} | {r['single']:.4f} | {r['specialised']:.4f} | "
                     f"{rel(r['specialised'], r['single'])} | {r['ensemble']:.4f} | {rel(r['ensemble'], r['single'])} | "
                     f"{r['opt']:.4f} | {r['switches']} | {r['ensembles']} | {r['classes']} |")
    better_s = [r for r in rows if r["specialised"] < r["single"] * 0.995]
    worse_s = [r for r in rows if r["specialised"] > r["single"] * 1.005]
    better_e = [r for r in rows if r["ensemble"] < r["single"] * 0.995]
    worse_e = [r for r in rows if r["ensemble"] > r["single"] * 1.005]
    lines += ["", f"Specialised vs single model (a difference of more than 0.5 %): better in {len(better_s)}, worse in "
              f"{len(worse_s)} of {len(rows)} cells; median gap closed {100 * median([gap(r, 'specialised') for r in rows]):.0f} % "
              f"(single: {100 * median([gap(r, 'single') for r in rows]):.0f} %). Ensemble vs single: better in "
              f"{len(better_e)}, worse in {len(worse_e)}; median gap closed "
              f"{100 * median([gap(r, 'ensemble') for r in rows]):.0f} %.", "",
              "### The demo's phase workload (`belady-demo`)", "",
              "zipf 0.9, scan, loop, zipf 0.9; capacity 32,768, batches of 4,096, 5 % sampling. `special` is the "
              "learned row with workload specialisation:", "", "```", *table, "", *recovery, "```", "", END]
    section = "\n".join(lines) + "\n"

    text = open(args.out).read() if os.path.exists(args.out) else ""
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END) + 1:]
    else:
        anchor = "<!-- online-learning:end -->"
        if anchor in text:
            at = text.index(anchor) + len(anchor) + 1
            text = text[:at] + "\n" + section + text[at:]
        else:
            text += "\n" + section
    with open(args.out, "w") as f:
        f.write(text)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
