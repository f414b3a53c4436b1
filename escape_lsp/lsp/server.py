"""The pygls server: wiring of LSP messages to the analysis session. Handlers stay thin."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from escape_lsp import __version__
from escape_lsp.analysis.session import FileView, Session
from escape_lsp.findings.model import parse_kinds
from escape_lsp.findings.positions import Encoding, LineIndex
from escape_lsp.gotool import process, tempdir
from escape_lsp.gotool.toolchain import ToolchainError, find_toolchain_async
from escape_lsp.lsp import code_actions, code_lens, diagnostics, hover, inlay_hints, watching
from escape_lsp.lsp.config import SECTION, ServerSettings, parse_settings
from escape_lsp.lsp.convert import encoding_of, path_to_uri, to_span, uri_to_path
from escape_lsp.lsp.protocol_guard import GuardedProtocol
from escape_lsp.lsp.stdio import serve_stdio

log = logging.getLogger("escape_lsp")

CMD_REBUILD = "escapeLsp.rebuild"
CMD_SHOW_KIND = "escapeLsp.showKind"
CMD_HIDE_KIND = "escapeLsp.hideKind"
CMD_ANALYZE_WORKSPACE = "escapeLsp.analyzeWorkspace"
CMD_STATUS = "escapeLsp.status"


class EscapeServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("escape-lsp", __version__, protocol_cls=GuardedProtocol)
        self.settings = ServerSettings()
        self.session: Session | None = None
        self.pull = False
        self.watcher: watching.DiskWatcher | None = None
        self.toolchain_error: str | None = None
        #: Set once `initialized` has found go and made the session (or failed to).
        self.ready = asyncio.Event()

    # -- state helpers used by the handlers -----------------------------------------------------

    @property
    def encoding(self) -> Encoding:
        return encoding_of(self.workspace.position_encoding)

    def caps(self) -> lsp.ClientCapabilities:
        return self.client_capabilities

    def apply_settings(self, raw: Any) -> None:
        settings, problems = parse_settings(raw)
        self.settings = settings
        for problem in problems:
            self.window_log_message(
                lsp.LogMessageParams(lsp.MessageType.Warning, f"escape-lsp settings: {problem}")
            )
        if self.session is not None:
            self.session.configure(settings.analysis(), settings.debounce_ms / 1000, settings.scope)

    def lines(self, path: str) -> LineIndex | None:
        src = self.session.source(path) if self.session else None
        return src.lines if src else None

    def lines_cache(self) -> Callable[[str], LineIndex | None]:
        """`lines`, remembered for one request: a file is read and hashed once, not per range."""
        cache: dict[str, LineIndex | None] = {}

        def lookup(path: str) -> LineIndex | None:
            if path not in cache:
                cache[path] = self.lines(path)
            return cache[path]

        return lookup

    def version_of(self, path: str) -> int | None:
        buf = self.session.buffers.get(path) if self.session else None
        return buf.version if buf else None

    def view(self, uri: str) -> FileView | None:
        path = uri_to_path(uri)
        if self.session is None or path is None:
            return None
        return self.session.view(path)

    def diagnostics_for(self, path: str) -> list[lsp.Diagnostic]:
        if self.session is None:
            return []
        view = self.session.view(path)
        problem = self.session.problem_for(path)
        lines = self.lines_cache()
        return diagnostics.diagnostics_for(view, problem, lines, self.encoding, self.settings)

    async def publish(self, paths: set[str]) -> None:
        """Results changed for `paths`: push diagnostics, or ask a pull client to re-pull."""
        if self.session is None:
            return
        shown = [
            p
            for p in sorted(paths)
            if p in self.session.buffers or self.settings.scope == "workspace"
        ]
        if self.pull:
            if shown:
                self.workspace_diagnostic_refresh(None)
        else:
            for path in shown:
                buf = self.session.buffers.get(path)
                self.text_document_publish_diagnostics(
                    lsp.PublishDiagnosticsParams(
                        path_to_uri(path), self.diagnostics_for(path), buf.version if buf else None
                    )
                )
        ws = self.caps().workspace
        if shown and ws and ws.inlay_hint and ws.inlay_hint.refresh_support:
            self.workspace_inlay_hint_refresh(None)
        if shown and ws and ws.code_lens and ws.code_lens.refresh_support:
            self.workspace_code_lens_refresh(None)

    def clear(self, uri: str) -> None:
        if not self.pull:
            self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri, []))

    async def doc_bytes(self, uri: str) -> tuple[str, bytes, int] | None:
        await self.ready.wait()
        path = uri_to_path(uri)
        if path is None or self.session is None:
            return None
        doc = self.workspace.get_text_document(uri)
        return path, doc.source.encode("utf-8", "surrogateescape"), doc.version or 0


server = EscapeServer()

_LOG_TYPES = {
    logging.ERROR: lsp.MessageType.Error,
    logging.WARNING: lsp.MessageType.Warning,
    logging.INFO: lsp.MessageType.Info,
}


class ClientLogHandler(logging.Handler):
    """escape-lsp's log records also go to the client (window/logMessage), from any thread."""

    def __init__(self, ls: EscapeServer, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.INFO)
        self.ls, self.loop = ls, loop

    def emit(self, record: logging.LogRecord) -> None:
        level = max((lvl for lvl in _LOG_TYPES if lvl <= record.levelno), default=logging.INFO)
        params = lsp.LogMessageParams(_LOG_TYPES[level], f"escape-lsp: {self.format(record)}")
        self.loop.call_soon_threadsafe(self.ls.window_log_message, params)


