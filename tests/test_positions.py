"""Byte columns to LSP columns, exact with tabs, Chinese text and emoji before the position."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from escape_lsp.analysis.engine import Engine
from escape_lsp.analysis.settings import AnalysisSettings
from escape_lsp.findings.model import Kind
from escape_lsp.findings.positions import Encoding, LineIndex
from escape_lsp.gotool.toolchain import find_toolchain, module_context
from tests.conftest import WriteModule

LINE = '\ts := "中文🙂"; p := &T{}\n'


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [(Encoding.UTF8, 25), (Encoding.UTF16, 19), (Encoding.UTF32, 18)],
)
def test_column_counts_code_units(encoding: Encoding, expected: int) -> None:
    data = LINE.encode()
    byte_col = data.index(b"&T{}")
    idx = LineIndex(data)
    assert idx.column(0, byte_col, encoding) == expected
    assert idx.byte_column(0, expected, encoding) == byte_col


def test_line_index_handles_crlf_and_out_of_range() -> None:
    idx = LineIndex(b"a\r\nbc\n")
    assert idx.line_bytes(0) == b"a" and idx.line_bytes(1) == b"bc"
    assert idx.column(0, 99, Encoding.UTF16) == 1
    assert idx.position(idx.offset(1, 1)) == (1, 1)
    assert idx.line_bytes(7) == b""


@pytest.mark.parametrize("encoding", list(Encoding))
def test_ascii_files_count_bytes_in_every_encoding(encoding: Encoding) -> None:
    """The all-ASCII shortcut answers as decoding each line would, clamping included."""
    data = b"package p\r\n\n\tx := &T{}\r\nvar s = 1"
    idx, ref = LineIndex(data), LineIndex(data + "\n// é".encode())  # ref: not all ASCII
    assert idx.ascii and not ref.ascii
    for line in (-1, 0, 1, 2, 3, 9):
        for col in range(-1, 14):
            assert idx.column(line, col, encoding) == ref.column(line, col, encoding)


def test_real_compiler_positions_with_unicode(gomod: WriteModule) -> None:
    root = gomod(
        {
            "u/u.go": """
            package u

            type T struct{ s string }

            func F() *T {
            \ts := "中文🙂"; p := &T{s: s} // 注释
            \treturn p
            }
            """
        }
    )
    toolchain = find_toolchain()
    engine = Engine(toolchain, module_context(toolchain, str(root)), AnalysisSettings())
    results = asyncio.run(engine.analyze(["example.com/m/u"]))
    engine.close()
    (finding,) = [f for f in results["example.com/m/u"].findings if f.kind is Kind.ESCAPES_TO_HEAP]
    data = (root / "u" / "u.go").read_bytes()
    idx = LineIndex(data)
    line = data.splitlines()[finding.span.start_line].decode()
    start16 = idx.column(finding.span.start_line, finding.span.start_col, Encoding.UTF16)
    end16 = idx.column(finding.span.end_line, finding.span.end_col, Encoding.UTF16)
    # Python str indexes are code points; every char before is in the BMP except the emoji.
    utf16 = line.encode("utf-16-le")
    assert utf16[start16 * 2 : end16 * 2].decode("utf-16-le") == "&T{s: s}"
    start32 = idx.column(finding.span.start_line, finding.span.start_col, Encoding.UTF32)
    assert line[start32:].startswith("&T{s: s}")
    assert Path(finding.file) == root / "u" / "u.go"
