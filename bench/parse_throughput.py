"""Parser throughput on net/http's -m=2 output vs the compile time of net/http.

Run: .venv/bin/python bench/parse_throughput.py [--runs 5]
"""

from __future__ import annotations

import argparse
import random
import subprocess

from common import median, timed

from escape_lsp.findings.parser import build_findings, split_by_file


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--package", default="net/http")
    args = ap.parse_args()
    pkg = args.package
    subprocess.run(
        ["go", "build", pkg], check=True
    )  # dependencies cached: only pkg recompiles below
    compiles, text = [], ""
    for _ in range(args.runs):
        # A harmless flag value that differs per run defeats the build cache for pkg only.
        flags = f"-gcflags={pkg}=-m=2 -memprofilerate={524288 + random.randrange(1, 1 << 20)}"

        def build(flags: str = flags) -> None:
            nonlocal text
            text = subprocess.run(
                ["go", "build", flags, pkg], capture_output=True, text=True, check=True
            ).stderr

        compiles.append(timed(build))
    size = len(text.encode())
    lines = text.count("\n")
    parses = [timed(lambda: build_findings(text, "/", lambda _p: True)) for _ in range(args.runs)]
    splits = [timed(lambda: split_by_file(text, "/")) for _ in range(args.runs)]
    findings = len(build_findings(text, "/", lambda _p: True))
    c, p, s = median(compiles), median(parses), median(splits)
    print(f"{pkg}: {lines} lines, {size / 1e6:.2f} MB of -m=2 output, {findings} findings")
    print(f"compile (uncached, median of {args.runs}): {c * 1000:.0f} ms")
    print(f"parse   (median of {args.runs}): {p * 1000:.0f} ms = {size / 1e6 / p:.1f} MB/s")
    print(f"split by file (median of {args.runs}): {s * 1000:.0f} ms = {size / 1e6 / s:.0f} MB/s")
    print(f"parse / compile: {100 * p / c:.1f}%")


if __name__ == "__main__":
    main()
