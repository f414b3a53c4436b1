"""What the CLI does differently when a person, not a program, is at the other end.

`check` draws a progress line on a terminal's stderr (never when piped); `serve` started from a
terminal says what it is and stops cleanly on Ctrl-C.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TextIO

SERVE_NOTICE = (
    "escape-lsp: speaking LSP on stdin/stdout — start it from your editor; Ctrl-C to stop"
)
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C

_ERASE = "\r\x1b[K"


class ProgressLine:
    """`escape-lsp: 12/40 packages analysed`, redrawn in place on a terminal, erased at the end."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.done = 0
        self.total = 0

    @staticmethod
    def for_stderr() -> ProgressLine | None:
        """A progress line when stderr is a terminal; None when it is piped or redirected."""
        return ProgressLine(sys.stderr) if sys.stderr.isatty() else None

    def start(self, total: int) -> None:
        self.done, self.total = 0, total
        self._draw()

    def advance(self, _package: str = "") -> None:
        self.done += 1
        self._draw()

    def close(self) -> None:
        self.stream.write(_ERASE)
        self.stream.flush()

    def _draw(self) -> None:
        noun = "package" if self.total == 1 else "packages"
        self.stream.write(f"{_ERASE}escape-lsp: {self.done}/{self.total} {noun} analysed")
        self.stream.flush()


def serve_from_terminal(serve: Callable[[], int]) -> int:
    """Run `serve` (stdio) for a person at a terminal: one line on stderr, Ctrl-C stops it.

    pygls reads stdin in a worker thread that Ctrl-C cannot interrupt: the first Ctrl-C was lost
    and the second ended in a traceback. So a daemon thread reads the terminal and feeds the
    server through a pipe; Ctrl-C closes that pipe, and the server sees the end of its input and
    shuts down exactly as when an editor goes away.
    """
    if os.name != "posix":
        print(SERVE_NOTICE, file=sys.stderr, flush=True)
        return serve()
    terminal = os.dup(0)
    server_in, feed = os.pipe()
    os.dup2(server_in, 0)
    os.close(server_in)
    wake_read, wake_write = os.pipe()
    interrupted = threading.Event()

    def pump() -> None:
        try:
            while True:
                ready, _, _ = select.select([terminal, wake_read], [], [])
                if wake_read in ready:
                    return
                data = os.read(terminal, 1 << 16)
                if not data:  # Ctrl-D
                    return
                os.write(feed, data)
        except OSError:
            return
        finally:
            os.close(feed)

    def on_interrupt(_signum: int, _frame: FrameType | None) -> None:
        if interrupted.is_set():  # a second Ctrl-C while shutting down: go now
            os._exit(EXIT_INTERRUPTED)
        interrupted.set()
        os.write(wake_write, b"\0")

    previous = signal.signal(signal.SIGINT, on_interrupt)
    threading.Thread(target=pump, name="escape-lsp-terminal", daemon=True).start()
    # Only now, with Ctrl-C handled: a person may press it as soon as they read this.
    print(SERVE_NOTICE, file=sys.stderr, flush=True)
    try:
        code = serve()
    finally:
        signal.signal(signal.SIGINT, previous)
    return EXIT_INTERRUPTED if interrupted.is_set() else code
