"""The documented `--format json` contract (see README): plain dicts, LSP-style ranges in UTF-16."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from escape_lsp.analysis.causes import Cause, causes_by_member, find_causes, finding_key
from escape_lsp.analysis.check import CheckReport
from escape_lsp.analysis.evidence import Joined, Weight, rank_key
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


def weight_data(w: Weight) -> dict[str, object]:
    return {"bytes": w.bytes, "objects": w.objects, "share": round(w.share, 4)}


def cause_data(c: Cause, ranges: Ranges) -> dict[str, object]:
    """The sink a finding's flow ends at, shared with other findings (`findings`: how many)."""
    return {
        "file": c.file,
        "range": ranges(c.file, c.span),
        "message": f"{c.subject} ({c.reason})",
        "findings": len(c.members),
    }


def evidence_data(joined: Joined) -> dict[str, object]:
    """What was measured: benchmark figures, profile totals, sites no finding accounts for."""
    ev = joined.evidence
    return {
        "source": ev.label,
        "total_bytes": ev.total_bytes,
        "total_objects": ev.total_objects,
        "benchmarks": [
            {
                "package": b.package,
                "name": b.name,
                "iterations": b.iterations,
                "ns_per_op": b.ns_per_op,
                "bytes_per_op": b.bytes_per_op,
                "allocs_per_op": b.allocs_per_op,
            }
            for b in ev.benchmarks
        ],
        "unmatched": [
            {"function": s.function, "file": s.file, "line": s.line, **weight_data(s.weight)}
            for s in joined.unmatched
        ],
    }


def report_data(
    report: CheckReport,
    kinds: frozenset[Kind],
    joined: Joined | None = None,
    sort: str = "position",
) -> dict[str, object]:
    ranges = utf16_ranges(report)
    blocked = [
        {
            "package": b.package,
            "errors": [str(e) for e in b.errors],
            **({"because_of": b.because_of} if b.because_of else {}),
        }
        for b in report.blocked
    ]
    shown = [f for f in report.findings if f.kind in kinds]
    if sort == "weight":
        shown.sort(key=lambda f: rank_key(f, joined))  # stable: position among equals
    causes = causes_by_member(find_causes(shown))
    findings = []
    for f in shown:
        item = finding_data(f, ranges)
        w = joined.weight(f) if joined is not None else None
        if w is not None:
            item["weight"] = weight_data(w)
        cause = causes.get(finding_key(f))
        if cause is not None:
            item["cause"] = cause_data(cause, ranges)
        findings.append(item)
    violations = [
        {
            "file": v.file,
            "range": ranges(v.file, v.span),
            "directive": v.directive,
            "message": v.message,
        }
        for v in report.violations
    ]
    data: dict[str, object] = {"findings": findings, "blocked": blocked, "violations": violations}
    if joined is not None:
        data["evidence"] = evidence_data(joined)
    return data
