"""Hover: what escapes and why — the flow as a numbered path with links — and the likely fix."""

from __future__ import annotations

from lsprotocol import types as lsp

from escape_lsp.analysis.causes import finding_key
from escape_lsp.analysis.views import FileView
from escape_lsp.findings.model import Span
from escape_lsp.findings.positions import Encoding
from escape_lsp.lsp import root_causes
from escape_lsp.lsp.config import ServerSettings
from escape_lsp.lsp.convert import path_to_uri, to_range
from escape_lsp.report.markdown import cause_markdown, finding_markdown


def _link(file: str, span: Span) -> str:
    return f"{path_to_uri(file)}#L{span.start_line + 1},{span.start_col + 1}"


def hover(
    view: FileView, line: int, byte_col: int, encoding: Encoding, settings: ServerSettings
) -> lsp.Hover | None:
    hits = [
        f for f in view.findings if f.kind in settings.kinds and f.span.contains(line, byte_col)
    ]
    causes = root_causes.view_causes(view, settings)
    sinks = [c for c in causes if c.file == view.path and c.span.contains(line, byte_col)]
    if not hits and not sinks:
        return None
    lines = view.source.lines if view.source else None
    grouped = root_causes.member_index(causes)
    parts = [cause_markdown(c, _link, view.evidence) for c in sinks]
    parts += [finding_markdown(f, _link, view.evidence, grouped.get(finding_key(f))) for f in hits]
    return lsp.Hover(
        contents=lsp.MarkupContent(lsp.MarkupKind.Markdown, "\n\n---\n\n".join(parts)),
        range=to_range(lines, (sinks[0] if sinks else hits[0]).span, encoding),
    )
