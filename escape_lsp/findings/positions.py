"""Byte columns (what the compiler prints) to editor columns (what LSP wants).

The compiler counts 1-based bytes; LSP counts 0-based code units of the negotiated encoding:
UTF-16 by default, or UTF-8 / UTF-32 when client and server agree on them.
"""

from __future__ import annotations

from bisect import bisect_right
from enum import StrEnum
from itertools import accumulate


class Encoding(StrEnum):
    UTF8 = "utf-8"
    UTF16 = "utf-16"
    UTF32 = "utf-32"


def units(text: str, encoding: Encoding) -> int:
    """Length of `text` in code units of `encoding`."""
    if encoding is Encoding.UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding is Encoding.UTF32:
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


class LineIndex:
    """Line starts of one file's bytes, for exact byte <-> code-unit conversion."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        # Each line's start: the running sum of the lengths before it, newline included (C
        # loops only: a 5 MB file has ~100k lines).
        lengths = map((1).__add__, map(len, data.split(b"\n")[:-1]))
        self.starts = list(accumulate(lengths, initial=0))
        #: All ASCII (most Go files): every column is its byte count, in any encoding.
        self.ascii = data.isascii()

    @property
    def line_count(self) -> int:
        return len(self.starts)

    def line_bytes(self, line: int) -> bytes:
        """The line's bytes without its newline (and without a CR before it)."""
        if line < 0 or line >= len(self.starts):
            return b""
        start = self.starts[line]
        return self.data[start : start + self.line_length(line)]

    def line_length(self, line: int) -> int:
        """`len(self.line_bytes(line))` for a line that exists, without copying it."""
        starts = self.starts
        start = starts[line]
        end = starts[line + 1] - 1 if line + 1 < len(starts) else len(self.data)
        if end > start and self.data[end - 1] == 0x0D:  # a CR before the newline
            end -= 1
        return end - start

    def offset(self, line: int, byte_col: int) -> int:
        """Absolute byte offset of (0-based line, 0-based byte column), clamped to the line."""
        line = min(max(line, 0), len(self.starts) - 1)
        return self.starts[line] + min(max(byte_col, 0), self.line_length(line))

    def position(self, offset: int) -> tuple[int, int]:
        """(line, byte column) of an absolute byte offset."""
        line = bisect_right(self.starts, offset) - 1
        return line, offset - self.starts[line]

    def column(self, line: int, byte_col: int, encoding: Encoding) -> int:
        """Code units of `encoding` before `byte_col` on `line` (clamped to the line's end)."""
        if self.ascii or encoding is Encoding.UTF8:
            if line < 0 or line >= len(self.starts):
                return 0
            return min(max(byte_col, 0), self.line_length(line))
        prefix = self.line_bytes(line)[: max(byte_col, 0)]
        if prefix.isascii():  # one unit per byte
            return len(prefix)
        return units(prefix.decode("utf-8", "replace"), encoding)

    def byte_column(self, line: int, column: int, encoding: Encoding) -> int:
        """The inverse of `column`: code units of `encoding` to a byte column."""
        raw = self.line_bytes(line)
        if encoding is Encoding.UTF8:
            return min(column, len(raw))
        text = raw.decode("utf-8", "replace")
        count = 0
        for i, ch in enumerate(text):
            if count >= column:
                return len(text[:i].encode("utf-8"))
            count += 2 if encoding is Encoding.UTF16 and ord(ch) > 0xFFFF else 1
        return len(raw)
