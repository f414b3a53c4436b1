"""A spawned server's first messages read before the first publish is imported, so that the
go build of the file the editor opens starts at once.

With no head start record (the first spawn from a directory) the build is guessed from the
opened file (`first_publish._guess_build`), which the editor sends only once `initialize` is
answered. Answering it after the first publish's imports (asyncio, the settings, the frames:
~0.1 s here) put those before go started. Here, with the standard library alone: the
`initialize` request is read and answered as the first publish answers it
(`first_answer.answer`), then the editor's next messages are read for up to `WAIT` seconds
until a `didOpen`, whose package's build starts (`guess`) with the default settings; only
then are the settings sent with `initialize` read (their imports and the kept generated
code's took ~40 ms before go's start), and a guess they do not build as is dropped. Every
byte read goes back to the first publish (`EarlyOpen.data`), which reads the messages again
as if they had just come, and does not answer `initialize` twice (`EarlyOpen.answered`).

It stops reading, and leaves everything to the first publish, at anything else: a frame it
cannot parse at once, a message other than those an editor sends right after `initialize`, or
the end of input.
"""

from __future__ import annotations

import functools
import json
import os
import select
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple

from escape_lsp.lsp import first_answer
from escape_lsp.lsp.framing import HEADER_LINE, LENGTH_LINE, SHORT_BODY_GRACE, frame

if TYPE_CHECKING:
    from escape_lsp.analysis.settings import AnalysisSettings
    from escape_lsp.gotool.head_start import Command
    from escape_lsp.lsp.config import ServerSettings

#: How long the editor's messages after the answer to `initialize` are waited for: editors
#: send `initialized` and the open files' `didOpen` at once.
WAIT = 0.1
#: The notifications an editor sends between `initialize` and its first `didOpen`.
BEFORE_OPEN = frozenset({"initialized", "workspace/didChangeConfiguration", "$/setTrace"})


def _length(headers: bytes) -> int | None:
    """The Content-Length of a header block (its lines without the blank one), if it is
    one: header lines only, one of them the length."""
    lines = headers.split(b"\r\n")
    if not all(HEADER_LINE.fullmatch(line) for line in lines):
        return None
    lengths = [m for line in lines if (m := LENGTH_LINE.fullmatch(line))]
    return int(lengths[0][1]) if len(lengths) == 1 else None


class EarlyOpen(NamedTuple):
    """What was read (all of it, in order) and the `initialize` answered: (id, result)."""

    data: bytes
    answered: tuple[Any, Any] | None


