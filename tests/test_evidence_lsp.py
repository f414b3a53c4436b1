"""The benchmark lens over stdio: measure, cancel, and what the findings gain (real server, real go)."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.conftest import WriteModule
from tests.lsp_harness import VSCODE, lsp_session, open_doc, uri, wait_diagnostics
from tests.test_evidence import (
    BIG_LINE,
    EXACT,
    MODULE,
    UNUSED_LINE,
    _processes_running,
    go_benchmem,
    tree_bytes,
    write_profile,
)

MEASURE = "escapeLsp.measureBenchmark"


async def lenses(lc: LanguageClient, path: Path) -> dict[str, lsp.Command]:
    """Benchmark lenses of `path` by benchmark name."""
    found = await lc.text_document_code_lens_async(
        lsp.CodeLensParams(lsp.TextDocumentIdentifier(uri(path)))
    )
    out = {}
    for lens in found or []:
        if lens.command and lens.command.command == MEASURE:
            out[lens.command.arguments[1]] = lens.command  # type: ignore[index]
    return out


async def hover_text(lc: LanguageClient, path: Path, line: int, character: int) -> str:
    """The hover's markdown at a 1-based line ("" when there is none)."""
    hover = await lc.text_document_hover_async(
        lsp.HoverParams(lsp.TextDocumentIdentifier(uri(path)), lsp.Position(line - 1, character))
    )
    if hover is None:
        return ""
    assert isinstance(hover.contents, lsp.MarkupContent)
    return hover.contents.value


async def hint_labels(lc: LanguageClient, path: Path) -> dict[int, str]:
    """Inlay hint labels by 1-based line."""
    hints = await lc.text_document_inlay_hint_async(
        lsp.InlayHintParams(
            lsp.TextDocumentIdentifier(uri(path)),
            lsp.Range(lsp.Position(0, 0), lsp.Position(999, 0)),
        )
    )
    return {h.position.line + 1: str(h.label) for h in hints or []}


def severity_of(
    diags: list[lsp.Diagnostic] | tuple[lsp.Diagnostic, ...], line: int
) -> lsp.DiagnosticSeverity | None:
    hits = [
        d.severity for d in diags if d.range.start.line == line - 1 and d.code != "escape-cause"
    ]
    return hits[0] if hits else None


async def test_lens_measures_like_go_test_and_findings_gain_weight(gomod: WriteModule) -> None:
    root = gomod({k: v for k, v in MODULE.items() if k != "go.mod"}, module="example.com/ev")
    code, test = root / "p" / "p.go", root / "p" / "p_test.go"
    before = tree_bytes(root)
    settings = {"benchFlags": EXACT, "severityByWeight": True}
    async with lsp_session(root, client=VSCODE, settings=settings) as lc:
        open_doc(lc, code)
        open_doc(lc, test)
        diags = await wait_diagnostics(lc, code, lambda d: severity_of(d, UNUSED_LINE) is not None)
        assert severity_of(diags, UNUSED_LINE) == lsp.DiagnosticSeverity.Warning  # not measured yet

        idle = await lenses(lc, test)
        assert set(idle) == {"BenchmarkBig", "BenchmarkSmall", "BenchmarkSlow"}
        assert idle["BenchmarkBig"].title == "measure allocations"
        result = await lc.workspace_execute_command_async(
            lsp.ExecuteCommandParams(MEASURE, idle["BenchmarkBig"].arguments)
        )
        plain = go_benchmem(root, "BenchmarkBig")
        assert result["allocsPerOp"] == plain["allocs/op"] == 1
        # B/op counts the whole process's allocation over N (background ones too): >= 1 KiB
        assert result["bytesPerOp"] >= 1024 and plain["B/op"] >= 1024
        title = (await lenses(lc, test))["BenchmarkBig"].title
        assert re.fullmatch(r"1 allocs/op · \d+ B/op · [\d.]+ ns/op", title), title
        assert title == result["title"]

        (token,) = [t for t, values in lc.progress_reports.items() if "measure" in str(t)]
        begin, *_, end = lc.progress_reports[token]
        assert isinstance(begin, lsp.WorkDoneProgressBegin) and begin.cancellable
        assert isinstance(end, lsp.WorkDoneProgressEnd) and end.message == result["title"]

        # hot is a warning, measured-cold a hint (severityByWeight)
        diags = await wait_diagnostics(
            lc, code, lambda d: severity_of(d, UNUSED_LINE) == lsp.DiagnosticSeverity.Hint
        )
        assert severity_of(diags, BIG_LINE) == lsp.DiagnosticSeverity.Warning

        assert "of allocated bytes in BenchmarkBig (" in await hover_text(lc, code, BIG_LINE, 12)
        labels = await hint_labels(lc, code)
        assert re.fullmatch(r"heap [\d.]+%", labels[BIG_LINE]) and labels[UNUSED_LINE] == "heap"
    assert tree_bytes(root) == before


