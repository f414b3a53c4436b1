"""What a measurement adds over plain `go test -bench`, as a ratio (target ≤ 1.2×).

Reference: `go test -run '^$' -bench '^BenchmarkFormat$' ./render` on the demo module, wall time.
Measured: what the benchmark lens does — the same benchmark with `-benchmem -memprofile` (test
binary and profile in a private temp dir), `go tool pprof -raw`, reducing the profile to sites and
joining them to the package's findings. Both alternate in one run, the build cache warm; medians.

Run: .venv/bin/python bench/measure_overhead.py [--rounds 7] [--benchtime 1s]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from common import median

from escape_lsp.analysis.engine import Engine
from escape_lsp.analysis.evidence import heap_lines, join, path_resolver
from escape_lsp.analysis.measure import measure_benchmark
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.gotool.toolchain import find_toolchain, module_context

DEMO = Path(__file__).resolve().parent.parent / "escape_lsp" / "demo"
BENCH = "BenchmarkFormat"


def plain(root: Path, benchtime: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        ["go", "test", "-run", "^$", "-bench", f"^{BENCH}$", f"-benchtime={benchtime}", "./render"],
        cwd=root,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


async def measured(engine: Engine, test_file: str, benchtime: str) -> tuple[float, int]:
    start = time.perf_counter()
    evidence = await measure_benchmark(engine, test_file, BENCH, {}, [f"-benchtime={benchtime}"])
    results = await engine.analyze({"example.com/poolleak/render"})
    findings = [f for r in results.values() for f in r.findings]
    joined = join(evidence, heap_lines(findings), path_resolver({}))
    return time.perf_counter() - start, len(joined.lines)


async def main(rounds: int, benchtime: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "demo"
        shutil.copytree(DEMO, root)
        toolchain = find_toolchain()
        engine = Engine(toolchain, module_context(toolchain, str(root)), AnalysisSettings())
        test_file = str(root / "render" / "render_test.go")
        try:
            plain(root, benchtime)  # warm the build cache for both
            first, _ = await measured(engine, test_file, benchtime)
            base, ours, weighted = [], [], 0
            for _ in range(rounds):
                base.append(plain(root, benchtime))
                seconds, weighted = await measured(engine, test_file, benchtime)
                ours.append(seconds)
        finally:
            engine.close()
    b, m = median(base), median(ours)
    print(f"benchmark {BENCH} (demo module), -benchtime={benchtime}, {rounds} rounds, medians")
    print(f"  plain go test -bench                         {b:6.2f} s")
    print(
        f"  measurement (profile, pprof, join)           {m:6.2f} s   ({weighted} weighted lines)"
    )
    print(f"  first measurement in a process (finds pprof) {first:6.2f} s")
    paired = median([o / p for o, p in zip(ours, base, strict=True)])
    print(f"  ratio measurement / plain: {m / b:.2f}x of medians, {paired:.2f}x median of pairs")
    print("  (target <= 1.2x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--benchtime", default="1s")
    ns = parser.parse_args()
    asyncio.run(main(ns.rounds, ns.benchtime))
