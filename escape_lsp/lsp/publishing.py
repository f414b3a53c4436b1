"""Results changed for some files: push diagnostics, or ask a pull client to re-pull."""

from __future__ import annotations

from escape_lsp.analysis.snapshot import Snapshot
from escape_lsp.analysis.views import file_view
from escape_lsp.lsp import diagnostics
from escape_lsp.lsp.convert import path_to_uri
from escape_lsp.lsp.state import EscapeServer
from escape_lsp.lsp.wire import Json

lines_of = diagnostics.lines_of


def diagnostics_for(ls: EscapeServer, snapshot: Snapshot, path: str) -> list[Json]:
    view = file_view(snapshot, path)
    return diagnostics.diagnostics_for(view, lines_of(snapshot), ls.encoding, ls.settings)


async def publish(ls: EscapeServer, paths: set[str]) -> None:
    snapshot = ls.snapshot()
    if snapshot is None:
        return
    workspace = ls.settings.scope == "workspace"
    shown = [p for p in sorted(paths) if p in snapshot.buffers or workspace]
    ls.caught_up_with(set(shown))
    if ls.pull:
        if shown:
            ls.workspace_diagnostic_refresh(None)
    else:
        for path in shown:
            items = diagnostics_for(ls, snapshot, path)
            ls.publish_json(path_to_uri(path), items, snapshot.version(path))
    ws = ls.caps().workspace
    if shown and ws and ws.inlay_hint and ws.inlay_hint.refresh_support:
        ls.workspace_inlay_hint_refresh(None)
    if shown and ws and ws.code_lens and ws.code_lens.refresh_support:
        ls.workspace_code_lens_refresh(None)


def clear(ls: EscapeServer, uri: str) -> None:
    if not ls.pull:
        ls.publish_json(uri, [], None)
