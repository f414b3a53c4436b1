"""A spawned server's first diagnostics, sent before pygls and lsprotocol are imported.

Importing the server takes ~0.4 s (lsprotocol builds ~1,000 classes), more than a small
package takes to compile, and a server started without the resident one (`lsp/resident/`)
paid it before it could read `initialize`. So `serve` on stdio first reads the editor's
messages with the stdlib (`lsp/frames.py`): it answers `initialize` as the server would
(`lsp/first_answer.py`), asks for the settings as the server does, analyses the files opened
and publishes their diagnostics, built by the server's own code (`lsp/diagnostics.py`).
Then it hands over (`Handover`): every message it read and did not answer goes back in
front of what is unread, the server is imported and reads them as if they had just come. The
server does it all again (its answer to `initialize` is dropped; the client has one) with
this session, adopted with its results, and publishes the same diagnostics again.

Its go build starts early: the one the last first publish from the same directory used, begun
by the caller before anything is imported (`gotool/head_start.py`), or, with no such record,
the one the opened file's package needs with the default settings, begun as the file is
opened (`gotool/first_build.py`, as `check`'s first run guesses its build): by the caller,
which reads up to the first `didOpen` before this module is imported (`lsp/early_open.py`:
it answers `initialize`, and hands every byte it read to this reading), else here.

A client that pulls diagnostics (`textDocument/diagnostic`, as VS Code's does) has its pulls
for the opened files held until they are analysed and answered here; the server, once
imported, asks it to pull again (`workspace/diagnostic/refresh`).

Other requests (inlay hints, code lenses, code actions, which editors ask for as a file
opens) wait while an opened file is to be analysed: the server answers them, once it has
caught up with what was published here (`EscapeServer.caught_up`). Not for long: 2 s while go
is still being asked about (a `go env` that hangs), 15 s once the analysis runs; with no file
opened yet a request hands over at once.

It steps aside, handing over whatever it read and did not answer, at the first thing it does
not handle: a notification other than `initialized`, `didOpen`,
`$/setTrace`, `$/cancelRequest` and `didChangeConfiguration` before the settings are settled
(an edit, a save, a close), or `shutdown`; `scope: workspace` or a `profile` (the server's
first diagnostics would differ); go not found; the end of input. Nothing it does is seen
twice except the settings request and the diagnostics.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Any, BinaryIO

from escape_lsp.findings.positions import Encoding
from escape_lsp.gotool import head_start, process, tempdir
from escape_lsp.gotool.toolchain import (
    Toolchain,
    ToolchainError,
    early_contexts,
    find_toolchain_async,
)
from escape_lsp.lsp import first_answer
from escape_lsp.lsp.config import SECTION, ServerSettings, parse_settings
from escape_lsp.lsp.early_open import builds_as_defaults, start_guessed_build
from escape_lsp.lsp.frames import Reading
from escape_lsp.lsp.framing import frame
from escape_lsp.lsp.wire import (
    FIRST_CONFIGURATION_ID,
    PUBLISH,
    Json,
    encoding_of,
    path_to_uri,
    publish_params,
    uri_to_path,
)

if TYPE_CHECKING:
    from escape_lsp.analysis.session import Publish, Session
    from escape_lsp.lsp.early_open import EarlyOpen

log = logging.getLogger("escape_lsp.first_publish")


PULL = "textDocument/diagnostic"
CHANGED_SETTINGS = "workspace/didChangeConfiguration"
#: The longest a request waits here before the server takes over: while go is asked about
#: (and the settings), and while the opened files are analysed (as `state.CATCH_UP_TIMEOUT`).
SETUP_LIMIT = 2.0
DEFER_LIMIT = 15.0
#: Notifications read and put back without stepping aside.
PASSING = frozenset({"initialized", "textDocument/didOpen", "$/setTrace", "$/cancelRequest"})


def log_to_stderr() -> None:
    """The server's log format, from the first line a server may log."""
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="escape-lsp: %(levelname)s %(message)s"
    )
    logging.getLogger("pygls").setLevel(logging.WARNING)


def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def client_pulls(capabilities: Any) -> bool:
    """As `lifecycle.client_pulls`: pull diagnostics only when the client can re-pull. A
    `diagnostic` capability counts when present, even empty (`{}`), as lsprotocol reads it."""
    pulls = isinstance(_get(capabilities, "textDocument", "diagnostic"), dict)
    return pulls and bool(_get(capabilities, "workspace", "diagnostics", "refreshSupport"))


