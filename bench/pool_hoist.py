"""The hoist fix on the demo's per-call pool: allocs/op and hit rate, before and after.

In a copy of the demo module: run BenchmarkLabel with -benchmem and measure the pools' hit
rates (escape-lsp pools: counting copies through -overlay), ask the session for its verified
fix of the `pool-local` finding (the server's code path), apply it, measure again.
Run: .venv/bin/python bench/pool_hoist.py
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from escape_lsp.analysis.fixes.model import apply_edits
from escape_lsp.analysis.pools.batch import run_pools
from escape_lsp.analysis.session import Session
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.analysis.views import file_view
from escape_lsp.findings.model import Kind
from escape_lsp.gotool.toolchain import find_toolchain
from escape_lsp.report.pools import hits_summary

DEMO = Path(__file__).resolve().parent.parent / "escape_lsp" / "demo"
BENCH = "BenchmarkLabel"
COUNT = 5


def benchmem(root: Path) -> tuple[float, float, float]:
    """Medians of ns/op, B/op, allocs/op over COUNT runs."""
    out = subprocess.run(
        ["go", "test", "-run", "^$", "-bench", f"^{BENCH}$", "-benchmem", "-count", str(COUNT), "./render"],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows = re.findall(r"([\d.]+) ns/op\s+(\d+) B/op\s+(\d+) allocs/op", out)
    ns, b, allocs = (statistics.median(float(r[i]) for r in rows) for i in range(3))
    return ns, b, allocs


async def hit_rate(root: Path) -> str:
    cwd = os.getcwd()
    os.chdir(root)
    try:
        report = await run_pools(
            ["./render"], AnalysisSettings(tests=True), f"^{BENCH}$", "100000x"
        )
    finally:
        os.chdir(cwd)
    hits = [h for m in report.measurements for h in m.hits if h.benchmark == BENCH]
    return "; ".join(f"{h.site.name}: {hits_summary(h)}" for h in hits)


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="escape-hoist-") as tmp:
        root = Path(tmp) / "demo"
        shutil.copytree(DEMO, root)
        path = root / "render" / "label.go"
        before = benchmem(root), await hit_rate(root)

        async def publish(_: set[str]) -> None:
            return None

        session = Session(find_toolchain(), AnalysisSettings(), publish)
        await session.open(str(path), path.read_bytes(), 1)
        await session.wait_idle()
        (local,) = [
            f for f in file_view(session.snapshot, str(path)).findings if f.kind is Kind.POOL_LOCAL
        ]
        (fix,) = await session.fixes(session.snapshot, str(path), local.span)
        session.close_all()
        path.write_bytes(apply_edits(path.read_bytes(), fix.edits))
        after = benchmem(root), await hit_rate(root)

    print(f"{BENCH} (demo), medians of {COUNT} runs; fix: {fix.title}")
    print(f"{'':8} {'ns/op':>8} {'B/op':>6} {'allocs/op':>10}  hit rate")
    for label, ((ns, b, allocs), rate) in (("before", before), ("after", after)):
        print(f"{label:8} {ns:8.0f} {b:6.0f} {allocs:10.0f}  {rate}")


if __name__ == "__main__":
    asyncio.run(main())
