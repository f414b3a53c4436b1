"""The on-disk memo and the per-file memo: reuse only for identical inputs, bounded, never in
the workspace."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from escape_lsp.analysis.disk_memo import DiskMemo
from escape_lsp.analysis.engine import Engine
from escape_lsp.analysis.results import PackageResult
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.findings import codec as findings_codec
from escape_lsp.findings import native
from escape_lsp.findings.model import Finding, FlowStep, Kind, Span
from escape_lsp.findings.syntax import GoSource
from escape_lsp.gotool.toolchain import find_toolchain, module_context
from tests.conftest import WriteModule

PKG = "example.com/m/p"
FILES = {
    "p/a.go": "package p\n\nfunc A() *int { x := 1; return &x }\n",
    "p/b.go": "package p\n\nfunc B(s []byte) any { return string(s) }\n",
}


@pytest.fixture
def cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path_factory.mktemp("memo-cache")
    monkeypatch.setenv("ESCAPE_LSP_CACHE", str(directory))
    return directory


async def run(root: Path, **settings: object) -> PackageResult:
    """One analysis in a fresh engine: what a new process would get."""
    toolchain = find_toolchain()
    ctx = module_context(toolchain, str(root))
    engine = Engine(toolchain, ctx, AnalysisSettings(**settings))  # type: ignore[arg-type]
    try:
        return (await engine.analyze([PKG]))[PKG]
    finally:
        engine.close()


async def test_a_new_engine_answers_an_unchanged_package_from_disk(
    gomod: WriteModule, cache: Path
) -> None:
    root = gomod(FILES)
    first = await run(root)
    again = await run(root)
    assert not first.from_memo and again.from_memo
    assert again.findings == first.findings and again.findings
    assert list(first.findings) == sorted(first.findings, key=Finding.sort_key)
    assert {f.file for f in first.findings} == {str(root / "p" / "a.go"), str(root / "p" / "b.go")}
    assert os.listdir(cache) and not str(cache).startswith(str(root))


async def test_changed_content_or_environment_is_built_again(
    gomod: WriteModule, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = gomod(FILES)
    await run(root)
    (root / "p" / "a.go").write_text("package p\n\nfunc A() int { x := 1; return x }\n")
    changed = await run(root)
    monkeypatch.setenv("ESCAPE_LSP_CACHE", "off")
    fresh = await run(root)
    assert not changed.from_memo and changed.findings == fresh.findings
    monkeypatch.setenv("ESCAPE_LSP_CACHE", str(cache))
    monkeypatch.setenv("GOFLAGS", "-trimpath")  # steers go: a different environment
    assert not (await run(root)).from_memo


async def test_the_preload_names_the_files_the_memo_most_likely_answers(
    gomod: WriteModule, cache: Path
) -> None:
    """While go compiles, a new engine reads the per-file entries of the package's last
    stored result: the files whose entries still hold need no tree parsed ahead."""
    root = gomod(FILES)
    await run(root)
    (root / "p" / "a.go").write_text("package p\n\nfunc A() *int { y := 2; return &y }\n")
    toolchain = find_toolchain()
    engine = Engine(toolchain, module_context(toolchain, str(root)), AnalysisSettings())
    try:
        lineage = engine._lineage(PKG)
        assert engine.memo.preload(lineage, {}) == {str(root / "p" / "b.go")}
        edited = {str(root / "p" / "b.go"): b"package p\n"}  # an unsaved buffer counts
        assert engine.memo.preload(lineage, edited) == set()
    finally:
        engine.close()


async def test_one_changed_file_reparses_only_that_file(gomod: WriteModule) -> None:
    root = gomod(FILES)
    toolchain = find_toolchain()
    engine = Engine(toolchain, module_context(toolchain, str(root)), AnalysisSettings())
    try:
        before = (await engine.analyze([PKG]))[PKG]
        (root / "p" / "a.go").write_text(
            "package p\n\n// moved down\nfunc A() *int { y := 2; return &y }\n"
        )
        after = (await engine.analyze([PKG]))[PKG]
    finally:
        engine.close()
    b_file = str(root / "p" / "b.go")
    old_b = [f for f in before.findings if f.file == b_file]
    new_b = [f for f in after.findings if f.file == b_file]
    assert old_b and all(x is y for x, y in zip(old_b, new_b, strict=True))  # reused as is
    a_file = str(root / "p" / "a.go")
    assert any(f.subject == "y" and f.file == a_file for f in after.findings)
    assert not any(f.subject == "x" for f in after.findings)


def test_the_memo_directory_stays_within_its_budget(tmp_path: Path) -> None:
    memo = DiskMemo(str(tmp_path / "memo"), budget=64 * 1024)
    for i in range(40):
        memo.put(f"{i:064x}", b"x" * 8 * 1024)
    assert memo.size() <= 64 * 1024
    assert memo.get(f"{39:064x}") == b"x" * 8 * 1024  # the newest entries stay
    assert memo.get(f"{0:064x}") is None


def test_an_unreadable_entry_is_a_miss_and_goes(tmp_path: Path) -> None:
    memo = DiskMemo(str(tmp_path / "memo"))
    key = "ab" * 32
    memo.put(key, ("value",))
    path = Path(memo.dir) / key[:2] / key[2:]
    path.write_bytes(b"\xffnot marshal data")
    assert memo.get(key) is None and not path.exists()


def test_a_reader_waits_for_a_background_writer_and_only_while_it_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer's lock held: the first read waits (up to `WRITER_WAIT`), later ones do not;
    no writer: no wait."""
    from escape_lsp.analysis import disk_memo

    monkeypatch.setattr(disk_memo, "WRITER_WAIT", 0.3)
    writer = DiskMemo(str(tmp_path / "memo"))
    key = "cd" * 32
    writer.put(key, ("value",))
    held = writer.lock_for_writing()
    assert held is not None
    assert writer.lock_for_writing() is None  # one writer at a time
    try:
        reader = DiskMemo(writer.dir)
        began = time.monotonic()
        assert reader.get(key) == ("value",)
        assert time.monotonic() - began >= 0.3  # it waited for the writer, then read
        began = time.monotonic()
        assert reader.get(key) == ("value",)
        assert time.monotonic() - began < 0.3  # once per process
    finally:
        os.close(held)
    began = time.monotonic()
    assert DiskMemo(writer.dir).get(key) == ("value",)
    assert time.monotonic() - began < 0.3