async def test_cancelling_the_progress_kills_the_benchmark(gomod: WriteModule) -> None:
    root = gomod({k: v for k, v in MODULE.items() if k != "go.mod"}, module="example.com/ev")
    test = root / "p" / "p_test.go"
    async with lsp_session(root, client=VSCODE, settings={"benchFlags": ["-benchtime=120s"]}) as lc:
        open_doc(lc, test)
        await wait_diagnostics(lc, test, lambda d: True)  # analysed: its package is known
        command = (await lenses(lc, test))["BenchmarkSlow"]
        running = asyncio.ensure_future(
            lc.workspace_execute_command_async(lsp.ExecuteCommandParams(MEASURE, command.arguments))
        )
        async with asyncio.timeout(120):
            while not _processes_running("test.bench=^BenchmarkSlow$"):
                await asyncio.sleep(0.05)
        assert (await lenses(lc, test))["BenchmarkSlow"].title == "measuring allocations…"
        (token,) = [t for t in lc.progress_reports if "measure" in str(t)]
        lc.window_work_done_progress_cancel(lsp.WorkDoneProgressCancelParams(token))
        assert await asyncio.wait_for(running, 30) == {"cancelled": True}
        async with asyncio.timeout(10):
            while _processes_running("BenchmarkSlow"):
                await asyncio.sleep(0.05)
        assert (await lenses(lc, test))["BenchmarkSlow"].title == "measure allocations"
        end = lc.progress_reports[token][-1]
        assert isinstance(end, lsp.WorkDoneProgressEnd) and end.message == "cancelled"


DEMO = Path(__file__).resolve().parent.parent / "escape_lsp" / "demo"


async def test_profile_setting_weights_and_the_cause_diagnostic_on_the_demo(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    shutil.copytree(DEMO, root)
    profile = write_profile(root, "./render", "BenchmarkFormat", tmp_path)
    code = root / "render" / "render.go"
    async with lsp_session(
        root, client=VSCODE, settings={"profile": str(profile), "severityByWeight": 0.05}
    ) as lc:
        open_doc(lc, code)
        cause_message = "4 allocations escape through this assignment: lastLine = buf"
        diags = await wait_diagnostics(  # analysed, and the profile applied: appends are cold
            lc,
            code,
            lambda d: (
                any(x.message == cause_message for x in d)
                and any(x.severity == lsp.DiagnosticSeverity.Hint for x in d)
            ),
        )
        (cause,) = [d for d in diags if d.code == "escape-cause" and d.message == cause_message]
        assert (cause.range.start.line, cause.range.start.character) == (37, 1)
        assert [r.location.range.start.line + 1 for r in cause.related_information or []] == [
            33,
            34,
            35,
            36,
        ]
        appends = [d for d in diags if d.message == "append escapes to heap"]
        assert len(appends) == 4
        for d in appends:
            first = (d.related_information or [])[0]
            assert first.message.startswith("root cause: lastLine = buf")
            assert first.location.range.start.line == 37
            assert d.severity == lsp.DiagnosticSeverity.Hint  # measured cold
        put = next(d for d in diags if d.message == "buf escapes to heap")
        assert put.severity == lsp.DiagnosticSeverity.Warning  # 7.5% of the bytes (100 iterations)

        hover = await hover_text(lc, code, 40, 14)
        assert re.search(r"measured: [\d.]+% of allocated bytes in mem\.pprof \(", hover)
        sink = await hover_text(lc, code, 38, 2)
        assert "4 allocations escape through this assignment" in sink
        labels = await hint_labels(lc, code)
        assert re.fullmatch(r"heap [\d.]+%", labels[40]) and labels[33] == "heap"
