"""End-to-end LSP features over stdio, real server, real go."""

from __future__ import annotations

import asyncio

from lsprotocol import types as lsp

from tests.conftest import WriteModule
from tests.lsp_harness import (
    NVIM,
    VSCODE,
    codes,
    has,
    lsp_session,
    open_doc,
    text_at,
    uri,
    wait_diagnostics,
)

UNICODE = """
package u

type T struct{ s string }

var Sink *T

func F() {
\ts := "中文🙂"; Sink = &T{s: s} // 注释
}
"""


async def _range_text(gomod: WriteModule, client: str, encoding: str) -> None:
    root = gomod({"u/u.go": UNICODE})
    path = root / "u" / "u.go"
    async with lsp_session(root, client) as lc:
        open_doc(lc, path)
        diags = await wait_diagnostics(lc, path, has("&T{...} escapes to heap"))
        (d,) = [d for d in diags if d.message == "&T{...} escapes to heap"]
        assert text_at(path.read_text(), d.range, encoding) == "&T{s: s}"
        assert d.source == "escape-lsp" and d.code == "escapes-to-heap"
        assert d.severity == lsp.DiagnosticSeverity.Warning
        assert d.related_information and d.related_information[0].location.uri == uri(path)
        logs = [m.message for m in lc.log_messages]
        assert any(m.startswith("escape-lsp: escape-lsp 0.1.0 ready with go1.") for m in logs), logs


async def test_utf16_ranges_with_chinese_and_emoji(gomod: WriteModule) -> None:
    await _range_text(gomod, VSCODE, "utf-16")


async def test_utf8_ranges_with_chinese_and_emoji(gomod: WriteModule) -> None:
    await _range_text(gomod, NVIM, "utf-8")


SAMPLE = """
package p

type T struct{ a, b int }

var global *T

func NewT() *T {
\tt := T{a: 1}
\treturn &t
}

func Keep(p *T) { global = p }

func Sum(s []int) int {
\ttotal := 0
\tfor _, v := range s {
\t\ttotal += v
\t}
\treturn total
}
"""


async def test_hover_inlay_hints_and_code_lens(gomod: WriteModule) -> None:
    root = gomod({"p/p.go": SAMPLE})
    path = root / "p" / "p.go"
    async with lsp_session(root, VSCODE) as lc:
        open_doc(lc, path)
        await wait_diagnostics(lc, path, has("moved to heap: t"))
        hover = await lc.text_document_hover_async(
            lsp.HoverParams(lsp.TextDocumentIdentifier(uri(path)), lsp.Position(7, 1))
        )
        assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
        md = hover.contents.value
        assert md.startswith("**moved to heap: t** in `NewT`")
        assert "1. [`&t`](" in md and "#L9,9) — its address is taken" in md
        assert "2. [`return &t`](" in md and "it is returned" in md
        assert (
            "**Likely fix:** Its address is returned: return the value instead of a pointer." in md
        )
        nothing = await lc.text_document_hover_async(
            lsp.HoverParams(lsp.TextDocumentIdentifier(uri(path)), lsp.Position(13, 2))
        )
        assert nothing is None

        hints = await lc.text_document_inlay_hint_async(
            lsp.InlayHintParams(
                lsp.TextDocumentIdentifier(uri(path)),
                lsp.Range(lsp.Position(0, 0), lsp.Position(30, 0)),
            )
        )
        assert [
            (h.position.line, h.position.character, h.label, h.tooltip) for h in hints or []
        ] == [(7, 2, "heap", "moved to heap: t")]

        lenses = await lc.text_document_code_lens_async(
            lsp.CodeLensParams(lsp.TextDocumentIdentifier(uri(path)))
        )
        titles = {
            (lens.range.start.line, lens.command.title) for lens in lenses or [] if lens.command
        }
        assert titles == {
            (6, "1 heap allocation · inlinable (cost 10)"),
            (11, "1 leaking param · inlinable (cost 3)"),
        }