async def test_the_cli_stores_its_memo_after_its_report_and_the_next_run_reads_it(
    gomod: WriteModule, cache: Path
) -> None:
    """`check` hands its memo writes to a child once the report is out; the next process
    waits for that child and is answered by what it stored."""
    root = gomod(FILES)
    argv = [sys.executable, "-m", "escape_lsp", "check", "./..."]
    env = {**os.environ, "ESCAPE_LSP_STATE_DIR": str(cache.parent / "state")}
    done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "moved to heap: x" in done.stdout, done.stderr
    res = await run(root)  # a new engine: what the next process gets
    assert res.from_memo and any(f.message == "moved to heap: x" for f in res.findings)


def test_never_inside_the_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESCAPE_LSP_CACHE", str(tmp_path / "ws" / ".cache"))
    assert DiskMemo.for_workspace(str(tmp_path / "ws")) is None
    assert DiskMemo.for_workspace(str(tmp_path / "other")) is not None
    monkeypatch.setenv("ESCAPE_LSP_CACHE", "off")
    assert DiskMemo.for_workspace(str(tmp_path / "other")) is None


async def test_a_local_replace_keeps_nothing_on_disk(gomod: WriteModule, cache: Path) -> None:
    root = gomod(FILES)
    (root / "go.mod").write_text(
        "module example.com/m\n\ngo 1.24\n\nreplace example.com/x => ../x\n"
    )
    await run(root)
    assert not (await run(root)).from_memo


