"""Measured evidence with the real go: benchmarks and profiles joined to findings (CLI and core).

One sample module: `Big` allocates 1 KiB per call, `Small` 8 B, `Unused` allocates but never
runs. Benchmarks run with `-benchtime=100x -memprofilerate=1`, so every allocation is recorded
and the runs stay short.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from escape_lsp.analysis.engine import Engine
from escape_lsp.analysis.errors import MeasureError
from escape_lsp.analysis.evidence import heap_lines, join, path_resolver
from escape_lsp.analysis.measure import evidence_for_check, measure_benchmark
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.gotool.toolchain import find_toolchain, module_context
from tests.conftest import write_tree

EXACT = ["-benchtime=100x", "-memprofilerate=1"]

MODULE = {
    "go.mod": "module example.com/ev\n\ngo 1.24\n",
    "p/p.go": """
        package p

        // Big allocates 1 KiB per call.
        //
        //go:noinline
        func Big() []byte {
            return make([]byte, 1024)
        }

        // Small allocates 8 bytes per call.
        //
        //go:noinline
        func Small(v int64) *int64 {
            x := v
            return &x
        }

        // Unused allocates, but no benchmark calls it.
        func Unused() *int {
            y := 1
            return &y
        }
        """,
    "p/p_test.go": """
        package p

        import (
            "testing"
            "time"
        )

        var (
            sinkBytes []byte
            sinkInt   *int64
        )

        func BenchmarkBig(b *testing.B) {
            for i := 0; i < b.N; i++ {
                sinkBytes = Big()
            }
        }

        func BenchmarkSmall(b *testing.B) {
            for i := 0; i < b.N; i++ {
                sinkInt = Small(int64(i))
            }
        }

        func BenchmarkSlow(b *testing.B) {
            for i := 0; i < b.N; i++ {
                time.Sleep(50 * time.Millisecond)
            }
        }
        """,
}

BIG_LINE = 7  # `return make([]byte, 1024)`
SMALL_LINE = 14  # `x := v`
UNUSED_LINE = 20  # `y := 1`


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("ev"), MODULE).resolve()


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes: the user's files, byte for byte."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def check(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "escape_lsp", "check", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def go_benchmem(module: Path, name: str) -> dict[str, float]:
    """What plain `go test -benchmem` prints for one benchmark: unit -> value."""
    proc = subprocess.run(
        ["go", "test", "-run", "^$", "-bench", f"^{name}$", "-benchmem", "-benchtime=100x", "./p"],
        cwd=module,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith(name))
    words = line.split()[2:]
    return {unit: float(value) for value, unit in zip(words[::2], words[1::2], strict=True)}


def write_profile(module: Path, package: str, bench: str, out: Path) -> Path:
    """A memory profile of one benchmark, as a user makes it (binary and profile in `out`)."""
    profile = out / "mem.pprof"
    argv = ["go", "test", "-run", "^$", "-bench", f"^{bench}$", *EXACT, "-memprofile", str(profile)]
    argv += ["-o", str(out / "bench.test"), package]
    subprocess.run(argv, cwd=module, check=True, capture_output=True, timeout=300)
    return profile


def test_bench_ranks_the_kibibyte_above_the_eight_bytes_and_leaves_files_alone(
    module: Path,
) -> None:
    before = tree_bytes(module)
    proc = check(
        "--bench",
        "Big|Small",
        "--bench-flags",
        " ".join(EXACT),
        "--format",
        "json",
        "./...",
        cwd=module,
    )
    assert proc.returncode == 0, proc.stderr
    assert tree_bytes(module) == before  # no p.test, no profile, go.mod untouched
    data = json.loads(proc.stdout)
    heap = [f for f in data["findings"] if f["kind"] in ("moved-to-heap", "escapes-to-heap")]
    weighted = [f for f in heap if "weight" in f]
    assert [f["range"]["start"]["line"] + 1 for f in weighted] == [BIG_LINE, SMALL_LINE]
    big, small = weighted
    assert (
        big["message"].startswith("make([]byte, 1024)") and small["message"] == "moved to heap: x"
    )
    # 100 iterations plus the N=1 run, every allocation recorded (memprofilerate=1)
    assert big["weight"]["bytes"] == 101 * 1024 and big["weight"]["objects"] == 101
    # the profile records tiny allocations by their 16-byte blocks (two 8-byte objects each)
    assert 101 * 8 <= small["weight"]["bytes"] <= 101 * 16
    assert 0 < small["weight"]["objects"] <= 101
    assert big["weight"]["share"] > small["weight"]["share"] > 0
    unused = next(f for f in heap if f["message"] == "moved to heap: y")
    assert "weight" not in unused
    ev = data["evidence"]
    assert {b["name"] for b in ev["benchmarks"]} == {"BenchmarkBig", "BenchmarkSmall"}
    assert all(u["function"] for u in ev["unmatched"])  # the testing package's own allocations


def test_bench_text_leads_with_the_hottest_and_lists_sites_without_verdicts(module: Path) -> None:
    proc = check("--bench", "Big|Small", "--bench-flags", " ".join(EXACT), "./...", cwd=module)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    # B/op is the process's allocation over N: background allocations may add a little at 100x
    head = re.match(
        r"measured: BenchmarkBig \(example.com/ev/p\) — 1 allocs/op · (\d+) B/op", lines[0]
    )
    assert head is not None and int(head[1]) >= 1024, lines[0]
    findings = [ln for ln in lines if re.match(r"^p/p\.go:\d+:\d+: ", ln)]
    assert findings[0].startswith(f"p/p.go:{BIG_LINE}:") and "[heap " in findings[0]
    assert findings[1].startswith(f"p/p.go:{SMALL_LINE}:") and "[heap " in findings[1]
    assert any(
        ln.startswith(f"p/p.go:{UNUSED_LINE}:") and ln.endswith("[not in profile]") for ln in lines
    )
    tail = lines[
        lines.index(
            "allocations with no heap finding (runtime, other modules, code not analysed):"
        ) :
    ]
    assert any("testing." in ln for ln in tail[1:])


def test_profile_file_gives_weights_in_json(module: Path, tmp_path: Path) -> None:
    profile = write_profile(module, "./p", "BenchmarkBig", tmp_path)
    proc = check("--profile", str(profile), "--format", "json", "./...", cwd=module)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    by_line = {f["range"]["start"]["line"] + 1: f for f in data["findings"]}
    assert by_line[BIG_LINE]["weight"]["bytes"] == 101 * 1024
    assert "weight" not in by_line[SMALL_LINE]  # BenchmarkSmall did not run
    assert data["evidence"]["source"] == "mem.pprof" and data["evidence"]["benchmarks"] == []


def test_bad_profile_and_no_matching_benchmark_are_clear_errors(
    module: Path, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.pprof"
    junk.write_text("not a profile\n")
    proc = check("--profile", str(junk), "./...", cwd=module)
    assert proc.returncode == 2 and "pprof could not read it" in proc.stderr, proc.stderr
    proc = check("--bench", "NoSuchBenchmark", "./...", cwd=module)
    assert proc.returncode == 2 and "no benchmark matching" in proc.stderr, proc.stderr


def test_demo_groups_the_four_appends_under_their_cause_and_prints_the_fix() -> None:
    demo = Path(__file__).resolve().parent.parent / "escape_lsp" / "demo"
    proc = check("--explain", "./...", cwd=demo)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    i = lines.index(
        "render/render.go:38:2: cause: lastLine = buf — 4 allocations escape through this "
        "assignment (in Format)"
    )
    members = [ln for ln in lines[i + 1 :] if ln.startswith("    render/")][:4]
    assert [m.split(":")[1] for m in members] == ["33", "34", "35", "36"]
    assert all("append escapes to heap" in m for m in members)
    put = lines.index("render/render.go:40:14: escapes-to-heap: buf escapes to heap (in Format)")
    fix = next(ln for ln in lines[put + 1 :] if ln.startswith("    likely fix: "))
    assert "SA6002" in fix
    data = json.loads(check("--format", "json", "./...", cwd=demo).stdout)
    appends = [f for f in data["findings"] if f["message"] == "append escapes to heap"]
    assert len(appends) == 4
    assert {f["cause"]["message"] for f in appends} == {"lastLine = buf (assign)"}
    assert {f["cause"]["findings"] for f in appends} == {4}


def _processes_running(needle: str) -> list[int]:
    """PIDs (not zombies) whose command line mentions `needle`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if needle in cmdline and stat[stat.rindex(")") + 2] not in "ZX":
            found.append(int(entry.name))
    return found


