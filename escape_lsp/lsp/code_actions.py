"""Code actions: compiler-verified quick fixes attached to the diagnostics they remove.

Edits are computed on one snapshot's text and carry that snapshot's document versions. If the
user typed while fixes were being proven, a client that understands versioned edits gets them
stamped with the old version (and rejects them); any other client gets no edit at all, never an
edit computed for one text and applied to another.
"""

from __future__ import annotations

from lsprotocol import types as lsp

from escape_lsp.analysis.fixes.model import Fix
from escape_lsp.analysis.session import Session
from escape_lsp.analysis.snapshot import Snapshot
from escape_lsp.findings.positions import Encoding
from escape_lsp.lsp.convert import path_to_uri, to_range, to_span
from escape_lsp.lsp.diagnostics import Lines


def _text_edits(fix: Fix, path: str, lines: Lines, encoding: Encoding) -> list[lsp.TextEdit]:
    index = lines(path)
    return [
        lsp.TextEdit(to_range(index, e.span, encoding), e.text) for e in fix.edits if e.path == path
    ]


def code_action(
    fix: Fix,
    diagnostics: list[lsp.Diagnostic],
    snapshot: Snapshot,
    lines: Lines,
    encoding: Encoding,
    versioned: bool,
) -> lsp.CodeAction:
    files = sorted(fix.files)
    if versioned:
        edit = lsp.WorkspaceEdit(
            document_changes=[
                lsp.TextDocumentEdit(
                    lsp.OptionalVersionedTextDocumentIdentifier(
                        path_to_uri(p), snapshot.version(p)
                    ),
                    list(_text_edits(fix, p, lines, encoding)),
                )
                for p in files
            ]
        )
    else:
        edit = lsp.WorkspaceEdit(
            changes={path_to_uri(p): _text_edits(fix, p, lines, encoding) for p in files}
        )
    matching = [d for d in diagnostics if d.message == fix.finding.message]
    return lsp.CodeAction(
        title=fix.title,
        kind=lsp.CodeActionKind.QuickFix,
        diagnostics=matching or None,
        is_preferred=fix.preferred or None,
        edit=edit,
    )


async def code_actions(
    session: Session,
    snapshot: Snapshot,
    path: str,
    params: lsp.CodeActionParams,
    lines: Lines,
    encoding: Encoding,
    versioned: bool,
) -> list[lsp.CodeAction]:
    index = lines(path)
    if index is None:
        return []
    fixes = await session.fixes(snapshot, path, to_span(index, params.range, encoding))
    now = session.snapshot
    stale = any(now.version(p) != snapshot.version(p) for fix in fixes for p in fix.files)
    if stale and not versioned:
        return []
    diagnostics = list(params.context.diagnostics)
    return [code_action(f, diagnostics, snapshot, lines, encoding, versioned) for f in fixes]