def test_findings_survive_the_disk_format_with_every_field() -> None:
    step = FlowStep("/m/a.go", Span(1, 2, 1, 5), "x", "assigned", "~r0 ← x", Span(1, 3, 1, 3))
    full = Finding(
        Kind.LEAKING_PARAM, "/m/a.go", Span(3, 1, 3, 9), "leaking param: p to result ~r0 level=0",
        "p", "F", (step,), 0, "~r0", {"reason": "r"}, "pkg.G", Span(3, 2, 3, 2),
    )  # fmt: skip
    bare = Finding(Kind.OTHER, "/m/b.go", Span(0, 0, 0, 0), "m", "m")
    rows = marshal.loads(marshal.dumps(findings_codec.encode([full, bare])))
    back = findings_codec.decode(rows)
    assert back == (full, bare) and back[0].detail == full.detail
    assert back[0].point == full.point and back[0].inlined_from == "pkg.G"
    assert isinstance(back[0].flow[0].span, Span) and isinstance(back[0].kind, Kind)
    assert isinstance(back[0].flow[0].point, Span)


async def test_the_package_graph_is_listed_again_only_when_the_tree_changes(
    gomod: WriteModule, cache: Path
) -> None:
    root = gomod(FILES)
    toolchain = find_toolchain()
    ctx = module_context(toolchain, str(root))

    async def listed() -> tuple[bool, set[str]]:
        engine = Engine(toolchain, ctx, AnalysisSettings())
        try:
            stored, _ = engine._stored_graph()
            graph = await engine.graph()
            return stored is not None, set(graph.packages)
        finally:
            engine.close()

    assert await listed() == (False, {PKG})
    assert await listed() == (True, {PKG})
    (root / "q").mkdir()
    (root / "q" / "q.go").write_text("package q\n")
    assert await listed() == (False, {PKG, "example.com/m/q"})
    assert await listed() == (True, {PKG, "example.com/m/q"})
    a = root / "p" / "a.go"
    a.write_text("package p\n\n// A's x stays on the stack.\nfunc A() int { x := 1; return x }\n")
    assert await listed() == (True, {PKG, "example.com/m/q"})  # below the imports: same listing
    a.write_text('package p\n\nimport _ "example.com/m/q"\n\nfunc A() int { return 1 }\n')
    assert await listed() == (False, {PKG, "example.com/m/q"})
    engine = Engine(toolchain, ctx, AnalysisSettings())
    try:
        assert (await engine.graph()).packages[PKG].imports == {"example.com/m/q"}
    finally:
        engine.close()
    (root / "q" / "q.go").write_text("//go:build ignore\n\npackage q\n")
    assert await listed() == (False, {PKG})


