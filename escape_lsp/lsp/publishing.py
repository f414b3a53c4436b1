"""Results changed for some files: push diagnostics, or ask a pull client to re-pull."""

from __future__ import annotations

from lsprotocol import types as lsp

from escape_lsp.analysis.snapshot import Snapshot
from escape_lsp.analysis.views import file_view
from escape_lsp.findings.positions import LineIndex
from escape_lsp.lsp import diagnostics
from escape_lsp.lsp.convert import path_to_uri
from escape_lsp.lsp.state import EscapeServer


def lines_of(snapshot: Snapshot) -> diagnostics.Lines:
    """Line indexes of the snapshot's texts, each file read and parsed once per call."""
    cache: dict[str, LineIndex | None] = {}

    def lookup(path: str) -> LineIndex | None:
        if path not in cache:
            src = snapshot.source(path)
            cache[path] = src.lines if src else None
        return cache[path]

    return lookup


def diagnostics_for(ls: EscapeServer, snapshot: Snapshot, path: str) -> list[lsp.Diagnostic]:
    view = file_view(snapshot, path)
    return diagnostics.diagnostics_for(view, lines_of(snapshot), ls.encoding, ls.settings)


async def publish(ls: EscapeServer, paths: set[str]) -> None:
    snapshot = ls.snapshot()
    if snapshot is None:
        return
    workspace = ls.settings.scope == "workspace"
    shown = [p for p in sorted(paths) if p in snapshot.buffers or workspace]
    if ls.pull:
        if shown:
            ls.workspace_diagnostic_refresh(None)
    else:
        for path in shown:
            ls.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(
                    path_to_uri(path),
                    diagnostics_for(ls, snapshot, path),
                    snapshot.version(path),
                )
            )
    ws = ls.caps().workspace
    if shown and ws and ws.inlay_hint and ws.inlay_hint.refresh_support:
        ls.workspace_inlay_hint_refresh(None)
    if shown and ws and ws.code_lens and ws.code_lens.refresh_support:
        ls.workspace_code_lens_refresh(None)


def clear(ls: EscapeServer, uri: str) -> None:
    if not ls.pull:
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri, []))
