"""The server object: settings, the session, and what the client negotiated. No handlers here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from escape_lsp import __version__
from escape_lsp.analysis.session import Session
from escape_lsp.analysis.snapshot import Snapshot
from escape_lsp.findings.positions import Encoding
from escape_lsp.lsp import watching
from escape_lsp.lsp.config import ServerSettings, parse_settings
from escape_lsp.lsp.convert import encoding_of, uri_to_path
from escape_lsp.lsp.first_publish import Handover
from escape_lsp.lsp.protocol_guard import GuardedProtocol
from escape_lsp.lsp.wire import PUBLISH, Json, publish_params

log = logging.getLogger("escape_lsp")

#: How long requests wait for the server to catch up with a first publish (then they answer
#: from what it has).
CATCH_UP_TIMEOUT = 15.0


class EscapeServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("escape-lsp", __version__, protocol_cls=GuardedProtocol)
        self.settings = ServerSettings()
        self.session: Session | None = None
        self.pull = False
        self.watcher: watching.DiskWatcher | None = None
        #: Set when watching (the client's, else watchdog) is being set up: once per server.
        self.watching: asyncio.Future[None] | None = None
        self.toolchain_error: str | None = None
        #: Set once `initialized` has found go and made the session (or failed to).
        self.ready = asyncio.Event()
        #: Files a first publish (`lsp/first_publish.py`) showed diagnostics for that this
        #: server has not published yet: requests wait for them (`caught_up`), so nothing
        #: answers from an empty snapshot about what the editor already shows.
        self.behind: set[str] = set()
        self._caught_up = asyncio.Event()
        self._caught_up.set()
        #: What a first publish handed over, until `lifecycle.start` adopts its session.
        self.handover: Handover | None = None
        #: The session is the first publish's, adopted.
        self.resumed = False

    @property
    def encoding(self) -> Encoding:
        return encoding_of(self.workspace.position_encoding)

    def caps(self) -> lsp.ClientCapabilities:
        return self.client_capabilities

    def publish_json(self, uri: str, diagnostics: list[Json], version: int | None) -> None:
        """Push diagnostics built as JSON (`lsp/wire.py`)."""
        assert isinstance(self.protocol, GuardedProtocol)
        self.protocol.notify_json(PUBLISH, publish_params(uri, diagnostics, version))

    def expect(self, paths: frozenset[str]) -> None:
        """The files a first publish showed: `caught_up` waits until they are published."""
        if paths:
            self.behind = set(paths)
            self._caught_up.clear()

    def caught_up_with(self, paths: set[str]) -> None:
        """These files need no waiting: published, or changed or closed since the first
        publish showed them (what it showed is gone either way)."""
        self.behind -= paths
        if not self.behind:
            self._caught_up.set()

    async def caught_up(self) -> None:
        """Until the server has published what a first publish showed (or found go unusable;
        at most `CATCH_UP_TIMEOUT`); at once when there was no first publish, so a request
        is answered while go is still being asked about, as ever."""
        if not self._caught_up.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._caught_up.wait(), CATCH_UP_TIMEOUT)

    def snapshot(self) -> Snapshot | None:
        """The current state, taken once per request; None before go was found."""
        return self.session.snapshot if self.session is not None else None

    def apply_settings(self, raw: Any) -> None:
        settings, problems = parse_settings(raw)
        self.settings = settings
        for problem in problems:  # straight to the client: settings come before `initialized`
            self.window_log_message(
                lsp.LogMessageParams(lsp.MessageType.Warning, f"escape-lsp settings: {problem}")
            )
        self.configure_session()

    def configure_session(self) -> None:
        s = self.settings
        if self.session is not None:
            self.session.configure(s.analysis(), s.debounce_ms / 1000, s.scope)

    def roots(self) -> list[str]:
        return [p for f in self.workspace.folders.values() if (p := uri_to_path(f.uri))]

    async def doc_bytes(self, uri: str) -> tuple[str, bytes, int] | None:
        """The document as pygls holds it after applying the client's changes."""
        await self.ready.wait()
        path = uri_to_path(uri)
        if path is None or self.session is None:
            return None
        doc = self.workspace.get_text_document(uri)
        return path, doc.source.encode("utf-8", "surrogateescape"), doc.version or 0
