"""Hover markdown: what escapes, why (the compiler's flow, numbered, linked) and the likely fix."""

from __future__ import annotations

from collections.abc import Callable

from escape_lsp.analysis.causes import Cause
from escape_lsp.analysis.evidence import Joined, combined_weight
from escape_lsp.analysis.explain import likely_fix
from escape_lsp.findings.model import HEAP_KINDS, Finding, Span
from escape_lsp.report.flow import flow_sections
from escape_lsp.report.weights import not_seen_sentence, weight_sentence

#: (file, span) -> a link target the client can open (the edge makes URIs).
Link = Callable[[str, Span], str]


def measured_markdown(f: Finding, joined: Joined | None) -> str | None:
    """`measured: 41% of allocated bytes in BenchmarkFormat (1.2 GiB, 2.0 M objects)`."""
    if joined is None or f.kind not in HEAP_KINDS or not joined.measured(f.file):
        return None
    w = joined.weight(f)
    label = joined.evidence.label
    return weight_sentence(w, label) if w is not None else not_seen_sentence(label)


def finding_markdown(
    f: Finding, link: Link, joined: Joined | None = None, cause: Cause | None = None
) -> str:
    fn = f" in `{f.function}`" if f.function else ""
    if f.inlined_from:
        fn += f", inside inlined call to `{f.inlined_from}`"
    parts = [f"**{f.message}**{fn}  \n*escape-lsp · `{f.kind.value}`*"]
    measured = measured_markdown(f, joined)
    if measured:
        parts.append(f"**{measured}**")
    if cause is not None:
        parts.append(
            f"**Root cause:** its flow ends at [`{cause.subject}`]({link(cause.file, cause.span)})"
            f", where {cause.summary}."
        )
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


def cause_markdown(c: Cause, link: Link, joined: Joined | None = None) -> str:
    """The sink several findings escape through, with each of them linked."""
    parts = [f"**{c.summary}:** `{c.subject}`  \n*escape-lsp · root cause*"]
    if joined is not None and joined.measured(c.file):
        w = combined_weight(c.members, joined)
        label = joined.evidence.label
        parts.append(f"**{weight_sentence(w, label) if w else not_seen_sentence(label)}**")
    rows = [
        f"{i}. [`{f.message}`]({link(f.file, f.span)}) — line {f.line}"
        for i, f in enumerate(c.members, 1)
    ]
    parts.append("\n".join(rows))
    return "\n\n".join(parts)