async def test_the_build_starts_from_the_last_listing_while_go_lists_again(
    gomod: WriteModule, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from escape_lsp.analysis.check import CheckRequest, run_check
    from tests.fakego import invocations, logging_go

    root = gomod(FILES, sub="mod")
    log = tmp_path / "go.log"
    go = str(logging_go(tmp_path / "bin", log))

    async def check() -> list[tuple[str, str]]:
        report = await run_check(CheckRequest(("./...",), AnalysisSettings(), go=go, cwd=str(root)))
        return [(f.file, f.message) for f in report.findings]

    await check()
    (root / "p" / "a.go").write_text(
        'package p\n\nimport _ "unsafe"\n\nfunc A() *int { y := 2; return &y }\n'
    )
    log.unlink()
    changed = await check()
    # A new import: go lists again. The earlier listing named the same packages and files:
    # its build is the one used.
    assert len(invocations(log, "build")) == 1 and len(invocations(log, "list")) == 1
    assert any(m == "moved to heap: y" for _, m in changed)

    (root / "q").mkdir()
    (root / "q" / "q.go").write_text("package q\n\nfunc Q() *int { z := 3; return &z }\n")
    log.unlink()
    grown = await check()
    # The earlier listing lacked q: its build was killed, the real one names q.
    builds = invocations(log, "build")
    assert len(builds) == 2 and "example.com/m/q" in builds[-1]
    assert any(m == "moved to heap: z" for _, m in grown)
    monkeypatch.setenv("ESCAPE_LSP_CACHE", "off")
    assert grown == await check()


async def test_a_package_without_findings_is_kept_and_unsaved_buffers_are_not(
    gomod: WriteModule, cache: Path
) -> None:
    root = gomod({"p/a.go": "package p\n\nvar X = 1\n"})
    assert (await run(root)).findings == ()
    assert (await run(root)).from_memo
    toolchain = find_toolchain()
    ctx = module_context(toolchain, str(root))
    unsaved = {str(root / "p" / "a.go"): b"package p\n\nfunc A() *int { x := 1; return &x }\n"}
    for _ in range(2):  # a second engine: nothing from the first one's buffers on disk
        engine = Engine(toolchain, ctx, AnalysisSettings())
        try:
            res = (await engine.analyze([PKG], unsaved))[PKG]
        finally:
            engine.close()
        assert not res.from_memo and any(f.message == "moved to heap: x" for f in res.findings)


def test_a_new_process_trusts_a_recent_size_ledger_and_recounts_an_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting thousands of entries on every run cost 25-30 ms: the ledger left by the last
    writer is used while recent; the budget still holds across writers."""
    directory = str(tmp_path / "memo")
    first = DiskMemo(directory, budget=64 * 1024)
    for i in range(6):
        first.put(f"{i:064x}", b"x" * 8 * 1024)
    first.write_ledger()  # the end of a batch (the engine's store does this)
    counts: list[int] = []
    real_size = DiskMemo.size

    def counted(self: DiskMemo) -> int:
        counts.append(1)
        return real_size(self)

    monkeypatch.setattr(DiskMemo, "size", counted)
    second = DiskMemo(directory, budget=64 * 1024)
    for i in range(6, 12):
        second.put(f"{i:064x}", b"x" * 8 * 1024)
    second.write_ledger()
    assert counts == []  # the ledger was recent
    assert real_size(second) <= 64 * 1024  # the writers' bytes added up: pruned in time
    assert second.get(f"{11:064x}") is not None
    ledger = Path(directory) / "size"
    size, _ = ledger.read_text().split()
    assert int(size) == real_size(second)

    ledger.write_text(f"{size} {time.time() - 3600}")
    DiskMemo(directory, budget=64 * 1024).put(f"{12:064x}", b"y")
    assert counts == [1]  # an old ledger: counted again


async def test_a_new_engine_reads_the_unchanged_files_entries_while_go_compiles(
    gomod: WriteModule, cache: Path
) -> None:
    """After one file changed, a new process reads the per-file entries of the last result
    while go builds: once go is done, the unchanged file is answered from memory."""
    root = gomod(FILES)
    first = await run(root)
    (root / "p" / "a.go").write_text("package p\n\nfunc A() int { x := 1; return x }\n")
    toolchain = find_toolchain()
    engine = Engine(toolchain, module_context(toolchain, str(root)), AnalysisSettings())
    reads: list[tuple[str, bool]] = []  # (kind, while go ran)
    building = False
    get, run_build = engine.store.get, engine.builds.run

    def logged_get(kind: str, key: str) -> object:
        reads.append((kind, building))
        return get(kind, key)

    async def logged_run(*args: object) -> object:
        nonlocal building
        building = True
        try:
            return await run_build(*args)  # type: ignore[arg-type]
        finally:
            building = False

    engine.store.get = logged_get  # type: ignore[method-assign]
    engine.builds.run = logged_run  # type: ignore[method-assign]
    try:
        changed = (await engine.analyze([PKG]))[PKG]
    finally:
        engine.close()
    b = str(root / "p" / "b.go")
    unchanged = [f for f in first.findings if f.file == b]
    assert unchanged and [f for f in changed.findings if f.file == b] == unchanged
    assert ("last", True) in reads and ("file", True) in reads
    # After go only a.go's new output is looked for on disk; b.go's entry is in memory.
    assert reads.count(("file", False)) == 1


async def test_a_file_whose_imports_changed_on_disk_lists_again_when_first_seen(
    gomod: WriteModule, cache: Path
) -> None:
    """A checkout changes the imports of a file no editor had open: the first time the engine
    hears of it, its imports part is compared with the one read before the last listing."""
    root = gomod({**FILES, "q/q.go": "package q\n\nfunc Q() {}\n"})
    toolchain = find_toolchain()
    engine = Engine(toolchain, module_context(toolchain, str(root)), AnalysisSettings())
    try:
        assert (await engine.graph()).packages[PKG].imports == frozenset()
        b = root / "p" / "b.go"
        b.write_text('package p\n\nimport "example.com/m/q"\n\nfunc B() { q.Q() }\n')
        graph = await engine.graph_for(str(b))
        assert graph.packages[PKG].imports == {"example.com/m/q"}
        b.write_text('package p\n\nimport "example.com/m/q"\n\nfunc B() { q.Q(); q.Q() }\n')
        assert await engine.graph_for(str(b)) is graph  # below the imports: no new listing
    finally:
        engine.close()


SEEDED = """package p

type T struct{ b []byte }

func A(n int) *T { t := &T{b: make([]byte, n)}; return t }

func B(s []byte) any { return string(s) }

func C(x *int) **int { return &x }
"""


@pytest.mark.parametrize("compiled", [False, True], ids=["python-mapping", "compiled-mapping"])
async def test_after_a_memo_answer_the_first_edit_maps_only_what_it_changed(
    gomod: WriteModule, cache: Path, monkeypatch: pytest.MonkeyPatch, compiled: bool
) -> None:
    """A new process answers the package from disk, so none of its points were located here;
    in the Python mapping the file's first edit still maps only the edited function: the
    memo's findings say where each other point's range is (`GoSource.seed`). The compiled
    mapping locates every point of the edited file again (faster than reusing them). Either
    way the result is what a process without any memo maps."""
    if not compiled:
        monkeypatch.setattr(native, "compiled", None)
    elif native.compiled is None:
        pytest.skip("the compiled mapping is not built here")
    root = gomod({"p/a.go": SEEDED})
    await run(root)  # the memo holds the package now
    path = root / "p" / "a.go"
    toolchain = find_toolchain()
    engine = Engine(toolchain, module_context(toolchain, str(root)), AnalysisSettings())
    computed: list[Span] = []
    locate, locate_many = GoSource._locate, GoSource._locate_many

    def counted(self: GoSource, span: Span, *args: Any) -> tuple[Span, str | None]:
        computed.append(span)
        return locate(self, span, *args)

    def counted_many(self: GoSource, compiled: Any, keys: list[Any]) -> list[Any]:
        computed.extend(span for span, _, _ in keys)  # the compiled mapping's batch
        return locate_many(self, compiled, keys)

    try:
        assert (await engine.analyze([PKG]))[PKG].from_memo
        engine.source(str(path), {})  # the open file's text, read for its diagnostics
        edited = "// a new first line\n" + SEEDED.replace("return &x", "y := x; return &y")
        path.write_text(edited)
        monkeypatch.setattr(GoSource, "_locate", counted)
        monkeypatch.setattr(GoSource, "_locate_many", counted_many)
        after = (await engine.analyze([PKG]))[PKG]
    finally:
        engine.close()
    assert not after.from_memo and after.findings
    c_line = edited.splitlines().index("func C(x *int) **int { y := x; return &y }")
    if compiled:  # all in the compiled call: no point located one by one in Python
        assert not computed, computed
    else:
        assert computed and all(span.start_line == c_line for span in computed), computed
    monkeypatch.setattr(GoSource, "_locate", locate)
    monkeypatch.setattr(GoSource, "_locate_many", locate_many)
    monkeypatch.setenv("ESCAPE_LSP_CACHE", "off")
    assert (await run(root)).findings == after.findings
