"""Code actions: compiler-verified quick fixes attached to the diagnostics they remove."""

from __future__ import annotations

from collections.abc import Callable

from lsprotocol import types as lsp

from escape_lsp.analysis.fixes.model import Fix
from escape_lsp.findings.positions import Encoding, LineIndex
from escape_lsp.lsp.convert import path_to_uri, to_range


def _text_edits(
    fix: Fix, path: str, lines: LineIndex | None, encoding: Encoding
) -> list[lsp.TextEdit]:
    return [
        lsp.TextEdit(to_range(lines, e.span, encoding), e.text) for e in fix.edits if e.path == path
    ]


def code_action(
    fix: Fix,
    diagnostics: list[lsp.Diagnostic],
    lines: Callable[[str], LineIndex | None],
    versions: Callable[[str], int | None],
    encoding: Encoding,
    document_changes: bool,
) -> lsp.CodeAction:
    files = sorted(fix.files)
    if document_changes:
        edit = lsp.WorkspaceEdit(
            document_changes=[
                lsp.TextDocumentEdit(
                    lsp.OptionalVersionedTextDocumentIdentifier(path_to_uri(p), versions(p)),
                    list(_text_edits(fix, p, lines(p), encoding)),
                )
                for p in files
            ]
        )
    else:
        edit = lsp.WorkspaceEdit(
            changes={path_to_uri(p): _text_edits(fix, p, lines(p), encoding) for p in files}
        )
    matching = [d for d in diagnostics if d.message == fix.finding.message]
    return lsp.CodeAction(
        title=fix.title,
        kind=lsp.CodeActionKind.QuickFix,
        diagnostics=matching or None,
        is_preferred=fix.preferred or None,
        edit=edit,
    )
