"""Evidence for the two listed fixes escape-lsp does not offer (see the closing notes).

Fix 2, closure captures: the compiler already captures by value every variable that is not
reassigned after the closure is created; the remaining by-reference captures are either
reassigned later (a copy would change behaviour) or larger than 128 bytes, where passing the
value as a goroutine argument allocates *more*.
Fix 5, constant-size buffers: `make([]T, n)` is reported as "does not escape" (Go 1.25+ gives it
a small stack buffer), so there is no escape finding to attach a fix to.
Run: .venv/bin/python bench/omitted_fixes.py
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

CAPTURES = """package p

import "sync"

func AssignedBefore(start int) func() int {
	n := start
	if start > 10 {
		n = 10
	}
	return func() int { return n }
}

func AssignedAfter(xs []int) []func() int {
	var fs []func() int
	total := 0
	for _, x := range xs {
		total += x
		fs = append(fs, func() int { return total })
	}
	return fs
}

type Big struct{ buf [256]byte }

func Captured(wg *sync.WaitGroup, b Big) {
	cfg := b
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = cfg.buf[0]
	}()
}

func AsArgument(wg *sync.WaitGroup, b Big) {
	cfg := b
	wg.Add(1)
	go func(cfg Big) {
		defer wg.Done()
		_ = cfg.buf[0]
	}(cfg)
}

const Max = 64

func NonConstant(n int) int {
	b := make([]byte, min(n, Max))
	return len(b) + int(b[0])
}

func ConstantCap(n int) int {
	b := make([]byte, min(n, Max), Max)
	return len(b) + int(b[0])
}
"""

BENCH = """package p

import (
	"sync"
	"testing"
)

func BenchmarkCaptured(b *testing.B) {
	var wg sync.WaitGroup
	for i := 0; i < b.N; i++ {
		Captured(&wg, Big{})
	}
	wg.Wait()
}

func BenchmarkAsArgument(b *testing.B) {
	var wg sync.WaitGroup
	for i := 0; i < b.N; i++ {
		AsArgument(&wg, Big{})
	}
	wg.Wait()
}

func BenchmarkNonConstant(b *testing.B) {
	for i := 0; i < b.N; i++ {
		NonConstant(60)
	}
}

func BenchmarkConstantCap(b *testing.B) {
	for i := 0; i < b.N; i++ {
		ConstantCap(60)
	}
}
"""


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="escape-omitted-") as tmp:
        root = Path(tmp)
        (root / "go.mod").write_text("module bench.example/omitted\n\ngo 1.24\n")
        (root / "p").mkdir()
        (root / "p" / "p.go").write_text(CAPTURES)
        (root / "p" / "p_test.go").write_text(BENCH)
        out = subprocess.run(
            ["go", "build", "-gcflags=bench.example/omitted/p=-m=2", "./p"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stderr
        print("compiler (go build -gcflags=-m=2):")
        for line in out.splitlines():
            if (
                re.search(r"capturing by|moved to heap|make\(\[\]byte", line)
                and "autotmp" not in line
                and "flow" not in line
                and "from " not in line
            ):
                print("  " + line)
        bench = subprocess.run(
            ["go", "test", "-run", "^$", "-bench", ".", "-benchmem", "./p"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout
        print("benchmarks:")
        for line in bench.splitlines():
            if line.startswith("Benchmark"):
                name, *_, allocs, _ = line.split()
                print(f"  {name.split('-')[0]}: {allocs} allocs/op")


if __name__ == "__main__":
    main()
