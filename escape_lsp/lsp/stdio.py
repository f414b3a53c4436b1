"""Serving over stdio: reading frames, and ending cleanly however the end comes.

pygls reads stdin in a worker thread it joins on the way out, so a server told to stop
(SIGTERM, Ctrl-C) while the editor keeps stdin open never exits. Here stdin is read by a
daemon thread (`lsp/frames.py`), the server ends on `exit`, end of input, SIGTERM or SIGINT,
and a deadline makes sure the process is gone within two seconds even if a cleanup step hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, BinaryIO

from pygls.exceptions import JsonRpcParseError
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer

from escape_lsp.lsp.frames import FrameReader, Reading
from escape_lsp.lsp.protocol_guard import GuardedProtocol

log = logging.getLogger("escape_lsp.stdio")

#: How long the process may take to end once told to.
EXIT_DEADLINE = 1.8
#: How long tasks cancelled at the end may take to finish.
CANCEL_GRACE = 0.5


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


class AnsweredAlready:
    """The server's writer, less its answer to an `initialize` that a first publish answered
    (`lsp/first_publish.py`): the client has one answer already. Warns if the two differ."""

    def __init__(self, writer: StdoutWriter, msg_id: Any, sent: Any) -> None:
        self.writer, self.msg_id, self.sent = writer, msg_id, sent
        self.pending = True

    def write(self, data: bytes) -> None:
        if self.pending:
            try:
                message = json.loads(data[data.find(b"\r\n\r\n") + 4 :])
            except ValueError:
                message = None
            is_answer = isinstance(message, dict) and "method" not in message
            if is_answer and message.get("id") == self.msg_id:
                self.pending = False
                if message.get("result") != self.sent:
                    log.warning("the first answer to initialize differed from the server's")
                return
        self.writer.write(data)

    def close(self) -> None:
        self.writer.close()  # type: ignore[no-untyped-call]


def serve_stdio(
    server: LanguageServer,
    last_words: Callable[[], None],
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    reading: Reading | None = None,
    answered: tuple[Any, Any] | None = None,
) -> int:
    """Serve until `exit`, end of input, SIGTERM or SIGINT; the process's exit code.

    `last_words` (kill go processes, remove the private dir) must be quick and safe to call
    twice: it also runs from the deadline thread if the orderly end takes too long. `reading`
    is stdin as a first publish left it (its messages put back to be read again), `answered`
    the id of the `initialize` it answered and the result it sent.
    """
    protocol = server.protocol
    if not isinstance(protocol, GuardedProtocol):
        raise TypeError("serve_stdio needs a server built with protocol_cls=GuardedProtocol")
    if reading is None:
        reading = Reading((stdin or sys.stdin.buffer).fileno())

    async def main() -> int:
        loop = asyncio.get_running_loop()
        ending = _Ending(loop, last_words)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _after(signal.getsignal(sig), ending.on_signal))
        protocol.on_exit = ending.end
        writer = StdoutWriter(stdout or sys.stdout.buffer)
        protocol.set_writer(writer if answered is None else AnsweredAlready(writer, *answered))
        pump = asyncio.create_task(_pump(reading.reader, protocol))
        pump.add_done_callback(lambda _: ending.end(0))
        try:
            return await ending.done
        finally:
            pump.cancel()

    loop = reading.loop
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