def _client_pulls(caps: lsp.ClientCapabilities) -> bool:
    td, ws = caps.text_document, caps.workspace
    pulls = bool(td and td.diagnostic)
    refreshes = bool(ws and ws.diagnostics and ws.diagnostics.refresh_support)
    return pulls and refreshes


@server.feature(lsp.INITIALIZE)
def on_initialize(ls: EscapeServer, params: lsp.InitializeParams) -> None:
    ls.pull = _client_pulls(params.capabilities)
    ls.apply_settings(params.initialization_options or {})


@server.feature(lsp.INITIALIZED)
async def on_initialized(ls: EscapeServer, params: lsp.InitializedParams) -> None:
    log.addHandler(ClientLogHandler(ls, asyncio.get_running_loop()))
    try:
        await _start(ls)
    finally:
        ls.ready.set()
    if ls.session is not None and ls.settings.scope == "workspace":
        await _analyze_workspace(ls)


async def _start(ls: EscapeServer) -> None:
    """Find go and start the session; on failure, say why once (retried on settings/rebuild)."""
    try:
        toolchain = await find_toolchain_async(ls.settings.go, dict(ls.settings.env) or None)
    except ToolchainError as exc:
        ls.toolchain_error = str(exc)
        ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Error, str(exc)))
        return
    ls.toolchain_error = None
    ls.session = Session(toolchain, ls.settings.analysis(), ls.publish)
    await _pull_configuration(ls)
    ls.session.configure(ls.settings.analysis(), ls.settings.debounce_ms / 1000, ls.settings.scope)
    roots = [p for f in ls.workspace.folders.values() if (p := uri_to_path(f.uri))]
    if not (watching.client_can_watch(ls.caps()) and await _register_watchers(ls)):
        ls.watcher = watching.DiskWatcher(asyncio.get_running_loop(), _on_disk_paths)
        warning = ls.watcher.start(roots)
        if warning:
            ls.window_log_message(lsp.LogMessageParams(lsp.MessageType.Warning, warning))
    log.info("escape-lsp %s ready with %s", __version__, toolchain.version_text)


async def _retry_start(ls: EscapeServer) -> None:
    """After go was unusable: try again (settings changed, or a rebuild was asked for)."""
    if ls.session is not None or ls.toolchain_error is None:
        return
    await _start(ls)
    if ls.session is not None:
        for uri, doc in list(ls.workspace.text_documents.items()):
            if path := uri_to_path(uri):
                data = doc.source.encode("utf-8", "surrogateescape")
                await ls.session.open(path, data, doc.version or 0)


async def _register_watchers(ls: EscapeServer) -> bool:
    try:
        await ls.client_register_capability_async(watching.registration())
    except Exception as exc:  # the client said it could, then refused: watch ourselves
        log.warning("client refused file watching (%s); using watchdog", exc)
        return False
    return True


async def _pull_configuration(ls: EscapeServer) -> None:
    ws = ls.caps().workspace
    if not (ws and ws.configuration):
        return
    try:
        (raw,) = await ls.workspace_configuration_async(
            lsp.ConfigurationParams([lsp.ConfigurationItem(section=SECTION)])
        )
    except Exception as exc:  # a client that fails the request keeps the defaults
        log.warning("workspace/configuration failed: %s", exc)
        return
    if raw:
        ls.apply_settings(raw)


