"""workspace/executeCommand: rebuild, show/hide kinds, analyse the workspace, status."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams

from escape_lsp.analysis.status import Status
from escape_lsp.findings.model import parse_kinds
from escape_lsp.lsp import lifecycle, publishing
from escape_lsp.lsp.state import EscapeServer

REBUILD = "escapeLsp.rebuild"
SHOW_KIND = "escapeLsp.showKind"
HIDE_KIND = "escapeLsp.hideKind"
ANALYZE_WORKSPACE = "escapeLsp.analyzeWorkspace"
STATUS = "escapeLsp.status"


async def rebuild(ls: EscapeServer) -> None:
    await lifecycle.retry_start(ls)
    if ls.session is not None:
        await ls.session.rebuild_all()


async def toggle_kinds(ls: EscapeServer, names: Any, show: bool) -> dict[str, list[str]]:
    """Show or hide kinds at once: findings of every kind are kept, so nothing is rebuilt —
    except for opt-in kinds whose compiler reports need other flags."""
    try:
        kinds = parse_kinds([str(n) for n in names])
    except ValueError as exc:
        raise JsonRpcInvalidParams(str(exc)) from None
    current = ls.settings.kinds
    before = ls.settings.analysis()
    ls.settings = replace(
        ls.settings, kinds=frozenset(current | kinds if show else current - kinds)
    )
    if ls.settings.analysis() != before and ls.session is not None:
        ls.configure_session()
        await ls.session.rebuild_all()
    snapshot = ls.snapshot()
    if snapshot is not None:
        await publishing.publish(ls, set(snapshot.buffers))
    return {"kinds": sorted(k.value for k in ls.settings.kinds)}


def status_json(status: Status) -> dict[str, Any]:
    """The wire shape status bars read (VS Code extension, Neovim statusline)."""
    return {
        "state": status.state,
        "heapFindings": status.heap_findings,
        "blockedFiles": status.blocked_files,
        "buildsStarted": status.builds_started,
    }


def status(ls: EscapeServer) -> dict[str, Any]:
    if ls.session is None:
        return {"state": "unavailable", "reason": ls.toolchain_error or "starting"}
    return status_json(ls.session.status(ls.settings.kinds))


async def analyze_workspace(ls: EscapeServer) -> dict[str, int]:
    if ls.session is None:
        return {"packages": 0, "findings": 0}
    token = "escape-lsp/analyze-workspace"
    window = ls.caps().window
    progress = bool(window and window.work_done_progress)
    if progress:
        await ls.work_done_progress.create_async(token)
        ls.work_done_progress.begin(
            token, lsp.WorkDoneProgressBegin("Escape analysis", message="building")
        )
    try:
        results = await ls.session.analyze_workspace([f"{r}/go.mod" for r in ls.roots()])
    finally:
        if progress:
            ls.work_done_progress.end(token, lsp.WorkDoneProgressEnd(message="done"))
    return {"packages": len(results), "findings": sum(len(r.findings) for r in results.values())}
