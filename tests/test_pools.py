"""sync.Pool hit rates measured with the real `go test`, through the CLI, the analysis API and
the language server's code lens; the user's files are never written."""

from __future__ import annotations

import hashlib
import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp

from escape_lsp.analysis.pools.batch import run_pools
from escape_lsp.analysis.pools.instrument import instrument
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.findings.syntax import GoSource
from escape_lsp.lsp.pool_lens import MEASURE
from tests.conftest import WriteModule
from tests.lsp_harness import VSCODE, has, lsp_session, open_doc, uri, wait_diagnostics

POOLS = """
package p

import (
\t"bytes"
\t"sync"
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func Shared(s string) int {
\tb := bufPool.Get().(*bytes.Buffer)
\tb.Reset()
\tb.WriteString(s)
\tn := b.Len()
\tbufPool.Put(b)
\treturn n
}

func Local(s string) int {
\tp := sync.Pool{New: func() any { return new(bytes.Buffer) }}
\tb := p.Get().(*bytes.Buffer)
\tb.Reset()
\tb.WriteString(s)
\tn := b.Len()
\tp.Put(b)
\treturn n
}
"""

BENCH = """
package p

import "testing"

func BenchmarkShared(b *testing.B) {
\tfor i := 0; i < b.N; i++ {
\t\tShared("hello")
\t}
}

func BenchmarkLocal(b *testing.B) {
\tfor i := 0; i < b.N; i++ {
\t\tLocal("hello")
\t}
}
"""

XTEST = """
package p_test

import (
\t"testing"

\t"example.com/m/p"
)

func TestShared(_ *testing.T) {
\tfor i := 0; i < 100; i++ {
\t\tp.Shared("x")
\t}
}
"""


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


