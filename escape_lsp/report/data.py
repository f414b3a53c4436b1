"""The documented `--format json` contract (see README): plain dicts, LSP-style ranges in UTF-16."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from escape_lsp.analysis.check import CheckReport
from escape_lsp.analysis.explain import likely_fix
from escape_lsp.findings.model import Finding, Kind, Span
from escape_lsp.findings.positions import Encoding
from escape_lsp.findings.syntax import GoSource

Range = dict[str, dict[str, int]]
Ranges = Callable[[str, Span], Range]


def utf16_ranges(report: CheckReport) -> Ranges:
    """Byte spans to `{"start": {"line", "character"}, "end": …}` in UTF-16 code units."""
    return source_ranges(report.sources)


def source_ranges(sources: Mapping[str, GoSource]) -> Ranges:
    """`utf16_ranges` for any set of parsed files."""

    def convert(file: str, span: Span) -> Range:
        src = sources.get(file)

        def pos(line: int, col: int) -> dict[str, int]:
            char = src.lines.column(line, col, Encoding.UTF16) if src else col
            return {"line": line, "character": char}

        return {
            "start": pos(span.start_line, span.start_col),
            "end": pos(span.end_line, span.end_col),
        }

    return convert


def finding_data(f: Finding, ranges: Ranges) -> dict[str, object]:
    item: dict[str, object] = {
        "file": f.file,
        "range": ranges(f.file, f.span),
        "kind": f.kind.value,
        "message": f.message,
    }
    if f.function:
        item["function"] = f.function
    if f.inlined_from:
        item["inlined_from"] = f.inlined_from
    item["flow"] = [
        {"file": s.file, "range": ranges(s.file, s.span), "message": s.message} for s in f.flow
    ]
    fix = likely_fix(f)
    if fix:
        item["likely_fix"] = fix
    return item


def report_data(report: CheckReport, kinds: frozenset[Kind]) -> dict[str, object]:
    ranges = utf16_ranges(report)
    blocked = [
        {
            "package": b.package,
            "errors": [str(e) for e in b.errors],
            **({"because_of": b.because_of} if b.because_of else {}),
        }
        for b in report.blocked
    ]
    findings = [finding_data(f, ranges) for f in report.findings if f.kind in kinds]
    violations = [
        {
            "file": v.file,
            "range": ranges(v.file, v.span),
            "directive": v.directive,
            "message": v.message,
        }
        for v in report.violations
    ]
    return {"findings": findings, "blocked": blocked, "violations": violations}
