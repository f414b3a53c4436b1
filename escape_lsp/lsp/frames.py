"""LSP base-protocol frames from stdin (stdlib only: a spawned server reads its first
messages with this before pygls is imported; `lsp/stdio.py` serves with it after).

Frames with a wrong Content-Length are recovered from at the next header instead of making the
server deaf.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading

from escape_lsp.lsp.framing import HEADER_LINE, LENGTH_LINE, SHORT_BODY_GRACE, frame

log = logging.getLogger("escape_lsp.stdio")

#: A Content-Length header line where it stands in the stream (with its CR LF).
_LENGTH_LINE = re.compile(LENGTH_LINE.pattern + rb"\r\n", re.IGNORECASE)


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

    def unread(self, bodies: list[bytes]) -> None:
        """Put frames with these bodies back in front of what is still unread (the messages a
        first publish read before the server existed: `lsp/first_publish.py`)."""
        self._buf[:0] = b"".join(frame(body) for body in bodies)
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
        if any(line.strip() and not HEADER_LINE.match(line) for line in lines):
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


def read_stdin(fd: int, loop: asyncio.AbstractEventLoop, reader: FrameReader) -> None:
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


class Reading:
    """stdin read by a daemon thread into a `FrameReader` on `loop`. Started before the server
    exists (a first publish reads its first messages with it) and handed to it, so no byte is
    read twice or lost."""

    def __init__(self, fd: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.reader = FrameReader()
        threading.Thread(
            target=read_stdin,
            args=(fd, self.loop, self.reader),
            name="escape-lsp-stdin",
            daemon=True,
        ).start()
