"""Serving over stdio: reading frames, and ending cleanly however the end comes.

pygls reads stdin in a worker thread it joins on the way out, so a server told to stop
(SIGTERM, Ctrl-C) while the editor keeps stdin open never exits. Here stdin is read by a
daemon thread, the server ends on `exit`, end of input, SIGTERM or SIGINT, and a deadline
makes sure the process is gone within two seconds even if a cleanup step hangs. Frames with a
wrong Content-Length are recovered from at the next header instead of making the server deaf.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, BinaryIO

from pygls.exceptions import JsonRpcParseError
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer

from escape_lsp.lsp.protocol_guard import GuardedProtocol

log = logging.getLogger("escape_lsp.stdio")

#: How long the process may take to end once told to.
EXIT_DEADLINE = 1.8
#: How long tasks cancelled at the end may take to finish.
CANCEL_GRACE = 0.5
#: How long a body that is already complete JSON waits for bytes its Content-Length promised.
SHORT_BODY_GRACE = 0.5

_LENGTH_LINE = re.compile(rb"Content-Length:[ \t]*(\d+)[ \t]*\r\n", re.IGNORECASE)
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:[^\r\n]*$")


def _is_json(data: bytes | bytearray) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def _json_prefix(data: bytes) -> bytes:
    """The first JSON value of a misframed body that runs on into junk (else all of it)."""
    text = data.decode("utf-8", "replace")
    lead = len(text) - len(text.lstrip())
    try:
        _, end = json.JSONDecoder().raw_decode(text, lead)
    except ValueError:
        return data
    return text[:end].encode("utf-8")


class FrameReader:
    """LSP base-protocol frames from a byte stream, resynchronising after a bad header."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._eof = False
        self._more = asyncio.Event()

    def feed(self, data: bytes) -> None:
        self._buf += data
        self._more.set()

    def feed_eof(self) -> None:
        self._eof = True
        self._more.set()

    async def _wait(self, timeout: float | None = None) -> bool:
        """Until more bytes (or the end) arrive; False if `timeout` passed first."""
        self._more.clear()
        try:
            await asyncio.wait_for(self._more.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def _skip(self, upto: int) -> None:
        junk = bytes(self._buf[:upto])
        lines = junk.split(b"\r\n")
        if any(line.strip() and not _HEADER_LINE.match(line) for line in lines):
            log.warning("skipped %d bytes that were not an LSP frame: %.80r", len(junk), junk)
        del self._buf[:upto]

    async def read(self) -> bytes | None:
        """The next frame's body, or None at the end of input."""
        while True:
            head = _LENGTH_LINE.search(self._buf)
            end = self._buf.find(b"\r\n\r\n", head.end() - 2) if head else -1
            if head is None or end < 0:
                if self._eof:
                    return None
                if head is None and len(self._buf) > 4096:  # keep a partial header only
                    self._skip(len(self._buf) - 64)
                await self._wait()
                continue
            self._skip(head.start())
            length = int(head[1])
            start = end + 4 - head.start()
            return await self._body(start, length)

    async def _body(self, start: int, length: int) -> bytes:
        # A header cannot occur inside a JSON body (JSON strings hold no raw CR LF), so one
        # found before `length` bytes means the Content-Length was too large.
        scanned = start
        while True:
            following = _LENGTH_LINE.search(self._buf, scanned)
            if following is not None and following.start() < start + length:
                log.warning("a frame was shorter than its Content-Length (%d)", length)
                body = _json_prefix(bytes(self._buf[start : following.start()]))
                del self._buf[: following.start()]
                return body
            if len(self._buf) - start >= length:
                break
            scanned = max(start, len(self._buf) - 64)
            if self._eof:
                body = bytes(self._buf[start:])
                self._buf.clear()
                return body
            if not await self._wait(SHORT_BODY_GRACE) and _is_json(self._buf[start:]):
                log.warning("a frame was shorter than its Content-Length (%d)", length)
                body = bytes(self._buf[start:])
                self._buf.clear()
                return body
        body = bytes(self._buf[start : start + length])
        del self._buf[: start + length]
        return body

    async def run_on(self, body: bytes) -> bytes | None:
        """`body` is not JSON: if its Content-Length was too small, the rest of it comes
        before the next header. The whole body, or None if that does not make JSON either."""
        while True:
            following = _LENGTH_LINE.search(self._buf)
            end = following.start() if following is not None else len(self._buf)
            whole = body + bytes(self._buf[:end])
            if _is_json(whole):
                log.warning("a frame was longer than its Content-Length (%d)", len(body))
                del self._buf[:end]
                return whole
            if following is not None or self._eof or not await self._wait(SHORT_BODY_GRACE):
                return None


def _read_stdin(fd: int, loop: asyncio.AbstractEventLoop, reader: FrameReader) -> None:
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except OSError:
            chunk = b""
        try:
            if not chunk:
                loop.call_soon_threadsafe(reader.feed_eof)
                return
            loop.call_soon_threadsafe(reader.feed, chunk)
        except RuntimeError:  # the loop is closed: the server is ending
            return


async def _pump(reader: FrameReader, protocol: GuardedProtocol) -> None:
    while (body := await reader.read()) is not None:
        try:
            message = json.loads(body, object_hook=protocol.structure_message)
        except ValueError as exc:
            whole = await reader.run_on(body)
            if whole is None:
                log.warning("ignored a frame that is not JSON (%s): %.80r", exc, body)
                protocol._send_response(None, error=JsonRpcParseError().to_response_error())  # type: ignore[arg-type]
                continue
            message = json.loads(whole, object_hook=protocol.structure_message)
        try:
            protocol.handle_message(message)
        except Exception:
            log.exception("failed to handle a message")


class _Ending:
    """The first reason to end wins; past the deadline the process ends regardless."""

    def __init__(self, loop: asyncio.AbstractEventLoop, last_words: Callable[[], None]) -> None:
        self.loop = loop
        self.done: asyncio.Future[int] = loop.create_future()
        self._last_words = last_words
        self._deadline_started = False

    def end(self, code: int) -> None:
        if not self.done.done():
            self.done.set_result(code)
        self.start_deadline(code)

    def start_deadline(self, code: int) -> None:
        if self._deadline_started:
            return
        self._deadline_started = True

        def force() -> None:
            time.sleep(EXIT_DEADLINE)
            try:
                self._last_words()
            finally:
                os._exit(code)

        threading.Thread(target=force, name="escape-lsp-exit-deadline", daemon=True).start()

    def on_signal(self, signum: int, frame: Any) -> None:
        """Runs in the main thread even while the loop is blocked writing to a full pipe."""
        self.start_deadline(0)
        with contextlib.suppress(RuntimeError):  # the loop already closed: ending anyway
            self.loop.call_soon_threadsafe(self.end, 0)


def _after(previous: Any, handler: Callable[[int, Any], None]) -> Callable[[int, Any], None]:
    """`handler`, run after a Python handler someone installed before (e.g. the terminal's
    Ctrl-C, which decides the exit status), so neither is lost."""
    if not callable(previous) or previous is signal.default_int_handler:
        return handler

    def both(signum: int, frame: Any) -> None:
        previous(signum, frame)
        handler(signum, frame)

    return both


def serve_stdio(
    server: LanguageServer,
    last_words: Callable[[], None],
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
) -> int:
    """Serve until `exit`, end of input, SIGTERM or SIGINT; the process's exit code.

    `last_words` (kill go processes, remove the private dir) must be quick and safe to call
    twice: it also runs from the deadline thread if the orderly end takes too long.
    """
    protocol = server.protocol
    if not isinstance(protocol, GuardedProtocol):
        raise TypeError("serve_stdio needs a server built with protocol_cls=GuardedProtocol")
    fd = (stdin or sys.stdin.buffer).fileno()

    async def main() -> int:
        loop = asyncio.get_running_loop()
        ending = _Ending(loop, last_words)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _after(signal.getsignal(sig), ending.on_signal))
        protocol.on_exit = ending.end
        protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        reader = FrameReader()
        threading.Thread(
            target=_read_stdin, args=(fd, loop, reader), name="escape-lsp-stdin", daemon=True
        ).start()
        pump = asyncio.create_task(_pump(reader, protocol))
        pump.add_done_callback(lambda _: ending.end(0))
        try:
            return await ending.done
        finally:
            pump.cancel()

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(main())
    except BrokenPipeError:
        log.warning("the client closed the connection")
        return 0
    finally:
        last_words()  # go processes die first, so the tasks awaiting them end at once
        _close(loop)


def _close(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what still runs and close the loop, waiting a bounded time (asyncio.run waits
    forever, e.g. for a subprocess cancelled while it was being created)."""
    loop.set_exception_handler(lambda _, context: log.debug("at exit: %s", context["message"]))
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.wait(tasks, timeout=CANCEL_GRACE))
    with contextlib.suppress(Exception):
        loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
