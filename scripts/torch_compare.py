#!/usr/bin/env python3
"""Compares belady-train's built-in MLP trainer with the libtorch one (--trainer torch) on the
shared traces: both fit the same labelled candidates (first half of each trace, 2 rounds, the same
MLP shape, epochs, batch, learning rate and L2), then each model replays the second half through
the real cache. Writes the table between the markers in docs/torch.md.

    python3 scripts/torch_compare.py [--build build/host] [--traces ../shared/traces]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

CASES = [
    # name, file, format, capacity
    ("OLTP", "OLTP.lis", "arc", 5000),
    ("cloudPhysicsIO", "cloudPhysicsIO.oracleGeneral.bin", "oracle-general", 5000),
    ("orm-busy", "orm-busy.trace.xz", "i32be", 5000),
    ("web12", "web12.trace", "i32be", 1200),
]
BEGIN, END = "<!-- torch-compare:begin -->", "<!-- torch-compare:end -->"


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build/host")
    ap.add_argument("--traces", default="../shared/traces")
    ap.add_argument("--doc", default="docs/torch.md")
    a = ap.parse_args()
    train, replay = os.path.join(a.build, "bin/belady-train"), os.path.join(a.build, "bin/belady-replay")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, file, fmt, cap in CASES:
            path = os.path.join(a.traces, file)
            lru = run_json([replay, "--trace", path, "--format", fmt, "--capacity", str(cap), "--engine", "cache",
                            "--policy", "lru", "--part", "second-half", "--json"])[0]["miss_ratio"]
            for trainer in ("builtin", "torch"):
                model = os.path.join(tmp, f"{name}-{trainer}.bin")
                t = run_json([train, "--trace", path, "--format", fmt, "--capacity", str(cap), "--out", model,
                              "--part", "first-half", "--kind", "mlp", "--trainer", trainer, "--quiet"])[0]
                r = run_json([replay, "--trace", path, "--format", fmt, "--capacity", str(cap), "--engine", "cache",
                              "--policy", "learned", "--model", model, "--part", "second-half", "--json"])[0]
                rows.append((name, cap, trainer, t, r["miss_ratio"], lru))
                print(name, cap, trainer, t["validation_mse"], t["validation_pairwise_accuracy"], t["fit_seconds"],
                      r["miss_ratio"], file=sys.stderr)
    md = [BEGIN, "",
          "| trace | capacity | trainer | train samples | validation MSE | pairwise accuracy | fit time (s) | "
          "replay miss ratio | cache LRU |",
          "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for name, cap, trainer, t, miss, lru in rows:
        md.append(f"| {name} | {cap:,} | {trainer} | {t['train_samples']:,} | {t['validation_mse']:.4f} | "
                  f"{t['validation_pairwise_accuracy']:.4f} | {t['fit_seconds']:.2f} | {miss:.4f} | {lru:.4f} |")
    md += ["", END]
    text = open(a.doc).read()
    text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), "\n".join(md), text, flags=re.S)
    open(a.doc, "w").write(text)


if __name__ == "__main__":
    main()
