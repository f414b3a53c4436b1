"""The engine against the real go toolchain on temp modules."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from escape_lsp.analysis.engine import Engine
from escape_lsp.analysis.results import PackageResult
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.findings.model import DERIVED_KINDS, Kind
from escape_lsp.findings.parser import parse_messages
from escape_lsp.gotool import process
from escape_lsp.gotool.toolchain import find_toolchain, module_context
from tests.conftest import WriteModule, live_processes_in_group, write_tree

DATA = Path(__file__).parent / "data"
SAMPLE = {
    "p/p.go": (DATA / "m2_sample.go.txt").read_text(),
    "p/q.go": (DATA / "m2_sample_q.go.txt").read_text(),
}


def engine_for(root: Path, **settings: object) -> Engine:
    toolchain = find_toolchain()
    return Engine(toolchain, module_context(toolchain, str(root)), AnalysisSettings(**settings))  # type: ignore[arg-type]


async def analyze(
    root: Path, pkgs: list[str], overlays: dict[str, bytes] | None = None, **settings: object
) -> dict[str, PackageResult]:
    engine = engine_for(root, **settings)
    try:
        return await engine.analyze(pkgs, overlays)
    finally:
        engine.close()


async def test_every_compiler_message_about_workspace_files_is_a_finding(
    gomod: WriteModule,
) -> None:
    root = gomod(SAMPLE)
    res = (await analyze(root, ["example.com/m/p"]))["example.com/m/p"]
    assert res.blocked is None
    raw = subprocess.run(
        ["go", "build", "-gcflags=example.com/m/p=-m=2", "./p"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    by_line = {(f.file, f.line) for f in res.findings}
    by_text = {(f.file, f.line, f.message) for f in res.findings}
    messages = [m for m in parse_messages(raw, str(root)) if m.file.startswith(str(root))]
    assert messages
    for m in messages:
        if m.text.startswith("  "):
            continue  # flow lines belong to their header
        if m.text.endswith(":"):
            assert (m.file, m.line) in by_line, m  # an explanation header: its verdict is here
        else:
            assert (m.file, m.line, m.text) in by_text, m
    # Nothing invented: every finding's text is a line the compiler printed (pool findings are
    # derived from verdicts and syntax, and say so by their kind).
    printed = {(m.file, m.line, m.text) for m in messages}
    verdicts = [f for f in res.findings if f.kind not in DERIVED_KINDS]
    assert {(f.file, f.line, f.message) for f in verdicts} <= printed


async def test_go_work_workspace_with_two_modules(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "a/go.mod": "module ex/a\n\ngo 1.24\n",
            "a/a.go": "package a\n\nfunc A() *int { x := 1; return &x }\n",
            "b/go.mod": "module ex/b\n\ngo 1.24\n\nrequire ex/a v0.0.0\n",
            "b/b.go": 'package b\n\nimport "ex/a"\n\nvar Sink *int\n\nfunc B() { Sink = a.A() }\n',
            "go.work": "go 1.24\n\nuse (\n\t./a\n\t./b\n)\n",
        },
    )
    engine = engine_for(tmp_path / "b")
    try:
        assert engine.context.root == str(tmp_path.resolve())
        graph = await engine.graph()
        assert set(graph.packages) == {"ex/a", "ex/b"}
        assert graph.dependents(["ex/a"]) == {"ex/a", "ex/b"}
        res = await engine.analyze(["ex/a", "ex/b"])
    finally:
        engine.close()
    assert any(f.message == "moved to heap: x" for f in res["ex/a"].findings)
    assert any(
        f.message == "moved to heap: a.x" and f.file.endswith("b.go") for f in res["ex/b"].findings
    )


async def test_test_files_only_with_tests(gomod: WriteModule) -> None:
    root = gomod(
        {
            "t/t.go": "package t\n\nfunc T() int { return 1 }\n",
            "t/t_test.go": 'package t\n\nimport "testing"\n\nvar sink *int\n\nfunc TestT(t *testing.T) { x := T(); sink = &x }\n',
            "t/x_test.go": 'package t_test\n\nimport "testing"\n\nvar sink2 *int\n\nfunc TestX(t *testing.T) { y := 2; sink2 = &y }\n',
        }
    )
    without = (await analyze(root, ["example.com/m/t"]))["example.com/m/t"]
    assert not [f for f in without.findings if f.file.endswith("_test.go")]
    with_tests = (await analyze(root, ["example.com/m/t"], tests=True))["example.com/m/t"]
    moved = {
        (Path(f.file).name, f.message) for f in with_tests.findings if f.kind is Kind.MOVED_TO_HEAP
    }
    assert moved == {("t_test.go", "moved to heap: x"), ("x_test.go", "moved to heap: y")}


async def test_overlay_changes_the_result_without_touching_disk(gomod: WriteModule) -> None:
    root = gomod({"o/o.go": "package o\n\nfunc F() int { x := 1; return x }\n"})
    path = root / "o" / "o.go"
    before = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    edited = b"package o\n\nfunc F() *int { x := 1; return &x }\n"
    engine = engine_for(root)
    try:
        clean = await engine.analyze(["example.com/m/o"])
        dirty = await engine.analyze(["example.com/m/o"], {str(path): edited})
        again = await engine.analyze(["example.com/m/o"], {str(path): edited})
        reverted = await engine.analyze(["example.com/m/o"], {str(path): before})
    finally:
        engine.close()
    assert not [f for f in clean["example.com/m/o"].findings if f.kind is Kind.MOVED_TO_HEAP]
    (moved,) = [f for f in dirty["example.com/m/o"].findings if f.kind is Kind.MOVED_TO_HEAP]
    assert moved.file == str(path) and moved.line == 3
    assert again["example.com/m/o"].from_memo and reverted["example.com/m/o"].from_memo
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in root.rglob("*")) == ["go.mod", "o", "o.go"]
    assert not os.path.exists(engine.overlays.dir)


async def test_compile_error_blocks_with_the_first_error(gomod: WriteModule) -> None:
    root = gomod(
        {
            "bad/bad.go": "package bad\n\nfunc F() int { return y }\n",
            "user/user.go": 'package user\n\nimport "example.com/m/bad"\n\nvar V = bad.F()\n',
        }
    )
    res = await analyze(root, ["example.com/m/bad", "example.com/m/user"])
    bad = res["example.com/m/bad"].blocked
    assert bad is not None and bad.errors[0].line == 3 and "undefined: y" in bad.errors[0].message
    assert res["example.com/m/bad"].findings == ()
    user = res["example.com/m/user"].blocked
    assert user is not None and user.because_of == "example.com/m/bad"
    assert "undefined: y" in str(user.errors[0])


async def test_syntax_error_mid_typing_is_blocked_not_raised(gomod: WriteModule) -> None:
    root = gomod({"s/s.go": "package s\n\nfunc F() int { return 1 }\n"})
    path = str(root / "s" / "s.go")
    res = await analyze(root, ["example.com/m/s"], {path: b"package s\n\nfunc F() int { return \n"})
    blocked = res["example.com/m/s"].blocked
    assert (
        blocked is not None and "syntax error" in blocked.summary and blocked.errors[0].file == path
    )


async def test_cancellation_kills_the_go_process_group(gomod: WriteModule) -> None:
    funcs = "\n".join(
        f"func F{i}(n int) []int {{ s := make([]int, n); s[0] = {i}; return s }}"
        for i in range(4000)
    )
    root = gomod({"big/big.go": f"package big\n\n// {os.urandom(8).hex()}\n{funcs}\n"})
    engine = engine_for(root)
    await engine.graph()
    task = asyncio.create_task(engine.analyze(["example.com/m/big"]))
    try:
        async with asyncio.timeout(60):
            while not process._LIVE:
                await asyncio.sleep(0.01)  # polling for the condition, bounded by the timeout
        (pgid,) = list(process._LIVE)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with asyncio.timeout(10):  # SIGKILL was sent to the group; wait for it to land
            while live_processes_in_group(pgid):
                await asyncio.sleep(0.01)
        assert not process._LIVE
    finally:
        engine.close()


async def test_memo_makes_an_unchanged_state_skip_the_go_command(gomod: WriteModule) -> None:
    root = gomod({"m/m.go": "package m\n\nfunc F() *int { x := 1; return &x }\n"})
    engine = engine_for(root)
    try:
        first = await engine.analyze(["example.com/m/m"])
        second = await engine.analyze(["example.com/m/m"])
        (root / "m" / "m.go").write_text("package m\n\nfunc F() int { x := 1; return x }\n")
        third = await engine.analyze(["example.com/m/m"])
    finally:
        engine.close()
    assert not first["example.com/m/m"].from_memo and second["example.com/m/m"].from_memo
    assert second["example.com/m/m"].findings == first["example.com/m/m"].findings
    assert not third["example.com/m/m"].from_memo
    assert [f.kind for f in third["example.com/m/m"].findings] == [Kind.CAN_INLINE]


async def test_a_change_the_compiler_says_nothing_new_about_is_mapped_without_parsing_again(
    gomod: WriteModule, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A comment appended leaves the compiler's text about the file as it was: its parse is
    reused and only mapped again, against the new text, with the same result as a fresh
    engine's. A line inserted above moves every position: that text is parsed anew."""
    from escape_lsp.analysis import package_results

    parsed: list[str] = []

    def counted(real: Callable[..., object]) -> Callable[..., object]:
        def parse(text: str, *args: object, **kwargs: object) -> object:
            out = real(text, *args, **kwargs)
            if out is not None:  # None: the compiled route left it to the Python one
                parsed.append(text)
            return out

        return parse

    # Either route parses: through the parsed findings, or the compiled one-call mapping.
    for route in ("build_findings", "mapped_rows", "mapped_findings"):
        monkeypatch.setattr(package_results, route, counted(getattr(package_results, route)))
    src = 'package m\n\nfunc F(s string) *string { t := s + "!"; return &t }\n'
    root = gomod({"m/m.go": src})
    path = root / "m" / "m.go"
    engine = engine_for(root)
    try:
        await engine.analyze(["example.com/m/m"])
        assert len(parsed) == 1
        path.write_text(src + "// a comment\n")
        again = (await engine.analyze(["example.com/m/m"]))["example.com/m/m"]
        assert not again.from_memo and len(parsed) == 1, "mapped again, not parsed again"
        path.write_text("// moved\n" + src)
        moved = (await engine.analyze(["example.com/m/m"]))["example.com/m/m"]
        assert len(parsed) == 2
    finally:
        engine.close()
    path.write_text(src + "// a comment\n")
    fresh = await analyze(root, ["example.com/m/m"])
    assert again.findings == fresh["example.com/m/m"].findings
    assert {f.span.start_line for f in moved.findings} == {
        f.span.start_line + 1 for f in again.findings
    }
