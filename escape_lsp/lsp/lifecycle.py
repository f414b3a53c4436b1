"""Start-up and shut-down: find go, make the session, pull settings, watch files, serve."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from lsprotocol import types as lsp

from escape_lsp import __version__
from escape_lsp.analysis.session import Session
from escape_lsp.gotool import process
from escape_lsp.gotool.toolchain import ToolchainError, find_toolchain
from escape_lsp.lsp import publishing, watching
from escape_lsp.lsp.config import SECTION
from escape_lsp.lsp.state import EscapeServer

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


async def start(ls: EscapeServer) -> None:
    """After `initialized`: find go, make the session, pull settings, start watching."""
    log.addHandler(ClientLogHandler(ls, asyncio.get_running_loop()))
    try:
        toolchain = await asyncio.to_thread(
            find_toolchain, ls.settings.go, dict(ls.settings.env) or None
        )
    except ToolchainError as exc:
        ls.toolchain_error = str(exc)
        ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Error, str(exc)))
        return

    async def publish(paths: set[str]) -> None:
        await publishing.publish(ls, paths)

    ls.session = Session(toolchain, ls.settings.analysis(), publish)
    await pull_configuration(ls)
    ls.configure_session()
    if not (watching.client_can_watch(ls.caps()) and await _register_watchers(ls)):
        ls.watcher = watching.DiskWatcher(asyncio.get_running_loop(), _disk_callback(ls))
        warning = ls.watcher.start(ls.roots())
        if warning:
            log.warning("%s", warning)
    log.info("escape-lsp %s ready with %s", __version__, toolchain.version_text)


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


def serve(ls: EscapeServer, tcp: str | None = None) -> int:
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="escape-lsp: %(levelname)s %(message)s"
    )
    logging.getLogger("pygls").setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if tcp:
            host, _, port = tcp.rpartition(":")
            ls.start_tcp(host or "127.0.0.1", int(port))
        else:
            ls.start_io()
    finally:
        if ls.watcher is not None:
            ls.watcher.stop()
        if ls.session is not None:
            ls.session.close_all()
        process.kill_all()
        with contextlib.suppress(Exception):
            logging.shutdown()
    return 0