async def test_hit_rates_of_a_local_and_a_package_level_pool(
    gomod: WriteModule, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = gomod({"p/p.go": POOLS, "p/p_test.go": BENCH})
    before = _snapshot(root)
    monkeypatch.chdir(root)
    report = await run_pools(["./p"], AnalysisSettings(tests=True), benchtime="20000x")
    assert _snapshot(root) == before, "the user's files were written"
    (m,) = report.measurements
    assert m.error is None and m.ran == "benchmarks"
    rates = {(h.site.name, h.benchmark): h for h in m.hits}
    local = rates[("p", "BenchmarkLocal")]
    shared = rates[("bufPool", "BenchmarkShared")]
    assert local.gets == local.puts == local.news == 20000 and local.hit_rate == 0.0
    assert shared.gets == shared.puts == 20000 and shared.hit_rate is not None
    assert shared.hit_rate > 0.9, shared
    assert set(rates) == {("p", "BenchmarkLocal"), ("bufPool", "BenchmarkShared")}


async def test_tests_run_when_there_is_no_benchmark(
    gomod: WriteModule, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`./...` also over a directory go cannot place: that package is not measured, and
    says go's reason (`go test ./...` fails there)."""
    bad = "package bad\n\nfunc G() int { return 1 }\n"
    root = gomod({"p/p.go": POOLS, "p/x_test.go": XTEST, "bad dir/b.go": bad})
    monkeypatch.chdir(root)
    report = await run_pools(["./..."], AnalysisSettings(tests=True))
    skipped, m = report.measurements
    assert skipped.package == "example.com/m/bad dir" and skipped.ran == ""
    assert skipped.error and skipped.error.startswith("not measured: malformed import path")
    assert m.error is None and m.ran == "tests"
    hits = {(h.site.name, h.benchmark): (h.gets, h.puts) for h in m.hits}
    assert hits == {("bufPool", "TestShared"): (100, 100), ("p", None): (0, 0)}


def test_pools_cli_json(gomod: WriteModule) -> None:
    root = gomod({"p/p.go": POOLS, "p/p_test.go": BENCH})
    argv = [sys.executable, "-m", "escape_lsp", "pools", "--bench", "Local", "--benchtime"]
    proc = subprocess.run(
        [*argv, "1000x", "--format", "json", "./..."], cwd=root, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    by_name = {p["name"]: p for p in data["pools"]}
    local, shared = by_name["p"], by_name["bufPool"]
    assert local == {
        "name": "p",
        "file": str(root / "p" / "p.go"),
        "range": {"start": {"line": 19, "character": 1}, "end": {"line": 19, "character": 2}},
        "gets": 1000,
        "puts": 1000,
        "news": 1000,
        "hit_rate": 0.0,
        "benchmark": "BenchmarkLocal",
    }
    assert shared["benchmark"] is None and shared["hit_rate"] is None
    assert "victim cache" in data["note"] and data["errors"] == []
    text = subprocess.run(
        [*argv, "1000x", "./p"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    assert (
        "p/p.go:20:2: p (BenchmarkLocal): hit rate 0% · 1,000 Get · 1,000 New · 1,000 Put" in text
    )


def test_instrumented_copies_keep_lines_and_nest_wraps(tmp_path: Path) -> None:
    src = GoSource(
        b'package p\n\nimport "sync"\n\nvar q sync.Pool\n\nfunc F() { q.Put(q.Get()) }\n'
    )
    test = GoSource(b'package p\n\nimport "testing"\n\nfunc BenchmarkF(*testing.B) { F() }\n')
    out = instrument(
        {str(tmp_path / "p.go"): src, str(tmp_path / "p_test.go"): test},
        "example.com/m/p",
        str(tmp_path),
        "Benchmark",
    )
    assert out is not None
    copy = out.files[str(tmp_path / "p.go")].decode()
    assert "q.Put(escapeLspPoolPut(0, escapeLspPoolGet(0, q.Get())))" in copy
    assert copy.count("\n") == src.data.count(b"\n")
    bench = out.files[str(tmp_path / "p_test.go")].decode()
    assert "func BenchmarkF(escapeLspTB *testing.B) {escapeLspPoolMark(escapeLspTB); F() }" in bench
    assert out.marked == ("BenchmarkF",)


async def test_code_lens_after_a_measurement(gomod: WriteModule) -> None:
    root = gomod({"p/p.go": POOLS, "p/p_test.go": BENCH})
    path = root / "p" / "p.go"
    before = _snapshot(root)
    async with lsp_session(root, VSCODE) as lc:
        open_doc(lc, path)
        message = "p is a new, empty sync.Pool on every call of Local: declare it at package level"
        diags = await wait_diagnostics(lc, path, has(message))
        (d,) = [d for d in diags if d.message == message]
        assert d.code == "pool-local" and d.severity == lsp.DiagnosticSeverity.Warning
        assert (d.range.start.line, d.range.start.character, d.range.end.character) == (19, 1, 2)

        params = lsp.CodeLensParams(lsp.TextDocumentIdentifier(uri(path)))
        lenses = await lc.text_document_code_lens_async(params)
        titles = {(x.range.start.line, x.command.title) for x in lenses or [] if x.command}
        assert {(7, "measure hit rate"), (19, "measure hit rate")} <= titles

        result = await lc.workspace_execute_command_async(
            lsp.ExecuteCommandParams(MEASURE, [uri(path), "", "2000x"])
        )
        assert result["error"] is None, result
        lenses = await lc.text_document_code_lens_async(params)
        titles = {(x.range.start.line, x.command.title) for x in lenses or [] if x.command}
        assert (19, "hit rate 0% · 2,000 Get · 2,000 New (BenchmarkLocal)") in titles
        (shared,) = [t for line, t in titles if line == 7]
        assert (
            shared.startswith("hit rate ")
            and shared.endswith("· 2,000 Get · 0 New (BenchmarkShared)")
        ) or (" New (BenchmarkShared)" in shared)
    assert _snapshot(root) == before


def test_text_searches_find_whole_identifiers_and_pool_selections() -> None:
    """The pool index's cheap searches: `Pool` as a whole word only; `r.Get`/`.Put`/`.New` by
    the receiver's last identifier, across spaces and newlines, not as a suffix of another."""
    from escape_lsp.analysis.pools.tree import method_selections, word_matches

    data = b"var a sync.Pool; type bufPool int; Pool2 := 1; x.Pool\n"
    assert [data[s:e] for s, e in word_matches(data, b"Pool")] == [b"Pool", b"Pool"]
    calls = b"pool.Get(); s.pool .\n\tPut(b); xpool.Get(); p.Getter(); p.New = f; pool.Len()"
    found = [(calls[s:e], s) for s, e in method_selections(calls, frozenset({b"pool", b"p"}))]
    assert [name for name, _ in found] == [b"Get", b"Put", b"New"]
    assert found[0][1] == calls.index(b"Get")


async def test_pool_checks_of_an_unchanged_file_follow_a_declaration_in_another(
    gomod: WriteModule,
) -> None:
    """The pool index keeps each file's searches on its parsed source (the same object while
    the file is unchanged), keyed by what they looked for: when another file turns a name
    into a sync.Pool, the unchanged file's uses of it are found."""
    from escape_lsp.findings.model import Kind
    from tests.test_engine import engine_for

    fake = "type fake struct{}\n\nfunc (fake) Get() any { return nil }\n\nfunc (fake) Put(any) {}\n"
    decls = 'package p\n\nimport "sync"\n\nvar bufPool sync.Pool\n\n'
    one_pool = decls + "var otherPool fake\n\n" + fake
    two_pools = decls + "var otherPool sync.Pool\n\n" + fake
    use = (
        'package p\n\nimport "bytes"\n\nfunc Use() {\n'
        "\tbufPool.Put(new(bytes.Buffer))\n"
        "\tb := otherPool.Get().(*bytes.Buffer)\n"
        "\totherPool.Put(b)\n"
        "\tb.Reset()\n"
        "}\n"
    )
    root = gomod({"p/a.go": one_pool, "p/b.go": use})
    engine = engine_for(root)
    a = root / "p" / "a.go"
    b = str(root / "p" / "b.go")

    async def uses_after_put() -> list[int]:
        res = (await engine.analyze(["example.com/m/p"]))["example.com/m/p"]
        assert res.blocked is None
        found = [f for f in res.findings if f.file == b and f.kind is Kind.POOL_USE_AFTER_PUT]
        return [f.line for f in found]

    try:
        assert await uses_after_put() == []
        a.write_text(two_pools)
        assert await uses_after_put() == [9]
        a.write_text(one_pool)
        assert await uses_after_put() == []
    finally:
        engine.close()


async def test_the_pool_index_is_built_while_go_compiles_and_only_used_for_the_same_sources(
    gomod: WriteModule, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine indexes a package's pools while go compiles; after go, the checks take that
    index when it was built from the very sources the result was mapped with, else index anew."""
    from escape_lsp.analysis import package_results
    from escape_lsp.analysis.pools import checks
    from escape_lsp.findings.model import Kind
    from tests.test_engine import engine_for

    root = gomod({"p/p.go": POOLS})
    fresh: list[str] = []
    index_anew = checks.index_packages

    def counted(sources: dict[str, GoSource]) -> list[object]:
        fresh.extend(sources)
        return index_anew(sources)  # type: ignore[return-value]

    monkeypatch.setattr(checks, "index_packages", counted)
    prepare = package_results.prepare_pools

    async def pool_kinds() -> set[Kind]:
        engine = engine_for(root)
        try:
            res = (await engine.analyze(["example.com/m/p"]))["example.com/m/p"]
        finally:
            engine.close()
        return {f.kind for f in res.findings if f.kind.value.startswith("pool-")}

    prepared = await pool_kinds()
    assert prepared and fresh == []  # the checks took the index built while go compiled

    def other_sources(*args: object) -> dict[str, package_results.PreparedPools]:
        out = prepare(*args)  # type: ignore[arg-type]
        return {
            name: ({p: GoSource(s.data) for p, s in files.items()}, pools)
            for name, (files, pools) in out.items()
        }

    monkeypatch.setattr(package_results, "prepare_pools", other_sources)
    assert await pool_kinds() == prepared and fresh == [str(root / "p" / "p.go")]


RETAINS = """
package p

import (
\t"bytes"
\t"sync"
)

var bbPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

var last *bytes.Buffer

func Retain() int {
\tb := bbPool.Get().(*bytes.Buffer)
\tlast = b
\tn := b.Len()
\tbbPool.Put(b)
\treturn n
}

func UseAfter() int {
\tb := bbPool.Get().(*bytes.Buffer)
\tbbPool.Put(b)
\treturn b.Len()
}
"""


async def test_the_pool_checks_read_the_syntax_while_go_compiles(
    gomod: WriteModule, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the pool checks read of the syntax alone (the syntax-only checks, and the Puts
    and stores the retained-object check looks at) is worked out with the index while go
    compiles; after go only the parts that read verdicts run, with the same findings."""
    from escape_lsp.analysis.pools import checks
    from escape_lsp.findings.model import Kind
    from tests.test_engine import engine_for

    # the module (`checks.retained` is the check's function)
    retained = importlib.import_module("escape_lsp.analysis.pools.checks.retained")
    root = gomod({"p/p.go": RETAINS})
    after_go: list[bool] = []
    in_checks = [False]

    def noted(compute: Any) -> Any:
        def run(pools: Any) -> Any:
            after_go.append(in_checks[0])
            return compute(pools)

        return run

    monkeypatch.setattr(checks, "_syntax_findings", noted(checks._syntax_findings))
    candidates = noted(retained.candidates)
    monkeypatch.setattr(checks, "candidates", candidates)
    monkeypatch.setattr(retained, "candidates", candidates)
    pool_findings = checks.pool_findings  # (`package_results` imports it as it calls it)

    def checked(*args: Any) -> Any:
        in_checks[0] = True
        try:
            return pool_findings(*args)
        finally:
            in_checks[0] = False

    monkeypatch.setattr(checks, "pool_findings", checked)
    engine = engine_for(root)
    try:
        res = (await engine.analyze(["example.com/m/p"]))["example.com/m/p"]
    finally:
        engine.close()
    lines = {
        (f.kind, f.span.start_line + 1) for f in res.findings if f.kind.value.startswith("pool-")
    }
    assert {(Kind.POOL_OBJECT_RETAINED, 14), (Kind.POOL_USE_AFTER_PUT, 23)} <= lines
    assert after_go == [False, False]  # each computed once, before the verdicts came


async def test_the_pool_checks_read_again_only_the_verdicts_of_the_file_that_changed(
    gomod: WriteModule, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the checks read of every verdict of a file (the Puts that may box their argument,
    the flows that store a variable) is kept on the file's source while the engine has the
    very same verdicts for it: after an edit of one file, only that file's are read again,
    and the findings follow each file's own text."""
    from escape_lsp.analysis.pools.checks import verdicts
    from escape_lsp.findings.model import Kind
    from tests.test_engine import engine_for

    # (the package exports the check under its module's name)
    put_non_pointer = importlib.import_module("escape_lsp.analysis.pools.checks.put_non_pointer")
    boxes = (
        'package p\n\nimport "sync"\n\nvar slicePool = sync.Pool{New: func() any { return '
        "make([]byte, 0, 64) }}\n\nfunc Box(b []byte) {\n\tslicePool.Put(b)\n}\n"
    )
    root = gomod({"p/p.go": RETAINS, "p/q.go": boxes})
    p, q = root / "p" / "p.go", root / "p" / "q.go"
    read: list[tuple[str, str]] = []

    def noted(name: str, compute: Any) -> Any:
        def run(src: GoSource, found: Any) -> Any:
            read.append((name, Path(found[0].file).name if found else ""))
            return compute(src, found)

        return run

    stores = noted("stores", verdicts._stores_by_origin)
    monkeypatch.setattr(verdicts, "_stores_by_origin", stores)
    boxed = noted("boxed", put_non_pointer._boxed_into_put)
    monkeypatch.setattr(put_non_pointer, "_boxed_into_put", boxed)
    engine = engine_for(root)

    async def pool_lines() -> set[tuple[str, Kind, int]]:
        res = (await engine.analyze(["example.com/m/p"]))["example.com/m/p"]
        assert res.blocked is None
        return {
            (Path(f.file).name, f.kind, f.line)
            for f in res.findings
            if f.kind in (Kind.POOL_OBJECT_RETAINED, Kind.POOL_PUT_NON_POINTER)
        }

    try:
        first = await pool_lines()
        assert first == {
            ("p.go", Kind.POOL_OBJECT_RETAINED, 14),
            ("q.go", Kind.POOL_PUT_NON_POINTER, 8),
        }
        every = [("boxed", "p.go"), ("boxed", "q.go"), ("stores", "p.go"), ("stores", "q.go")]
        assert sorted(read) == every
        read.clear()
        q.write_text(boxes + "\nfunc Other() {}\n")
        assert await pool_lines() == first
        assert sorted(read) == [("boxed", "q.go"), ("stores", "q.go")]  # p.go's: kept
        read.clear()
        p.write_text(RETAINS.replace("\tlast = b\n", "\tlast = nil\n"))
        assert await pool_lines() == {("q.go", Kind.POOL_PUT_NON_POINTER, 8)}
        assert sorted(read) == [("boxed", "p.go"), ("stores", "p.go")]
    finally:
        engine.close()


async def test_the_pool_index_parses_only_the_files_a_pool_needs(
    gomod: WriteModule, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file's package clause and imports come from a tree of its header alone, and a
    package-level name is looked up in the files that hold it: the type and the New function
    in files of their own are found (a value type boxed by Put, a New returning a non-pointer),
    and a file that mentions neither a pool nor those names is never parsed whole."""
    from escape_lsp.findings.model import Kind
    from tests.test_engine import engine_for

    pool = (
        'package p\n\nimport "sync"\n\nvar bufPool = sync.Pool{New: newBuf}\n\n'
        "func Use() byte {\n\tb := bufPool.Get().(buf)\n\tn := b[0]\n\tbufPool.Put(b)\n"
        "\treturn n\n}\n"
    )
    types = "package p\n\ntype buf [64]byte\n"
    news = "package p\n\nfunc newBuf() any { return buf{} }\n"
    other = 'package p\n\nimport "strings"\n\nfunc Other(s string) string {\n'
    other += "\treturn strings.ToUpper(s)\n}\n"
    root = gomod({"p/pool.go": pool, "p/types.go": types, "p/news.go": news, "p/other.go": other})
    parsed: list[str] = []
    whole = GoSource.tree.fget  # type: ignore[attr-defined]

    def noted(src: GoSource) -> Any:
        parsed.append(src.data.decode())
        return whole(src)

    monkeypatch.setattr(GoSource, "tree", property(noted))
    engine = engine_for(root)
    try:
        res = (await engine.analyze(["example.com/m/p"]))["example.com/m/p"]
    finally:
        engine.close()
    assert res.blocked is None
    found = {(Path(f.file).name, f.kind) for f in res.findings if f.kind.value.startswith("pool")}
    assert found == {
        ("pool.go", Kind.POOL_GET_VALUE),  # buf's underlying array: in types.go
        ("pool.go", Kind.POOL_PUT_NON_POINTER),
        ("news.go", Kind.POOL_NEW_NON_POINTER),  # the New function: in news.go
    }
    assert other not in parsed
    assert {pool, types, news} <= set(parsed)