async def test_configuration_kinds_severity_and_commands(gomod: WriteModule) -> None:
    root = gomod({"p/p.go": SAMPLE})
    path = root / "p" / "p.go"
    settings = {
        "kinds": ["heap", "leaks", "inlining", "does-not-escape"],
        "severity": {"heap": "error", "does-not-escape": "hint"},
        "inlayHints": {"heap": True, "inlining": True},
    }
    async with lsp_session(root, VSCODE, settings=settings) as lc:
        open_doc(lc, path)
        diags = await wait_diagnostics(lc, path, has("s does not escape"))
        by_msg = {d.message: d for d in diags}
        assert by_msg["moved to heap: t"].severity == lsp.DiagnosticSeverity.Error
        assert by_msg["s does not escape"].severity == lsp.DiagnosticSeverity.Hint
        assert any(m.startswith("can inline Sum with cost") for m in by_msg)
        lenses = await lc.text_document_code_lens_async(
            lsp.CodeLensParams(lsp.TextDocumentIdentifier(uri(path)))
        )
        assert {lens.command.title for lens in lenses or [] if lens.command} == {
            "1 heap allocation · inlinable (cost 10)",
            "1 leaking param · inlinable (cost 3)",
        }
        hints = await lc.text_document_inlay_hint_async(
            lsp.InlayHintParams(
                lsp.TextDocumentIdentifier(uri(path)),
                lsp.Range(lsp.Position(0, 0), lsp.Position(30, 0)),
            )
        )
        assert "inlinable (cost 10)" in {h.label for h in hints or []}

        await lc.workspace_execute_command_async(
            lsp.ExecuteCommandParams("escapeLsp.hideKind", ["does-not-escape", "inlining"])
        )
        diags = await wait_diagnostics(lc, path, lambda ds: "does-not-escape" not in codes(ds))
        assert codes(diags) == ["leaking-param", "moved-to-heap"]
        await lc.workspace_execute_command_async(
            lsp.ExecuteCommandParams("escapeLsp.showKind", ["does-not-escape"])
        )
        await wait_diagnostics(lc, path, lambda ds: "does-not-escape" in codes(ds))


async def test_pull_diagnostics_when_the_client_can_refresh(gomod: WriteModule) -> None:
    root = gomod({"p/p.go": SAMPLE})
    path = root / "p" / "p.go"

    def pull(caps: lsp.ClientCapabilities) -> None:
        assert caps.text_document is not None and caps.workspace is not None
        caps.text_document.diagnostic = lsp.DiagnosticClientCapabilities()
        caps.workspace.diagnostics = lsp.DiagnosticWorkspaceClientCapabilities(refresh_support=True)

    async with lsp_session(root, VSCODE, tweak=pull) as lc:
        open_doc(lc, path)
        async with asyncio.timeout(60):
            while True:
                seen = lc.diagnostic_refresh_count
                report = await lc.text_document_diagnostic_async(
                    lsp.DocumentDiagnosticParams(lsp.TextDocumentIdentifier(uri(path)))
                )
                assert isinstance(report, lsp.RelatedFullDocumentDiagnosticReport)
                if any(d.message == "moved to heap: t" for d in report.items):
                    break
                while lc.diagnostic_refresh_count == seen:  # the server's refresh request
                    await asyncio.sleep(0.02)
        assert uri(path) not in lc.diagnostics  # pulled, never pushed as well


async def test_excluded_paths_are_hidden(gomod: WriteModule) -> None:
    root = gomod({"p/p.go": SAMPLE, "gen/gen.go": SAMPLE.replace("package p", "package gen")})
    async with lsp_session(root, VSCODE, settings={"exclude": ["gen"]}) as lc:
        open_doc(lc, root / "gen" / "gen.go")
        open_doc(lc, root / "p" / "p.go")
        await wait_diagnostics(lc, root / "p" / "p.go", has("moved to heap: t"))
        # Both packages were built in one batch and published together: gen.go's list is empty.
        assert uri(root / "gen" / "gen.go") in lc.diagnostics
        assert not lc.diagnostics[uri(root / "gen" / "gen.go")]