_background: set[asyncio.Task[None]] = set()


def _on_disk_paths(paths: list[str]) -> None:
    if server.session is not None:
        task = asyncio.ensure_future(server.session.disk_changed(paths))
        _background.add(task)
        task.add_done_callback(_background.discard)


@server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
async def on_watched(ls: EscapeServer, params: lsp.DidChangeWatchedFilesParams) -> None:
    paths = [p for c in params.changes if (p := uri_to_path(c.uri)) and watching.is_relevant(p)]
    if ls.session is not None and paths:
        await ls.session.disk_changed(paths)


@server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def on_configuration(ls: EscapeServer, params: lsp.DidChangeConfigurationParams) -> None:
    ws = ls.caps().workspace
    if ws and ws.configuration:
        await _pull_configuration(ls)
    elif params.settings:
        ls.apply_settings(params.settings)
    await _retry_start(ls)
    if ls.session is not None:
        await ls.session.rebuild_all()
        await ls.publish(set(ls.session.buffers))


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
async def on_open(ls: EscapeServer, params: lsp.DidOpenTextDocumentParams) -> None:
    if (doc := await ls.doc_bytes(params.text_document.uri)) and ls.session is not None:
        await ls.session.open(*doc)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
async def on_change(ls: EscapeServer, params: lsp.DidChangeTextDocumentParams) -> None:
    if (doc := await ls.doc_bytes(params.text_document.uri)) and ls.session is not None:
        await ls.session.edit(*doc)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
async def on_save(ls: EscapeServer, params: lsp.DidSaveTextDocumentParams) -> None:
    await ls.ready.wait()
    path = uri_to_path(params.text_document.uri)
    if ls.session is not None and path:
        await ls.session.save(path)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
async def on_close(ls: EscapeServer, params: lsp.DidCloseTextDocumentParams) -> None:
    await ls.ready.wait()
    path = uri_to_path(params.text_document.uri)
    ls.clear(params.text_document.uri)
    if ls.session is not None and path:
        await ls.session.close(path)


@server.feature(
    lsp.TEXT_DOCUMENT_DIAGNOSTIC,
    lsp.DiagnosticOptions(
        identifier="escape-lsp", inter_file_dependencies=True, workspace_diagnostics=False
    ),
)
def on_pull_diagnostics(
    ls: EscapeServer, params: lsp.DocumentDiagnosticParams
) -> lsp.DocumentDiagnosticReport:
    path = uri_to_path(params.text_document.uri)
    items = ls.diagnostics_for(path) if ls.pull and path else []
    return lsp.RelatedFullDocumentDiagnosticReport(items=items)


@server.feature(lsp.TEXT_DOCUMENT_INLAY_HINT, lsp.InlayHintOptions(resolve_provider=False))
def on_inlay_hint(ls: EscapeServer, params: lsp.InlayHintParams) -> list[lsp.InlayHint]:
    view = ls.view(params.text_document.uri)
    if view is None or view.source is None:
        return []
    window = to_span(view.source.lines, params.range, ls.encoding)
    return inlay_hints.inlay_hints(view, window, ls.encoding, ls.settings)


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def on_hover(ls: EscapeServer, params: lsp.HoverParams) -> lsp.Hover | None:
    view = ls.view(params.text_document.uri)
    if view is None or view.source is None:
        return None
    point = to_span(view.source.lines, lsp.Range(params.position, params.position), ls.encoding)
    return hover.hover(view, point.start_line, point.start_col, ls.encoding, ls.settings)


@server.feature(lsp.TEXT_DOCUMENT_CODE_LENS, lsp.CodeLensOptions(resolve_provider=False))
def on_code_lens(ls: EscapeServer, params: lsp.CodeLensParams) -> list[lsp.CodeLens]:
    view = ls.view(params.text_document.uri)
    return code_lens.code_lenses(view, ls.encoding, ls.settings) if view else []