async def _until(condition: object, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.05)


async def test_cancel_kills_go_and_the_benchmark_binary(module: Path) -> None:
    toolchain = find_toolchain()
    engine = Engine(toolchain, module_context(toolchain, str(module)), AnalysisSettings())
    test_file = str(module / "p" / "p_test.go")
    before = tree_bytes(module)
    try:
        task = asyncio.ensure_future(
            measure_benchmark(engine, test_file, "BenchmarkSlow", {}, ["-benchtime=120s"])
        )
        # the benchmark binary runs (`-test.bench=^BenchmarkSlow$`): cancel while it does
        await _until(lambda: _processes_running("test.bench=^BenchmarkSlow$"), 120)
        assert _processes_running("BenchmarkSlow")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await _until(lambda: not _processes_running("BenchmarkSlow"), 10)
    finally:
        engine.close()
    assert tree_bytes(module) == before


async def test_measure_uses_unsaved_buffers_and_joins_them(module: Path) -> None:
    toolchain = find_toolchain()
    engine = Engine(toolchain, module_context(toolchain, str(module)), AnalysisSettings())
    source = module / "p" / "p.go"
    edited = source.read_bytes().replace(b"1024", b"2048")
    before = tree_bytes(module)
    overlays = {str(source): edited}
    try:
        evidence = await measure_benchmark(
            engine, str(module / "p" / "p_test.go"), "BenchmarkBig", overlays, EXACT
        )
        results = await engine.analyze({"example.com/ev/p"}, overlays)
        findings = [f for r in results.values() for f in r.findings]
        lines = heap_lines(findings)
        on_disk = join(evidence, lines, path_resolver({}), lambda p: engine.file_hash(p, {}))
        unsaved = join(evidence, lines, path_resolver({}), lambda p: engine.file_hash(p, overlays))
    finally:
        engine.close()
    assert tree_bytes(module) == before
    (bench,) = evidence.benchmarks
    # The unsaved buffer's 2 KiB, not the disk's 1 KiB; B/op also averages in what the testing
    # framework and the runtime allocate now and then over only 100 iterations.
    assert (bench.name, bench.allocs_per_op) == ("BenchmarkBig", 1)
    assert 2048 <= bench.bytes_per_op < 2048 + 256, bench
    big = next(f for f in findings if f.line == BIG_LINE)
    assert not on_disk.measured(str(source)) and on_disk.weight(big) is None
    weight = unsaved.weight(big)
    assert weight is not None and weight.bytes == 101 * 2048


async def test_a_failing_benchmark_is_an_error_not_a_crash(
    module: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toolchain = find_toolchain()
    engine = Engine(toolchain, module_context(toolchain, str(module)), AnalysisSettings())
    test_file = module / "p" / "p_test.go"
    broken = test_file.read_bytes().replace(b"sinkBytes = Big()", b"sinkBytes = Big(1)")
    try:
        with pytest.raises(MeasureError, match="go test -bench failed"):
            await measure_benchmark(
                engine, str(test_file), "BenchmarkBig", {str(test_file): broken}, EXACT
            )
    finally:
        engine.close()
    monkeypatch.chdir(module)
    with pytest.raises(MeasureError, match="nothing to measure"):
        await evidence_for_check(["./..."], AnalysisSettings(), None, None, [])
