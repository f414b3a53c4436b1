"""Module contexts: go is asked once per directory that decides one (a go.mod or go.work in
it); its subdirectories inherit the nearest known answer, and lookups the server started
before the session existed are adopted."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from escape_lsp.analysis import workspace as workspace_module
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.analysis.workspace import Workspace
from escape_lsp.gotool.toolchain import (
    ModuleContext,
    Toolchain,
    directory_context,
    find_toolchain,
)
from tests.conftest import WriteModule


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The directories go is asked about, in order."""
    dirs: list[str] = []
    real = workspace_module.module_context_async

    async def counted(toolchain: Toolchain, directory: str, *args: object) -> ModuleContext:
        dirs.append(directory)
        return await real(toolchain, directory, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(workspace_module, "module_context_async", counted)
    return dirs


async def test_subdirectories_inherit_and_nested_modules_are_asked(
    gomod: WriteModule, asked: list[str]
) -> None:
    files = {"a/a.go": "package a\n", "a/deep/d.go": "package deep\n", "b/b.go": "package b\n"}
    root = gomod(files)
    nested = gomod({"n.go": "package n\n"}, module="example.com/n", sub="nested")
    ws = Workspace(find_toolchain(), AnalysisSettings())
    try:
        top = await ws.engine_for(str(root / "a" / "a.go"))
        deep = await ws.engine_for(str(root / "a" / "deep" / "d.go"))
        side = await ws.engine_for(str(root / "b" / "b.go"))
        inner = await ws.engine_for(str(nested / "n.go"))
        assert top is not None and deep is top and side is top
        assert inner is not None and inner.context.root == str(nested)
        assert asked == [str(root / "a"), str(nested)]
    finally:
        ws.close()


async def test_lookups_started_early_are_adopted_unless_the_environment_changed(
    gomod: WriteModule, asked: list[str]
) -> None:
    root = gomod({"p/p.go": "package p\n"})
    toolchain = find_toolchain()
    ws = Workspace(toolchain, AnalysisSettings())
    try:
        early = asyncio.ensure_future(directory_context(toolchain.go, str(root)))
        ws.expect_contexts({str(root): early}, {})
        engine = await ws.engine_for(str(root / "p" / "p.go"))
        assert engine is not None and engine.context.root == str(root)
        assert asked == []

        other = Workspace(toolchain, AnalysisSettings())
        late = asyncio.ensure_future(directory_context(toolchain.go, str(root)))
        other.expect_contexts({str(root): late}, {"GOFLAGS": "-tags=x"})
        await asyncio.sleep(0)  # the cancellation lands at the lookup's next step
        assert late.cancelled()
        assert await other.engine_for(str(root / "p" / "p.go")) is not None
        assert asked == [str(root / "p")]
        other.close()
    finally:
        ws.close()


async def test_a_failed_early_lookup_leaves_the_directory_to_go(
    tmp_path: Path, asked: list[str]
) -> None:
    """Not a module: the file's own directory is asked, so its problem names it."""
    (tmp_path / "x").mkdir()
    toolchain = find_toolchain()
    ws = Workspace(toolchain, AnalysisSettings())
    try:
        early = asyncio.ensure_future(directory_context(toolchain.go, str(tmp_path)))
        ws.expect_contexts({str(tmp_path): early}, {})
        assert await ws.engine_for(str(tmp_path / "x" / "x.go")) is None
        assert asked == [str(tmp_path / "x")]
        assert str(tmp_path / "x") in ws.snapshot.problems
    finally:
        ws.close()


async def test_a_workspace_opened_through_a_symlink_keeps_its_findings(
    gomod: WriteModule, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The editor names the files under the link; go runs in the directory as named (PWD
    too), so its paths match the editor's documents. With the link resolved, the findings
    were about other paths and the document's diagnostics stayed empty."""
    from tests import lsp_harness

    root = gomod({"p/a.go": "package p\n\nfunc A() *int { x := 1; return &x }\n"}, sub="real")
    link = tmp_path / "link"
    link.symlink_to(root)
    monkeypatch.setattr(lsp_harness, "uri", lambda path: path.absolute().as_uri())
    doc = link / "p" / "a.go"
    async with lsp_harness.lsp_session(link) as lc:
        lsp_harness.open_doc(lc, doc)
        await lsp_harness.wait_diagnostics(lc, doc, lsp_harness.has("moved to heap: x"))