class _Frames:
    """Whole frames from `fd`, read until a deadline (None: until one comes)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.data = bytearray()
        self._at = 0

    def next(self, deadline: float | None) -> dict[str, Any] | None:
        """The next message; None at the end of input, the deadline, or a frame that is not
        a well-formed LSP message (the first publish's reader makes what it can of it). With
        no deadline it waits for a first byte, and then half a second for the rest."""
        while True:
            end = self.data.find(b"\r\n\r\n", self._at)
            if end >= 0:
                length = _length(bytes(self.data[self._at : end]))
                if length is None:
                    return None  # not a header this reads
                start = end + 4
                if len(self.data) >= start + length:
                    body = bytes(self.data[start : start + length])
                    self._at = start + length
                    try:
                        message = json.loads(body)
                    except ValueError:
                        return None
                    return message if isinstance(message, dict) else None
            elif len(self.data) - self._at > 1 << 12:
                return None  # a header this long is not one
            if deadline is None and len(self.data) > self._at:  # a frame begun: not for ever
                deadline = time.monotonic() + SHORT_BODY_GRACE
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                    return None
            try:
                chunk = os.read(self.fd, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                return None
            self.data += chunk


def early_open(
    fd: int,
    out: BinaryIO,
    guess: Callable[[str, str | None], None],
    drop: Callable[[], None] = lambda: None,
    prepare: Callable[[], object] = lambda: None,
) -> EarlyOpen:
    """Read and answer `initialize` from `fd`, then read up to the first `didOpen` and call
    `guess(path, None)` with its file at once, go from PATH; then `prepare()` (what must come
    before the settings' imports: the kept generated code) and read the settings sent with
    `initialize`: if they do not build as the defaults do, `drop()` the guess; if they name
    another go, `drop()` it and `guess(path, go)` again. Never fails: what it cannot follow is
    the first publish's."""
    frames = _Frames(fd)
    answered = None
    try:
        init = frames.next(None)
        if init is None or init.get("method") != "initialize" or "id" not in init:
            return EarlyOpen(bytes(frames.data), None)
        params = init.get("params")
        result = first_answer.answer(params) if isinstance(params, dict) else None
        if result is None or not isinstance(params, dict):
            return EarlyOpen(bytes(frames.data), None)
        body = json.dumps({"jsonrpc": "2.0", "id": init["id"], "result": result}).encode()
        out.write(frame(body))
        out.flush()
        answered = (init["id"], result)
        deadline = time.monotonic() + WAIT
        while (message := frames.next(deadline)) is not None:
            method = message.get("method")
            if method == "textDocument/didOpen" and "id" not in message:
                path = _opened_path(message)
                if path is not None:
                    _guess_then_settle(path, params, guess, drop, prepare)
                break
            if method not in BEFORE_OPEN or "id" in message:
                break
    except Exception:  # a message of an odd shape, a failing guess: never the server's end
        import logging  # (~5 ms: only here, where it is needed)

        logging.getLogger("escape_lsp.early_open").exception("reading the first messages")
    return EarlyOpen(bytes(frames.data), answered)


def _guess_then_settle(
    path: str,
    params: dict[str, Any],
    guess: Callable[[str, str | None], None],
    drop: Callable[[], None],
    prepare: Callable[[], object],
) -> None:
    """The guessed build started before the settings are read: their imports and the kept
    code's (~40 ms) ran before go's start when they came first. Settings that build otherwise
    cost a go command started and killed ~40 ms later."""
    guess(path, None)
    prepare()
    go = _default_build(params)
    if go is None:
        drop()
    elif go[0] is not None:
        drop()
        guess(path, go[0])


def _opened_path(message: dict[str, Any]) -> str | None:
    params = message.get("params")
    doc = params.get("textDocument") if isinstance(params, dict) else None
    uri = doc.get("uri") if isinstance(doc, dict) else None
    if not isinstance(uri, str):
        return None
    from escape_lsp.lsp.wire import uri_to_path

    return uri_to_path(uri)


def _default_build(params: dict[str, Any]) -> tuple[str | None] | None:
    """(the `go` setting,) if the settings in `params` build as the defaults do."""
    from escape_lsp.lsp.config import parse_settings

    settings, _ = parse_settings(params.get("initializationOptions") or {})
    return (settings.go,) if builds_as_defaults(settings) else None


def builds_as_defaults(settings: ServerSettings) -> bool:
    """Whether `settings` build as the defaults do: a guessed build is the defaults'."""
    return settings.analysis() == _default_analysis()


@functools.lru_cache(maxsize=1)
def _default_analysis() -> AnalysisSettings:
    from escape_lsp.lsp.config import ServerSettings

    return ServerSettings().analysis()


def start_guessed_build(records: str | None, cwd: str, path: str, go: str | None) -> None:
    """Start the build `path`'s package needs with the default settings (`go`: the `go`
    setting), as `check`'s first run guesses its own (`gotool/first_build.py`), unless the
    head start has a record for `cwd` (`records`) or runs a build already. The engine takes it
    over if it runs the very same command; else it is killed."""
    from escape_lsp.gotool import head_start
    from escape_lsp.gotool.first_build import first_build

    def guessed() -> Command | None:
        return first_build(cwd, os.path.dirname(path), go)

    head_start.begin(records, cwd, first_answer.HEAD_START_KEY, guessed, anywhere=True)
