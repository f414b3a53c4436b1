"""Hover markdown: what escapes, why (the compiler's flow, numbered, linked) and the likely fix."""

from __future__ import annotations

from collections.abc import Callable

from escape_lsp.analysis.explain import likely_fix
from escape_lsp.findings.model import Finding, Span
from escape_lsp.report.flow import flow_sections

#: (file, span) -> a link target the client can open (the edge makes URIs).
Link = Callable[[str, Span], str]


def finding_markdown(f: Finding, link: Link) -> str:
    fn = f" in `{f.function}`" if f.function else ""
    if f.inlined_from:
        fn += f", inside inlined call to `{f.inlined_from}`"
    parts = [f"**{f.message}**{fn}  \n*escape-lsp · `{f.kind.value}`*"]
    if f.flow:
        lines = []
        for section in flow_sections(f):
            lines.append(f"\n`{section.edge}`\n")
            for r in section.rows:
                lines.append(f"{r.number}. [`{r.subject}`]({link(r.file, r.span)}) — {r.reason}")
        parts.append("**Why** (the compiler's flow):\n" + "\n".join(lines))
    fix = likely_fix(f)
    if fix:
        parts.append(f"**Likely fix:** {fix}")
    return "\n\n".join(parts)
