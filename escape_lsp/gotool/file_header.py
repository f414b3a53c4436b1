"""The part of a Go file `go list` reads: what lies before the package clause (build
constraints), the package clause and the import declarations (with cgo's preamble, the comment
before `import "C"`). An edit past it cannot change a listing, so the package graph on disk
stays valid (see `analysis/graph_memo.py`).

A file that imports "embed" is also read for its `//go:embed` lines, wherever they are (go
reports their patterns with their positions): those lines, with their line numbers, are part
of it. A file whose start is not a package clause and imports as this reader knows them counts
whole: when unsure, the whole file counts.
"""

from __future__ import annotations

import re

_BLANK = frozenset(b" \t\r\n;")  # `;` separates declarations as a newline does
_EMBED = (b'"embed"', b"`embed`")
_BOM = b"\xef\xbb\xbf"
#: A `//go:embed` directive as go finds it: a line comment starting its line. (One inside a
#: raw string or a block comment counts too: more of the file, never less.)
_EMBED_LINE = re.compile(rb"^[ \t]*//go:embed\b.*$", re.MULTILINE)


def listing_part(data: bytes) -> bytes:
    """`data` up to the end of its last import declaration (or package clause), plus its
    numbered `//go:embed` lines when it imports "embed"; or all of it."""
    end = header_end(data)
    if end is None:
        return data
    head = data[:end]
    if not any(name in head for name in _EMBED):
        return head
    parts, line, counted = [head], 0, 0
    for m in _EMBED_LINE.finditer(data, end):
        line += data.count(b"\n", counted, m.start())
        counted = m.start()
        parts.append(b"\n%d:%s" % (line, m.group()))
    return b"".join(parts)


def header_end(data: bytes) -> int | None:
    """Where the package clause and the import declarations end; None when unsure."""
    reader = _Reader(data)
    if data.startswith(_BOM):
        reader.i = len(_BOM)
    if not reader.skip() or reader.word() != b"package":
        return None
    if not reader.skip() or not reader.word():
        return None
    end = reader.i
    while True:
        if not reader.skip() or not (reader.ended or reader.i == len(data)):
            return None  # go would report a syntax error here, which this does not know
        if reader.word() != b"import":
            return end
        if not reader.import_decl():
            return None
        end = reader.i


class _Reader:
    """A cursor over a file's first declarations; every method leaves it after what it read."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.i = 0
        #: The last `skip` passed a newline or `;`: what came before it is a whole declaration.
        self.ended = False

    def skip(self) -> bool:
        """Past blanks and comments; False inside an unterminated comment."""
        data, i, n = self.data, self.i, len(self.data)
        ended = False
        while i < n:
            if data[i] in _BLANK:
                ended = ended or data[i] in b"\n;"
                i += 1
            elif data.startswith(b"//", i):
                j = data.find(b"\n", i)
                i = n if j < 0 else j + 1
                ended = ended or j >= 0
            elif data.startswith(b"/*", i):
                j = data.find(b"*/", i + 2)
                if j < 0:
                    return False
                ended = ended or b"\n" in data[i:j]
                i = j + 2
            else:
                break
        self.i = i
        self.ended = ended
        return True

    def word(self) -> bytes:
        """An identifier (or b"")."""
        data, start = self.data, self.i
        i = start
        while i < len(data) and (data[i] == 0x5F or data[i] >= 0x80 or chr(data[i]).isalnum()):
            i += 1
        self.i = i
        return data[start:i]

    def string(self) -> bool:
        """An interpreted or raw string literal."""
        data, i = self.data, self.i
        if data.startswith(b"`", i):
            j = data.find(b"`", i + 1)
        elif data.startswith(b'"', i):
            j = i + 1
            while j < len(data) and data[j] not in b'"\n':
                j += 2 if data[j] == 0x5C else 1  # a backslash escapes the next byte
            if j >= len(data) or data[j] != 0x22:
                return False
        else:
            return False
        if j < 0:
            return False
        self.i = j + 1
        return True

    def spec(self) -> bool:
        """`[name|.|_] "path"`."""
        if self.data.startswith(b".", self.i):
            self.i += 1
        else:
            self.word()
        return self.skip() and self.string()

    def import_decl(self) -> bool:
        """After `import`: one spec, or a parenthesised list of them."""
        if not self.skip():
            return False
        if not self.data.startswith(b"(", self.i):
            return self.spec()
        self.i += 1
        while self.skip():
            if self.data.startswith(b")", self.i):
                self.i += 1
                return True
            if not self.spec():
                return False
        return False
