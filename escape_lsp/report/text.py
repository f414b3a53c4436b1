"""Terminal text: one line per finding, with the flow and likely fix under it on request."""

from __future__ import annotations

import os
from functools import lru_cache

from escape_lsp.analysis.check import CheckReport
from escape_lsp.analysis.explain import likely_fix
from escape_lsp.findings.model import Finding, Kind, Span
from escape_lsp.report.flow import flow_sections


def relative(path: str) -> str:
    """Paths relative to the working directory, unless that climbs far out of it."""
    return _relative(path, os.getcwd())


@lru_cache(maxsize=4096)
def _relative(path: str, cwd: str) -> str:
    rel = os.path.relpath(path, cwd)
    return path if rel.startswith("../../") else rel


def location(file: str, span: Span) -> str:
    return f"{relative(file)}:{span.start_line + 1}:{span.start_col + 1}"


def finding_lines(f: Finding, explain: bool) -> list[str]:
    fn = f" (in {f.function})" if f.function else ""
    if f.inlined_from:
        fn += f" inside inlined call to {f.inlined_from}"
    lines = [f"{location(f.file, f.span)}: {f.kind.value}: {f.message}{fn}"]
    if not explain:
        return lines
    for section in flow_sections(f):
        lines.append(f"    flow: {section.edge}")
        for r in section.rows:
            lines.append(
                f"      {r.number}. {r.subject} — {r.reason}  [{location(r.file, r.span)}]"
            )
    fix = likely_fix(f)
    if fix:
        lines.append(f"    likely fix: {fix}")
    return lines


def report_text(report: CheckReport, kinds: frozenset[Kind], explain: bool) -> str:
    lines = [f"{b.package}: escape analysis blocked: {b.summary}" for b in report.blocked]
    for f in report.findings:
        if f.kind in kinds:
            lines.extend(finding_lines(f, explain))
    lines.extend(f"{location(v.file, v.span)}: {v.message}" for v in report.violations)
    return "\n".join(lines)
