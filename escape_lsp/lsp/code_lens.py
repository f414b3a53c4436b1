"""Code lenses: per function, `2 heap allocations · inlinable (cost 12)`; click to list them."""

from __future__ import annotations

from lsprotocol import types as lsp

from escape_lsp.analysis.views import FileView
from escape_lsp.findings.model import HEAP_KINDS, LEAK_KINDS, Kind
from escape_lsp.findings.positions import Encoding
from escape_lsp.lsp.config import ServerSettings
from escape_lsp.lsp.convert import path_to_uri, to_range
from escape_lsp.lsp.labels import plural

SHOW_FINDINGS = "escapeLsp.showFunctionFindings"


def code_lenses(view: FileView, encoding: Encoding, settings: ServerSettings) -> list[lsp.CodeLens]:
    if not settings.code_lens or view.source is None:
        return []
    lines = view.source.lines
    lenses = []
    for decl in view.source.declarations():
        inside = [
            f
            for f in view.findings
            if decl.span.contains(f.span.start_line, f.span.start_col) and f.kind in settings.kinds
        ]
        shown = [f for f in inside if f.kind in HEAP_KINDS | LEAK_KINDS]
        if not shown:
            continue
        heap = sum(1 for f in shown if f.kind in HEAP_KINDS)
        leaks = sum(1 for f in shown if f.kind in LEAK_KINDS)
        parts = []
        if heap:
            parts.append(plural(heap, "heap allocation"))
        if leaks:
            parts.append(plural(leaks, "leaking param"))
        for f in view.findings:
            if f.span.start_line == decl.name_span.start_line and f.kind is Kind.CAN_INLINE:
                parts.append(f"inlinable (cost {f.cost})")
            elif f.span.start_line == decl.name_span.start_line and f.kind is Kind.CANNOT_INLINE:
                parts.append("not inlinable")
        uri = path_to_uri(view.path)
        locations = [
            lsp.Location(uri, to_range(lines, f.span, encoding))
            for f in sorted(shown, key=lambda f: f.span)
        ]
        rng = to_range(lines, decl.name_span, encoding)
        lenses.append(
            lsp.CodeLens(
                range=rng,
                command=lsp.Command(
                    title=" · ".join(parts),
                    command=SHOW_FINDINGS,
                    arguments=[uri, rng.start, locations],
                ),
            )
        )
    return lenses
