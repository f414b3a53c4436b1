"""Hover: what escapes and why — the flow as a numbered path with links — and the likely fix."""

from __future__ import annotations

from lsprotocol import types as lsp

from escape_lsp.analysis.explain import describe_reason, flow_sections, likely_fix
from escape_lsp.analysis.session import FileView
from escape_lsp.findings.model import Finding
from escape_lsp.findings.positions import Encoding
from escape_lsp.lsp.config import ServerSettings
from escape_lsp.lsp.convert import path_to_uri, to_range


def _markdown(f: Finding) -> str:
    where = f" in `{f.function}`" if f.function else ""
    if f.inlined_from:
        where += f", inside inlined call to `{f.inlined_from}`"
    parts = [f"**{f.message}**{where}  \n*escape-lsp · `{f.kind.value}`*"]
    if f.flow:
        lines = []
        for edge, steps in flow_sections(f):
            lines.append(f"\n`{edge}`\n")
            for i, s in steps:
                link = f"{path_to_uri(s.file)}#L{s.span.start_line + 1},{s.span.start_col + 1}"
                lines.append(f"{i}. [`{s.subject}`]({link}) — {describe_reason(s.reason)}")
        parts.append("**Why** (the compiler's flow):\n" + "\n".join(lines))
    fix = likely_fix(f)
    if fix:
        parts.append(f"**Likely fix:** {fix}")
    return "\n\n".join(parts)


def hover(
    view: FileView, line: int, byte_col: int, encoding: Encoding, settings: ServerSettings
) -> lsp.Hover | None:
    hits = [
        f for f in view.findings if f.kind in settings.kinds and f.span.contains(line, byte_col)
    ]
    if not hits:
        return None
    lines = view.source.lines if view.source else None
    return lsp.Hover(
        contents=lsp.MarkupContent(
            lsp.MarkupKind.Markdown, "\n\n---\n\n".join(_markdown(f) for f in hits)
        ),
        range=to_range(lines, hits[0].span, encoding),
    )
