#!/usr/bin/env python3
"""Registers and spills of every cuda-backend kernel, and a budget check (no GPU needed).

Recompiles cuda/cuda_backend.cu for one architecture with the cuda preset's own compile command
(read from the configured build folder, so flags such as -fmad=false stay in sync) plus
`--resource-usage`, prints one line per kernel, and exits 1 when a kernel exceeds its budget.
Registers decide how many warps an SM keeps in flight to hide the table's memory latency, which
no CPU-only test can see (docs/architecture.md, "Known costs of the cuda backend").

    python3 scripts/kernel_resources.py [--build build/cuda] [--arch 90]
"""
import argparse
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Budgets (registers per thread, spill-store bytes) on sm_90, with 256-thread blocks and 65,536
# registers per SM: 64 registers fit 4 blocks (32 warps), 128 fit 2. The learned write evaluates
# a model and its features per candidate and runs in a kernel capped at 128; every other op must
# stay within 64, the budget that splitting the learned path out of them bought (it was 168).
BUDGETS = [
    (re.compile(r"write_op<[^>]*, true>"), 128, 64),
    (re.compile(r"."), 64, 32),
]


def compile_command(build: Path, arch: str, out: Path) -> list[str]:
    cmds = subprocess.run(["ninja", "-C", str(build), "-t", "commands"], capture_output=True, text=True, check=True)
    line = next((l for l in cmds.stdout.splitlines() if "cuda_backend.cu" in l and " -c " in l), None)
    if line is None:
        sys.exit(f"kernel_resources: no compile command for cuda_backend.cu in {build} (configure the cuda preset)")
    args = shlex.split(line)
    kept, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("-o", "-MF", "-MT"):
            skip = True
            continue
        if a == "-MD" or a.startswith("--generate-code") or a.startswith("-gencode") or a.startswith("-arch"):
            continue
        kept.append(a)
    return kept + [f"--generate-code=arch=compute_{arch},code=[sm_{arch}]", "--resource-usage", "-o", str(out)]


def parse(text: str):
    kernels, name, spill = [], None, (0, 0)
    for line in text.splitlines():
        m = re.search(r"Compiling entry function '(\S+)'", line)
        if m:
            name, spill = m.group(1), (0, 0)
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores", line)
        if m:
            spill = (int(m.group(1)), int(m.group(2)))
        m = re.search(r"Used (\d+) registers", line)
        if m and name:
            kernels.append((name, int(m.group(1)), spill[0], spill[1]))
            name = None
    if not kernels:
        return []
    demangled = subprocess.run(["c++filt"], input="\n".join(k[0] for k in kernels), capture_output=True,
                               text=True).stdout.splitlines()
    out = []
    for (mangled, regs, stack, spills), pretty in zip(kernels, demangled or [k[0] for k in kernels]):
        pretty = re.sub(r"belady::detail::(\(anonymous namespace\)::)?", "", pretty)
        pretty = re.sub(r"\(.*\)$", "", pretty.replace("unsigned long", "u64").replace("unsigned int", "u32"))
        out.append((pretty.replace("void ", ""), regs, stack, spills))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(ROOT / "build" / "cuda"))
    ap.add_argument("--arch", default="90")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = compile_command(Path(args.build), args.arch, Path(tmp) / "cuda_backend.o")
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=args.build)
    if r.returncode != 0:
        print(r.stdout + r.stderr, file=sys.stderr)
        return r.returncode
    kernels = parse(r.stdout + r.stderr)
    if not kernels:
        print("kernel_resources: ptxas reported no kernels", file=sys.stderr)
        return 1
    failures = 0
    print(f"sm_{args.arch}: registers per thread, stack and spill-store bytes, budget")
    for name, regs, stack, spills in kernels:
        max_regs, max_spill = next((r, s) for pattern, r, s in BUDGETS if pattern.search(name))
        ok = regs <= max_regs and spills <= max_spill
        failures += not ok
        print(f"{regs:4d} regs {stack:4d} B stack {spills:4d} B spill  (<= {max_regs}, {max_spill} B)"
              f"{'' if ok else '  OVER BUDGET'}  {name}")
    if failures:
        print(f"kernel_resources: {failures} kernel(s) over budget", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