@server.feature(
    lsp.TEXT_DOCUMENT_CODE_ACTION,
    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]),
)
async def on_code_action(ls: EscapeServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    path = uri_to_path(params.text_document.uri)
    src = ls.session.source(path) if ls.session and path else None
    if ls.session is None or path is None or src is None:
        return []
    window = to_span(src.lines, params.range, ls.encoding)
    fixes = await ls.session.fixes(path, window)
    ws = ls.caps().workspace
    versioned = bool(ws and ws.workspace_edit and ws.workspace_edit.document_changes)
    lines = ls.lines_cache()
    return [
        code_actions.code_action(
            fix, list(params.context.diagnostics), lines, ls.version_of, ls.encoding, versioned
        )
        for fix in fixes
    ]


@server.command(CMD_REBUILD)
async def cmd_rebuild(ls: EscapeServer, *args: Any) -> None:
    await _retry_start(ls)
    if ls.session is not None:
        await ls.session.rebuild_all()


async def _toggle(ls: EscapeServer, names: Any, show: bool) -> dict[str, list[str]]:
    """Show or hide kinds at once: findings of every kind are kept, so nothing is rebuilt."""
    try:
        kinds = parse_kinds([str(n) for n in names])
    except ValueError as exc:
        raise JsonRpcInvalidParams(str(exc)) from None
    current = ls.settings.kinds
    ls.settings = replace(
        ls.settings, kinds=frozenset(current | kinds if show else current - kinds)
    )
    if ls.session is not None:
        await ls.publish(set(ls.session.buffers))
    return {"kinds": sorted(k.value for k in ls.settings.kinds)}


@server.command(CMD_SHOW_KIND)
async def cmd_show_kind(ls: EscapeServer, *names: Any) -> dict[str, list[str]]:
    return await _toggle(ls, names, show=True)


@server.command(CMD_HIDE_KIND)
async def cmd_hide_kind(ls: EscapeServer, *names: Any) -> dict[str, list[str]]:
    return await _toggle(ls, names, show=False)


@server.command(CMD_ANALYZE_WORKSPACE)
async def cmd_analyze_workspace(ls: EscapeServer, *args: Any) -> dict[str, int]:
    return await _analyze_workspace(ls)


@server.command(CMD_STATUS)
async def cmd_status(ls: EscapeServer, *args: Any) -> dict[str, Any]:
    """For status bars: analysing/idle, heap findings in open files, blocked packages."""
    if ls.session is None:
        return {"state": "unavailable", "reason": ls.toolchain_error or "starting"}
    return ls.session.status(ls.settings.kinds)


@server.command(code_lens.SHOW_FINDINGS)
def cmd_show_findings(ls: EscapeServer, *args: Any) -> Any:
    """Clients with a references UI intercept this; others get the locations back."""
    return args[2] if len(args) > 2 else []


async def _analyze_workspace(ls: EscapeServer) -> dict[str, int]:
    if ls.session is None:
        return {"packages": 0, "findings": 0}
    roots = [p for f in ls.workspace.folders.values() if (p := uri_to_path(f.uri))]
    token = "escape-lsp/analyze-workspace"
    window = ls.caps().window
    progress = bool(window and window.work_done_progress)
    if progress:
        await ls.work_done_progress.create_async(token)
        ls.work_done_progress.begin(
            token, lsp.WorkDoneProgressBegin("Escape analysis", message="building")
        )
    try:
        results = await ls.session.analyze_workspace([f"{r}/go.mod" for r in roots])
    finally:
        if progress:
            ls.work_done_progress.end(token, lsp.WorkDoneProgressEnd(message="done"))
    return {"packages": len(results), "findings": sum(len(r.findings) for r in results.values())}


def _last_words() -> None:
    """No go process and no private temp dir may outlive the server."""
    process.kill_all()
    tempdir.remove_private_root()


def serve(tcp: str | None = None) -> int:
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="escape-lsp: %(levelname)s %(message)s"
    )
    logging.getLogger("pygls").setLevel(logging.WARNING)
    for stale in tempdir.remove_stale():
        log.info("removed %s, left by an escape-lsp that is gone", stale)
    code = 0
    try:
        if tcp:
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            host, _, port = tcp.rpartition(":")
            server.start_tcp(host or "127.0.0.1", int(port))
        else:
            code = serve_stdio(server, _last_words)
    finally:
        if server.watcher is not None:
            server.watcher.stop()
        if server.session is not None:
            with contextlib.suppress(RuntimeError):  # a task left pending on the closed loop
                server.session.close_all()
        _last_words()
        with contextlib.suppress(Exception):
            logging.shutdown()
    return code
