"""A finding's flow as the compiler groups it, in the words every renderer uses."""

from __future__ import annotations

from dataclasses import dataclass

from escape_lsp.analysis.explain import describe_reason
from escape_lsp.findings.model import Finding, Span


@dataclass(frozen=True)
class FlowRow:
    """One numbered step: `2. &t — its address is taken` at file:span."""

    number: int
    subject: str
    reason: str
    file: str
    span: Span


@dataclass(frozen=True)
class FlowSection:
    """One `flow: dst ← src` edge of the compiler's explanation and its steps."""

    edge: str
    rows: tuple[FlowRow, ...]


def flow_sections(finding: Finding) -> list[FlowSection]:
    sections: list[tuple[str, list[FlowRow]]] = []
    for number, step in enumerate(finding.flow, 1):
        if not sections or sections[-1][0] != step.edge:
            sections.append((step.edge, []))
        row = FlowRow(number, step.subject, describe_reason(step.reason), step.file, step.span)
        sections[-1][1].append(row)
    return [FlowSection(edge, tuple(rows)) for edge, rows in sections]