class FirstPublish:
    """One session's start, up to the first diagnostics; `run` once, then hand over."""

    def __init__(
        self,
        reading: Reading,
        out: BinaryIO,
        records: str | None = None,
        cwd: str | None = None,
        answered: tuple[Any, Any] | None = None,
    ) -> None:
        self.reader = reading.reader
        self.out = out
        #: The head start's records and the directory they are keyed by (see `_guess_build`).
        self.records, self.cwd = records, cwd
        #: The bodies of the messages read, for the server to read again.
        self.replay: list[bytes] = []
        #: The `initialize` request's id and the result sent for it (`answered`: already
        #: sent, by `early_open`).
        self.answered: tuple[Any, Any] | None = answered
        self.published_at: float | None = None
        #: The files whose diagnostics the client has (pushed, or answered to a pull).
        self.shown: set[str] = set()
        self.settings = ServerSettings()
        self.encoding = Encoding.UTF16
        self.session: Session | None = None
        self.opened: list[tuple[str, bytes, int]] = []
        #: A pull client: the diagnostics of each opened file once analysed, and the
        #: `textDocument/diagnostic` requests held until then (id, path, body).
        self.pull = False
        self._ready: dict[str, list[Json]] = {}
        self._held: list[tuple[Any, str, bytes]] = []
        self._configured = asyncio.Event()
        self._published = asyncio.Event()
        self._tasks: set[asyncio.Future[None]] = set()
        self.closed = False
        #: Set `DEFER_LIMIT` after the first request left for the server: hand over then.
        self._gave_up = asyncio.Event()
        self._limit: asyncio.TimerHandle | None = None

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.out.write(frame(body))
        self.out.flush()

    async def _next(self) -> dict[str, Any] | None:
        body = await self.reader.read()
        if body is None:
            return None
        try:
            message = json.loads(body)
        except ValueError:
            message = None
        if isinstance(message, dict) and message.get("id") == FIRST_CONFIGURATION_ID:
            return message  # an answer to this module's request: the server never sees it
        self.replay.append(body)
        return message if isinstance(message, dict) else None

    async def run(self) -> None:
        """Up to the first diagnostics, or until something it does not handle comes."""
        try:
            await self._run()
        except Exception:  # the server starts as if nothing had happened
            log.exception("the first publish failed; the server takes over")
        finally:
            self.closed = True
            for task in list(self._tasks):
                task.cancel()
            if self.session is not None and not self._published.is_set():  # stepped aside
                self.session.close_all()
                self.session = None
            self.reader.unread(self.replay)

    async def _run(self) -> None:
        init = await self._next()
        params = _get(init, "params")
        if _get(init, "method") != "initialize" or "id" not in (init or {}):
            return
        if not isinstance(params, dict):
            return
        self.pull = client_pulls(params.get("capabilities"))
        result = first_answer.answer(params)
        if result is None:
            return
        assert init is not None
        self.settings, _ = parse_settings(params.get("initializationOptions") or {})
        if self.answered is None or self.answered[0] != init["id"]:
            self._send({"id": init["id"], "result": result})
        self.answered = (init["id"], result)
        self.encoding = encoding_of(result["capabilities"]["positionEncoding"])
        wants_settings = bool(_get(params, "capabilities", "workspace", "configuration"))
        go, env = self.settings.go, dict(self.settings.env) or None
        roots = [p for uri in _roots(params) if (p := uri_to_path(uri))]
        pump = asyncio.ensure_future(self._pump(wants_settings))
        work = asyncio.ensure_future(self._analyse(pump, go, env, roots))
        limit = asyncio.ensure_future(self._gave_up.wait())
        try:  # whichever ends first: stepping aside never waits for go
            await asyncio.wait({pump, work, limit}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if self._limit is not None:
                self._limit.cancel()
            for task in (pump, work, limit):
                task.cancel()
            await asyncio.gather(pump, work, limit, return_exceptions=True)

    async def _analyse(
        self, pump: asyncio.Future[None], go: str | None, env: Any, roots: list[str]
    ) -> None:
        contexts = early_contexts(go, env or {}, roots)  # as the server: beside the toolchain
        try:
            toolchain = await find_toolchain_async(go, env)
        except ToolchainError:
            for lookup in contexts.values():
                lookup.cancel()
            return  # the server says why
        if not await self._until(self._configured, pump):
            return
        s = self.settings
        if s.scope != "open" or s.profile or s.go != go:
            return
        # The analysis is imported only now (~80 ms): go env has answered, the file was
        # opened and its build guessed (`_guess_build`), so the import runs beside go; and
        # with it what `_publish` makes the diagnostics with (~5 ms), not after go.
        from escape_lsp.analysis.session import Session
        from escape_lsp.lsp import diagnostics, heap  # noqa: F401 - (see above)

        heap.give_back_large_blocks()  # before go's output is read (a server's memory)

        self.session = Session(toolchain, s.analysis(), self._publish)
        self.session.configure(s.analysis(), s.debounce_ms / 1000, s.scope)
        self.session.expect_contexts(contexts, env or {})
        if self._limit is not None:  # a request waits: now for the analysis
            self._limit_deferral()
        for doc in self.opened:
            self._open(doc)
        await self._until(self._published, pump)

    def _open(self, doc: tuple[str, bytes, int]) -> None:
        assert self.session is not None
        task = asyncio.ensure_future(self.session.open(*doc))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _until(self, event: asyncio.Event, pump: asyncio.Future[None]) -> bool:
        """Until `event`; False if the pump stepped aside first."""
        waiter: asyncio.Future[Any] = asyncio.ensure_future(event.wait())
        await asyncio.wait({waiter, pump}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        return event.is_set()

    async def _pump(self, wants_settings: bool) -> None:
        """Read messages until one is not for the first publish (or the input ends)."""
        if not wants_settings:
            self._configured.set()
        while (message := await self._next()) is not None:
            method = message.get("method")
            if message.get("id") == FIRST_CONFIGURATION_ID:
                if isinstance(value := _get(message, "result"), list) and value and value[0]:
                    self.settings, _ = parse_settings(value[0])
                self._configured.set()
            elif method == CHANGED_SETTINGS and "id" not in message:
                if not self._settings_changed(message, wants_settings):
                    return
            elif method == PULL and self.pull and "id" in message and self._hold(message):
                pass
            elif "id" in message and isinstance(method, str) and method != "shutdown":
                # Deferred: the server answers it once it has caught up (editors ask for
                # inlay hints, code lenses and code actions as a file opens). Only while
                # an opened file is to be analysed, and not for long (`_limit_deferral`).
                if not self.opened:
                    return
                self._limit_deferral()
            elif method not in PASSING:
                return
            elif method == "initialized" and wants_settings:
                self._send(
                    {
                        "id": FIRST_CONFIGURATION_ID,
                        "method": "workspace/configuration",
                        "params": {"items": [{"section": SECTION}]},
                    }
                )
            elif method == "textDocument/didOpen" and (doc := _opened(message)) is not None:
                self.opened.append(doc)
                if self.session is not None:
                    self._open(doc)
                elif len(self.opened) == 1:
                    self._guess_build(doc[0])

    def _guess_build(self, path: str) -> None:
        """With no record of the build a first publish from this directory used (the first
        spawn here), start the one the opened file's package needs with the default
        settings, as `check`'s first run does (`gotool/first_build.py`): go starts before
        `go env` and `go list` have answered. The engine takes it over if it runs the very
        same command (the settings the client sends next may differ); else it is killed."""
        if self.cwd is not None and builds_as_defaults(self.settings):
            start_guessed_build(self.records, self.cwd, path, self.settings.go)

    def _limit_deferral(self) -> None:
        """Hand over `SETUP_LIMIT` after the first request left for the server while go is
        still being asked about (a `go env` that hangs), `DEFER_LIMIT` once the analysis
        runs (a large package's build)."""
        if self._limit is None or self.session is not None:
            if self._limit is not None:
                self._limit.cancel()
            delay = DEFER_LIMIT if self.session is not None else SETUP_LIMIT
            self._limit = asyncio.get_running_loop().call_later(delay, self._gave_up.set)

    def _settings_changed(self, message: dict[str, Any], wants_settings: bool) -> bool:
        """`didChangeConfiguration`, which VS Code and Neovim send right after `initialized`:
        the server asks for the settings again (a client that answers the request) or takes
        the ones sent. Followed while the settings request is unanswered (its answer is the
        latest) or, from a client that sends them, before the analysis began; False (step
        aside) after that."""
        if wants_settings:
            return not self._configured.is_set()
        if self.session is not None:
            return False
        if isinstance(sent := _get(message, "params", "settings"), dict) and sent:
            self.settings, _ = parse_settings(sent)
        return True

    def _hold(self, message: dict[str, Any]) -> bool:
        """A pull for an opened file: answered once it is analysed. False for another file
        (the server answers it)."""
        path = uri_to_path(str(_get(message, "params", "textDocument", "uri")))
        if path is None or all(doc[0] != path for doc in self.opened):
            return False
        self._held.append((message["id"], path, self.replay[-1]))
        self._answer_held()
        return True

    def _answer_held(self) -> None:
        """Answer the held pulls whose files are analysed, as `server.on_pull_diagnostics`
        does; the server never sees them."""
        for held in [h for h in self._held if h[1] in self._ready]:
            msg_id, path, body = held
            self._send({"id": msg_id, "result": {"kind": "full", "items": self._ready[path]}})
            self.shown.add(path)
            self._held.remove(held)
            self.replay = [b for b in self.replay if b is not body]
            self._first_diagnostics()

    def _first_diagnostics(self) -> None:
        self.published_at = self.published_at or time.monotonic()
        self._published.set()

    async def _publish(self, paths: set[str]) -> None:
        """As `publishing.publish` does: pushed, or kept for the pulls (held, or to come: if
        every opened file is analysed and no pull waits, the server answers those)."""
        if self.session is None or self.closed:
            return
        from escape_lsp.analysis.views import file_view
        from escape_lsp.lsp.diagnostics import diagnostics_for, lines_of

        snapshot = self.session.snapshot
        lines = lines_of(snapshot)
        for path in sorted(p for p in paths if p in snapshot.buffers):
            items = diagnostics_for(file_view(snapshot, path), lines, self.encoding, self.settings)
            if self.pull:
                self._ready[path] = items
                continue
            params = publish_params(path_to_uri(path), items, snapshot.version(path))
            self._send({"method": PUBLISH, "params": params})
            self.shown.add(path)
            self._first_diagnostics()
        if self.pull:
            self._answer_held()
            if all(doc[0] in self._ready for doc in self.opened):
                self._published.set()  # nothing held: hand over, the server answers pulls


def _roots(params: dict[str, Any]) -> list[str]:
    """The workspace folders' URIs, as pygls reads them (else the root URI)."""
    folders = params.get("workspaceFolders")
    if isinstance(folders, list) and folders:
        return [f["uri"] for f in folders if isinstance(f, dict) and isinstance(f.get("uri"), str)]
    root = params.get("rootUri")
    return [root] if isinstance(root, str) else []


def _opened(message: dict[str, Any]) -> tuple[str, bytes, int] | None:
    doc = _get(message, "params", "textDocument")
    uri, text, version = _get(doc, "uri"), _get(doc, "text"), _get(doc, "version")
    if not (isinstance(uri, str) and isinstance(text, str) and isinstance(version, int)):
        return None
    path = uri_to_path(uri)
    return (path, text.encode("utf-8", "surrogateescape"), version) if path else None


class Handover:
    """What the server takes over: stdin as read (what was read put back), the `initialize`
    answered (its id and result), the files whose diagnostics the client has, and the session
    that analysed them (its results in memory: the server's replayed `didOpen` is a memo hit,
    and an edit right after keeps what the first analysis found)."""

    def __init__(
        self,
        reading: Reading,
        answered: tuple[Any, Any] | None,
        shown: frozenset[str],
        session: Session | None,
    ) -> None:
        self.reading, self.answered, self.shown = reading, answered, shown
        self.session = session

    def adopt(self, toolchain: Toolchain, publish: Publish) -> Session | None:
        """The first session, publishing for the server now, if it runs the same go; else
        None (closed)."""
        session, self.session = self.session, None
        if session is not None and session.workspace.toolchain != toolchain:
            session.close_all()
            return None
        if session is not None:
            session.publish = publish
        return session

    def close(self) -> None:
        """The server will not adopt the session (go unusable now)."""
        if self.session is not None:
            self.session.close_all()
            self.session = None


def first_publish(
    fd: int,
    out: BinaryIO,
    records: str | None = None,
    cwd: str | None = None,
    early: EarlyOpen | None = None,
) -> Handover:
    """Run the first publish on stdin `fd`, up to the hand-over to the server. SIGTERM and
    SIGINT meanwhile end the process (go killed first). `records`: where the head start
    (`gotool/head_start.py`, begun by the caller from `cwd`) keeps the build it used, for the
    next first publish from `cwd`. `early`: what `early_open` read of `fd` (read again here,
    first) and answered."""
    started = time.monotonic()
    log_to_stderr()
    reading = Reading(fd)
    if early is not None:  # before anything the reading thread reads: fed on the loop
        reading.reader.feed(early.data)
    previous: dict[signal.Signals, Any] = {}

    def end(signum: int, frame: Any) -> None:
        process.kill_all()
        tempdir.remove_private_root()
        os._exit(0)

    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, end)
    first = FirstPublish(reading, out, records, cwd, early.answered if early else None)
    try:
        reading.loop.run_until_complete(first.run())
        if first.session is not None and cwd is not None:
            for engine in first.session.workspace.engines():
                head_start.note_inputs(engine.input_stats())
            head_start.remember(records, cwd, first_answer.HEAD_START_KEY)
    finally:
        head_start.release()  # a head start nothing claimed (the memo answered)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    # The first session's cycles, freed while the heap is small: `lifecycle.serve` freezes
    # what is left (gc.freeze) once the server is imported.
    gc.collect()
    if first.published_at is not None:
        took = (first.published_at - started) * 1e3
        log.info("first diagnostics published %.0f ms after start, before the server", took)
    return Handover(reading, first.answered, frozenset(first.shown), first.session)
