"""Findings as plain tuples (and back): what the compiled mapping returns, a forked
mapping child sends back and the on-disk memo stores; `marshal` reads those several
times faster than `pickle` reads the objects, and the data stays inspectable."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from escape_lsp.findings import native
from escape_lsp.findings.model import Finding, FlowStep, Kind, Span, shared_flow

_KINDS = {k.value: k for k in Kind}
#: What the compiled module makes the model's objects of (`native/src/decode.rs`).
MODEL = (Finding, FlowStep, Span, _KINDS)

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
    """The findings `encode` saw; ValueError/TypeError/KeyError for anything else of another
    shape (a range's four numbers are not counted: rows come from this version's own
    mapping, or from a memo whose keys name the version). A step row several findings share
    (the compiled mapping's rows, `marshal`'s references) is one step object, as the
    mapping made it. Compiled where it is built (no Python frame per row, step or range);
    `_decode` is the reference."""
    compiled = native.compiled
    if compiled is not None:
        found: tuple[Finding, ...] = compiled.decode_rows(rows, MODEL)
        return found
    return _decode(rows)


def _decode(rows: Iterable[Row]) -> tuple[Finding, ...]:
    out: list[Finding] = []
    append = out.append
    new = tuple.__new__  # `Span._make` and `FlowStep(...)` without their Python frames
    span_of: Callable[[Any], Span] = partial(new, Span)

    def step_of(row: Row) -> FlowStep:
        sf, ss, sj, why, edge, sp = row
        return new(FlowStep, (sf, span_of(ss), sj, why, edge, span_of(sp) if sp else None))

    kinds = _KINDS
    steps: dict[int, FlowStep] = {}  # by the row object, alive while `rows` is
    for kind, file, span, message, subject, fn, flow, cost, leak_to, detail, inl, point in rows:
        if flow:
            flow = shared_flow(flow, steps, step_of)
        append(
            Finding(
                kinds[kind],
                file,
                span_of(span),
                message,
                subject,
                fn,
                flow,
                cost,
                leak_to,
                dict(detail) if detail else {},
                inl,
                span_of(point) if point is not None else None,
            )
        )
    return tuple(out)
