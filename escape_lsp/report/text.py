"""Terminal text: one line per finding, with the flow and likely fix under it on request.

Findings whose flows end at the same place are printed under that place (their root cause).
With measured evidence, each line carries its cost, and `sort="weight"` leads with the hottest;
allocations no finding accounts for are listed after them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from escape_lsp.analysis.causes import Cause, causes_by_member, find_causes, finding_key
from escape_lsp.analysis.check import CheckReport
from escape_lsp.analysis.explain import likely_fix
from escape_lsp.findings.model import HEAP_KINDS, Finding, Kind, Span
from escape_lsp.report.flow import flow_sections
from escape_lsp.report.weights import (
    bench_figures,
    objects_text,
    share_text,
    size_text,
    weight_tag,
)

if TYPE_CHECKING:  # (evidence is imported when there is some: `--bench`, `--profile`)
    from escape_lsp.analysis.evidence import Joined, Weight

#: How many allocation sites without a finding the text lists.
UNMATCHED_SHOWN = 10


def relative(path: str) -> str:
    """Paths relative to the working directory, unless that climbs far out of it."""
    return _relative(path, os.getcwd())


@lru_cache(maxsize=4096)
def _relative(path: str, cwd: str) -> str:
    rel = os.path.relpath(path, cwd)
    return path if rel.startswith("../../") else rel


def location(file: str, span: Span) -> str:
    return f"{relative(file)}:{span.start_line + 1}:{span.start_col + 1}"


def _cost(w: Weight | None, measured: bool) -> str:
    if w is not None:
        return f"  [{weight_tag(w)}]"
    return "  [not in profile]" if measured else ""


def finding_lines(f: Finding, explain: bool, joined: Joined | None = None) -> list[str]:
    fn = f" (in {f.function})" if f.function else ""
    if f.inlined_from:
        fn += f" inside inlined call to {f.inlined_from}"
    measured = joined is not None and f.kind in HEAP_KINDS and joined.measured(f.file)
    cost = _cost(joined.weight(f), measured) if joined is not None else ""
    lines = [f"{location(f.file, f.span)}: {f.kind.value}: {f.message}{fn}{cost}"]
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


def cause_lines(
    c: Cause, explain: bool, joined: Joined | None, sort: str = "position"
) -> list[str]:
    """The sink, then each finding that escapes through it, indented under it."""
    fn = f" (in {c.function})" if c.function else ""
    cost = ""
    if joined is not None:
        from escape_lsp.analysis.evidence import combined_weight

        cost = _cost(combined_weight(c.members, joined), joined.measured(c.file))
    lines = [f"{location(c.file, c.span)}: cause: {c.subject} — {c.summary}{fn}{cost}"]
    for f in _ordered(c.members, joined, sort):
        assert isinstance(f, Finding)
        lines.extend("    " + line for line in finding_lines(f, explain, joined))
    return lines


def _position(entry: Finding | Cause) -> tuple[str, int, int]:
    span = entry.span
    return (entry.file, span.start_line, span.start_col)


def _ordered(
    entries: Sequence[Finding | Cause], joined: Joined | None, sort: str
) -> list[Finding | Cause]:
    if sort != "weight" or joined is None:
        return sorted(entries, key=_position)
    from escape_lsp.analysis.evidence import combined_weight

    def hottest(entry: Finding | Cause) -> tuple[int, int, str, int, int]:
        members = entry.members if isinstance(entry, Cause) else (entry,)
        w = combined_weight(members, joined)
        heat = (-w.bytes, -w.objects) if w is not None else (1, 0)
        return (*heat, *_position(entry))

    return sorted(entries, key=hottest)


def evidence_lines(joined: Joined, sort: str) -> list[str]:
    """What was measured: each benchmark's figures, and the profile's totals."""
    ev = joined.evidence
    lines = [f"measured: {b.name} ({b.package}) — {bench_figures(b)}" for b in ev.benchmarks]
    ranked = "; findings ranked by their share, hottest first" if sort == "weight" else ""
    lines.append(
        f"profile: {ev.label} — {size_text(ev.total_bytes)} in "
        f"{objects_text(ev.total_objects)} allocated{ranked}"
    )
    return [*lines, ""]


def unmatched_lines(joined: Joined) -> list[str]:
    """Allocation sites that no finding accounts for, hottest first."""
    sites = joined.unmatched
    if not sites:
        return []
    lines = ["", "allocations with no heap finding (runtime, other modules, code not analysed):"]
    for s in sites[:UNMATCHED_SHOWN]:
        where = f"{relative(s.file)}:{s.line}" if s.file else "?"
        w = s.weight
        lines.append(
            f"  {share_text(w.share):>6}  {size_text(w.bytes):>10}  {objects_text(w.objects)}"
            f"  {s.function}  {where}"
        )
    if len(sites) > UNMATCHED_SHOWN:
        lines.append(f"  … {len(sites) - UNMATCHED_SHOWN} more sites")
    return lines


def report_text(
    report: CheckReport,
    kinds: frozenset[Kind],
    explain: bool,
    joined: Joined | None = None,
    sort: str = "position",
) -> str:
    lines = [f"{b.package}: escape analysis blocked: {b.summary}" for b in report.blocked]
    if joined is not None:
        lines.extend(evidence_lines(joined, sort))
    shown = [f for f in report.findings if f.kind in kinds]
    causes = find_causes(shown)
    grouped = causes_by_member(causes)
    entries: list[Finding | Cause] = [*causes]
    entries.extend(f for f in shown if finding_key(f) not in grouped)
    for entry in _ordered(entries, joined, sort):
        if isinstance(entry, Cause):
            lines.extend(cause_lines(entry, explain, joined, sort))
        else:
            lines.extend(finding_lines(entry, explain, joined))
    lines.extend(f"{location(v.file, v.span)}: {v.message}" for v in report.violations)
    if joined is not None:
        lines.extend(unmatched_lines(joined))
    return "\n".join(lines)
