"""Evidence without go: pprof's -raw text, reducing it to sites, joining, causes, wording."""

from __future__ import annotations

import pytest

from escape_lsp.analysis.causes import find_causes
from escape_lsp.analysis.evidence import (
    combined_weight,
    evidence_from_profile,
    heap_lines,
    join,
    path_resolver,
)
from escape_lsp.findings.benchmarks import benchmarks
from escape_lsp.findings.model import Finding, FlowStep, Kind, Span
from escape_lsp.findings.syntax import GoSource
from escape_lsp.gotool.bench import parse_results
from escape_lsp.gotool.pprof import Frame, ProfileError, parse_raw
from escape_lsp.report.weights import bench_figures, share_text, size_text, weight_sentence

# The shape of `go tool pprof -raw` (pprof's Profile.String): an inlined location (7), a
# generic function whose name holds spaces, a -trimpath file name, an old pprof without columns.
RAW = """\
PeriodType: space bytes
Period: 1
Time: 2026-11-26 12:29:50.128956677 +0000 UTC
Samples:
alloc_objects/count alloc_space/bytes[dflt] inuse_objects/count inuse_space/bytes
          4       4096          0          0: 1 2 3
                bytes:[1024]
          2         32          0          0: 4 7 3
                bytes:[16]
          1         48          1         48: 5 6
                bytes:[48]
          3         24          0          0: 8 3
          1         16          0          0: 9
Locations
     1: 0x52e564 M=1 runtime.mallocgc /usr/local/go/src/runtime/malloc.go:1150:0 s=1000
     2: 0x52e644 M=1 example.com/m/p.Big /work/m/p/p.go:7:0 s=6
     3: 0x4de60f M=1 example.com/m/p.BenchmarkBig /work/m/p/p_test.go:9:0 s=8
     4: 0x4de610 M=1 runtime.growslice /usr/local/go/src/runtime/slice.go:177:0 s=150
     5: 0x4b32ba M=1 sync/atomic.(*Pointer[go.shape.struct { sync.poolDequeue; next sync/atomic.Pointer[int] }]).Load /usr/local/go/src/sync/atomic/type.go:58:0 s=58
     6: 0x4de512 M=1 main.main _testmain.go:46:0 s=43
     7: 0x4dec47 M=1 example.com/m/q.Append /work/m/q/q.go:12:0 s=10
             example.com/m/p.Use /work/m/p/use.go:20:0 s=18
     8: 0x4dec48 M=1 example.com/m/p.Trimmed example.com/m/p/p.go:30 s=29
     9: 0x4dec49 M=1
Mappings
1: 0x400000/0x53f000/0x0 /tmp/go-build/b001/p.test [FN]
"""


def test_raw_text_keeps_samples_inlined_frames_and_odd_names() -> None:
    prof = parse_raw(RAW)
    assert prof.sample_types[:2] == ("alloc_objects/count", "alloc_space/bytes")
    assert prof.index("alloc_space") == 1 and prof.index("cpu") is None
    assert [s.stack for s in prof.samples] == [(1, 2, 3), (4, 7, 3), (5, 6), (8, 3), (9,)]
    assert prof.samples[0].values == (4, 4096, 0, 0)
    assert prof.locations[7] == (
        Frame("example.com/m/q.Append", "/work/m/q/q.go", 12),
        Frame("example.com/m/p.Use", "/work/m/p/use.go", 20),
    )
    (generic,) = prof.locations[5]
    assert generic.function.endswith("]).Load") and generic.file.endswith("atomic/type.go")
    assert prof.locations[6] == (Frame("main.main", "_testmain.go", 46),)
    assert prof.locations[8] == (Frame("example.com/m/p.Trimmed", "example.com/m/p/p.go", 30),)
    assert prof.locations[9] == ()


def test_not_a_profile_and_not_a_heap_profile_are_clear_errors() -> None:
    with pytest.raises(ProfileError, match="no samples"):
        parse_raw("hello\n")
    cpu = parse_raw("Samples:\nsamples/count cpu/nanoseconds[dflt]\n 1 10: 1\nLocations\n")
    with pytest.raises(ProfileError, match=r"not a heap profile.*cpu/nanoseconds"):
        evidence_from_profile(cpu, "cpu.pprof")


def _finding(file: str, line: int, message: str, kind: Kind = Kind.ESCAPES_TO_HEAP) -> Finding:
    return Finding(kind, file, Span(line - 1, 1, line - 1, 5), message, message.split()[0])


