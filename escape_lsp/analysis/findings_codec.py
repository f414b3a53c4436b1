"""Findings as plain tuples (and back), for the on-disk memo: `marshal` reads those several
times faster than `pickle` reads the objects, and the data stays inspectable."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from escape_lsp.findings.model import Finding, FlowStep, Kind, Span

_KINDS = {k.value: k for k in Kind}

Row = tuple[Any, ...]


def encode(findings: Iterable[Finding]) -> tuple[Row, ...]:
    return tuple(
        (
            f.kind.value,
            f.file,
            tuple(f.span),
            f.message,
            f.subject,
            f.function,
            tuple(
                (s.file, tuple(s.span), s.subject, s.reason, s.edge, _span(s.point)) for s in f.flow
            ),
            f.cost,
            f.leak_to,
            tuple(f.detail.items()),
            f.inlined_from,
            _span(f.point),
        )
        for f in findings
    )


def _span(span: Span | None) -> tuple[int, ...] | None:
    return tuple(span) if span is not None else None


def decode(rows: Iterable[Row]) -> tuple[Finding, ...]:
    """The findings `encode` saw; ValueError/TypeError/KeyError for anything else."""
    out: list[Finding] = []
    append = out.append
    span_of = Span._make
    step_of = FlowStep
    kinds = _KINDS
    for kind, file, span, message, subject, fn, flow, cost, leak_to, detail, inl, point in rows:
        steps = (
            tuple(
                [
                    step_of(sf, span_of(ss), sj, why, edge, span_of(sp) if sp else None)
                    for sf, ss, sj, why, edge, sp in flow
                ]
            )
            if flow
            else ()
        )
        append(
            Finding(
                kinds[kind],
                file,
                span_of(span),
                message,
                subject,
                fn,
                steps,
                cost,
                leak_to,
                dict(detail) if detail else {},
                inl,
                span_of(point) if point is not None else None,
            )
        )
    return tuple(out)
