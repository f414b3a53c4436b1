"""LSP wiring: each handler takes the snapshot once, calls its feature module, converts.

Requests about files wait until the server has caught up with a first publish
(`EscapeServer.caught_up`), which showed diagnostics before this module was imported.

Feature handlers are wrapped by `isolated`, so one failing feature answers empty and logs once
while the others go on answering.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types as lsp

from escape_lsp.analysis.views import file_view
from escape_lsp.lsp import (
    bench_lens,
    code_actions,
    code_lens,
    commands,
    hover,
    inlay_hints,
    lifecycle,
    pool_lens,
    profile_setting,
    publishing,
    watching,
)
from escape_lsp.lsp.convert import to_span, uri_to_path
from escape_lsp.lsp.first_publish import Handover
from escape_lsp.lsp.isolation import isolated
from escape_lsp.lsp.state import EscapeServer

server = EscapeServer()
measurements = bench_lens.Measurements()


@server.feature(lsp.INITIALIZE)
def on_initialize(ls: EscapeServer, params: lsp.InitializeParams) -> None:
    ls.pull = lifecycle.client_pulls(params.capabilities)
    # Before any other message is handled: messages a first publish read come in a burst.
    lifecycle.attach_client_log(ls)
    ls.apply_settings(params.initialization_options or {})


@server.feature(lsp.INITIALIZED)
async def on_initialized(ls: EscapeServer, params: lsp.InitializedParams) -> None:
    try:
        await lifecycle.start(ls)
    finally:
        ls.ready.set()
        if ls.session is None:  # go unusable: nothing to catch up with
            ls.caught_up_with(set(ls.behind))
    if ls.session is not None and ls.resumed:
        # The first publish read the disk before anything watched it: list and build again,
        # so a change made meanwhile is seen (go's cache and the memo answer the rest).
        await ls.session.rebuild_all()
    if ls.session is not None and ls.settings.scope == "workspace":
        await commands.analyze_workspace(ls)
    await profile_setting.sync_profile(ls, measurements)


@server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
async def on_watched(ls: EscapeServer, params: lsp.DidChangeWatchedFilesParams) -> None:
    paths = [p for c in params.changes if (p := uri_to_path(c.uri)) and watching.is_relevant(p)]
    if ls.session is not None and paths:
        await ls.session.disk_changed(paths)


@server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def on_configuration(ls: EscapeServer, params: lsp.DidChangeConfigurationParams) -> None:
    ws = ls.caps().workspace
    if ws and ws.configuration:
        await lifecycle.pull_configuration(ls)
    elif params.settings:
        ls.apply_settings(params.settings)
    await lifecycle.retry_start(ls)
    if ls.session is not None:
        await ls.session.rebuild_all()
        await publishing.publish(ls, set(ls.session.snapshot.buffers))
    await profile_setting.sync_profile(ls, measurements)


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
async def on_open(ls: EscapeServer, params: lsp.DidOpenTextDocumentParams) -> None:
    if (doc := await ls.doc_bytes(params.text_document.uri)) and ls.session is not None:
        await ls.session.open(*doc)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
async def on_change(ls: EscapeServer, params: lsp.DidChangeTextDocumentParams) -> None:
    if path := uri_to_path(params.text_document.uri):
        ls.caught_up_with({path})
    if (doc := await ls.doc_bytes(params.text_document.uri)) and ls.session is not None:
        await ls.session.edit(*doc)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
async def on_save(ls: EscapeServer, params: lsp.DidSaveTextDocumentParams) -> None:
    await ls.ready.wait()
    if ls.session is not None and (path := uri_to_path(params.text_document.uri)):
        await ls.session.save(path)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
async def on_close(ls: EscapeServer, params: lsp.DidCloseTextDocumentParams) -> None:
    await ls.ready.wait()
    publishing.clear(ls, params.text_document.uri)
    if path := uri_to_path(params.text_document.uri):
        ls.caught_up_with({path})
    if ls.session is not None and path:
        await ls.session.close(path)


@server.feature(
    lsp.TEXT_DOCUMENT_DIAGNOSTIC,
    lsp.DiagnosticOptions(
        identifier="escape-lsp", inter_file_dependencies=True, workspace_diagnostics=False
    ),
)
@isolated("diagnostics", lambda: {"kind": "full", "items": []})
async def on_pull_diagnostics(
    ls: EscapeServer, params: lsp.DocumentDiagnosticParams
) -> dict[str, Any]:
    """A full report, as the JSON the client reads (the diagnostics are built as JSON)."""
    await ls.caught_up()
    snapshot, path = ls.snapshot(), uri_to_path(params.text_document.uri)
    if not (ls.pull and snapshot and path):  # push clients get everything pushed
        return {"kind": "full", "items": []}
    return {"kind": "full", "items": publishing.diagnostics_for(ls, snapshot, path)}


@server.feature(lsp.TEXT_DOCUMENT_INLAY_HINT, lsp.InlayHintOptions(resolve_provider=False))
@isolated("inlay hints", list)
async def on_inlay_hint(ls: EscapeServer, params: lsp.InlayHintParams) -> list[lsp.InlayHint]:
    await ls.caught_up()
    snapshot, path = ls.snapshot(), uri_to_path(params.text_document.uri)
    view = file_view(snapshot, path) if snapshot and path else None
    if view is None or view.source is None:
        return []
    window = to_span(view.source.lines, params.range, ls.encoding)
    return inlay_hints.inlay_hints(view, window, ls.encoding, ls.settings)


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
@isolated("hover", lambda: None)
async def on_hover(ls: EscapeServer, params: lsp.HoverParams) -> lsp.Hover | None:
    await ls.caught_up()
    snapshot, path = ls.snapshot(), uri_to_path(params.text_document.uri)
    view = file_view(snapshot, path) if snapshot and path else None
    if view is None or view.source is None:
        return None
    point = to_span(view.source.lines, lsp.Range(params.position, params.position), ls.encoding)
    return hover.hover(view, point.start_line, point.start_col, ls.encoding, ls.settings)


@server.feature(lsp.TEXT_DOCUMENT_CODE_LENS, lsp.CodeLensOptions(resolve_provider=False))
@isolated("code lens", list)
async def on_code_lens(ls: EscapeServer, params: lsp.CodeLensParams) -> list[lsp.CodeLens]:
    await ls.caught_up()
    snapshot, path = ls.snapshot(), uri_to_path(params.text_document.uri)
    view = file_view(snapshot, path) if snapshot and path else None
    if view is None or snapshot is None:
        return []
    lenses = code_lens.code_lenses(view, ls.encoding, ls.settings)
    lenses += bench_lens.bench_lenses(snapshot, view, ls.encoding, ls.settings, measurements)
    return lenses + pool_lens.code_lenses(ls, snapshot, path)


@server.feature(
    lsp.TEXT_DOCUMENT_CODE_ACTION,
    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]),
)
@isolated("code actions", list)
async def on_code_action(ls: EscapeServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    await ls.caught_up()
    snapshot, path = ls.snapshot(), uri_to_path(params.text_document.uri)
    if ls.session is None or snapshot is None or path is None:
        return []
    ws = ls.caps().workspace
    versioned = bool(ws and ws.workspace_edit and ws.workspace_edit.document_changes)
    lines = publishing.lines_of(snapshot)
    return await code_actions.code_actions(
        ls.session, snapshot, path, params, lines, ls.encoding, versioned
    )


@server.command(commands.REBUILD)
async def cmd_rebuild(ls: EscapeServer, *args: Any) -> None:
    await commands.rebuild(ls)


@server.command(commands.SHOW_KIND)
async def cmd_show_kind(ls: EscapeServer, *names: Any) -> dict[str, list[str]]:
    return await commands.toggle_kinds(ls, names, show=True)


@server.command(commands.HIDE_KIND)
async def cmd_hide_kind(ls: EscapeServer, *names: Any) -> dict[str, list[str]]:
    return await commands.toggle_kinds(ls, names, show=False)


@server.command(commands.ANALYZE_WORKSPACE)
async def cmd_analyze_workspace(ls: EscapeServer, *args: Any) -> dict[str, int]:
    return await commands.analyze_workspace(ls)


@server.command(commands.STATUS)
async def cmd_status(ls: EscapeServer, *args: Any) -> dict[str, Any]:
    """For status bars: analysing/idle, heap findings in open files, blocked packages."""
    await ls.caught_up()
    return commands.status(ls)


@server.command(pool_lens.MEASURE)
@isolated("measure pools", lambda: {"pools": [], "error": "failed; see the server log"})
async def cmd_measure_pools(ls: EscapeServer, *args: Any) -> dict[str, Any]:
    """Measure the hit rates of the pools of a file's package; lenses show them after."""
    return await pool_lens.measure_command(ls, *args)


@server.command(code_lens.SHOW_FINDINGS)
def cmd_show_findings(ls: EscapeServer, *args: Any) -> Any:
    """Clients with a references UI intercept this; others get the locations back."""
    return args[2] if len(args) > 2 else []


@server.command(bench_lens.MEASURE)
async def cmd_measure_benchmark(ls: EscapeServer, *args: Any) -> dict[str, Any]:
    """The benchmark lens: run it with a memory profile; findings gain measured weight."""
    return await bench_lens.measure(ls, measurements, *args)


def serve(tcp: str | None = None, handover: Handover | None = None) -> int:
    return lifecycle.serve(server, tcp, handover)
