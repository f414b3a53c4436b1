"""Findings' byte spans to LSP ranges in the negotiated position encoding, and URIs."""

from __future__ import annotations

from lsprotocol import types as lsp

from escape_lsp.findings.model import Span
from escape_lsp.findings.positions import Encoding, LineIndex
from escape_lsp.lsp.wire import encoding_of, path_to_uri, uri_to_path

__all__ = ["encoding_of", "path_to_uri", "to_range", "to_span", "uri_to_path"]


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
