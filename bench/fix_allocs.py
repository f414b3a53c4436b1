"""allocs/op before and after each quick fix, measured by Go benchmarks with -benchmem.

For each scenario: run the Go benchmark, ask the engine for its verified fix (the same code
path the server uses), apply it, run the benchmark again.
Run: .venv/bin/python bench/fix_allocs.py
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import tempfile
import textwrap
from pathlib import Path

from escape_lsp.analysis.fixes.model import apply_edits
from escape_lsp.analysis.session import Session
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.findings.model import Span
from escape_lsp.gotool.toolchain import find_toolchain

SCENARIOS = {
    "1 return value instead of pointer": (
        """
        package p

        type Point struct{ X, Y int }

        //go:noinline
        func newPoint(x, y int) *Point {
            p := Point{X: x, Y: y}
            return &p
        }

        func Sum(n int) int {
            s := 0
            for i := 0; i < n; i++ {
                pt := newPoint(i, i)
                s += pt.X + pt.Y
            }
            return s
        }
        """,
        "func BenchmarkSum(b *testing.B) {\n\tfor i := 0; i < b.N; i++ {\n\t\tSum(1)\n\t}\n}\n",
    ),
    "3 sync.Pool stores a pointer": (
        """
        package p

        import "sync"

        var bufPool = sync.Pool{New: func() any { return make([]byte, 0, 64) }}

        func Render(s string) int {
            buf := bufPool.Get().([]byte)[:0]
            buf = append(buf, s...)
            n := len(buf)
            bufPool.Put(buf)
            return n
        }
        """,
        'func BenchmarkRender(b *testing.B) {\n\tfor i := 0; i < b.N; i++ {\n\t\tRender("hello")\n\t}\n}\n',
    ),
    "4 formatting without boxing": (
        """
        package p

        import "fmt"

        func Label(n int) string { return fmt.Sprintf("%d", n) }
        """,
        "func BenchmarkLabel(b *testing.B) {\n\tfor i := 0; i < b.N; i++ {\n\t\t_ = Label(1000 + i%1000)\n\t}\n}\n",
    ),
}


def allocs(root: Path) -> str:
    out = subprocess.run(
        ["go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "3", "./p"],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    values = sorted(int(m) for m in re.findall(r"(\d+) allocs/op", out))
    return f"{values[len(values) // 2]} allocs/op"


async def one(name: str, source: str, bench: str) -> None:
    with tempfile.TemporaryDirectory(prefix="escape-fix-") as tmp:
        root = Path(tmp)
        (root / "go.mod").write_text("module bench.example/fix\n\ngo 1.24\n")
        (root / "p").mkdir()
        path = root / "p" / "p.go"
        path.write_text(textwrap.dedent(source).lstrip())
        subprocess.run(["gofmt", "-w", str(path)], check=True)
        (root / "p" / "p_test.go").write_text(f'package p\n\nimport "testing"\n\n{bench}')
        before = allocs(root)

        async def publish(_: set[str]) -> None:
            return None

        session = Session(find_toolchain(), AnalysisSettings(), publish)
        await session.open(str(path), path.read_bytes(), 1)
        await session.wait_idle()
        (fix,) = await session.fixes(session.snapshot, str(path), Span(0, 0, 10_000, 0))
        session.close_all()
        path.write_bytes(apply_edits(path.read_bytes(), fix.edits))
        print(f"fix {name}: {before} -> {allocs(root)}   [{fix.title}]")


async def main() -> None:
    for name, (source, bench) in SCENARIOS.items():
        await one(name, source, bench)


if __name__ == "__main__":
    asyncio.run(main())
