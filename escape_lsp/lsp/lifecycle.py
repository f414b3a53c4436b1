"""Start-up and shut-down: find go, make the session, pull settings, watch files, serve."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys

from lsprotocol import types as lsp

from escape_lsp import __version__
from escape_lsp.analysis.session import Session
from escape_lsp.gotool import process, tempdir
from escape_lsp.gotool.toolchain import ToolchainError, early_contexts, find_toolchain_async
from escape_lsp.lsp import publishing, watching
from escape_lsp.lsp.config import SECTION
from escape_lsp.lsp.convert import uri_to_path
from escape_lsp.lsp.first_publish import Handover, log_to_stderr
from escape_lsp.lsp.state import EscapeServer
from escape_lsp.lsp.stdio import serve_stdio

log = logging.getLogger("escape_lsp")

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


def client_pulls(caps: lsp.ClientCapabilities) -> bool:
    """Pull diagnostics only when the client can also be told to re-pull."""
    td, ws = caps.text_document, caps.workspace
    pulls = bool(td and td.diagnostic)
    refreshes = bool(ws and ws.diagnostics and ws.diagnostics.refresh_support)
    return pulls and refreshes


def attach_client_log(ls: EscapeServer) -> None:
    log.addHandler(ClientLogHandler(ls, asyncio.get_running_loop()))


async def start(ls: EscapeServer) -> None:
    """After `initialized`: find go, make the session, pull settings, start watching.

    Go is asked about the toolchain and the workspace folders' modules while the client
    answers the settings request and watching is set up (a registration round trip, or
    watchdog's walk of the tree in a thread). Watching is in place before the server is ready,
    so a change made once any analysis can have read the disk is seen. When go is unusable,
    say why once; `retry_start` tries again on new settings or a rebuild.
    """
    go, env = ls.settings.go, dict(ls.settings.env)
    configured = asyncio.ensure_future(pull_configuration(ls))
    if ls.watching is None:
        ls.watching = asyncio.ensure_future(_watch(ls))
    contexts = early_contexts(go, env, ls.roots())
    try:
        toolchain = await find_toolchain_async(go, env or None)
    except ToolchainError as exc:
        for lookup in contexts.values():
            lookup.cancel()
        await configured
        await ls.watching
        ls.toolchain_error = str(exc)
        if ls.handover is not None:
            ls.handover.close()
        ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Error, str(exc)))
        return
    ls.toolchain_error = None

    async def publish(paths: set[str]) -> None:
        await publishing.publish(ls, paths)

    adopted = ls.handover.adopt(toolchain, publish) if ls.handover else None
    ls.session = adopted or Session(toolchain, ls.settings.analysis(), publish)
    ls.resumed = adopted is not None
    await configured
    ls.configure_session()
    if ls.settings.go != go:
        contexts = {}
    ls.session.expect_contexts(contexts, env)
    await ls.watching
    log.info("escape-lsp %s ready with %s", __version__, toolchain.version_text)


async def _watch(ls: EscapeServer) -> None:
    """Disk changes made outside the editor: the client's watcher, else watchdog (whose
    recursive set-up runs in a thread, off the event loop)."""
    if watching.client_can_watch(ls.caps()) and await _register_watchers(ls):
        return
    watcher = ls.watcher = watching.DiskWatcher(asyncio.get_running_loop(), _disk_callback(ls))
    try:
        warning = await asyncio.to_thread(watcher.start, ls.roots())
    except RuntimeError as exc:  # no thread to be had (the process is ending)
        warning = f"file watching disabled: {exc}"
    if warning:
        log.warning("%s", warning)


async def retry_start(ls: EscapeServer) -> None:
    """After go was unusable: try again, then analyse the documents opened meanwhile."""
    if ls.session is not None or ls.toolchain_error is None:
        return
    await start(ls)
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


_background: set[asyncio.Task[None]] = set()


def _disk_callback(ls: EscapeServer) -> watching.OnPaths:
    def on_paths(paths: list[str]) -> None:
        if ls.session is not None:
            task = asyncio.ensure_future(ls.session.disk_changed(paths))
            _background.add(task)
            task.add_done_callback(_background.discard)

    return on_paths


async def pull_configuration(ls: EscapeServer) -> None:
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


def _last_words() -> None:
    """No go process and no private temp dir may outlive the server."""
    process.kill_all()
    tempdir.remove_private_root()


def serve(ls: EscapeServer, tcp: str | None = None, handover: Handover | None = None) -> int:
    """Serve until `exit`, end of input, SIGTERM or SIGINT; the exit code per the LSP spec.
    `handover`: what a first publish (`lsp/first_publish.py`) read, answered and showed."""
    log_to_stderr()
    for stale in tempdir.remove_stale():
        log.info("removed %s, left by an escape-lsp that is gone", stale)
    # What the imports made lives as long as the process: keep it out of every GC pass (a full
    # pass over it takes ~35 ms, which lands in the middle of a save's diagnostics). A server
    # forked from the resident zygote inherits the zygote's freeze; this is the in-process one.
    gc.freeze()
    code = 0
    try:
        if tcp:
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            host, _, port = tcp.rpartition(":")
            ls.start_tcp(host or "127.0.0.1", int(port))
        else:
            if handover is None:
                code = serve_stdio(ls, _last_words)
            else:
                ls.expect(handover.shown)
                ls.handover = handover
                reading, answered = handover.reading, handover.answered
                code = serve_stdio(ls, _last_words, reading=reading, answered=answered)
    finally:
        if ls.watcher is not None:
            ls.watcher.stop()
        if ls.session is not None:
            with contextlib.suppress(RuntimeError):  # a task left pending on the closed loop
                ls.session.close_all()
        _last_words()
        with contextlib.suppress(Exception):
            logging.shutdown()
    return code
