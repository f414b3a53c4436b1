"""Root causes: heap findings whose flows end at the same place are one problem.

The compiler explains each verdict separately, so one assignment to a global (`lastLine = buf`)
shows up as four `append escapes to heap` findings, one per append into the buffer. Their flows
all end at that assignment: the last step of a flow is where the value finally reaches the heap
(or the result that takes it there). Grouping by that step presents the one fix instead of four
symptoms. Every finding stays a finding; a cause only points at them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from escape_lsp.findings.model import HEAP_KINDS, Finding, Span

#: The last step's reason -> what the sink is, in the words of "escape through this …".
_NOUNS = {
    "assign": "assignment",
    "assign-pair": "assignment",
    "return": "return",
    "call parameter": "call",
    "send": "send",
    "interface-converted": "conversion",
    "captured by a closure": "closure",
    "slice-literal-element": "slice literal",
    "struct literal element": "struct literal",
    "map literal element": "map literal",
    "key of map put": "map store",
    "value of map put": "map store",
    "defer func": "defer",
    "go func": "go statement",
}

#: How a finding is told apart from others (the same key the CLI deduplicates by).
FindingKey = tuple[str, Span, str]


def finding_key(f: Finding) -> FindingKey:
    return (f.file, f.at, f.message)


@dataclass(frozen=True)
class Cause:
    """The place several heap findings' flows end, and those findings (by position)."""

    file: str
    span: Span
    #: The step's text, e.g. `lastLine = buf`.
    subject: str
    #: The compiler's flow reason there, e.g. `assign`.
    reason: str
    members: tuple[Finding, ...]

    @property
    def noun(self) -> str:
        return _NOUNS.get(self.reason, "step")

    @property
    def function(self) -> str | None:
        names = {f.function for f in self.members if f.function}
        return names.pop() if len(names) == 1 else None

    @property
    def summary(self) -> str:
        """`4 allocations escape through this assignment`."""
        return f"{len(self.members)} allocations escape through this {self.noun}"

    def sort_key(self) -> tuple[str, int, int]:
        return (self.file, self.span.start_line, self.span.start_col)


def find_causes(findings: Iterable[Finding]) -> list[Cause]:
    """Groups of two or more heap findings whose flows end at the same step, by position."""
    groups: dict[tuple[str, Span], dict[FindingKey, Finding]] = {}
    steps: dict[tuple[str, Span], tuple[str, str]] = {}
    for f in findings:
        if f.kind not in HEAP_KINDS or not f.flow:
            continue
        last = f.flow[-1]
        sink = (last.file, last.span)
        groups.setdefault(sink, {}).setdefault(finding_key(f), f)
        steps.setdefault(sink, (last.subject, last.reason))
    causes = []
    for (file, span), members in groups.items():
        if len(members) < 2:
            continue
        subject, reason = steps[(file, span)]
        ordered = tuple(sorted(members.values(), key=Finding.sort_key))
        causes.append(Cause(file, span, subject, reason, ordered))
    causes.sort(key=Cause.sort_key)
    return causes


def causes_by_member(causes: Iterable[Cause]) -> dict[FindingKey, Cause]:
    """Finding key -> the cause it belongs to."""
    return {finding_key(f): c for c in causes for f in c.members}
