#!/usr/bin/env python3
"""Prints each shared trace's workload classes over time, as docs/workload.md shows them.

    python3 scripts/workload_timeline.py [--classify build/host/bin/belady-workload-classify]
                                         [--traces ../shared/traces] [--columns 60]

belady-workload-classify --json classifies windows of 4,096 requests back to back; the trace is
cut into `columns` equal stretches of windows and each is drawn by its most frequent class:
U uniform, Z zipfian, S scan, L looping, M mixed; lower case when that class holds fewer than
two thirds of the stretch's windows.
"""
import argparse
import collections
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hit_ratio_report import TRACES  # noqa: E402

LETTER = {"uniform": "U", "zipfian": "Z", "scan": "S", "looping": "L", "mixed": "M"}


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("--classify", default=os.path.join(root, "build/host/bin/belady-workload-classify"))
    ap.add_argument("--traces", default=os.path.join(root, "../shared/traces"))
    ap.add_argument("--columns", type=int, default=60)
    args = ap.parse_args()
    for name, file, fmt, _, _ in TRACES:
        out = subprocess.run([args.classify, "--trace", os.path.join(args.traces, file), "--format", fmt,
                              "--window", "4096", "--json"], check=True, capture_output=True, text=True).stdout
        classes = [json.loads(line)["class"] for line in out.splitlines() if line.startswith("{")]
        cols = min(args.columns, len(classes))
        line = ""
        for c in range(cols):
            chunk = classes[c * len(classes) // cols:(c + 1) * len(classes) // cols]
            top, n = collections.Counter(chunk).most_common(1)[0]
            line += LETTER[top] if 3 * n >= 2 * len(chunk) else LETTER[top].lower()
        print(f"{name:<15} {len(classes):>5} windows  {line}")


if __name__ == "__main__":
    main()
