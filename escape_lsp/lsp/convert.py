"""Findings' byte spans to LSP ranges in the negotiated position encoding, and URIs."""

from __future__ import annotations

from functools import lru_cache

from lsprotocol import types as lsp
from pygls.uris import from_fs_path, to_fs_path

from escape_lsp.findings.model import Span
from escape_lsp.findings.positions import Encoding, LineIndex


def encoding_of(name: str | None) -> Encoding:
    try:
        return Encoding(str(name)) if name else Encoding.UTF16
    except ValueError:
        return Encoding.UTF16


def to_range(lines: LineIndex | None, span: Span, encoding: Encoding) -> lsp.Range:
    if lines is None:
        return lsp.Range(
            lsp.Position(span.start_line, span.start_col), lsp.Position(span.end_line, span.end_col)
        )
    return lsp.Range(
        lsp.Position(span.start_line, lines.column(span.start_line, span.start_col, encoding)),
        lsp.Position(span.end_line, lines.column(span.end_line, span.end_col, encoding)),
    )


def to_span(lines: LineIndex, rng: lsp.Range, encoding: Encoding) -> Span:
    return Span(
        rng.start.line,
        lines.byte_column(rng.start.line, rng.start.character, encoding),
        rng.end.line,
        lines.byte_column(rng.end.line, rng.end.character, encoding),
    )


def uri_to_path(uri: str) -> str | None:
    return to_fs_path(uri)


@lru_cache(maxsize=4096)
def path_to_uri(path: str) -> str:
    """Cached: every flow step of every diagnostic names a file."""
    return from_fs_path(path) or f"file://{path}"
