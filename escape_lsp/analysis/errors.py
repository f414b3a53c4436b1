"""Failures every entry point treats alike: the go command or the file system let us down.

These are expected in the field (a timeout, a vanished go binary, an unreadable file) and are
reported as data — a log line, an "unavailable" note — never as a crash. Anything else is a bug,
logged with its traceback once per feature.
"""

from __future__ import annotations

from escape_lsp.gotool.process import GoTimeout
from escape_lsp.gotool.toolchain import ToolchainError


class MeasureError(Exception):
    """A measurement could not be made; the message says why in one paragraph. (Here, not in
    `measure.py`, so `check` can catch it without importing the measuring.)"""


#: Caught together wherever a go command or the disk is used.
EXPECTED_FAILURES: tuple[type[Exception], ...] = (GoTimeout, ToolchainError, OSError)