def test_sites_skip_the_allocator_and_join_the_outermost_verdict_first() -> None:
    ev = evidence_from_profile(parse_raw(RAW), "BenchmarkBig")
    assert (ev.total_bytes, ev.total_objects) == (4096 + 32 + 48 + 24 + 16, 11)
    resolve = path_resolver({"example.com/m/p": "/work/m/p"})
    verdicts = [
        _finding("/work/m/p/p.go", 7, "make([]byte, 1024) escapes to heap"),
        _finding("/work/m/q/q.go", 12, "append escapes to heap"),  # inner frame: second choice
        _finding("/work/m/p/use.go", 20, "q.Append(...) escapes to heap"),  # outermost: wins
        _finding("/work/m/p/p.go", 30, "moved to heap: t", Kind.MOVED_TO_HEAP),
        _finding("/work/m/p/p.go", 7, "leaking param: b", Kind.LEAKING_PARAM),
    ]
    joined = join(ev, heap_lines(verdicts), resolve)
    assert joined.lines[("/work/m/p/p.go", 7)].bytes == 4096
    assert joined.lines[("/work/m/p/p.go", 7)].share == pytest.approx(4096 / ev.total_bytes)
    assert ("/work/m/q/q.go", 12) not in joined.lines
    assert joined.lines[("/work/m/p/use.go", 20)].objects == 2
    assert joined.lines[("/work/m/p/p.go", 30)].bytes == 24  # -trimpath name placed
    assert joined.weight(verdicts[4]) is None  # leaks do not allocate
    names = [(s.function, s.weight.bytes) for s in joined.unmatched]
    assert names[0][1] == 48 and names[0][0].startswith("sync/atomic.")
    assert names[-1] == ("(unknown)", 16)
    # without the outer verdict the inner one gets it
    inner = join(ev, heap_lines(verdicts[:2]), resolve)
    assert inner.lines[("/work/m/q/q.go", 12)].bytes == 32


def test_weights_of_edited_files_are_withheld() -> None:
    ev = evidence_from_profile(
        parse_raw(RAW), "b", file_hashes={"/work/m/p/p.go": "h1", "/work/m/p/use.go": "h2"}
    )
    verdicts = [_finding("/work/m/p/p.go", 7, "x escapes to heap")]
    now = {"/work/m/p/p.go": "edited"}
    joined = join(ev, heap_lines(verdicts), path_resolver({}), lambda p: now.get(p, "h2"))
    assert not joined.measured("/work/m/p/p.go") and joined.weight(verdicts[0]) is None
    assert joined.measured("/work/m/p/use.go")
    assert not joined.unmatched or all(s.file != "/work/m/p/p.go" for s in joined.unmatched)


def _flowing(line: int, sink: tuple[int, str], kind: Kind = Kind.ESCAPES_TO_HEAP) -> Finding:
    f = _finding("/m/p.go", line, "append escapes to heap", kind)
    step = FlowStep(
        "/m/p.go", Span(sink[0] - 1, 1, sink[0] - 1, 5), sink[1], "assign", "{heap} ← buf"
    )
    f.flow = (step,)
    return f


def test_causes_group_two_or_more_heap_findings_by_their_last_flow_step() -> None:
    group = [_flowing(33, (38, "lastLine = buf")), _flowing(34, (38, "lastLine = buf"))]
    alone = _flowing(40, (41, "return s"))
    leak = _flowing(35, (38, "lastLine = buf"), Kind.LEAKING_PARAM)
    (cause,) = find_causes([*group, alone, leak, group[0]])
    assert cause.subject == "lastLine = buf" and cause.span.start_line == 37
    assert cause.members == tuple(group)
    assert cause.summary == "2 allocations escape through this assignment"


def test_combined_weight_counts_each_line_once() -> None:
    ev = evidence_from_profile(parse_raw(RAW), "b")
    two = [
        _finding("/work/m/p/p.go", 7, "a escapes to heap"),
        _finding("/work/m/p/p.go", 7, "b escapes to heap"),
    ]
    joined = join(ev, heap_lines(two), path_resolver({}))
    w = combined_weight(two, joined)
    assert w is not None and w.bytes == 4096


def test_benchmark_lines_and_declarations() -> None:
    out = "\n".join(
        [
            "goos: linux",
            "BenchmarkFormat-2   \t 3742702\t       436.6 ns/op\t      56 B/op\t       2 allocs/op",
            "BenchmarkX/size=10-8   100   12.5 ns/op   3.00 widgets/op",
            "BenchmarkSolo 5 1000000 ns/op",
            "PASS",
        ]
    )
    a, b, c = parse_results("m/p", out)
    assert (a.name, a.procs, a.iterations, a.allocs_per_op, a.bytes_per_op) == (
        "BenchmarkFormat",
        2,
        3742702,
        2,
        56,
    )
    assert (b.name, b.function, b.procs, b.allocs_per_op) == (
        "BenchmarkX/size=10",
        "BenchmarkX",
        8,
        None,
    )
    assert (c.procs, c.ns_per_op) == (1, 1_000_000)
    assert bench_figures(a) == "2 allocs/op · 56 B/op · 436.6 ns/op"
    src = GoSource(
        b'package p\nimport "testing"\nfunc BenchmarkA(b *testing.B) {}\nfunc Benchmarkfoo(b *testing.B) {}\n'
        b"func BenchmarkB(b *testing.T) {}\nfunc (T) BenchmarkC(b *testing.B) {}\nfunc Benchmark_D(*testing.B) {}\n"
    )
    assert [d.name for d in benchmarks(src)] == ["BenchmarkA", "Benchmark_D"]


def test_wording() -> None:
    assert [share_text(s) for s in (0.41, 0.094, 0.0004, 0.0)] == ["41%", "9.4%", "<0.1%", "0%"]
    assert [size_text(n) for n in (56, 1024, 1.2 * 1024**3)] == ["56 B", "1.0 KiB", "1.2 GiB"]
    ev = evidence_from_profile(parse_raw(RAW), "BenchmarkFormat")
    joined = join(ev, {("/work/m/p/p.go", 7)}, path_resolver({}))
    w = joined.lines[("/work/m/p/p.go", 7)]
    assert weight_sentence(w, "BenchmarkFormat") == (
        "measured: 97% of allocated bytes in BenchmarkFormat (4.0 KiB, 4 objects)"
    )
